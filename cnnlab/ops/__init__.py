"""cnnlab.ops: convolution, pooling, padding and layouts on numpy arrays, for the lectures and widgets.

Conventions
-----------
* Layout is PyTorch's: activations (N, C, H, W); convolution weights
  (out_channels, in_channels // groups, kh, kw). :mod:`cnnlab.ops.layout`
  converts from/to TensorFlow's (N, H, W, C) and (kh, kw, in, out).
* Convolution: ``conv2d(x, w, b, stride, padding, dilation, groups)`` (defaults
  None, 1, 0, 1, 1). Pooling: ``max_pool2d(x, size, stride, padding)`` and
  ``avg_pool2d`` (stride None = the window size).
  Strides, dilations and sizes are an int or an (h, w) pair; padding is
  anything :func:`resolve_padding` accepts ("valid", "same", "full", int,
  (ph, pw), (top, bottom, left, right)).
* "Convolution" is cross-correlation, as in every DL framework; pass
  ``flip=True`` to :func:`conv2d` (or use :func:`flip_kernel`) for a true one.
* Floating inputs keep their dtype (float32 stays float32); integers become float64.
* Bad arguments raise ``ValueError`` saying what was wrong and what was expected.

Convolution and max/average pooling are computed by PyTorch's operators behind
cnnlab's argument checks (padding strings, asymmetric padding, clear messages). The
from-scratch versions — loops, im2col, the backward passes — are what assignment 1 asks
students to write; their references live on the instructor's side only, never in the student
package (docs/audiences.md).
"""
from __future__ import annotations

from .conv import conv2d, flip_kernel
from .layout import hwio_to_oihw, nchw_to_nhwc, nhwc_to_nchw, oihw_to_hwio
from .padding import conv_output_size, effective_kernel_size, pad2d, resolve_padding
from .pool import (
    avg_pool2d,
    depthwise_max_pool,
    global_avg_pool_backward,
    global_avg_pool_forward,
    max_pool2d,
)

__all__ = [
    "avg_pool2d",
    "conv2d",
    "conv_output_size",
    "depthwise_max_pool",
    "effective_kernel_size",
    "flip_kernel",
    "global_avg_pool_backward",
    "global_avg_pool_forward",
    "hwio_to_oihw",
    "max_pool2d",
    "nchw_to_nhwc",
    "nhwc_to_nchw",
    "oihw_to_hwio",
    "pad2d",
    "resolve_padding",
]
