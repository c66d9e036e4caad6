"""Reference (instructor only): vectorised 2-D convolution, im2col with stride tricks,
a cache-sized batch of images at a time.

Answers assignment 1's ``conv_forward_fast`` (and its backward); never shipped to students.

The trick ("im2col"): copy every patch the kernel will visit into one row of
a matrix, so that the whole layer becomes a single matrix product

    out = cols @ W      cols: (N·Ho·Wo, kh·kw·C),   W: (kh·kw·C, K)

row r of ``out`` holding the K filter responses at one output position. With
groups there is one such product per group (numpy's ``matmul`` runs them as one
batched call). ``sliding_window_view`` builds all patches as a *view* of the
padded input, without copying; only the reshape into a matrix copies.

Two layout choices make it fast (measured with float32 on 2 threads against
``torch.nn.functional.conv2d``, see ``benchmarks/conv_bench.py``):

* Channels last. The padded input is stored (N, H, W, C), so each patch row is
  gathered from contiguous runs of kw·C numbers, and the long N·Ho·Wo axis
  comes first in the product, the shape OpenBLAS multiplies fastest (the
  channels-first product W @ colsᵀ was 1.5–2× slower).
* A few images at a time. The patch matrix is kh·kw times larger than the
  input (19 MB for 32 images of 16×32×32 and a 3×3 kernel). Built for the
  whole batch it is written out to main memory and read back by the product;
  built for a few MiB of rows at a time (:func:`_image_chunks`) it is still in
  the processor's cache when the product reads it, and each chunk's result is
  written back channels first, with the bias, while it is in cache too. With
  the per-tap products below this took the benchmark's two layers from 3.9 to
  2.6 ms and 14 to 8 ms forward, 9.5 to 6 ms and 30 to 16 ms backward (2
  threads; PyTorch: 0.9, 8, 1.9 and 10–17 ms). The Python loop runs over chunks
  of images, never over pixels; chunks are not made smaller than that, since
  every product call makes the BLAS threads meet, which costs a lot when
  other programs share the cores.

The backward pass rebuilds each chunk's patch matrix from the padded input
kept in the forward pass's ``cache`` tuple (cheaper than keeping a matrix kh·kw times the input) and
reuses the products: dW = colsᵀ @ dout, and for dx one product per kernel tap,
dout @ W[:, :, u, v], the gradient that flows through tap (u, v). Adding those
back onto the image ("col2im") is one strided slice per tap — a loop over
kernel offsets, never over pixels — and with one product per tap each slice
receives one contiguous block (a single product dout @ Wᵀ would interleave
the taps and make the adds three times slower).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnlab.ops._validate import as_pair
from cnnlab.ops.geometry import Window, prepare_conv

CHUNK_BYTES = 4 << 20
"""Target size of one chunk's patch matrix: well inside a current CPU's last-level cache
(32 MiB on the benchmark machine), large enough that the products are few."""


def _pad_channels_last(x: np.ndarray, geo: Window) -> np.ndarray:
    """x (N, C, H, W) zero-padded and moved to (N, Hp, Wp, C) in one copy."""
    n, c, h, w = x.shape
    top, _, left, _ = geo.pads
    x_pad = np.zeros((n, *geo.padded_hw, c), dtype=x.dtype)
    x_pad[:, top : top + h, left : left + w, :] = x.transpose(0, 2, 3, 1)
    return x_pad


def _image_chunks(n: int, channels: int, geo: Window, itemsize: int) -> list[slice]:
    """Slices of the batch whose patch matrices are about CHUNK_BYTES each (at least one image)."""
    (kh, kw), (ho, wo) = geo.kernel, geo.out_hw
    bytes_per_image = ho * wo * kh * kw * channels * itemsize
    step = max(1, CHUNK_BYTES // max(1, bytes_per_image))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


def _patch_view(x_pad_nhwc: np.ndarray, geo: Window) -> np.ndarray:
    """Every patch, as a view of the padded input (nothing copied): (N, Ho, Wo, G, kh, kw, C/G)."""
    n, c = x_pad_nhwc.shape[0], x_pad_nhwc.shape[3]
    g, (kh, kw), (ho, wo) = geo.groups, geo.kernel, geo.out_hw
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    view = sliding_window_view(x_pad_nhwc, geo.effective, axis=(1, 2))  # (N, ., ., C, eff_h, eff_w)
    view = view[:, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw, :, ::dh, ::dw]
    return view.reshape(n, ho, wo, g, c // g, kh, kw).transpose(0, 1, 2, 3, 5, 6, 4)


def _patch_matrix(patches: np.ndarray) -> np.ndarray:
    """Patches (n, Ho, Wo, G, kh, kw, C/G) as rows, one matrix per group: (G, n·Ho·Wo, kh·kw·C/G).

    This is the one copy of im2col.
    """
    n, ho, wo, g, kh, kw, cg = patches.shape
    return patches.transpose(3, 0, 1, 2, 4, 5, 6).reshape(g, n * ho * wo, kh * kw * cg)


def _weight_matrix(w: np.ndarray, groups: int) -> np.ndarray:
    """w (K, C/G, kh, kw) as (G, kh·kw·C/G, K/G), rows ordered like the patch rows."""
    k, cg, kh, kw = w.shape
    return w.reshape(groups, k // groups, cg, kh, kw).transpose(0, 3, 4, 2, 1).reshape(groups, kh * kw * cg, k // groups)


def im2col(
    x: Any, kernel_size: int | tuple[int, int], stride: Any = 1, padding: Any = 0, dilation: Any = 1
) -> np.ndarray:
    """The im2col matrix for teaching: one row per patch, shape (N·Ho·Wo, C·kh·kw).

    Row ``(n·Ho + i)·Wo + j`` is the patch under output pixel (i, j) of image n,
    flattened in (C, kh, kw) order — the order of ``w[k].ravel()`` — so that
    ``im2col(x, ...) @ w.reshape(K, -1).T`` is the convolution's output in
    (N·Ho·Wo, K) form.
    """
    x = np.asarray(x)
    kh, kw = as_pair(kernel_size, "kernel_size")
    c = x.shape[1] if x.ndim == 4 else 1
    probe = np.zeros((1, c, kh, kw))  # a stand-in weight, so the usual checks run
    params = {"stride": stride, "padding": padding, "dilation": dilation}
    x, _, _, geo = prepare_conv(x, probe, None, params)
    rows = _patch_matrix(_patch_view(_pad_channels_last(x, geo), geo))[0]  # (N·Ho·Wo, kh·kw·C)
    n_rows = rows.shape[0]
    return np.ascontiguousarray(rows.reshape(n_rows, kh * kw, c).transpose(0, 2, 1)).reshape(n_rows, -1)


def conv2d_fast_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, params: dict | None = None
) -> tuple[np.ndarray, tuple]:
    """Forward pass of a 2-D convolution (same arguments and result as the naive one).

    x: (N, C, H, W); w: (K, C // groups, kh, kw); b: (K,) or None; params: "stride",
    "padding", "dilation", "groups". Returns ``(out, cache)``, out of shape (N, K, Ho, Wo).
    """
    x, w, b, geo = prepare_conv(x, w, b, params)
    n, c, k, g = x.shape[0], x.shape[1], w.shape[0], geo.groups
    ho, wo = geo.out_hw
    w_mat = _weight_matrix(w, g)  # (G, kh·kw·C/G, K/G)
    bias = np.zeros(k, dtype=x.dtype) if b is None else b
    x_pad = _pad_channels_last(x, geo)
    patches = _patch_view(x_pad, geo)  # all patches, a view: nothing copied yet
    out = np.empty((n, k, ho, wo), dtype=x.dtype)
    for chunk in _image_chunks(n, c, geo, x.itemsize):
        prod = np.matmul(_patch_matrix(patches[chunk]), w_mat)  # (G, rows, K/G), still in cache
        prod = prod.reshape(g, -1, ho, wo, k // g).transpose(1, 0, 4, 2, 3)  # (n, G, K/G, Ho, Wo)
        out_chunk = out[chunk].reshape(prod.shape)  # a view into out
        np.add(prod, bias.reshape(g, k // g, 1, 1), out=out_chunk)  # back to channels first, plus bias
    cache = (x.shape, w, b, geo, x_pad, w_mat)
    return out, cache


def _col2im_add(dtaps: np.ndarray, dx_pad_nhwc: np.ndarray, geo: Window) -> None:
    """Add the gradients of the kernel taps (G, kh·kw, n·Ho·Wo, C/G) onto a padded (n, Hp, Wp, C) image, in place.

    Tap (u, v) of output pixel (i, j) came from input pixel (i·sh + u·dh, j·sw + v·dw):
    one strided slice per tap, the same slice for every output pixel.
    """
    n, c = dx_pad_nhwc.shape[0], dx_pad_nhwc.shape[3]
    g, (kh, kw), (ho, wo) = geo.groups, geo.kernel, geo.out_hw
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    # -> (kh, kw, n, Ho, Wo, G, C/G); with one group each tap is one contiguous block
    taps = dtaps.reshape(g, kh, kw, n, ho, wo, c // g).transpose(1, 2, 3, 4, 5, 0, 6)
    for u in range(kh):
        for v in range(kw):
            rows = slice(u * dh, u * dh + (ho - 1) * sh + 1, sh)
            cols = slice(v * dw, v * dw + (wo - 1) * sw + 1, sw)
            dx_pad_nhwc[:, rows, cols, :] += taps[u, v].reshape(n, ho, wo, c)


def conv2d_fast_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Backward pass: ``(dx, dw, db)`` (db is None when the layer has no bias)."""
    x_shape, w, b, geo, x_pad, w_mat = cache
    n, c, h, w_in = x_shape
    k, g = w.shape[0], geo.groups
    ho, wo = geo.out_hw
    dout = np.asarray(dout, dtype=w.dtype)
    if dout.shape != (n, k, ho, wo):
        raise ValueError(f"dout must have the shape of the forward output {(n, k, ho, wo)}, got {dout.shape}")
    top, _, left, _ = geo.pads
    kh, kw = geo.kernel
    w_taps = w.reshape(g, k // g, c // g, kh * kw).transpose(0, 3, 1, 2)  # (G, kh·kw, K/G, C/G)
    dw_mat = np.zeros_like(w_mat)  # (G, kh·kw·C/G, K/G)
    patches = _patch_view(x_pad, geo)
    dx = np.empty(x_shape, dtype=w.dtype)
    for chunk in _image_chunks(n, c, geo, w.itemsize):
        cols = _patch_matrix(patches[chunk])  # rebuilt as in the forward pass (cheaper than keeping them)
        # dout as (G, rows, K/G), the layout of the forward product (a copy, in cache)
        d_rows = dout[chunk].reshape(-1, g, k // g, ho, wo).transpose(1, 0, 3, 4, 2).reshape(g, -1, k // g)
        dw_mat += np.matmul(cols.transpose(0, 2, 1), d_rows)
        dx_chunk = dx[chunk]  # a view into dx
        dx_pad = np.zeros((len(dx_chunk), *geo.padded_hw, c), dtype=w.dtype)
        _col2im_add(np.matmul(d_rows[:, None], w_taps), dx_pad, geo)  # one product per tap
        dx_chunk[...] = dx_pad[:, top : top + h, left : left + w_in, :].transpose(0, 3, 1, 2)
    dw = dw_mat.reshape(g, kh, kw, w.shape[1], k // g).transpose(0, 4, 3, 1, 2).reshape(w.shape)
    db = None if b is None else dout.sum(axis=(0, 2, 3))
    return dx, np.ascontiguousarray(dw), db


def conv2d_fast(x: Any, w: Any, b: Any = None, **params: Any) -> np.ndarray:
    """Just the output of :func:`conv2d_fast_forward` (keyword parameters)."""
    return conv2d_fast_forward(x, w, b, params)[0]
