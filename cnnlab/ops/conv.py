"""The one-call convolution and true convolution vs cross-correlation.

What deep-learning libraries call "convolution" (``torch.nn.functional.conv2d``,
Keras ``Conv2D``) slides the kernel over the input *without flipping it*: in
mathematics that is a **cross-correlation**. A true convolution first rotates
the kernel by 180° (flips rows and columns). For learned filters the
difference does not matter — the network simply learns the flipped kernel — but
it does for hand-made kernels and for results quoted from signal processing.
``conv2d(x, w, flip=True)`` is the true convolution.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import as_float_array
from .conv_fast import conv2d_fast_forward
from .conv_naive import conv2d_naive_forward

_IMPLS = {"fast": conv2d_fast_forward, "naive": conv2d_naive_forward}


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
    impl: str = "fast",
) -> np.ndarray:
    """Convolve a batch x (N, C, H, W) with w (K, C // groups, kh, kw); return (N, K, Ho, Wo).

    ``flip=False`` (default) is the cross-correlation every framework computes;
    ``flip=True`` flips the kernel first: a true convolution. ``impl`` picks the
    "fast" (im2col) or the "naive" (loops) implementation.
    """
    if impl not in _IMPLS:
        raise ValueError(f"impl must be one of {sorted(_IMPLS)}, got {impl!r}")
    if flip:
        w = flip_kernel(w)
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return _IMPLS[impl](x, w, b, params)[0]
