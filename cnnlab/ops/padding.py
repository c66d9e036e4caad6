"""Output sizes and padding: "valid", "same", "full" and explicit amounts.

The output size of a sliding window along one axis is

    out = floor((n + p_before + p_after - f_eff) / s) + 1,   f_eff = d·(f - 1) + 1

where ``n`` is the input size, ``f`` the kernel size, ``s`` the stride and ``d``
the dilation. Padding names follow Keras/TensorFlow:

* ``"valid"``: no padding at all.
* ``"same"``: at stride 1 the output is as large as the input (p = (f - 1)/2 on
  each side for an odd kernel; an even kernel puts the extra row/column at the
  bottom/right). At stride s > 1 the output is ceil(n / s) and the total padding
  is max((ceil(n/s) - 1)·s + f_eff - n, 0), split with the extra at the
  bottom/right, exactly as TensorFlow does.
* ``"full"``: f_eff - 1 on every side, so every input pixel meets every kernel tap.
"""
from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral
from typing import Any

import numpy as np

from ._validate import as_pair

Pads = tuple[int, int, int, int]
PADDING_HELP = (
    "expected 'valid', 'same', 'full', an int, a pair (ph, pw) "
    "or a 4-tuple (top, bottom, left, right)"
)


def effective_kernel_size(f: int, d: int = 1) -> int:
    """Extent of a kernel of size ``f`` dilated by ``d``: d·(f - 1) + 1."""
    return d * (f - 1) + 1


def conv_output_size(n: int, f: int, p: int | tuple[int, int] = 0, s: int = 1, d: int = 1) -> int:
    """Output length of a convolution or pooling window along one axis.

    ``p`` is the padding on each side, or a ``(before, after)`` pair for uneven
    padding. Non-integer results are rounded down (the last partial window is
    dropped), as every framework does.

    >>> conv_output_size(6, 3)            # 6x6 image, 3x3 kernel
    4
    >>> conv_output_size(7, 3, p=1, s=2)
    4
    """
    for value, name in ((n, "n"), (f, "f"), (s, "s"), (d, "d")):
        if (type(value) is not int and not isinstance(value, Integral)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if type(p) is int or isinstance(p, Integral):
        before = after = int(p)
    else:
        try:
            before, after = (int(v) for v in p)
        except (TypeError, ValueError):
            raise ValueError(f"p must be an int or a (before, after) pair, got {p!r}") from None
    if before < 0 or after < 0:
        raise ValueError(f"padding must be non-negative, got {p!r}")
    eff = effective_kernel_size(f, d)
    padded = n + before + after
    if eff > padded:
        raise ValueError(
            f"the kernel (effective size {eff}) is larger than the padded input ({padded}); "
            "add padding or use a smaller kernel"
        )
    return (padded - eff) // s + 1


def _same_pads(n: int | None, eff: int, s: int) -> tuple[int, int]:
    """TensorFlow's "same" padding along one axis: (before, after)."""
    if s == 1:
        total = eff - 1
    else:
        if n is None:
            raise ValueError(
                "padding='same' with stride > 1 depends on the input size: pass input_size=(H, W)"
            )
        out = -(-n // s)  # ceil(n / s)
        total = max((out - 1) * s + eff - n, 0)
    return total // 2, total - total // 2


def resolve_padding(
    padding: Any,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    dilation: int | tuple[int, int] = 1,
    input_size: int | tuple[int, int] | None = None,
) -> Pads:
    """Turn any accepted padding spec into explicit ``(top, bottom, left, right)``.

    ``padding`` may be "valid", "same", "full", an int (all sides), a pair
    ``(ph, pw)`` (top = bottom = ph, left = right = pw) or a 4-tuple
    ``(top, bottom, left, right)``. ``input_size`` (H, W) is needed only for
    "same" with a stride larger than one.
    """
    kh, kw = as_pair(kernel_size, "kernel_size")
    sh, sw = as_pair(stride, "stride")
    dh, dw = as_pair(dilation, "dilation")
    eff_h, eff_w = effective_kernel_size(kh, dh), effective_kernel_size(kw, dw)

    if isinstance(padding, str):
        name = padding.lower()
        if name == "valid":
            return (0, 0, 0, 0)
        if name == "full":
            return (eff_h - 1, eff_h - 1, eff_w - 1, eff_w - 1)
        if name == "same":
            h = w = None
            if input_size is not None:
                h, w = as_pair(input_size, "input_size")
            return (*_same_pads(h, eff_h, sh), *_same_pads(w, eff_w, sw))
        raise ValueError(f"unknown padding {padding!r}; {PADDING_HELP}")
    return explicit_pads(padding)


def explicit_pads(padding: Any) -> Pads:
    """An int, a pair ``(ph, pw)`` or a 4-tuple as ``(top, bottom, left, right)``."""
    if type(padding) is int or (isinstance(padding, Integral) and not isinstance(padding, bool)):
        pads = (int(padding),) * 4
    elif isinstance(padding, Iterable) and not isinstance(padding, (str, bytes)):
        items = list(padding)
        if not all(isinstance(v, Integral) and not isinstance(v, bool) for v in items):
            raise ValueError(f"padding values must be integers, got {padding!r}; {PADDING_HELP}")
        if len(items) == 2:
            pads = (int(items[0]), int(items[0]), int(items[1]), int(items[1]))
        elif len(items) == 4:
            pads = tuple(int(v) for v in items)  # type: ignore[assignment]
        else:
            raise ValueError(f"padding has {len(items)} values; {PADDING_HELP}")
    else:
        raise ValueError(f"unknown padding {padding!r}; {PADDING_HELP}")
    if min(pads) < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    return pads  # type: ignore[return-value]


def pad2d(x: np.ndarray, pads: Any, value: float = 0.0) -> np.ndarray:
    """Pad the last two axes (height, width) of ``x`` with a constant ``value``.

    ``pads`` is an int, ``(ph, pw)`` or ``(top, bottom, left, right)``. Works on a
    single H×W image as well as on N×C×H×W batches.
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 axes (..., H, W), got shape {x.shape}")
    top, bottom, left, right = explicit_pads(pads)
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    return np.pad(x, widths, mode="constant", constant_values=value)
