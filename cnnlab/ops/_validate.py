"""Input checks shared by the convolution and pooling operators.

Every public operator in :mod:`cnnlab.ops` calls into this module, so a student
who passes the wrong thing sees the same kind of message everywhere: what was
wrong, and what was expected. All problems raise :class:`ValueError`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from numbers import Integral
from typing import Any

import numpy as np

Pair = tuple[int, int]


def as_float_array(value: Any, name: str, dtype: np.dtype | None = None) -> np.ndarray:
    """``value`` as a floating numpy array (integers and booleans become float64).

    When ``dtype`` is given the array is converted to it; otherwise a floating
    input keeps its own dtype (float32 stays float32).
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if np.iscomplexobj(arr) or arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if arr.dtype.kind != "f":
        return arr.astype(np.float64)
    return arr


def common_float_dtype(*arrays: np.ndarray | None) -> np.dtype:
    """The floating dtype the arrays combine to (float64 if none of them is floating)."""
    present = [a.dtype for a in arrays if a is not None]
    dtype = np.result_type(*present)
    if dtype.kind != "f":
        return np.dtype(np.float64)
    return dtype


def check_4d(arr: np.ndarray, name: str, axes: str = "(N, C, H, W)") -> None:
    """Raise unless ``arr`` has exactly four axes."""
    if arr.ndim != 4:
        hint = ""
        if arr.ndim == 3 and axes.startswith("(N"):
            hint = f"; for a single image add a batch axis with {name}[None]"
        raise ValueError(f"{name} must be 4-D {axes}, got shape {tuple(arr.shape)}{hint}")


def as_pair(value: Any, name: str, minimum: int = 1) -> Pair:
    """An int or a pair of ints as a ``(height, width)`` pair, each at least ``minimum``."""
    if type(value) is int:  # the usual cases first: checks against numbers.Integral are slow
        pair = (value, value)
    elif type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int:
        pair = value
    elif isinstance(value, Integral) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif (
        isinstance(value, Iterable)
        and not isinstance(value, (str, bytes))
        and len(items := list(value)) == 2
        and all(isinstance(v, Integral) and not isinstance(v, bool) for v in items)
    ):
        pair = (int(items[0]), int(items[1]))
    else:
        raise ValueError(f"{name} must be an int or a pair of ints (height, width), got {value!r}")
    if min(pair) < minimum:
        kind = "positive" if minimum == 1 else f"at least {minimum}"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return pair


def check_params(params: Mapping[str, Any] | None, allowed: Mapping[str, Any], op: str) -> dict:
    """``params`` merged over the defaults in ``allowed``; unknown keys are an error."""
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        raise ValueError(f"{op} params must be a dict such as {dict(allowed)}, got {type(params).__name__}")
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown {op} parameter(s) {unknown}; expected some of {sorted(allowed)}"
        )
    merged = dict(allowed)
    merged.update(params)
    return merged


def check_groups(in_channels: int, out_channels: int, w_in_channels: int, groups: Any) -> int:
    """Validate ``groups`` against the channels of the input (C) and of the weight."""
    if not isinstance(groups, Integral) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive integer, got {groups!r}")
    groups = int(groups)
    if out_channels % groups != 0:
        raise ValueError(
            f"groups={groups} must divide the number of output channels, "
            f"but w has {out_channels} output channels"
        )
    if in_channels % groups != 0:
        raise ValueError(
            f"groups={groups} must divide the number of input channels, "
            f"but x has {in_channels} channels"
        )
    if in_channels != w_in_channels * groups:
        raise ValueError(
            f"x has {in_channels} channels but w expects {w_in_channels} input channels "
            f"per group × {groups} groups (= {w_in_channels * groups}); "
            "w must have shape (out_channels, in_channels // groups, kh, kw)"
        )
    return groups


def check_bias(b: np.ndarray | None, out_channels: int) -> None:
    """A bias is either None or a vector with one entry per output channel."""
    if b is not None and b.shape != (out_channels,):
        raise ValueError(
            f"b must have shape ({out_channels},) (one bias per output channel), "
            f"got shape {tuple(b.shape)}"
        )


def check_window_fits(
    padded_hw: Pair, window_hw: Pair, what: str = "kernel", dilation: Pair = (1, 1)
) -> None:
    """Raise if a (dilated) window is larger than the padded input it slides over."""
    if window_hw[0] > padded_hw[0] or window_hw[1] > padded_hw[1]:
        extra = f" with dilation {dilation}" if dilation != (1, 1) else ""
        raise ValueError(
            f"the {what} (effective size {window_hw[0]}×{window_hw[1]}{extra}) is larger than "
            f"the padded input {padded_hw[0]}×{padded_hw[1]}; add padding or use a smaller {what}"
        )
