"""Reference (instructor only): 2-D convolution written with explicit loops.

Answers assignment 1's ``conv_forward`` and ``conv_backward``; never shipped to students.

Every output value is one "neuron":

    z[n, k, i, j] = b[k] + Σ_c Σ_u Σ_v  x_pad[n, c, i·s_h + u·d_h, j·s_w + v·d_w] · w[k, c, u, v]

where ``x_pad`` is the zero-padded input, (s_h, s_w) the stride, (d_h, d_w) the
dilation, and c runs over the input channels of the group that filter k
belongs to. The loops below visit every (n, k, i, j); the triple sum over
(c, u, v) is written once as ``np.sum(patch * w[k])`` — the element-wise product
of the kernel with the patch under it, summed.

Like every deep-learning library this computes a *cross-correlation*: the
kernel is not flipped. See :func:`cnnlab.ops.flip_kernel` for true convolution.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from cnnlab.ops.geometry import Window, prepare_conv
from cnnlab.ops.padding import pad2d


def _patch_slices(geo: Window, i: int, j: int) -> tuple[slice, slice]:
    """Rows and columns of the padded input that output pixel (i, j) looks at."""
    (sh, sw), (dh, dw), (eff_h, eff_w) = geo.stride, geo.dilation, geo.effective
    top, left = i * sh, j * sw
    # Every d-th row/column inside the window: a dilated kernel skips pixels.
    return slice(top, top + eff_h, dh), slice(left, left + eff_w, dw)


def conv2d_naive_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, params: dict | None = None
) -> tuple[np.ndarray, tuple]:
    """Forward pass of a 2-D convolution layer, one output value at a time.

    Args:
        x: input of shape (N, C, H, W).
        w: filters of shape (K, C // groups, kh, kw).
        b: bias of shape (K,), or None.
        params: optional dict with "stride", "padding", "dilation", "groups"
            (defaults 1, 0, 1, 1); padding is anything
            :func:`cnnlab.ops.resolve_padding` accepts.

    Returns:
        ``(out, cache)``: out has shape (N, K, Ho, Wo); cache is for the backward pass.
    """
    x, w, b, geo = prepare_conv(x, w, b, params)
    n_images = x.shape[0]
    n_filters = w.shape[0]
    in_per_group = w.shape[1]
    out_per_group = n_filters // geo.groups
    ho, wo = geo.out_hw

    x_pad = pad2d(x, geo.pads)
    out = np.zeros((n_images, n_filters, ho, wo), dtype=x.dtype)
    for n in range(n_images):
        for k in range(n_filters):
            # Filter k only sees the input channels of its own group.
            g = k // out_per_group
            channels = slice(g * in_per_group, (g + 1) * in_per_group)
            for i in range(ho):
                for j in range(wo):
                    rows, cols = _patch_slices(geo, i, j)
                    patch = x_pad[n, channels, rows, cols]  # shape (C // groups, kh, kw)
                    out[n, k, i, j] = np.sum(patch * w[k])  # Σ_c Σ_u Σ_v
                    if b is not None:
                        out[n, k, i, j] += b[k]
    cache = (x, w, b, geo)
    return out, cache


def conv2d_naive_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Backward pass: gradients of the loss with respect to x, w and b.

    Each output value z[n, k, i, j] was a sum of products ``patch · w[k]``, so its
    upstream gradient ``dout[n, k, i, j]`` flows to the patch (times the weights)
    and to the weights (times the patch). The bias was added to every output of
    filter k, so db[k] sums dout over the batch and all positions.

    Returns:
        ``(dx, dw, db)`` with the shapes of x, w and b (db is None without a bias).
    """
    x, w, b, geo = cache
    dout = np.asarray(dout, dtype=x.dtype)
    n_images, n_filters = x.shape[0], w.shape[0]
    in_per_group = w.shape[1]
    out_per_group = n_filters // geo.groups
    ho, wo = geo.out_hw
    expected = (n_images, n_filters, ho, wo)
    if dout.shape != expected:
        raise ValueError(f"dout must have the shape of the forward output {expected}, got {dout.shape}")

    x_pad = pad2d(x, geo.pads)
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for n in range(n_images):
        for k in range(n_filters):
            g = k // out_per_group
            channels = slice(g * in_per_group, (g + 1) * in_per_group)
            for i in range(ho):
                for j in range(wo):
                    rows, cols = _patch_slices(geo, i, j)
                    grad = dout[n, k, i, j]
                    dx_pad[n, channels, rows, cols] += grad * w[k]
                    dw[k] += grad * x_pad[n, channels, rows, cols]
    dx = geo.unpad(dx_pad)
    db = None if b is None else dout.sum(axis=(0, 2, 3))
    return np.ascontiguousarray(dx), dw, db


def conv2d_naive(x: Any, w: Any, b: Any = None, **params: Any) -> np.ndarray:
    """Just the output of :func:`conv2d_naive_forward` (keyword parameters)."""
    return conv2d_naive_forward(x, w, b, params)[0]
