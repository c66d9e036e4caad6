"""Reference (instructor only): assignment 1's output shape and padding for a target size, by counting.

Written independently of ``cnnlab.ops.padding`` (which students have): the sizes come from
sliding a (dilated) window along a row of pixels and counting where it fits, not from the
formulas. Both functions take a per-axis spec: an int means the same value on both axes.
"""
from __future__ import annotations

from typing import Any


def _fits(width: int, span: int, s: int) -> int:
    """Number of start pixels 0, s, 2s, ... at which a window covering ``span`` pixels fits in ``width``."""
    count, start = 0, 0
    while start + span <= width:
        count += 1
        start += s
    return count


def _pair(value: Any, name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return int(value[0]), int(value[1])
    raise ValueError(f"{name} should be an int or a (height, width) pair, got {value!r}")


def _pads(padding: Any) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int, an (h, w) pair or a 4-tuple."""
    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        return tuple(int(p) for p in padding)  # type: ignore[return-value]
    ph, pw = _pair(padding, "padding")
    return ph, ph, pw, pw


def _span(f: int, d: int) -> int:
    """Pixels a kernel of ``f`` taps with dilation ``d`` covers: the first tap, then d pixels further each."""
    covered = 1
    for _ in range(f - 1):
        covered += d
    return covered


def count_window_positions(in_hw: Any, kernel: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1) -> tuple[int, int]:
    """(H_out, W_out) of a dilated, strided convolution, counting window positions on each padded axis."""
    top, bottom, left, right = _pads(padding)
    out = []
    for n, f, s, d, before, after in zip(_pair(in_hw, "in_hw"), _pair(kernel, "kernel"), _pair(stride, "stride"),
                                         _pair(dilation, "dilation"), (top, left), (bottom, right)):
        if min(n, f, s, d) < 1 or min(before, after) < 0:
            raise ValueError("sizes, strides and dilations must be >= 1 and paddings >= 0")
        out.append(_fits(n + before + after, _span(f, d), s))
    return out[0], out[1]


def same_padding_by_search(in_hw: Any, kernel: Any, stride: Any = 1, dilation: Any = 1,
                      out_hw: Any = None) -> tuple[int, int, int, int]:
    """(top, bottom, left, right): per axis the least total padding giving ``out_hw`` outputs
    (by default "same": ceil(n / s)); an odd total puts the extra pixel after (bottom, right)."""
    sizes = _pair(in_hw, "in_hw")
    steps = _pair(stride, "stride")
    targets = tuple(len(range(0, n, s)) for n, s in zip(sizes, steps)) if out_hw is None else _pair(out_hw, "out_hw")
    pads: list[int] = []
    for n, f, s, d, target in zip(sizes, _pair(kernel, "kernel"), steps, _pair(dilation, "dilation"), targets):
        span, total = _span(f, d), 0
        if _fits(n, span, s) > target:
            raise ValueError(f"{target} outputs cannot be reached by padding an axis of {n} pixels")
        while _fits(n + total, span, s) < target:
            total += 1
        pads += [total // 2, total - total // 2]
    return pads[0], pads[1], pads[2], pads[3]
