"""check_array: compare one answer with the expected array and explain precisely what is wrong.

The comparison uses only ndarray methods, operators and numpy functions captured when this
module is imported (never ``numpy.allclose`` or a module attribute looked up at call time), so
an answer cell that rebinds ``numpy.allclose``, ``numpy.isclose`` or ``numpy.abs`` cannot
change the verdict.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .errors import GradingError

_ndarray = np.ndarray
_asarray = np.asarray  # captured at import time
_unravel = np.unravel_index
_float64, _errstate = np.float64, np.errstate
_subtract, _absolute, _multiply, _add, _less_equal = np.subtract, np.absolute, np.multiply, np.add, np.less_equal


def to_numpy(value: Any) -> Any:
    """Torch tensors (any device) become numpy arrays; everything else is returned unchanged."""
    module = type(value).__module__ or ""
    if module.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return value


def shape_hint(got: tuple[int, ...], expected: tuple[int, ...]) -> str | None:
    """A guess at the usual mistake behind a shape mismatch, or None."""
    g, e = tuple(got), tuple(expected)
    if len(g) == len(e) - 1:
        for i in range(len(e)):
            if e[:i] + e[i + 1 :] == g:
                if i == 0 and len(e) >= 3:
                    return "did you drop the batch dimension? Keep the leading N axis even when N is 1"
                if i == 1 and len(e) == 4:
                    return "did you drop the channel axis? The output is (N, C, H, W)"
                return f"the axis {i} of length {e[i]} is missing: did you sum or index it away?"
        return "your output has one dimension too few"
    if len(g) == len(e) + 1:
        if 1 in g:
            return "your output has an extra axis of length 1: did you forget to sum over it or squeeze it?"
        return "your output has one dimension too many: did you forget to sum over the input channels?"
    if len(g) != len(e):
        return None
    if sorted(g) == sorted(e):
        if len(e) >= 3 and g[:-2] == e[:-2] and g[-2:] == e[-2:][::-1]:
            return ("height and width are swapped: does your code use the height where the width is needed? "
                    "(only square inputs would work)")
        return ("the right sizes in the wrong order: check the layout (NCHW vs NHWC) and the axes you "
                "transpose, pool or sum over")
    if len(e) >= 3:
        lead_g, lead_e = g[:-2], e[:-2]
        sp_g, sp_e = g[-2:], e[-2:]
        if lead_g == lead_e:
            if all(a >= b for a, b in zip(sp_g, sp_e)):
                if sp_g[0] != sp_g[1] and sp_e[0] != sp_e[1] and (sp_g[0] == sp_e[0] or sp_g[1] == sp_e[1]):
                    return ("one spatial size is right and the other is not: do you use the same stride or padding "
                            "for both axes, or the height where the width is needed?")
                return "did you apply the stride? (output size = floor((n + 2p - f) / s) + 1)"
            if all(a <= b for a, b in zip(sp_g, sp_e)):
                return ("your output is too small: did you pad the input (on height and width only), "
                        "and use floor((n + 2p - f) / s) + 1?")
            return "height and width are off in opposite directions: check which axis is which"
        if sp_g == sp_e:
            if len(e) == 4 and g[0] == e[0]:
                return "the channel count is off: the output has one channel per filter (w.shape[0])"
            return "the leading dimensions are off: did you keep the batch and channel axes?"
        if len(e) == 4 and g[0] == e[0]:
            return ("both the channel count and the spatial size are off: did you pool or slide over the channel "
                    "axis instead of height and width? The layout is NCHW")
    return None


def _fmt(x: Any) -> str:
    try:
        return f"{float(x):.6g}"
    except (TypeError, ValueError):
        return repr(x)


def _all_close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> bool:
    """True when both are float arrays whose every element is finite and within tolerance: the
    usual case, decided in five passes over the data. Anything else (NaN, inf, integers, a
    mismatch) is left to the full check, which explains what is wrong."""
    if got.dtype.kind != "f" or expected.dtype.kind != "f" or got.ndim == 0 or got.size == 0:
        return False
    with _errstate(all="ignore"):
        diff = _subtract(got, expected, dtype=_float64)
        _absolute(diff, out=diff)
        tol = _absolute(expected, dtype=_float64)
        _multiply(tol, rtol, out=tol)
        _add(tol, atol, out=tol)
        return bool(_less_equal(diff, tol).all())  # NaN compares False


def _size_word(diff: float, scale: float) -> str:
    """How large an error is next to the expected values' scale, in words (no number to invert)."""
    rel = diff / scale if scale > 0 else float("inf")
    if rel < 1e-3:
        return "tiny (under 0.1% of the values' size: rounding, or float32 instead of float64?)"
    if rel < 0.05:
        return "small (a few percent of the values' size)"
    if rel < 0.5:
        return "clear (a sizeable fraction of the values' size)"
    return "large (as big as the values themselves or bigger)"


def _pattern(g: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> str | None:
    """A pattern the whole answer follows (flipped sign, transpose, 180° turn, one factor, one offset), or None."""
    def close(a: np.ndarray, b: np.ndarray) -> bool:
        return a.shape == b.shape and bool(_less_equal(_absolute(_subtract(a, b)), atol + rtol * _absolute(b)).all())

    if not (e != 0).any():
        return None
    if close(g, -e):
        return "every value has the opposite sign: check the sign of your formula or the kernel's orientation"
    if g.ndim >= 2:
        if g.shape[-1] == g.shape[-2] and close(g, e.swapaxes(-1, -2)):
            return "your answer is the transpose of the expected one: are rows and columns swapped?"
        if close(g, e[..., ::-1, ::-1]):
            return "your answer is the expected one turned by 180°: check which way round the kernel goes"
    nz = e != 0
    ratio = g[nz] / e[nz]
    if ratio.size > 1 and close(ratio, ratio.reshape(-1)[:1].repeat(ratio.size)) and ratio[0] != 1 and \
            bool(((g != 0) == nz).all()):
        return "every value is off by the same factor: a missing or extra scaling (a mean vs a sum, a 1/n?)"
    shift = g - e
    if g.size > 1 and close(shift, shift.reshape(-1)[:1].repeat(shift.size)):
        return "every value is off by the same amount: a missing or extra constant (a bias, a + 1?)"
    return None


def _hidden_mismatch(what: str, g: np.ndarray, e: np.ndarray, wrong: np.ndarray, diff: np.ndarray,
                     finite_e: np.ndarray, rtol: float, atol: float) -> str:
    """The message of a value mismatch that states no expected value."""
    scale = float((e * finite_e).__abs__().max()) if e.size else 0.0
    size = _size_word(float(diff.max()), scale if scale > 0 else 1.0)
    if g.ndim == 0:
        return f"{what} = {_fmt(g)} is not right; the error is {size}"
    n = int(wrong.sum())
    cells = [tuple(int(i) for i in idx) for idx in zip(*wrong.nonzero())]
    listed = ", ".join(str(c if len(c) > 1 else c[0]) for c in cells[:5]) + (", ..." if n > 5 else "")
    msg = f"{what} is wrong at {n} of {g.size} elements ({'at ' if n <= 5 else 'first at '}{listed}); " \
          f"the largest error is {size}"
    pattern = _pattern(g, e, rtol, atol)
    if pattern:
        msg += f"; {pattern}"
    return msg


def check_array(
    got: Any,
    expected: Any,
    *,
    what: str = "your output",
    rtol: float = 1e-6,
    atol: float = 1e-8,
    hint: str | None = None,
    reveal: bool = True,
) -> None:
    """Raise GradingError unless ``got`` equals ``expected`` within ``atol + rtol * |expected|``.

    ``got`` may be a numpy array, a torch tensor (any device) or, when ``expected`` is a
    scalar, a Python/numpy number. ``hint`` replaces the automatic hint of a shape mismatch
    and is appended to a value mismatch. With ``reveal=False`` (the lecture self-checks) no
    message states an expected value or the expected shape: it says what is wrong (the type,
    the dtype, the shape's guessed mistake, which cells differ, how large the error is and
    whether it follows a pattern such as a flipped sign or a transpose) and nothing more.
    """
    expected_arr = _asarray(to_numpy(expected))
    got = to_numpy(got)
    if got is None:
        raise GradingError(f"{what} is None (your function returned None): did you forget `return out`?", kind="none")
    if expected_arr.ndim == 0:
        if isinstance(got, _ndarray) and got.ndim > 0 and got.size != 1:
            raise GradingError(f"{what} has shape {tuple(got.shape)}, expected a single number", kind="shape")
        if isinstance(got, bool) or not isinstance(got, (_ndarray, int, float, np.integer, np.floating)):
            like = f" like {_fmt(expected_arr)}" if reveal else ""
            raise GradingError(f"{what} is a {type(got).__name__}, expected a number{like}", kind="type")
        got_arr = _asarray(got).reshape(())
    else:
        of_shape = f" of shape {tuple(expected_arr.shape)}" if reveal else ""
        if isinstance(got, (list, tuple)):
            raise GradingError(
                f"{what} is a {type(got).__name__}, expected a numpy array{of_shape}: "
                "build it with np.zeros(...) or convert it with np.array(...)",
                kind="type",
            )
        if not isinstance(got, _ndarray):
            raise GradingError(f"{what} is a {type(got).__name__}, expected a numpy array{of_shape}", kind="type")
        got_arr = got
    if got_arr.dtype.kind not in "biuf" or expected_arr.dtype.kind not in "biuf":
        if got_arr.dtype.kind == "c" or got_arr.dtype == object:
            raise GradingError(f"{what} has dtype {got_arr.dtype}, expected real numbers", kind="type")
    if not reveal and got_arr.dtype.kind == "b" and expected_arr.dtype.kind != "b":
        raise GradingError(f"{what} holds True/False values (dtype bool), expected numbers: did you return a "
                           "comparison (==, <, >) instead of the values?", kind="type")
    if tuple(got_arr.shape) != tuple(expected_arr.shape):
        if reveal:
            msg = f"{what} has shape {tuple(got_arr.shape)}, expected {tuple(expected_arr.shape)}"
        else:
            msg = f"{what} has shape {tuple(got_arr.shape)}, which is not the expected shape"
        guess = hint if hint is not None else shape_hint(got_arr.shape, expected_arr.shape)
        raise GradingError(msg + (f": {guess}" if guess else ""), kind="shape")
    if _all_close(got_arr, expected_arr, rtol, atol):
        return
    g = got_arr.astype(np.float64)
    e = expected_arr.astype(np.float64)
    finite_g = (g == g) & (g.__abs__() != np.inf)
    finite_e = (e == e) & (e.__abs__() != np.inf)
    bad_nonfinite = finite_e & ~finite_g
    if bad_nonfinite.any():
        n = int(bad_nonfinite.sum())
        idx = _unravel(int(bad_nonfinite.argmax()), g.shape) if g.ndim else ()
        kind_word = "NaN" if (g != g).any() else "inf"
        raise GradingError(
            f"{what} contains {kind_word} at {n} of {g.size} elements (first at index {tuple(int(i) for i in idx)}): "
            "look for a division by zero or an uninitialised array (np.empty)",
            kind="nonfinite",
        )
    diff = (g - e).__abs__()
    diff = diff * finite_e  # positions where the expected value itself is not finite compare as equal
    tol = atol + rtol * (e * finite_e).__abs__()
    wrong = (diff > tol) | (finite_g & ~finite_e)
    if wrong.any():
        n = int(wrong.sum())
        flat = int(diff.argmax()) if diff.max() > 0 else int(wrong.argmax())
        if not reveal:
            msg = _hidden_mismatch(what, g, e, wrong, diff, finite_e, rtol, atol)
        elif g.ndim == 0:
            msg = f"{what} is {_fmt(g)}, expected {_fmt(e)}"
        else:
            idx = tuple(int(i) for i in _unravel(flat, g.shape))
            msg = (
                f"{what} is wrong at {n} of {g.size} elements; the largest error is {_fmt(diff.reshape(-1)[flat])} "
                f"at index {idx}: got {_fmt(g.reshape(-1)[flat])}, expected {_fmt(e.reshape(-1)[flat])}"
            )
        if hint:
            msg += f". {hint}"
        raise GradingError(msg, kind="values")
