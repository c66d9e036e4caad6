"""The shape bookkeeping shared by every sliding-window operator.

:func:`prepare_conv` and :func:`prepare_pool` validate the arguments (through
:mod:`cnnlab.ops._validate`), resolve the padding and compute the output size
once, so the naive and the fast implementations agree by construction on what
they compute and differ only in how.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validate as v
from .padding import Pads, conv_output_size, effective_kernel_size, resolve_padding

CONV_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1}
POOL_DEFAULTS = {"size": 2, "stride": None, "padding": 0}


@dataclass(frozen=True)
class Window:
    """Where a kernel or pooling window goes over an N×C×H×W input."""

    kernel: tuple[int, int]  # (kh, kw)
    stride: tuple[int, int]  # (sh, sw)
    dilation: tuple[int, int]  # (dh, dw)
    pads: Pads  # (top, bottom, left, right)
    in_hw: tuple[int, int]  # (H, W) before padding
    out_hw: tuple[int, int]  # (Ho, Wo)
    groups: int = 1

    @property
    def padded_hw(self) -> tuple[int, int]:
        t, b, l, r = self.pads
        return self.in_hw[0] + t + b, self.in_hw[1] + l + r

    @property
    def effective(self) -> tuple[int, int]:
        return (
            effective_kernel_size(self.kernel[0], self.dilation[0]),
            effective_kernel_size(self.kernel[1], self.dilation[1]),
        )

    def unpad(self, x_padded: np.ndarray) -> np.ndarray:
        """Crop the padding back off the last two axes."""
        t, b, l, r = self.pads
        hp, wp = self.padded_hw
        return x_padded[..., t : hp - b, l : wp - r]


def _window(
    in_hw: tuple[int, int], kernel, stride, dilation, padding, what: str, groups: int = 1
) -> Window:
    kernel = v.as_pair(kernel, "kernel size" if what == "kernel" else "size")
    stride = v.as_pair(stride, "stride")
    dilation = v.as_pair(dilation, "dilation")
    pads = resolve_padding(padding, kernel, stride, dilation, input_size=in_hw)
    eff = (effective_kernel_size(kernel[0], dilation[0]), effective_kernel_size(kernel[1], dilation[1]))
    padded = (in_hw[0] + pads[0] + pads[1], in_hw[1] + pads[2] + pads[3])
    v.check_window_fits(padded, eff, what, dilation)
    out_hw = (
        conv_output_size(in_hw[0], kernel[0], pads[:2], stride[0], dilation[0]),
        conv_output_size(in_hw[1], kernel[1], pads[2:], stride[1], dilation[1]),
    )
    return Window(kernel, stride, dilation, pads, in_hw, out_hw, groups)


def prepare_conv(
    x: Any, w: Any, b: Any, params: dict | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, Window]:
    """Validate a convolution's arguments; return float arrays and the geometry."""
    p = v.check_params(params, CONV_DEFAULTS, "conv")
    x = v.as_float_array(x, "x")
    w = v.as_float_array(w, "w")
    b = None if b is None else v.as_float_array(b, "b")
    v.check_4d(x, "x")
    v.check_4d(w, "w", "(out_channels, in_channels // groups, kh, kw)")
    dtype = v.common_float_dtype(x, w, b)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    if b is not None:
        b = b.astype(dtype, copy=False)
    groups = v.check_groups(x.shape[1], w.shape[0], w.shape[1], p["groups"])
    v.check_bias(b, w.shape[0])
    geo = _window(x.shape[2:], w.shape[2:], p["stride"], p["dilation"], p["padding"], "kernel", groups)
    return x, w, b, geo


def prepare_pool(x: Any, params: dict | None, op: str = "pool") -> tuple[np.ndarray, Window]:
    """Validate a pooling layer's arguments; return the float input and the geometry.

    Padding may be at most half the window on each side (PyTorch's rule), so no
    window is made of padding only.
    """
    p = v.check_params(params, POOL_DEFAULTS, op)
    x = v.as_float_array(x, "x")
    v.check_4d(x, "x")
    size = v.as_pair(p["size"], "size")
    stride = size if p["stride"] is None else p["stride"]
    geo = _window(x.shape[2:], size, stride, 1, p["padding"], "pooling window")
    t, b, l, r = geo.pads
    if 2 * max(t, b) > size[0] or 2 * max(l, r) > size[1]:
        raise ValueError(
            f"padding {geo.pads} is too large for a {size[0]}×{size[1]} pooling window: "
            "each side may pad at most half the window, so that no window is only padding"
        )
    return x, geo
