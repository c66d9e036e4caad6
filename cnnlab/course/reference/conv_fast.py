"""Reference (instructor only): vectorised 2-D convolution by im2col, a few images per
matrix product, the batch shared among the cores.

Answers assignment 1's ``conv_forward_fast`` (and its backward); never shipped to students.

The trick ("im2col"): copy every patch the kernel will visit into one column of
a matrix, so that the whole layer becomes one matrix product per image

    out[n] = W @ cols[n]      W: (K, C·kh·kw),   cols[n]: (C·kh·kw, Ho·Wo)

column j of ``cols[n]`` holding the patch under output pixel j, flattened in
the order of ``w[k].ravel()``; ``W`` is just ``w.reshape(K, -1)``. With groups
there is one such product per group. Building ``cols`` is one copy, with no
loop at all: every patch entry of the padded input is a fixed step in memory
along each of six axes (channel, kernel row, kernel column, image, output row,
output column), so ``as_strided`` describes the whole patch matrix as a view
(:func:`_tap_view`) and ``np.copyto`` writes it out.

Six choices make it fast (measured with float32 against
``torch.nn.functional.conv2d`` on the same number of threads, see
``benchmarks/conv_bench.py``):

* Channels first, one column per output pixel. The product ``W @ cols[n]`` is
  then already the (K, Ho·Wo) block of the output in (N, K, Ho, Wo) order, so a
  batched ``matmul`` writes it straight into the result: no transpose back.
* Long copies. The copy runs along output rows of Wo contiguous numbers; for
  the usual stride-1 "same" layer the whole image, rows end to end, is one run
  per channel and tap (:func:`_shifts_whole_rows`).
* The bias inside the product. A row of ones under the patch matrix and the
  bias as one more column of ``W`` add the bias without a pass over the output.
* A few images at a time. The patch matrix is kh·kw times larger than the
  input (19 MB for 32 images of 16×32×32 and a 3×3 kernel). Built for a few
  MiB of columns at a time (:func:`_image_chunks`) it is still in the
  processor's cache when the product reads it.
* The same memory every time. Each thread builds its patch matrices in memory
  it keeps between calls (:func:`_scratch`): fresh memory costs a page fault
  per 4 KiB on first touch and is not in the cache.
* Every core. PyTorch spreads all of a convolution over its threads; numpy
  runs only the matrix product on several threads and every copy on one. So
  the chunks are shared among as many threads as the BLAS may use, the calling
  thread included (:func:`_on_every_core`), each running a single-threaded
  product: copies and products then use all the cores. numpy releases the
  interpreter lock while it copies and multiplies, so the threads really run
  at the same time.

On 2 cores these took the benchmark's first layer (N=32, 16→32 channels, 32×32)
from 2.7 to 1.35–1.65 ms forward, depending on how busy the machine's other
tenants are (PyTorch: 0.84–0.94 ms). Per chunk of 8 images on one core the
product takes 0.44 ms and building its patch matrix 0.11 ms: the products
alone keep both cores busy for about as long as PyTorch's whole convolution,
which never builds the patch matrix.

The backward pass rebuilds each chunk's patch matrix from ``x`` (cheaper than
keeping a matrix kh·kw times the input) and reuses the two products:
dW = dout @ colsᵀ (computed as its transpose, see the code), and dcols = Wᵀ @ dout, the gradient of every patch entry.
Adding dcols back onto the image ("col2im") is the copy of the forward pass in
reverse, ``+=`` instead of ``=``, one kernel tap at a time: the taps of a
3×3 kernel overlap in the image, so they cannot be added in one go.
"""
from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided
from threadpoolctl import ThreadpoolController

from cnnlab.ops._validate import as_pair
from cnnlab.ops.geometry import Window, prepare_conv

CHUNK_BYTES = 6 << 20
"""Target size of one chunk's patch matrix: a few MiB, inside a current CPU's last-level cache
(32 MiB on the benchmark machine) even with one chunk per core, large enough that products are few
(6 MiB ran 1-2 % faster than 4 on the benchmark's first layer; 1-2 MiB, which fit a core's L2, 10-25 % slower)."""


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
        # thread t takes chunks t, t + workers, ...; this thread is one of them
        shares = [chunks[t::workers] for t in range(workers)]
        others = [_pool(workers - 1).submit(lambda share=share: [work(c) for c in share]) for share in shares[1:]]
        done = [[work(c) for c in shares[0]]] + [future.result() for future in others]
    return [done[i % workers][i // workers] for i in range(len(chunks))]


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


def _pad(x: np.ndarray, geo: Window, slot: str | None = None) -> np.ndarray:
    """x (n, C, H, W) with zeros around: (n, C, Hp, Wp); or, when :func:`_shifts_whole_rows`,
    padded above and below only, rows end to end, with ``left`` zeros before and ``right`` after:
    (n, C, left + Hp·W + right). Written into this thread's scratch array ``slot`` if one is named
    (:func:`_scratch`), else into a new array."""
    top, bottom, left, right = geo.pads
    n, c, h, w = x.shape
    whole_rows = _shifts_whole_rows(geo)
    shape = (n, c, left + (top + h + bottom) * w + right) if whole_rows else (n, c, *geo.padded_hw)
    if slot is None:
        x_pad = np.zeros(shape, dtype=x.dtype)
    else:
        x_pad = _scratch(slot, shape, x.dtype)
    if not whole_rows:
        if slot is not None:
            x_pad.fill(0)
        x_pad[:, :, top : top + h, left : left + w] = x
        return x_pad
    first, last = left + top * w, left + (top + h) * w  # where the image's numbers go
    x_pad[:, :, :first] = 0
    x_pad[:, :, last:] = 0
    x_pad[:, :, first:last] = x.reshape(n, c, h * w)
    return x_pad


def _unpad(x_pad: np.ndarray, geo: Window) -> np.ndarray:
    """The (n, C, H, W) image inside a buffer laid out by :func:`_pad`."""
    if not _shifts_whole_rows(geo):
        return geo.unpad(x_pad)
    top, _, left, _ = geo.pads
    h, w = geo.in_hw
    return x_pad[:, :, left + top * w : left + (top + h) * w].reshape(*x_pad.shape[:2], h, w)


def _tap_view(x_pad: np.ndarray, geo: Window, writeable: bool = False) -> np.ndarray:
    """Every patch entry of a few padded images (laid out by :func:`_pad`) at once, as a view
    (C, kh, kw, n, Ho, Wo) that copies nothing: element [c, u, v, m, i, j] is the number that
    weight ``w[:, c, u, v]`` meets at output pixel (i, j) of image m.

    Output pixel (i, j) meets padded pixel (i·sh + u·dh, j·sw + v·dw): moving along any of
    the six axes is a fixed step in memory, so ``as_strided`` can describe the whole patch
    matrix with six strides. Several entries of the view share one pixel of memory, so only
    a view of one tap (``[:, u, v]``) may be written to.
    """
    n, c = x_pad.shape[:2]
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = geo.kernel, geo.stride, geo.dilation, geo.out_hw
    image, channel = x_pad.strides[:2]
    if _shifts_whole_rows(geo):  # rows end to end, each Wo numbers long
        row, column = wo * x_pad.itemsize, x_pad.itemsize
    else:
        row, column = x_pad.strides[2:]
    strides = (channel, dh * row, dw * column, image, sh * row, sw * column)
    return as_strided(x_pad, (c, kh, kw, n, ho, wo), strides, writeable=writeable)


def _wrapped_columns(v: int, geo: Window) -> tuple[int, int]:
    """(left, right): how many output columns at each edge meet, for kernel column v, a pixel that
    wrapped round from the row beside it where the padding has a zero (only when
    :func:`_shifts_whole_rows`; otherwise (0, 0))."""
    if not _shifts_whole_rows(geo):
        return 0, 0
    shift = v * geo.dilation[1] - geo.pads[2]  # how far right of the output pixel tap v looks
    return max(0, -shift), max(0, shift)


def _empty_rows(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """``np.empty(shape)`` with each row (last axis) 16 numbers longer in memory than it looks.

    Rows a power of two bytes apart (64 KiB for 16 images of 32×32) compete for the same cache
    sets; a matrix product reading or writing such rows was up to 1.9× slower (measured).
    """
    return np.empty((*shape[:-1], shape[-1] + 16), dtype=dtype)[..., : shape[-1]]


def _scratch(slot: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised array like :func:`_empty_rows` whose memory this thread keeps for its next
    call with the same ``slot``.

    The patch matrix of a chunk is rebuilt for every chunk of every call. Fresh memory costs a page
    fault per 4 KiB the first time it is written, and memory used a moment ago is still in the
    cache; so each thread keeps one buffer per slot, grown when a larger one is needed (and not kept
    when it is far larger than a chunk). What it held before is overwritten, so a result handed
    back to the caller must never be a scratch array.
    """
    *lead, last = shape
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(lead, dtype=np.int64)) * (last + 16) * dtype.itemsize
    buffers = _thread_buffers.__dict__.setdefault("buffers", {})
    buffer = buffers.get(slot)
    if buffer is None or buffer.nbytes < nbytes:
        buffer = np.empty(nbytes, dtype=np.uint8)
        if nbytes <= 4 * CHUNK_BYTES:
            buffers[slot] = buffer
    return buffer[:nbytes].view(dtype).reshape(*lead, last + 16)[..., :last]


_thread_buffers = threading.local()


def _patch_columns(x_pad: np.ndarray, geo: Window, ones_row: bool = False) -> np.ndarray:
    """The patch matrix of a few padded images: (G, C/G·kh·kw, n·Ho·Wo), one column per output pixel;
    with ``ones_row``, each group's matrix has one more row, all ones, so that a bias column
    appended to the weights adds the bias in the same product. Returns a scratch array (:func:`_scratch`).

    This is the one copy of im2col: every patch entry, copied out of :func:`_tap_view` at once.
    """
    n, c = x_pad.shape[:2]
    g, (kh, kw), (ho, wo) = geo.groups, geo.kernel, geo.out_hw
    rows = c // g * kh * kw
    cols = _scratch("patches", (g, rows + ones_row, n * ho * wo), x_pad.dtype)
    per_group = (g, c // g, kh, kw, n, ho, wo)
    entries = np.reshape(cols[:, :rows], per_group, copy=False)  # a view: the group's rows are (C/G, kh, kw)
    np.copyto(entries, _tap_view(x_pad, geo).reshape(per_group))
    for v in range(kw):
        left, right = _wrapped_columns(v, geo)
        entries[:, :, :, v, ..., :left] = 0
        entries[:, :, :, v, ..., wo - right :] = 0
    if ones_row:
        cols[:, rows] = 1
    return cols


def _add_patch_columns(dcols: np.ndarray, dx_pad: np.ndarray, geo: Window) -> None:
    """col2im: add the gradient of every patch entry, (G, C/G·kh·kw, n·Ho·Wo), onto the padded
    images it was copied from (laid out by :func:`_pad`), in place: :func:`_patch_columns` in
    reverse, one kernel tap at a time (taps overlap in the image, so they cannot be added at once)."""
    n, c = dx_pad.shape[:2]
    (kh, kw), (ho, wo) = geo.kernel, geo.out_hw
    dcols = dcols.reshape(c, kh, kw, n, ho, wo)
    taps = _tap_view(dx_pad, geo, writeable=True)
    for u in range(kh):
        for v in range(kw):
            left, right = _wrapped_columns(v, geo)
            block = dcols[:, u, v]
            block[..., :left] = 0  # these entries were zeros of the padding, not pixels of the row beside
            block[..., wo - right :] = 0
            taps[:, u, v] += block


def _weight_rows(w: np.ndarray, groups: int, b: np.ndarray | None = None) -> np.ndarray:
    """w (K, C/G, kh, kw) as one matrix per group, (G, K/G, C/G·kh·kw): each filter is a row; with
    ``b``, the bias is one more column (it meets the row of ones of :func:`_patch_columns`)."""
    rows = w.reshape(groups, w.shape[0] // groups, -1)
    if b is None:
        return rows
    return np.concatenate([rows, b.reshape(groups, -1, 1)], axis=2)


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
    w_rows = _weight_rows(w, g, b)  # (G, K/G, C/G·kh·kw + 1 if there is a bias)
    out = np.empty((n, k, ho, wo), dtype=x.dtype)

    def one_chunk(chunk: slice) -> None:
        x_pad = _pad(x[chunk], geo, slot="padded")
        cols = _patch_columns(x_pad, geo, ones_row=b is not None)  # (G, rows, n·Ho·Wo), in cache
        per_image = cols.reshape(g, -1, chunk.stop - chunk.start, ho * wo).transpose(2, 0, 1, 3)
        out_chunk = out[chunk].reshape(-1, g, k // g, ho * wo)  # a view into out
        np.matmul(w_rows, per_image, out=out_chunk)  # (n, G, K/G, Ho·Wo): already channels first

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
        x_pad = _pad(x[chunk], geo, slot="padded")
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
