"""Self-checks for the exercises of lectures 00-03 (pixels, convolution, padding, pooling)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cnnlab.checks import GradingError, check_array

from ._core import call_answer
from ._core import number as _number
from ._core import ok as _ok
from ._core import self_check

__all__ = [
    "check_channel_pool_shape", "check_conv_layer_shape", "check_correlate2d", "check_dense_vs_conv",
    "check_dilated_output", "check_global_pool_shape", "check_horizontal_edges", "check_max_pool_2x2",
    "OUTPUT_SIZE_CASES", "check_output_sizes", "check_padding_modes", "check_pixel_count", "check_pool_output_shape",
    "check_same_padding", "check_torch_to_tf_weights",
]

_call = call_answer


def _torch_op(name: str, x: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
    """PyTorch's own operator (an independent reference) on a 2-D float64 array; returns 2-D."""
    import torch
    import torch.nn.functional as F

    tensors = [torch.from_numpy(np.asarray(a, dtype=np.float64))[None, None] for a in (x, *args)]
    return getattr(F, name)(*tensors, **kwargs)[0, 0].numpy()


def _shape(value: Any, n: int, what: str) -> tuple[int, ...]:
    """A shape given as a tuple/list (or torch.Size) of ``n`` ints."""
    try:
        got = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise GradingError(f"give {what} as a tuple of {n} ints, got {value!r}", kind="type") from None
    return got


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
    from cnnlab.data.samples import kernel

    expected = _torch_op("conv2d", _top_bright_6x6(), kernel("horizontal edge"))
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
    rng = np.random.default_rng(0)
    for h, w, kh, kw in [(5, 5, 3, 3), (6, 4, 2, 3), (7, 8, 3, 1), (4, 4, 4, 4)]:
        image, kern = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
        expected = _torch_op("conv2d", image, kern)
        got = _call(fn, image.copy(), kern.copy(), what=f"a {h}x{w} image and a {kh}x{kw} kernel")
        got_arr = np.asarray(got, dtype=np.float64) if got is not None else None
        if got_arr is not None and got_arr.shape == expected.shape:
            flipped = _torch_op("conv2d", image, kern[::-1, ::-1].copy())
            if not np.allclose(got_arr, expected) and np.allclose(got_arr, flipped):
                raise GradingError("you computed a true convolution (kernel flipped); deep-learning 'convolution' "
                                   "is cross-correlation: do not flip the kernel.")
        check_array(got, expected, what=f"your output for a {h}x{w} image and a {kh}x{kw} kernel",
                    hint=f"the output has ({h} - {kh} + 1) x ({w} - {kw} + 1) cells")
    _ok("your loops match PyTorch's conv2d on 4 random cases, including non-square ones.")


@self_check
def check_torch_to_tf_weights(fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """``fn(w)``: PyTorch weights [out, in, kh, kw] -> TensorFlow weights [kh, kw, in, out]."""
    w = np.random.default_rng(1).normal(size=(5, 3, 2, 4))
    got = _call(fn, w.copy(), what="weights of shape (5, 3, 2, 4) = [out, in, kh, kw]")
    expected = np.einsum("oihw->hwio", w)
    got_arr = np.asarray(got) if isinstance(got, np.ndarray) else None
    if got_arr is not None and got_arr.shape == (2, 4, 5, 3):
        raise GradingError("your result has shape (2, 4, 5, 3) = [kh, kw, out, in]: TensorFlow wants the input "
                           "channels before the output channels, [kh, kw, in, out].", kind="shape")
    check_array(got, expected, what="your converted weights",
                hint="[out, in, kh, kw] -> [kh, kw, in, out] is w.transpose(2, 3, 1, 0)")
    _ok("[out, in, kh, kw] -> [kh, kw, in, out] is a transpose (2, 3, 1, 0).")


@self_check
def check_conv_layer_shape(shape: Any) -> None:
    """Output shape (C, H, W) of 16 filters of size 5x5, no padding, stride 1, on a (3, 32, 32) image."""
    got = _shape(shape, 3, "the shape (channels, height, width)")
    if len(got) == 4 and got[:2] in {(16, 3), (3, 16)}:
        raise GradingError("each filter spans all 3 input channels and sums over them: one filter gives one map, "
                           "so the output has 16 maps, not 16 × 3.", kind="shape")
    if len(got) != 3:
        raise GradingError(f"give 3 numbers (channels, height, width), got {len(got)}", kind="shape")
    if got[0] == 3:
        raise GradingError("the number of output maps is the number of filters (16), not the input's 3 channels.")
    if got[1:] == (32, 32):
        raise GradingError("without padding a 5x5 window fits 32 - 5 + 1 = 28 times along each axis.")
    if got[1:] == (27, 27):
        raise GradingError("32 - 5 = 27 counts the shifts; add 1 for the first position: 28.")
    if got != (16, 28, 28):
        raise GradingError(f"{got} is not it: one map per filter, each (32 - 5 + 1) x (32 - 5 + 1).")
    _ok("(16, 28, 28): one 28 x 28 map per filter; each filter sums over all 3 input channels.")


# ----------------------------------------------------------------- lecture 02
# (n, f, p, s) of the output-size exercise; the answer is one output width per case
OUTPUT_SIZE_CASES = [(7, 3, 1, 2), (6, 3, 1, 2), (10, 4, 0, 3), (224, 7, 3, 2)]


@self_check
def check_output_sizes(sizes: Any) -> None:
    """Output widths floor((n + 2p - f) / s) + 1 for each (n, f, p, s) of ``OUTPUT_SIZE_CASES``."""
    try:
        got = [float(v) for v in sizes]
    except (TypeError, ValueError):
        raise GradingError(f"give {len(OUTPUT_SIZE_CASES)} numbers, one per case, got {sizes!r}", kind="type") from None
    if len(got) != len(OUTPUT_SIZE_CASES):
        raise GradingError(f"give {len(OUTPUT_SIZE_CASES)} numbers, one per case, got {len(got)}", kind="shape")
    typical = [  # (wrong formula, hint): a whole answer that follows one of these gets its hint
        (lambda n, f, p, s: (n + 2 * p - f) / s + 1, "round down (floor): a window that does not fit is dropped"),
        (lambda n, f, p, s: -(-(n + 2 * p - f) // s) + 1, "round down (floor), not up: a window that does not fit "
                                                            "is dropped"),
        (lambda n, f, p, s: (n + p - f) // s + 1, "padding is added on both sides (2p)"),
        (lambda n, f, p, s: (n + 2 * p - f) // s, "did you forget the + 1 for the first window?"),
        (lambda n, f, p, s: n + 2 * p - f + 1, "the window jumps s pixels at a time: divide by the stride"),
    ]
    expected = [(n + 2 * p - f) // s + 1 for n, f, p, s in OUTPUT_SIZE_CASES]
    for formula, hint in typical:
        if got != expected and got == [formula(*case) for case in OUTPUT_SIZE_CASES]:
            raise GradingError(f"you gave {[f'{v:g}' for v in got]}: {hint}", kind="values")
    for value, want, (n, f, p, s) in zip(got, expected, OUTPUT_SIZE_CASES):
        if value != want:
            raise GradingError(f"for n={n}, f={f}, p={p}, s={s} you gave {value:g}, expected {want}: "
                               f"compute (n + 2p - f) / s, round down, add 1", kind="values")
    _ok("floor((n + 2p - f) / s) + 1 on all four, including the ones where the floor matters.")


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


@self_check
def check_padding_modes(sizes: Any) -> None:
    """Output widths (valid, same, full) of a 5-wide kernel at stride 1 on an 8-pixel-wide input."""
    got = _shape(sizes, 3, "(valid, same, full)")
    if len(got) != 3:
        raise GradingError(f"give three widths (valid, same, full), got {len(got)} numbers", kind="shape")
    valid, same, full = got
    if valid != 4:
        raise GradingError(f"valid: {valid} is not it — no padding, so the window fits 8 - 5 + 1 times.")
    if same != 8:
        raise GradingError(f"same: {same} is not it — 'same' pads (5 - 1)/2 = 2 on each side to keep the input's width.")
    if full == 10:
        raise GradingError("full: p = f - 1 = 4 zeros go on EACH side: 8 + 2·4 - 5 + 1.")
    if full != 12:
        raise GradingError(f"full: {full} is not it — full padding p = f - 1 = 4 gives n + f - 1.")
    _ok("(4, 8, 12): valid shrinks by f - 1, same keeps the size, full grows by f - 1.")


@self_check
def check_dilated_output(width: Any) -> None:
    """Output width of a 3-wide kernel with dilation 3 on a 12-pixel-wide input (no padding, stride 1)."""
    got = _number(width, "your width")
    if got == 10:
        raise GradingError("10 is the width without dilation: with dilation 3 the taps are 3 pixels apart, so the "
                           "kernel covers d·(f - 1) + 1 = 7 pixels.")
    if got == 4:
        raise GradingError("the effective size is d·(f - 1) + 1 = 7, not d·f = 9: there is no gap after the last tap.")
    if got != 6:
        raise GradingError(f"{got:g} is not it: use the effective size f' = 3·(3 - 1) + 1 in the output-size formula.")
    _ok("effective size 3·2 + 1 = 7, so 12 - 7 + 1 = 6 positions.")


# ----------------------------------------------------------------- lecture 03
@self_check
def check_max_pool_2x2(fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """``fn(x)``: 2x2 max pooling with stride 2 of an HxW array (an odd last row/column is dropped)."""
    rng = np.random.default_rng(2)
    for h, w in [(4, 4), (6, 8), (5, 7), (2, 2)]:
        x = rng.normal(size=(h, w))
        expected = _torch_op("max_pool2d", x, kernel_size=2)
        got = _call(fn, x.copy(), what=f"a {h}x{w} array")
        got_arr = np.asarray(got, dtype=np.float64) if got is not None else None
        if got_arr is not None and got_arr.shape == expected.shape:
            avg = _torch_op("avg_pool2d", x, kernel_size=2)
            if not np.allclose(got_arr, expected) and np.allclose(got_arr, avg):
                raise GradingError("that is average pooling: take the maximum of each 2x2 window, not the mean.")
        check_array(got, expected, what=f"your pooled {h}x{w} array",
                    hint=f"2x2 windows with stride 2 give {h // 2}x{w // 2} (rounded down)")
    _ok("your pooling matches PyTorch's max_pool2d, odd sizes included.")


@self_check
def check_pool_output_shape(shape: Any) -> None:
    """Shape after 2x2 max pooling (stride 2) of an NCHW batch of shape (8, 64, 55, 55)."""
    got = _shape(shape, 4, "the shape")
    if got == (8, 32, 27, 27) or got == (8, 32, 28, 28):
        raise GradingError("pooling works on each channel separately: the number of channels stays 64.")
    if got == (8, 64, 28, 28):
        raise GradingError("55 / 2 = 27.5 is rounded down: the last row and column do not fill a window.")
    if got != (8, 64, 27, 27):
        raise GradingError(f"{got} is not it: batch and channels are unchanged, height and width are "
                           f"floor((55 - 2)/2) + 1.")
    _ok("(8, 64, 27, 27): pooling halves height and width (rounded down) and keeps every channel.")


@self_check
def check_global_pool_shape(shape: Any) -> None:
    """Shape after global average pooling of a batch of feature maps of shape (8, 512, 7, 7)."""
    got = _shape(shape, 2, "the shape")
    if got in {(8, 512), (8, 512, 1, 1)}:
        note = " (or (8, 512, 1, 1) with the 1 x 1 maps kept, as adaptive_avg_pool2d(x, 1) returns)" \
            if got == (8, 512) else " (or (8, 512) once the 1 x 1 maps are flattened)"
        _ok(f"{got}: one average per map, for each image of the batch{note}.")
        return
    if got in {(8, 7, 7), (8, 1, 7, 7)}:
        raise GradingError("global pooling averages over height and width, not over the channels: the 512 maps stay.")
    if got in {(512,), (1, 512)}:
        raise GradingError("each image of the batch keeps its own vector: the batch dimension 8 stays.")
    if got in {(8, 512, 3, 3), (8, 512, 4, 4)}:
        raise GradingError("that is a 2x2 pooling; *global* pooling averages each whole 7 x 7 map to one number.")
    raise GradingError(f"{got} is not it: each of the 512 maps of each image becomes one number.")


@self_check
def check_channel_pool_shape(shape: Any) -> None:
    """Shape after max pooling over groups of 4 consecutive channels of a (1, 12, 10, 10) batch."""
    got = _shape(shape, 4, "the shape")
    if got == (1, 12, 5, 5):
        raise GradingError("that pools over space; channel (depthwise) pooling takes the maximum across channels at "
                           "each pixel, so height and width stay 10 x 10.")
    if got == (1, 4, 10, 10):
        raise GradingError("4 is the group size: 12 channels in groups of 4 give 12 / 4 = 3 channels.")
    if got == (1, 1, 10, 10):
        raise GradingError("one maximum per group of 4 channels, and 12 channels make 3 groups.")
    if got != (1, 3, 10, 10):
        raise GradingError(f"{got} is not it: the batch and the 10 x 10 size stay, the channels are divided by 4.")
    _ok("(1, 3, 10, 10): one channel per group of 4, every pixel kept.")
