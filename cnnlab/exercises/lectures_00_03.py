"""Self-checks for the exercises of lectures 00-03 (pixels, convolution, padding, pooling)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cnnlab.checks import GradingError, check_array

from ._core import ok as _ok
from ._core import self_check

__all__ = [
    "check_correlate2d", "check_dense_vs_conv", "check_horizontal_edges", "check_max_pool_2x2",
    "check_output_size", "check_pixel_count", "check_pool_output_shape", "check_same_padding",
    "check_torch_to_tf_weights",
]



def _call(fn: Callable, *args: Any, what: str) -> Any:
    """Call a student's function; turn an exception into a kind message naming the input."""
    if not callable(fn):
        raise GradingError(f"expected a function, got {type(fn).__name__}: pass the function itself, without ()",
                           kind="type")
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - any student error becomes a message
        raise GradingError(f"your function raised {type(exc).__name__}: {exc} (on {what})", kind="error") from exc


def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise GradingError(f"{what} should be a number, got {value!r}", kind="type") from None


# ----------------------------------------------------------------- lecture 00
@self_check
def check_pixel_count(answer: Any) -> None:
    """How many numbers describe a 28x28 colour (RGB) image?"""
    got = _number(answer, "your answer")
    if got == 28 * 28:
        raise GradingError("28 x 28 = 784 counts the pixels of one channel; a colour image has 3 channels.")
    check_array(got, 28 * 28 * 3, what="your count", hint="height x width x channels")
    _ok("28 x 28 x 3 = 2352 numbers.")


# ----------------------------------------------------------------- lecture 01
@self_check
def check_dense_vs_conv(dense_params: Any, conv_params: Any) -> None:
    """Parameters (weights + biases) of a dense layer 32x32x3 -> 100 units, and of a 3x3 conv layer 3 -> 16 filters."""
    dense = _number(dense_params, "dense_params")
    conv = _number(conv_params, "conv_params")
    if dense == 32 * 32 * 3 * 100:
        raise GradingError("dense_params: you counted the weights; add one bias per output unit (100).")
    check_array(dense, 32 * 32 * 3 * 100 + 100, what="dense_params", hint="inputs x units + one bias per unit")
    if conv == 3 * 3 * 3 * 16:
        raise GradingError("conv_params: you counted the weights; add one bias per filter (16).")
    if conv == 3 * 3 * 16 + 16:
        raise GradingError("conv_params: each filter is 3x3x3 (as deep as the 3 input channels), not 3x3.")
    check_array(conv, 3 * 3 * 3 * 16 + 16, what="conv_params", hint="(kh x kw x in_channels + 1) x filters")
    _ok(f"the dense layer needs {int(dense):,} parameters, the conv layer {int(conv)} — "
        f"{dense / conv:.0f} times fewer, and it works on any image size.")


def _top_bright_6x6() -> np.ndarray:
    img = np.zeros((6, 6))
    img[:3] = 10.0
    return img


@self_check
def check_horizontal_edges(out: Any) -> None:
    """The 4x4 output of the horizontal-edge kernel [[1,1,1],[0,0,0],[-1,-1,-1]] on a 6x6 image bright on top."""
    from cnnlab import ops
    from cnnlab.data.samples import kernel

    expected = ops.conv2d(_top_bright_6x6()[None, None], kernel("horizontal edge")[None, None])[0, 0]
    got = np.asarray(out, dtype=np.float64) if out is not None else None
    if got is not None and got.shape == expected.shape and np.allclose(got, -expected):
        raise GradingError("your output has the right size but the opposite sign: the kernel's +1 row is on top, "
                           "so bright-above-dark gives positive values.")
    check_array(got, expected, what="your edge map",
                hint="a 3x3 kernel on a 6x6 image without padding gives (6 - 3 + 1) x (6 - 3 + 1)")
    _ok("the edge shows up as a band of 30s in the middle two rows.")


@self_check
def check_correlate2d(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
    """``fn(image, kernel)``: 2-D cross-correlation of an HxW image with a kh x kw kernel, no padding, stride 1."""
    from cnnlab import ops

    rng = np.random.default_rng(0)
    for h, w, kh, kw in [(5, 5, 3, 3), (6, 4, 2, 3), (7, 8, 3, 1), (4, 4, 4, 4)]:
        image, kern = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
        expected = ops.conv2d(image[None, None], kern[None, None])[0, 0]
        got = _call(fn, image.copy(), kern.copy(), what=f"a {h}x{w} image and a {kh}x{kw} kernel")
        got_arr = np.asarray(got, dtype=np.float64) if got is not None else None
        if got_arr is not None and got_arr.shape == expected.shape:
            flipped = ops.conv2d(image[None, None], kern[None, None], flip=True)[0, 0]
            if not np.allclose(got_arr, expected) and np.allclose(got_arr, flipped):
                raise GradingError("you computed a true convolution (kernel flipped); deep-learning 'convolution' "
                                   "is cross-correlation: do not flip the kernel.")
        check_array(got, expected, what=f"your output for a {h}x{w} image and a {kh}x{kw} kernel",
                    hint=f"the output has ({h} - {kh} + 1) x ({w} - {kw} + 1) cells")
    _ok("your loops match cnnlab.ops.conv2d on 4 random cases, including non-square ones.")


@self_check
def check_torch_to_tf_weights(fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """``fn(w)``: PyTorch weights [out, in, kh, kw] -> TensorFlow weights [kh, kw, in, out]."""
    from cnnlab import ops

    w = np.random.default_rng(1).normal(size=(5, 3, 2, 4))
    got = _call(fn, w.copy(), what="weights of shape (5, 3, 2, 4) = [out, in, kh, kw]")
    check_array(got, ops.oihw_to_hwio(w), what="your converted weights",
                hint="[out, in, kh, kw] -> [kh, kw, in, out] is w.transpose(2, 3, 1, 0)")
    _ok("[out, in, kh, kw] -> [kh, kw, in, out] is a transpose (2, 3, 1, 0).")


# ----------------------------------------------------------------- lecture 02
@self_check
def check_output_size(fn: Callable[[int, int, int, int], int]) -> None:
    """``fn(n, f, p, s)`` -> floor((n + 2p - f) / s) + 1."""
    cases = [(6, 3, 0, 1), (5, 3, 1, 1), (7, 3, 1, 2), (6, 3, 1, 2), (10, 4, 0, 3), (32, 5, 2, 1), (224, 7, 3, 2),
             (9, 3, 0, 4)]
    for n, f, p, s in cases:
        expected = (n + 2 * p - f) // s + 1
        got = _call(fn, n, f, p, s, what=f"n={n}, f={f}, p={p}, s={s}")
        value = _number(got, f"output_size({n}, {f}, {p}, {s})")
        if value != expected:
            exact = (n + 2 * p - f) / s + 1
            hint = ""
            if value == round(exact) or value == np.ceil(exact):
                hint = " — round down (floor): a window that does not fit is dropped"
            elif p and value == (n + p - f) // s + 1:
                hint = " — padding is added on both sides (2p)"
            elif value == expected - 1:
                hint = " — did you forget the + 1 for the first window?"
            raise GradingError(f"output_size({n}, {f}, {p}, {s}) returned {got!r}, expected {expected}{hint}",
                               kind="values")
    _ok(f"your formula agrees on {len(cases)} cases, including ones where the floor matters.")


@self_check
def check_same_padding(pads: Any) -> None:
    """(before, after) padding TensorFlow's "same" uses for n=10, f=3, s=2 along one axis."""
    try:
        before, after = (int(v) for v in pads)
    except (TypeError, ValueError):
        raise GradingError(f"give a pair (before, after), got {pads!r}", kind="type") from None
    if (before, after) == (1, 0):
        raise GradingError("right total, wrong side: TensorFlow puts the extra row/column at the bottom/right.")
    if (before, after) == (1, 1):
        raise GradingError("p = (f - 1)/2 = 1 on each side is 'same' at stride 1; at stride 2 the output is "
                           "ceil(10/2) = 5, which needs only (5 - 1)·2 + 3 - 10 = 1 row of padding in total.")
    if (before, after) != (0, 1):
        raise GradingError(f"(before, after) = {(before, after)} is not it: the output is ceil(n/s) = 5, the "
                           f"total padding (5 - 1)·2 + 3 - 10 = 1, split with the extra at the end.")
    _ok("total padding 1, all of it after (bottom/right): output ceil(10/2) = 5.")


# ----------------------------------------------------------------- lecture 03
@self_check
def check_max_pool_2x2(fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """``fn(x)``: 2x2 max pooling with stride 2 of an HxW array (an odd last row/column is dropped)."""
    from cnnlab import ops

    rng = np.random.default_rng(2)
    for h, w in [(4, 4), (6, 8), (5, 7), (2, 2)]:
        x = rng.normal(size=(h, w))
        expected = ops.max_pool2d(x[None, None], 2)[0, 0]
        got = _call(fn, x.copy(), what=f"a {h}x{w} array")
        got_arr = np.asarray(got, dtype=np.float64) if got is not None else None
        if got_arr is not None and got_arr.shape == expected.shape:
            avg = ops.avg_pool2d(x[None, None], 2)[0, 0]
            if not np.allclose(got_arr, expected) and np.allclose(got_arr, avg):
                raise GradingError("that is average pooling: take the maximum of each 2x2 window, not the mean.")
        check_array(got, expected, what=f"your pooled {h}x{w} array",
                    hint=f"2x2 windows with stride 2 give {h // 2}x{w // 2} (rounded down)")
    _ok("your pooling matches cnnlab.ops.max_pool2d, odd sizes included.")


@self_check
def check_pool_output_shape(shape: Any) -> None:
    """Shape after 2x2 max pooling (stride 2) of an NCHW batch of shape (8, 64, 55, 55)."""
    try:
        got = tuple(int(v) for v in shape)
    except (TypeError, ValueError):
        raise GradingError(f"give the shape as a tuple of 4 ints, got {shape!r}", kind="type") from None
    if got == (8, 32, 27, 27) or got == (8, 32, 28, 28):
        raise GradingError("pooling works on each channel separately: the number of channels stays 64.")
    if got == (8, 64, 28, 28):
        raise GradingError("55 / 2 = 27.5 is rounded down: the last row and column do not fill a window.")
    if got != (8, 64, 27, 27):
        raise GradingError(f"{got} is not it: batch and channels are unchanged, height and width are "
                           f"floor((55 - 2)/2) + 1.")
    _ok("(8, 64, 27, 27): pooling halves height and width (rounded down) and keeps every channel.")
