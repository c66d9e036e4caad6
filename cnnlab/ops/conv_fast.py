"""Vectorised 2-D convolution: im2col with stride tricks and one batched matrix multiply.

The trick ("im2col"): gather every patch the kernel will ever see into the
columns of one matrix, so the whole layer becomes a single matrix product

    out[g] = W[g] @ cols[g]     W[g]: (K/G, C/G·kh·kw),  cols[g]: (C/G·kh·kw, N·Ho·Wo)

for each of the G groups (numpy's ``matmul`` runs the G products as one call).
``sliding_window_view`` builds the patches as a *view* of the padded input
without copying; only the final reshape into a matrix copies.

The backward pass uses the same matrices: dW = dout @ colsᵀ and
dcols = Wᵀ @ dout. Turning dcols back into an image ("col2im") adds each of
the kh·kw kernel taps' contributions as one strided slice — a loop over kernel
offsets, never over pixels.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .geometry import Window, prepare_conv
from .padding import pad2d


def _windows(x_pad: np.ndarray, geo: Window) -> np.ndarray:
    """View of all patches: shape (N, C, Ho, Wo, kh, kw), no copy."""
    eff_h, eff_w = geo.effective
    (sh, sw), (dh, dw), (ho, wo) = geo.stride, geo.dilation, geo.out_hw
    view = sliding_window_view(x_pad, (eff_h, eff_w), axis=(2, 3))
    return view[:, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, ::dh, ::dw]


def im2col(x_pad: np.ndarray, geo: Window) -> np.ndarray:
    """Patches as matrices, one per group: shape (G, C/G·kh·kw, N·Ho·Wo)."""
    n, c = x_pad.shape[:2]
    g = geo.groups
    kh, kw = geo.kernel
    ho, wo = geo.out_hw
    win = _windows(x_pad, geo).reshape(n, g, c // g, ho, wo, kh, kw)
    # Axes to (G, C/G, kh, kw, N, Ho, Wo): the rows match w.reshape(K, -1)'s columns.
    return win.transpose(1, 2, 5, 6, 0, 3, 4).reshape(g, (c // g) * kh * kw, n * ho * wo)


def conv2d_fast_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, params: dict | None = None
) -> tuple[np.ndarray, tuple]:
    """Forward pass of a 2-D convolution (same arguments and result as the naive one).

    x: (N, C, H, W); w: (K, C // groups, kh, kw); b: (K,) or None; params: "stride",
    "padding", "dilation", "groups". Returns ``(out, cache)``, out of shape (N, K, Ho, Wo).
    """
    x, w, b, geo = prepare_conv(x, w, b, params)
    n, k = x.shape[0], w.shape[0]
    g = geo.groups
    ho, wo = geo.out_hw
    cols = im2col(pad2d(x, geo.pads), geo)
    w_mat = w.reshape(g, k // g, -1)
    out = np.matmul(w_mat, cols)  # (G, K/G, N·Ho·Wo)
    out = out.reshape(k, n, ho, wo).transpose(1, 0, 2, 3)
    if b is not None:
        out = out + b.reshape(1, k, 1, 1)
    cache = (x.shape, w, b, geo, cols)
    return np.ascontiguousarray(out), cache


def col2im(dcols: np.ndarray, x_shape: tuple[int, ...], geo: Window) -> np.ndarray:
    """Add patch gradients (G, C/G·kh·kw, N·Ho·Wo) back into an image-shaped dx."""
    n, c = x_shape[:2]
    g = geo.groups
    kh, kw = geo.kernel
    (sh, sw), (dh, dw), (ho, wo) = geo.stride, geo.dilation, geo.out_hw
    hp, wp = geo.padded_hw
    # (G, C/G, kh, kw, N, Ho, Wo) -> (kh, kw, N, C, Ho, Wo)
    d = dcols.reshape(g, c // g, kh, kw, n, ho, wo).transpose(2, 3, 4, 0, 1, 5, 6)
    d = d.reshape(kh, kw, n, c, ho, wo)
    dx_pad = np.zeros((n, c, hp, wp), dtype=dcols.dtype)
    for u in range(kh):
        for v in range(kw):
            r0, c0 = u * dh, v * dw
            dx_pad[:, :, r0 : r0 + (ho - 1) * sh + 1 : sh, c0 : c0 + (wo - 1) * sw + 1 : sw] += d[u, v]
    return np.ascontiguousarray(geo.unpad(dx_pad))


def conv2d_fast_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Backward pass: ``(dx, dw, db)`` (db is None when the layer has no bias)."""
    x_shape, w, b, geo, cols = cache
    n, k = x_shape[0], w.shape[0]
    g = geo.groups
    ho, wo = geo.out_hw
    dout = np.asarray(dout, dtype=w.dtype)
    expected = (n, k, ho, wo)
    if dout.shape != expected:
        raise ValueError(f"dout must have the shape of the forward output {expected}, got {dout.shape}")
    d_mat = dout.transpose(1, 0, 2, 3).reshape(g, k // g, n * ho * wo)
    dw = np.matmul(d_mat, cols.transpose(0, 2, 1)).reshape(w.shape)
    dcols = np.matmul(w.reshape(g, k // g, -1).transpose(0, 2, 1), d_mat)
    dx = col2im(dcols, x_shape, geo)
    db = None if b is None else dout.sum(axis=(0, 2, 3))
    return dx, dw, db
