"""The one-call convolution of the lectures, and true convolution vs cross-correlation.

What deep-learning libraries call "convolution" (``torch.nn.functional.conv2d``,
Keras ``Conv2D``) slides the kernel over the input *without flipping it*: in
mathematics that is a **cross-correlation**. A true convolution first rotates
the kernel by 180° (flips rows and columns). For learned filters the
difference does not matter — the network simply learns the flipped kernel — but
it does for hand-made kernels and for results quoted from signal processing.
``conv2d(x, w, flip=True)`` is the true convolution.

:func:`conv2d` validates its arguments with cnnlab's messages, then lets PyTorch's operator
compute (in the inputs' float dtype, on the CPU). Writing a convolution from scratch, forward
and backward, loops and im2col, is assignment 1's job.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._torch import from_torch, to_torch
from ._validate import as_float_array
from .geometry import prepare_conv


def flip_kernel(w: Any) -> np.ndarray:
    """The kernel rotated by 180°: its last two axes (kh, kw) reversed.

    Works on a single kh×kw kernel as well as on (K, C, kh, kw) weights.
    """
    w = as_float_array(w, "w")
    if w.ndim < 2:
        raise ValueError(f"w must have at least 2 axes (..., kh, kw), got shape {w.shape}")
    return np.ascontiguousarray(w[..., ::-1, ::-1])


def conv2d(
    x: Any,
    w: Any,
    b: Any = None,
    stride: int | tuple[int, int] = 1,
    padding: Any = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    *,
    flip: bool = False,
) -> np.ndarray:
    """Convolve a batch x (N, C, H, W) with w (K, C // groups, kh, kw); return (N, K, Ho, Wo).

    ``flip=False`` (default) is the cross-correlation every framework computes;
    ``flip=True`` flips the kernel first: a true convolution. ``padding`` is anything
    :func:`cnnlab.ops.resolve_padding` accepts ("valid", "same", "full", an int, a pair,
    or (top, bottom, left, right)).
    """
    import torch.nn.functional as F

    if flip:
        w = flip_kernel(w)
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    x, w, b, geo = prepare_conv(x, w, b, params)
    top, bottom, left, right = geo.pads
    xt = F.pad(to_torch(x), (left, right, top, bottom))
    out = F.conv2d(xt, to_torch(w), None if b is None else to_torch(b), stride=geo.stride,
                   dilation=geo.dilation, groups=geo.groups)
    return np.ascontiguousarray(from_torch(out, x.dtype))
