"""Reference (instructor only): vectorised 2-D convolution by im2col, a few images per
matrix product, the batch shared among the cores.

Answers assignment 1's ``conv_forward_fast`` (and its backward); never shipped to students.

The trick ("im2col"): copy every patch the kernel will visit into one column of
a matrix, so that the whole layer becomes one matrix product per image

    out[n] = W @ cols[n]      W: (K, C·kh·kw),   cols[n]: (C·kh·kw, Ho·Wo)

column j of ``cols[n]`` holding the patch under output pixel j, flattened in
the order of ``w[k].ravel()``; ``W`` is just ``w.reshape(K, -1)``. With groups
there is one such product per group. Building ``cols`` loops over the kh·kw
kernel taps, never over pixels: for tap (u, v), the rows (c, u, v) of every
column are one strided slice of the padded input.

Four choices make it fast (measured with float32 against
``torch.nn.functional.conv2d`` on the same number of threads, see
``benchmarks/conv_bench.py``):

* Channels first, one column per output pixel. The product ``W @ cols[n]`` is
  then already the (K, Ho·Wo) block of the output in (N, K, Ho, Wo) order, so a
  batched ``matmul`` writes it straight into the result: no transpose back.
* Long copies. Each tap's slice is copied in runs of Wo contiguous numbers; for
  the usual stride-1 "same" layer the whole image, rows end to end, is one run
  per channel (:func:`_shifts_whole_rows`).
* A few images at a time. The patch matrix is kh·kw times larger than the
  input (19 MB for 32 images of 16×32×32 and a 3×3 kernel). Built for a few
  MiB of columns at a time (:func:`_image_chunks`) it is still in the
  processor's cache when the product reads it.
* Every core. PyTorch spreads all of a convolution over its threads; numpy
  runs only the matrix product on several threads and every copy on one. So
  the chunks are shared among as many Python threads as the BLAS may use
  (:func:`_on_every_core`), each running a single-threaded product: copies and
  products then use all the cores. numpy releases the interpreter lock while
  it copies and multiplies, so the threads really run at the same time.

On 2 cores these took the benchmark's first layer (N=32, 16→32 channels, 32×32)
from 2.7 to 1.7–2.1 ms forward and 6.2 to 4.1–4.7 ms backward (PyTorch: 0.9 and
1.7–2.0 ms). The matrix products alone take about 0.9 ms forward there, as long
as PyTorch's whole convolution, which never builds the patch matrix: the copies
are what is left of the gap.

The backward pass rebuilds each chunk's patch matrix from ``x`` (cheaper than
keeping a matrix kh·kw times the input) and reuses the two products:
dW = dout @ colsᵀ (computed as its transpose, see the code), and dcols = Wᵀ @ dout, the gradient of every patch entry.
Adding dcols back onto the image ("col2im") is the copy of the forward pass in
reverse: one strided slice per kernel tap, ``+=`` instead of ``=``.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from cnnlab.ops._validate import as_pair
from cnnlab.ops.geometry import Window, prepare_conv

CHUNK_BYTES = 4 << 20
"""Target size of one chunk's patch matrix: a few MiB, inside a current CPU's last-level cache
(32 MiB on the benchmark machine) even with one chunk per core, large enough that products are few."""


# --- sharing chunks among the cores ---------------------------------------------------------

@functools.cache
def _blas() -> ThreadpoolController:
    """numpy's BLAS libraries, found once (looking them up takes milliseconds)."""
    return ThreadpoolController().select(user_api="blas")


def _pool(workers: int) -> ThreadPoolExecutor:
    """A pool of ``workers`` threads, kept for the next call; a forked child (a DataLoader worker,
    say) gets its own, since the parent's threads do not exist in it."""
    return _pool_of_process(workers, os.getpid())


@functools.cache
def _pool_of_process(workers: int, pid: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cnnlab-conv")


def _thread_budget() -> int:
    """How many threads numpy's BLAS may use now (1 when it cannot be told)."""
    return max((lib.num_threads for lib in _blas().lib_controllers), default=1)


def _on_every_core(work: Callable[[slice], Any], chunks: Sequence[slice]) -> list:
    """``[work(chunk) for chunk in chunks]``, shared among as many threads as the BLAS may use.

    While the threads run, each BLAS call is single-threaded (the thread budget is spent on
    the Python threads instead); the BLAS's own setting is restored afterwards.
    """
    workers = min(_thread_budget(), len(chunks))
    if workers <= 1:
        return [work(chunk) for chunk in chunks]
    with _blas().limit(limits=1):
        return list(_pool(workers).map(work, chunks))


def _image_chunks(n: int, channels: int, geo: Window, itemsize: int, parts: int = 1) -> list[slice]:
    """Consecutive slices of the batch, each with a patch matrix of at most about CHUNK_BYTES
    (but at least one image); their number is a multiple of ``parts`` where the batch allows,
    and their sizes differ by at most one image, so that ``parts`` threads get equal shares."""
    (kh, kw), (ho, wo) = geo.kernel, geo.out_hw
    bytes_per_image = ho * wo * kh * kw * channels * itemsize
    images_per_chunk = max(1, CHUNK_BYTES // max(1, bytes_per_image))
    count = -(-n // images_per_chunk)  # ceil
    count = min(n, -(-count // parts) * parts)
    bounds = [round(i * n / count) for i in range(count + 1)]
    return [slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:])]


# --- im2col and col2im -------------------------------------------------------------------

def _shifts_whole_rows(geo: Window) -> bool:
    """True for a stride-1 convolution that keeps the width ("same" padding across), the usual
    3×3 layer. Then the patches of one kernel tap are the whole image shifted by a few numbers:
    with the image padded above and below only and its rows laid end to end, each tap copies one
    long run per image and channel (instead of one run per output row), and the few pixels that
    wrapped round from the neighbouring row are cleared afterwards."""
    return geo.stride == (1, 1) and geo.out_hw[1] == geo.in_hw[1]


def _pad(x: np.ndarray, geo: Window) -> np.ndarray:
    """x (n, C, H, W) with zeros around: (n, C, Hp, Wp); or, when :func:`_shifts_whole_rows`,
    padded above and below only, rows end to end, with ``left`` zeros before and ``right`` after:
    (n, C, left + Hp·W + right)."""
    top, bottom, left, right = geo.pads
    n, c, h, w = x.shape
    if not _shifts_whole_rows(geo):
        x_pad = np.zeros((n, c, *geo.padded_hw), dtype=x.dtype)
        x_pad[:, :, top : top + h, left : left + w] = x
        return x_pad
    x_pad = np.zeros((n, c, left + (top + h + bottom) * w + right), dtype=x.dtype)
    x_pad[:, :, left + top * w : left + (top + h) * w] = x.reshape(n, c, h * w)
    return x_pad


def _unpad(x_pad: np.ndarray, geo: Window) -> np.ndarray:
    """The (n, C, H, W) image inside a buffer laid out by :func:`_pad`."""
    if not _shifts_whole_rows(geo):
        return geo.unpad(x_pad)
    top, _, left, _ = geo.pads
    h, w = geo.in_hw
    return x_pad[:, :, left + top * w : left + (top + h) * w].reshape(*x_pad.shape[:2], h, w)


def _taps(x_pad: np.ndarray, geo: Window):
    """For each kernel tap (u, v): ``(u, v, inputs, wrapped)``, where ``inputs`` (n, C, Ho, Wo) is
    the view of the padded input that the tap meets at every output pixel, and ``wrapped``
    (left, right) counts the output columns at each edge whose value is really a zero of the padding.

    Output pixel (i, j) meets input pixel (i·sh + u·dh, j·sw + v·dw) of the padded image.
    """
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = geo.kernel, geo.stride, geo.dilation, geo.out_hw
    left = geo.pads[2]
    for u in range(kh):
        for v in range(kw):
            if _shifts_whole_rows(geo):
                start = u * dh * wo + v * dw  # all Ho rows of the tap: one run of Ho·W numbers
                inputs = x_pad[:, :, start : start + ho * wo].reshape(*x_pad.shape[:2], ho, wo)
                yield u, v, inputs, (max(0, left - v * dw), max(0, v * dw - left))
            else:
                rows = slice(u * dh, u * dh + (ho - 1) * sh + 1, sh)
                columns = slice(v * dw, v * dw + (wo - 1) * sw + 1, sw)
                yield u, v, x_pad[:, :, rows, columns], (0, 0)


def _empty_rows(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """``np.empty(shape)`` with each row (last axis) 16 numbers longer in memory than it looks.

    Rows a power of two bytes apart (64 KiB for 16 images of 32×32) compete for the same cache
    sets; a matrix product reading or writing such rows was up to 1.9× slower (measured).
    """
    return np.empty((*shape[:-1], shape[-1] + 16), dtype=dtype)[..., : shape[-1]]


def _patch_columns(x_pad: np.ndarray, geo: Window) -> np.ndarray:
    """The patch matrix of a few padded images: (G, C/G·kh·kw, n·Ho·Wo), one column per output pixel.

    This is the one copy of im2col: one strided slice of the input per kernel tap.
    """
    n, c = x_pad.shape[:2]
    g, (kh, kw), (ho, wo) = geo.groups, geo.kernel, geo.out_hw
    size = n * ho * wo
    cols = _empty_rows((c, kh, kw, size), x_pad.dtype)
    for u, v, inputs, (left, right) in _taps(x_pad, geo):
        block = cols[:, u, v].reshape(c, n, ho, wo)
        block[...] = inputs.transpose(1, 0, 2, 3)
        block[..., :left] = 0
        block[..., wo - right :] = 0
    return cols.reshape(g, c // g * kh * kw, size)


def _add_patch_columns(dcols: np.ndarray, dx_pad: np.ndarray, geo: Window) -> None:
    """col2im: add the gradient of every patch entry, (G, C/G·kh·kw, n·Ho·Wo), onto the padded
    images it was copied from (laid out by :func:`_pad`), in place: :func:`_patch_columns` in reverse."""
    n, c = dx_pad.shape[:2]
    (kh, kw), (ho, wo) = geo.kernel, geo.out_hw
    dcols = dcols.reshape(c, kh, kw, n, ho, wo)
    for u, v, inputs, (left, right) in _taps(dx_pad, geo):
        block = dcols[:, u, v]
        block[..., :left] = 0  # these entries were zeros of the padding, not pixels of the row beside
        block[..., wo - right :] = 0
        inputs += block.transpose(1, 0, 2, 3)


def _weight_rows(w: np.ndarray, groups: int) -> np.ndarray:
    """w (K, C/G, kh, kw) as one matrix per group, (G, K/G, C/G·kh·kw): each filter is a row."""
    return w.reshape(groups, w.shape[0] // groups, -1)


def im2col(
    x: Any, kernel_size: int | tuple[int, int], stride: Any = 1, padding: Any = 0, dilation: Any = 1
) -> np.ndarray:
    """The im2col matrix for teaching: one row per patch, shape (N·Ho·Wo, C·kh·kw).

    Row ``(n·Ho + i)·Wo + j`` is the patch under output pixel (i, j) of image n,
    flattened in (C, kh, kw) order — the order of ``w[k].ravel()`` — so that
    ``im2col(x, ...) @ w.reshape(K, -1).T`` is the convolution's output in
    (N·Ho·Wo, K) form. (The fast convolution uses its transpose, one column per patch.)
    """
    x = np.asarray(x)
    kh, kw = as_pair(kernel_size, "kernel_size")
    c = x.shape[1] if x.ndim == 4 else 1
    probe = np.zeros((1, c, kh, kw))  # a stand-in weight, so the usual checks run
    params = {"stride": stride, "padding": padding, "dilation": dilation}
    x, _, _, geo = prepare_conv(x, probe, None, params)
    n, (ho, wo) = x.shape[0], geo.out_hw
    cols = _patch_columns(_pad(x, geo), geo)[0]  # (C·kh·kw, N·Ho·Wo): pixels of image 0, then image 1, ...
    return np.ascontiguousarray(cols.T).reshape(n * ho * wo, -1)


# --- the layer -----------------------------------------------------------------------------

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
    w_rows = _weight_rows(w, g)  # (G, K/G, C/G·kh·kw)
    out = np.empty((n, k, ho, wo), dtype=x.dtype)

    def one_chunk(chunk: slice) -> None:
        cols = _patch_columns(_pad(x[chunk], geo), geo)  # (G, C/G·kh·kw, n·Ho·Wo), in cache
        per_image = cols.reshape(g, -1, chunk.stop - chunk.start, ho * wo).transpose(2, 0, 1, 3)
        out_chunk = out[chunk].reshape(-1, g, k // g, ho * wo)  # a view into out
        np.matmul(w_rows, per_image, out=out_chunk)  # (n, G, K/G, Ho·Wo): already channels first
        if b is not None:
            out_chunk += b.reshape(g, k // g, 1)

    _on_every_core(one_chunk, _image_chunks(n, c, geo, x.itemsize, parts=_thread_budget()))
    cache = (x, w, b, geo)
    return out, cache


def conv2d_fast_backward(
    dout: np.ndarray, cache: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Backward pass: ``(dx, dw, db)`` (db is None when the layer has no bias)."""
    x, w, b, geo = cache
    n, c = x.shape[:2]
    k, g = w.shape[0], geo.groups
    ho, wo = geo.out_hw
    dout = np.asarray(dout, dtype=w.dtype)
    if dout.shape != (n, k, ho, wo):
        raise ValueError(f"dout must have the shape of the forward output {(n, k, ho, wo)}, got {dout.shape}")
    w_rows = _weight_rows(w, g)  # (G, K/G, C/G·kh·kw)
    dx = np.empty_like(x)

    def one_chunk(chunk: slice) -> np.ndarray:
        x_pad = _pad(x[chunk], geo)
        cols = _patch_columns(x_pad, geo)  # rebuilt as in the forward pass
        # dout as (G, K/G, n·Ho·Wo), the layout of the forward product
        d_rows = dout[chunk].reshape(-1, g, k // g, ho * wo).transpose(1, 2, 0, 3).reshape(g, k // g, -1)
        dcols = np.matmul(w_rows.transpose(0, 2, 1), d_rows, out=_empty_rows(cols.shape, x.dtype))
        dx_pad = np.zeros_like(x_pad)
        _add_patch_columns(dcols, dx_pad, geo)
        dx[chunk] = _unpad(dx_pad, geo)
        # this chunk's share of dW, (G, K/G, C/G·kh·kw), as its transpose: cols @ d_rowsᵀ runs
        # 1.7× faster than d_rows @ colsᵀ (the long axis L is then the rows of the matrix in memory)
        return np.matmul(cols, d_rows.transpose(0, 2, 1)).transpose(0, 2, 1)

    chunks = _image_chunks(n, c, geo, x.itemsize, parts=_thread_budget())
    dw = sum(_on_every_core(one_chunk, chunks)).reshape(w.shape)
    db = None if b is None else dout.sum(axis=(0, 2, 3))
    return dx, dw, db


def conv2d_fast(x: Any, w: Any, b: Any = None, **params: Any) -> np.ndarray:
    """Just the output of :func:`conv2d_fast_forward` (keyword parameters)."""
    return conv2d_fast_forward(x, w, b, params)[0]
