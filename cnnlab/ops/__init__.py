"""cnnlab.ops: convolution and pooling from scratch in numpy — the course's answer key.

Conventions
-----------
* Layout is PyTorch's: activations (N, C, H, W); convolution weights
  (out_channels, in_channels // groups, kh, kw). :mod:`cnnlab.ops.layout`
  converts from/to TensorFlow's (N, H, W, C) and (kh, kw, in, out).
* Layers follow the cs231n style: ``out, cache = *_forward(x, ..., params)`` and
  ``grads = *_backward(dout, cache)``, where ``dout`` is the gradient of the loss
  with respect to ``out``. Convolutions return ``(dx, dw, db)`` (db is None when
  the bias is None); pooling layers return ``dx``.
* Convolution params: "stride", "padding", "dilation", "groups" (defaults
  1, 0, 1, 1). Pooling params: "size", "stride" (default: size), "padding".
  Strides, dilations and sizes are an int or an (h, w) pair; padding is
  anything :func:`resolve_padding` accepts ("valid", "same", "full", int,
  (ph, pw), (top, bottom, left, right)).
* "Convolution" is cross-correlation, as in every DL framework; pass
  ``flip=True`` to :func:`conv2d` (or use :func:`flip_kernel`) for a true one.
* Floating inputs keep their dtype (float32 stays float32); integers become float64.
* Bad arguments raise ``ValueError`` saying what was wrong and what was expected.

Two implementations compute the same thing: ``conv2d_naive_*`` (loops, to be
read) and ``conv2d_fast_*`` (im2col + matrix multiply, to be used).
"""
from __future__ import annotations

from .conv import conv2d, flip_kernel
from .conv_fast import conv2d_fast, conv2d_fast_backward, conv2d_fast_forward, im2col
from .conv_naive import conv2d_naive, conv2d_naive_backward, conv2d_naive_forward
from .layout import hwio_to_oihw, nchw_to_nhwc, nhwc_to_nchw, oihw_to_hwio
from .padding import conv_output_size, effective_kernel_size, pad2d, resolve_padding
from .pool import (
    avg_pool2d,
    avg_pool_backward,
    avg_pool_forward,
    depthwise_max_pool,
    global_avg_pool_backward,
    global_avg_pool_forward,
    max_pool2d,
    max_pool_backward,
    max_pool_forward,
)

__all__ = [
    "avg_pool2d",
    "avg_pool_backward",
    "avg_pool_forward",
    "conv2d",
    "conv2d_fast",
    "conv2d_fast_backward",
    "conv2d_fast_forward",
    "conv2d_naive",
    "conv2d_naive_backward",
    "conv2d_naive_forward",
    "conv_output_size",
    "depthwise_max_pool",
    "effective_kernel_size",
    "flip_kernel",
    "global_avg_pool_backward",
    "global_avg_pool_forward",
    "hwio_to_oihw",
    "im2col",
    "max_pool2d",
    "max_pool_backward",
    "max_pool_forward",
    "nchw_to_nhwc",
    "nhwc_to_nchw",
    "oihw_to_hwio",
    "pad2d",
    "resolve_padding",
]
