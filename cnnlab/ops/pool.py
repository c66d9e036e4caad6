"""Pooling for the lectures and widgets: max, average, global average and depthwise, NCHW numpy.

Max and average pooling call PyTorch's operators (in the input's float dtype, on the CPU) and
return numpy arrays; writing them from scratch, forward and backward, is assignment 1's job.
Conventions are PyTorch's defaults:

* Max pooling pads with -inf, so padding never wins the max.
* Average pooling pads with zeros and **counts them in the divisor**: every window is divided
  by size_h·size_w (``count_include_pad=True``).
* Padding may be at most half the window on each side.

Sizes and strides are an int or an (h, w) pair; stride None means the window size (windows
do not overlap); padding is anything :func:`cnnlab.ops.resolve_padding` accepts.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._torch import from_torch, to_torch
from ._validate import as_float_array, check_4d
from .geometry import Window, prepare_pool


def _pool(kind: str, x: Any, size: Any, stride: Any, padding: Any) -> np.ndarray:
    import torch.nn.functional as F

    x, geo = prepare_pool(x, {"size": size, "stride": stride, "padding": padding}, f"{kind} pool")
    top, bottom, left, right = geo.pads
    fill = -np.inf if kind == "max" else 0.0
    xt = F.pad(to_torch(x), (left, right, top, bottom), value=fill)
    op = F.max_pool2d if kind == "max" else F.avg_pool2d
    out = op(xt, geo.kernel, geo.stride)
    return _crop(from_torch(out, x.dtype), geo)


def _crop(out: np.ndarray, geo: Window) -> np.ndarray:
    """PyTorch and cnnlab agree on the output size; cropping guards the ceil-mode corner cases."""
    ho, wo = geo.out_hw
    return np.ascontiguousarray(out[..., :ho, :wo])


def max_pool2d(x: Any, size: int | tuple[int, int], stride: Any = None, padding: Any = 0) -> np.ndarray:
    """Max pooling of x (N, C, H, W): each output is the maximum of its window."""
    return _pool("max", x, size, stride, padding)


def avg_pool2d(x: Any, size: int | tuple[int, int], stride: Any = None, padding: Any = 0) -> np.ndarray:
    """Average pooling of x (N, C, H, W) (zeros of the padding count in the mean)."""
    return _pool("avg", x, size, stride, padding)


def _check_dout(dout: Any, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    dout = np.asarray(dout, dtype=dtype)
    if dout.shape != tuple(shape):
        raise ValueError(f"dout must have the shape of the forward output {tuple(shape)}, got {dout.shape}")
    return dout


def global_avg_pool_forward(x: Any) -> tuple[np.ndarray, tuple]:
    """One number per feature map: the mean over H and W. Output (N, C, 1, 1), and a cache."""
    x = as_float_array(x, "x")
    check_4d(x, "x")
    return x.mean(axis=(2, 3), keepdims=True), (x.shape, x.dtype)


def global_avg_pool_backward(dout: Any, cache: tuple) -> np.ndarray:
    """Spread each (N, C, 1, 1) gradient evenly over its H×W feature map."""
    x_shape, dtype = cache
    dout = _check_dout(dout, (*x_shape[:2], 1, 1), dtype)
    h, w = x_shape[2:]
    return np.ascontiguousarray(np.broadcast_to(dout / (h * w), x_shape))


def depthwise_max_pool(x: Any, size: int) -> np.ndarray:
    """Max over groups of ``size`` consecutive channels: (N, C, H, W) -> (N, C // size, H, W).

    Pooling across channels instead of space: if the channels in a group detect
    the same pattern in different orientations (say), their maximum responds to
    the pattern whatever its orientation.
    """
    x = as_float_array(x, "x")
    check_4d(x, "x")
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    n, c, h, w = x.shape
    if c % size != 0:
        raise ValueError(f"size={size} must divide the number of channels, but x has {c} channels")
    return x.reshape(n, c // size, size, h, w).max(axis=2)
