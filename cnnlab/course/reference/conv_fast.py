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

Seven choices make it fast (measured with float32 against
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
  input (19 MB for 32 images of 16×32×32 and a 3×3 kernel). Built for about a
  core's L2 cache of columns at a time (:func:`_image_chunks`) it is still close
  by when the product reads it.
* The same memory every time. Each thread builds its patch matrices in a
  workspace it keeps between calls (:class:`_Workspace`): fresh memory costs a
  page fault per 4 KiB on first touch and is not in the cache.
* Few numpy calls. A thread holds Python's interpreter lock between numpy
  calls, and two threads making many small calls wait for each other (on a
  virtual machine, each wait ends with a wake-up of tens of microseconds). The
  workspace prepares every view once, so a chunk is two copies, a few fills and a product.
* Every core. PyTorch spreads all of a convolution over its threads; numpy
  runs only the matrix product on several threads and every copy on one. So
  the chunks are shared among as many threads as the BLAS may use, the calling
  thread included, each taking the next chunk when it is free
  (:func:`_on_every_core`) and running a single-threaded product: copies and
  products then use all the cores. numpy releases the interpreter lock while
  it copies and multiplies, so the threads really run at the same time.

On 2 cores these took the benchmark's first layer (N=32, 16→32 channels, 32×32)
from 2.7 to 1.16–1.22 ms forward (PyTorch: 0.84–0.85 ms). Per chunk of 4 images
on one core the product takes 0.22 ms and building its patch matrix 0.04 ms:
the products alone keep both cores busy for about as long as PyTorch's whole
convolution, which never builds the patch matrix.

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
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided
from threadpoolctl import ThreadpoolController

from cnnlab.ops._validate import as_pair
from cnnlab.ops.geometry import Window, prepare_conv

CHUNK_BYTES = 5 << 19
"""Target size of one chunk's patch matrix, 2.5 MiB: about a core's L2 cache (2 MiB on the benchmark
machine), so that the product reads the columns from close by, and small enough that each thread gets
several chunks and the threads finish together. On the benchmark's first layer, 8 chunks of 4 images
ran 4-8 % faster than 4 chunks of 8 (and 6 of 5 or 6 images, 10 % slower). Smaller chunks used to lose
to the work done per chunk, before :class:`_Workspace` made it a handful of numpy calls."""

WORKSPACE_BYTES = 32 << 20
"""How much memory each thread may keep in :class:`_Workspace` s between calls: room for the forward
and backward pass of a layer whose single image has a patch matrix of several MiB (7.2 MiB for the
benchmark's second layer, 64 channels of 56×56), or of a few smaller layers taking turns."""


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
    libraries = _blas().lib_controllers
    budgets = [library.num_threads for library in libraries]  # read once: restored at the end
    workers = min(max(budgets, default=1), len(chunks))
    if workers <= 1:
        return [work(chunk) for chunk in chunks]
    jobs = iter(enumerate(chunks))  # shared: a thread takes the next chunk whenever it is free
    done = [None] * len(chunks)

    def take_turns() -> None:
        for i, chunk in jobs:
            done[i] = work(chunk)

    for library in libraries:  # (threadpoolctl's limit() does the same, at ten times the cost)
        library.set_num_threads(1)
    try:
        others = [_pool(workers - 1).submit(take_turns) for _ in range(workers - 1)]
        try:
            take_turns()  # this thread is one of them
        finally:
            futures.wait(others)  # never leave a thread writing after an error here
        for future in others:
            future.result()
    finally:
        for library, budget in zip(libraries, budgets):
            library.set_num_threads(budget)
    return done


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


def _padded_layout(geo: Window, n: int, c: int) -> tuple[int, ...]:
    """Shape of the buffer that holds n padded images: (n, C, Hp, Wp); or, when
    :func:`_shifts_whole_rows`, padded above and below only, rows end to end, with ``left`` zeros
    before and ``right`` after: (n, C, left + Hp·W + right)."""
    if not _shifts_whole_rows(geo):
        return (n, c, *geo.padded_hw)
    _, _, left, right = geo.pads
    return (n, c, left + geo.padded_hw[0] * geo.in_hw[1] + right)


def _unpad(x_pad: np.ndarray, geo: Window) -> np.ndarray:
    """The (n, C, H, W) images inside a buffer laid out by :func:`_padded_layout` (a view)."""
    if not _shifts_whole_rows(geo):
        return geo.unpad(x_pad)
    top, _, left, _ = geo.pads
    h, w = geo.in_hw
    return x_pad[:, :, left + top * w : left + (top + h) * w].reshape(*x_pad.shape[:2], h, w)


def _tap_view(x_pad: np.ndarray, geo: Window, writeable: bool = False) -> np.ndarray:
    """Every patch entry of a few padded images (laid out by :func:`_padded_layout`) at once, as a
    view (C, kh, kw, n, Ho, Wo) that copies nothing: element [c, u, v, m, i, j] is the number that
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


class _Workspace:
    """The memory in which one thread builds the patch matrix of a chunk of ``m`` images of one layer,
    with every view into it prepared, so that building a chunk's columns is a handful of numpy calls
    (:meth:`patch_columns`).

    Kept between calls (:func:`_workspace`), for three reasons, all measured: fresh memory costs a
    page fault per 4 KiB the first time it is written; memory used a moment ago is still in the
    cache; and, mostly, a thread holds Python's interpreter lock between numpy calls. Two threads
    that make many small calls (building views, zeroing margins) keep waiting for each other, and on
    a virtual machine each wait ends with a wake-up of tens of microseconds: the copies of shape A
    took 0.38 ms on two threads against 0.23 on one (and 0.23 in two processes).

    The padding's zeros and the row of ones are written once, when the workspace is made: no copy
    ever writes there. What the rest held before is overwritten, so a result handed back to the
    caller must never be a view of a workspace.
    """

    def __init__(self, geo: Window, m: int, c: int, dtype: Any):
        g, (kh, kw), (ho, wo) = geo.groups, geo.kernel, geo.out_hw
        rows = c // g * kh * kw
        self.x_pad = np.zeros(_padded_layout(geo, m, c), dtype=dtype)
        self.images = _unpad(self.x_pad, geo)  # where a chunk's images are copied in
        # (G, C/G·kh·kw + 1, m·Ho·Wo): one column per output pixel, the last row all ones
        self.with_ones = _empty_rows((g, rows + 1, m * ho * wo), dtype)
        self.with_ones[:, rows] = 1
        self.cols = self.with_ones[:, :rows]
        per_group = (g, c // g, kh, kw, m, ho, wo)
        self.entries = np.reshape(self.cols, per_group, copy=False)  # a view: the group's rows are (C/G, kh, kw)
        self.taps = _tap_view(self.x_pad, geo).reshape(per_group)
        # entries that met a pixel wrapped round from the row beside, where the padding has a zero
        self.wrapped_index = []
        for v in range(kw):
            left, right = _wrapped_columns(v, geo)
            if left:
                self.wrapped_index.append(np.s_[:, :, :, v, ..., :left])
            if right:
                self.wrapped_index.append(np.s_[:, :, :, v, ..., wo - right :])
        self.wrapped = [self.entries[index] for index in self.wrapped_index]
        self.geo, self.dcols = geo, None  # the backward pass's memory is made when first needed
        self.nbytes = self.x_pad.nbytes + self.with_ones.base.nbytes

    def patch_columns(self, x: np.ndarray, ones_row: bool = False) -> np.ndarray:
        """im2col of the m images ``x``: (G, C/G·kh·kw, m·Ho·Wo), one column per output pixel; with
        ``ones_row``, each group's matrix has one more row, all ones, so that a bias column appended
        to the weights adds the bias in the same product.

        This is the one copy of im2col: every patch entry, copied out of :func:`_tap_view` at once.
        """
        np.copyto(self.images, x)
        np.copyto(self.entries, self.taps)
        for view in self.wrapped:
            view.fill(0)
        return self.with_ones if ones_row else self.cols

    def patch_gradient(self) -> np.ndarray:
        """Memory for the gradient of the patch matrix, (G, C/G·kh·kw, m·Ho·Wo), for the backward
        pass to write (made on first use, with the views :meth:`add_patch_gradient` needs)."""
        if self.dcols is None:
            self.dcols = _empty_rows(self.cols.shape, self.cols.dtype)
            self.dx_pad = np.zeros_like(self.x_pad)
            self.dx_images = _unpad(self.dx_pad, self.geo)
            d_entries = np.reshape(self.dcols, self.entries.shape, copy=False)
            d_taps = _tap_view(self.dx_pad, self.geo, writeable=True).reshape(self.entries.shape)
            kh, kw = self.geo.kernel
            # taps overlap in the image, so they are added one at a time
            self.tap_pairs = [(d_taps[:, :, u, v], d_entries[:, :, u, v]) for u in range(kh) for v in range(kw)]
            self.d_wrapped = [d_entries[index] for index in self.wrapped_index]
            self.nbytes += self.dcols.base.nbytes + self.dx_pad.nbytes
        return self.dcols

    def add_patch_gradient(self) -> np.ndarray:
        """col2im: add the gradient of every patch entry (written into :meth:`patch_gradient`) onto
        the pixel it was copied from: :meth:`patch_columns` in reverse, ``+=`` instead of ``=``.
        Returns the (m, C, H, W) gradient of the images, a view of this workspace."""
        self.dx_pad.fill(0)
        for view in self.d_wrapped:  # these entries met zeros of the padding, not pixels of the row beside
            view.fill(0)
        for image_taps, block in self.tap_pairs:
            np.add(image_taps, block, out=image_taps)
        return self.dx_images


def _workspace(geo: Window, m: int, c: int, dtype: Any) -> _Workspace:
    """This thread's :class:`_Workspace` for chunks of m images of this layer, made on first use.

    Each thread keeps its most recently used workspaces up to WORKSPACE_BYTES in all (several
    layers of a network, taking turns); one larger than that is used once and not kept.
    """
    kept = _thread_workspaces.__dict__.setdefault("kept", {})
    key = (geo, m, c, np.dtype(dtype))
    space = kept.pop(key, None) or _Workspace(geo, m, c, dtype)
    kept[key] = space  # now the most recently used
    while sum(s.nbytes for s in kept.values()) > WORKSPACE_BYTES:
        del kept[next(iter(kept))]  # the least recently used, possibly the new one itself
    return space


_thread_workspaces = threading.local()


def _weight_rows(w: np.ndarray, groups: int, b: np.ndarray | None = None) -> np.ndarray:
    """w (K, C/G, kh, kw) as one matrix per group, (G, K/G, C/G·kh·kw): each filter is a row; with
    ``b``, the bias is one more column (it meets the row of ones of :meth:`_Workspace.patch_columns`)."""
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
    # (C·kh·kw, N·Ho·Wo): the pixels of image 0, then of image 1, ...; a workspace of its own, not kept
    cols = _Workspace(geo, n, x.shape[1], x.dtype).patch_columns(x)[0]
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
        m = chunk.stop - chunk.start
        cols = _workspace(geo, m, c, x.dtype).patch_columns(x[chunk], ones_row=b is not None)  # in cache
        per_image = cols.reshape(g, -1, m, ho * wo).transpose(2, 0, 1, 3)
        out_chunk = out[chunk].reshape(m, g, k // g, ho * wo)  # a view into out
        np.matmul(w_rows, per_image, out=out_chunk)  # (m, G, K/G, Ho·Wo): already channels first

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
        m = chunk.stop - chunk.start
        space = _workspace(geo, m, c, x.dtype)
        cols = space.patch_columns(x[chunk])  # rebuilt as in the forward pass
        # dout as (G, K/G, m·Ho·Wo), the layout of the forward product
        d_rows = dout[chunk].reshape(m, g, k // g, ho * wo).transpose(1, 2, 0, 3).reshape(g, k // g, -1)
        np.matmul(w_rows.transpose(0, 2, 1), d_rows, out=space.patch_gradient())
        dx[chunk] = space.add_patch_gradient()
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
