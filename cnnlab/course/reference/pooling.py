"""Reference (instructor only): max and average pooling layers, forward and backward, NCHW.

Answers assignment 1's ``max_pool_forward``, ``avg_pool_forward`` and ``max_pool_backward``;
never shipped to students (they get PyTorch-backed ``cnnlab.ops.max_pool2d``/``avg_pool2d``).

A pooling layer has no weights: a window of ``size`` slides with ``stride``
(default: the window size, so windows do not overlap) and each output is the
maximum or the mean of the window. Conventions follow PyTorch's defaults:

* Max pooling pads with -inf, so padding never wins the max. In a tie the
  gradient goes to the *first* maximum in row-major order inside the window.
* Average pooling pads with zeros and **counts them in the divisor**: every
  window is divided by size_h·size_w (``count_include_pad=True``).
* Padding may be at most half the window on each side.

``params`` dicts use the keys "size" (default 2), "stride" (None = size) and
"padding" (default 0; anything :func:`cnnlab.ops.resolve_padding` accepts).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnlab.ops.geometry import Window, prepare_pool
from cnnlab.ops.padding import pad2d


def _pool_windows(x_pad: np.ndarray, geo: Window) -> np.ndarray:
    """View of all windows: shape (N, C, Ho, Wo, kh, kw), no copy."""
    (sh, sw), (ho, wo) = geo.stride, geo.out_hw
    view = sliding_window_view(x_pad, geo.kernel, axis=(2, 3))
    return view[:, :, : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]


def _check_dout(dout: Any, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    dout = np.asarray(dout, dtype=dtype)
    if dout.shape != tuple(shape):
        raise ValueError(f"dout must have the shape of the forward output {tuple(shape)}, got {dout.shape}")
    return dout


def _scatter_windows(per_tap: np.ndarray, geo: Window, x_shape: tuple[int, ...]) -> np.ndarray:
    """Sum window-shaped gradients (N, C, Ho, Wo, kh, kw) back onto the input grid.

    Loops over the kh·kw positions inside the window, adding each as one strided slice.
    """
    (sh, sw), (ho, wo), (kh, kw) = geo.stride, geo.out_hw, geo.kernel
    hp, wp = geo.padded_hw
    dx_pad = np.zeros((*x_shape[:2], hp, wp), dtype=per_tap.dtype)
    for u in range(kh):
        for v in range(kw):
            dx_pad[:, :, u : u + (ho - 1) * sh + 1 : sh, v : v + (wo - 1) * sw + 1 : sw] += per_tap[..., u, v]
    return np.ascontiguousarray(geo.unpad(dx_pad))


def max_pool_forward(x: Any, params: dict | None = None) -> tuple[np.ndarray, tuple]:
    """Max pooling forward: ``(out, cache)`` with out of shape (N, C, Ho, Wo)."""
    x, geo = prepare_pool(x, params, "max pool")
    windows = _pool_windows(pad2d(x, geo.pads, value=-np.inf), geo)
    flat = windows.reshape(*windows.shape[:4], -1)  # (N, C, Ho, Wo, kh·kw)
    argmax = flat.argmax(axis=-1)  # the first maximum in row-major order
    out = np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]
    return out, (x.shape, x.dtype, geo, argmax)


def max_pool_backward(dout: Any, cache: tuple) -> np.ndarray:
    """Max pooling backward: each window's gradient goes to its (first) maximum."""
    x_shape, dtype, geo, argmax = cache
    dout = _check_dout(dout, argmax.shape, dtype)
    kh, kw = geo.kernel
    taps = np.arange(kh * kw).reshape(kh, kw)
    # one-hot over the window: per_tap[..., u, v] = dout where (u, v) was the argmax
    per_tap = np.where(argmax[..., None, None] == taps, dout[..., None, None], 0).astype(dtype)
    return _scatter_windows(per_tap, geo, x_shape)


def avg_pool_forward(x: Any, params: dict | None = None) -> tuple[np.ndarray, tuple]:
    """Average pooling forward (padded zeros count in the divisor): ``(out, cache)``."""
    x, geo = prepare_pool(x, params, "avg pool")
    windows = _pool_windows(pad2d(x, geo.pads), geo)
    out = windows.mean(axis=(-2, -1))
    return out, (x.shape, x.dtype, geo)


def avg_pool_backward(dout: Any, cache: tuple) -> np.ndarray:
    """Average pooling backward: each window's gradient is shared equally by its pixels."""
    x_shape, dtype, geo = cache
    dout = _check_dout(dout, (*x_shape[:2], *geo.out_hw), dtype)
    kh, kw = geo.kernel
    share = dout / (kh * kw)
    per_tap = np.broadcast_to(share[..., None, None], (*share.shape, kh, kw))
    return _scatter_windows(per_tap, geo, x_shape)
