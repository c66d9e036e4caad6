"""Self-checks for the exercises of lectures 00-03 (tensors, convolution, padding and stride, pooling).

Every check has a hint ladder (``exercises.hint('NAME')``) and a worked answer
(``exercises.show_answer('NAME')``); no message of a wrong answer states the expected value.
The predict-then-run checks (``check_predict_*``) take the student's prediction and what the
notebook measured, check the measurement against the check's own run of the experiment, and
compare the two.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cnnlab.checks import GradingError, check_array

from ._core import call_answer
from ._core import number as _number
from ._core import ok as _ok
from ._core import self_check

__all__ = [
    "OUTPUT_SIZE_CASES", "check_channel_pool_shape", "check_conv_layer_shape", "check_correlate2d",
    "check_dense_vs_conv", "check_dilate_kernel", "check_dilated_output", "check_horizontal_edges",
    "check_max_pool_2x2", "check_output_sizes", "check_padding_modes", "check_pixel_count",
    "check_pool_output_shape", "check_predict_average_pool_shift", "check_predict_brightness",
    "check_predict_strided_size", "check_predict_tensor_memory", "check_same_padding", "check_to_chw",
]

_call = call_answer


def _torch_op(name: str, x: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
    """PyTorch's own operator (an independent reference) on a 2-D float64 array; returns 2-D."""
    import torch
    import torch.nn.functional as F

    tensors = [torch.from_numpy(np.asarray(a, dtype=np.float64))[None, None] for a in (x, *args)]
    return getattr(F, name)(*tensors, **kwargs)[0, 0].numpy()


def _shape(value: Any, n: int, what: str) -> tuple[int, ...]:
    """A shape given as a tuple/list (or torch.Size) of ints."""
    if isinstance(value, (str, bytes)):
        raise GradingError(f"give {what} as a tuple of {n} ints, got the text {value!r}", kind="type")
    try:
        return tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise GradingError(f"give {what} as a tuple of {n} ints, got {value!r}", kind="type") from None


def _numbers(value: Any, n: int, what: str) -> list[float]:
    """``n`` numbers given as a tuple or list."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise GradingError(f"give {what} as a tuple of {n} numbers, got {value!r}", kind="type")
    if len(value) != n:
        raise GradingError(f"give {what} as a tuple of {n} numbers, got {len(value)}", kind="shape")
    return [_number(v, what) for v in value]


def _check_measurement(measured: Any, reference: Sequence[float], what: str, rtol: float = 1e-6) -> list[float]:
    """The notebook's measurement, checked against the check's own run of the same experiment."""
    got = _numbers(measured, len(reference), "the measurement")
    if not all(math.isclose(g, r, rel_tol=rtol, abs_tol=1e-9) for g, r in zip(got, reference)):
        raise GradingError(f"`measured` does not match {what}: run the check cell as it is written (it measures "
                           "the experiment for you), without changing it", kind="values")
    return got


def _compare_prediction(prediction: Sequence[float], measured: Sequence[float], labels: Sequence[str],
                        rtol: float, explain: Callable[[int, float, float], str | None]) -> None:
    """Raise a message for the first prediction that misses its measurement (direction only, never the value)."""
    for i, (p, m, label) in enumerate(zip(prediction, measured, labels)):
        if not math.isclose(p, m, rel_tol=rtol, abs_tol=1e-9):
            direction = "smaller" if m < p else "larger"
            why = explain(i, p, m)
            raise GradingError(f"your prediction for {label} ({p:g}) is off: the measurement is {direction}. "
                               f"Look at `measured` and work out why before you change the prediction"
                               + (f" ({why})" if why else "") + ".", kind="values")


# ----------------------------------------------------------------- lecture 00
@self_check(
    hints=("A gray image needs one number per pixel. How many numbers does each pixel of a colour image need?",
           "A colour pixel has a red, a green and a blue value: multiply height, width and channels."),
    answer="28 × 28 × 3 = 2352 numbers: 784 pixels, three channels (R, G, B) each.",
)
def check_pixel_count(answer: Any) -> None:
    """How many numbers describe a 28x28 colour (RGB) image?"""
    got = _number(answer, "your answer")
    if got == 28 * 28:
        raise GradingError("that counts the pixels of one channel; a colour image has more than one channel.")
    if got == 28 * 28 * 4:
        raise GradingError("that counts four channels; an RGB image has red, green and blue only (no alpha).")
    check_array(got, 28 * 28 * 3, what="your count", reveal=False)
    _ok("28 x 28 x 3 = 2352 numbers.")


@self_check(
    hints=("The photo is stored height × width × channels; PyTorch wants channels × height × width. The numbers "
           "stay the same, only the order of the axes changes.",
           "reshape keeps the numbers in memory order and cuts them into new rows: that mixes up pixels. "
           "Use a transpose (np.transpose or .transpose) or np.moveaxis.",
           "Axis 2 (channels) must come first, then axis 0 (height), then axis 1 (width)."),
    answer="def to_chw(image):\n    return image.transpose(2, 0, 1)   # or np.moveaxis(image, -1, 0)",
)
def check_to_chw(fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """``fn(image)``: an H x W x C image (numpy) -> the same numbers as C x H x W."""
    rng = np.random.default_rng(3)
    for h, w, c in [(4, 6, 3), (5, 2, 3), (3, 3, 1)]:
        image = rng.normal(size=(h, w, c))
        got = _call(fn, image.copy(), what=f"an image of shape ({h}, {w}, {c})")
        got_arr = np.asarray(got) if isinstance(got, np.ndarray) or hasattr(got, "detach") else got
        expected = np.stack([image[:, :, k] for k in range(c)])  # channel by channel
        if isinstance(got_arr, np.ndarray) and got_arr.shape == expected.shape and \
                not np.allclose(got_arr, expected) and np.allclose(got_arr, image.reshape(c, h, w)):
            raise GradingError("the shape is right but the numbers are scrambled: reshape cuts the numbers into new "
                               "rows in memory order; moving an axis needs a transpose.")
        if isinstance(got_arr, np.ndarray) and h != w and got_arr.shape == (c, w, h):
            raise GradingError(f"on a {h}x{w} image your result has height and width swapped: after the channels "
                               "comes the height (axis 0 of the image), then the width.", kind="shape")
        check_array(got_arr, expected, what=f"your result for an image of shape ({h}, {w}, {c})", reveal=False)
    _ok("HWC -> CHW is a transpose (2, 0, 1): the channels become the first axis.")


@self_check(
    hints=("A float32 number takes 32 bits. How many bytes is that?",
           "1000 × 1000 numbers times the bytes per number, divided by 1e6 for megabytes. float64 uses twice "
           "the bits of float32."),
    answer="float32: 4 bytes × 1,000,000 = 4 MB; float64: 8 bytes × 1,000,000 = 8 MB.",
)
def check_predict_tensor_memory(prediction: Any, measured: Any) -> None:
    """Predicted megabytes (float32, float64) of a 1000 x 1000 tensor, against the notebook's measurement."""
    pred = _numbers(prediction, 2, "your prediction (float32 MB, float64 MB)")
    got = _check_measurement(measured, (4.0, 8.0), "a 1000 × 1000 tensor's size in MB (float32, float64)")
    if pred in ([32.0, 64.0], [32000000.0, 64000000.0]):
        raise GradingError("your prediction counts bits: memory is counted in bytes (8 bits each).")
    if pred == [1.0, 1.0]:
        raise GradingError("a number takes more than one byte; and does float64 take as much as float32?")

    def explain(i: int, p: float, m: float) -> str | None:
        return "a megabyte is 1e6 bytes here" if p > 1e5 else None
    _compare_prediction(pred, got, ["float32", "float64"], 0.01, explain)
    _ok(f"you predicted {pred[0]:g} and {pred[1]:g} MB and measured {got[0]:g} and {got[1]:g}: 4 and 8 bytes per "
        "number. Lecture 01 uses the same arithmetic to show why a dense layer on a photo is too big.")


# ----------------------------------------------------------------- lecture 01
@self_check(
    hints=("A dense layer has one weight per (input, unit) pair, plus one bias per unit. How many inputs does a "
           "64×64×3 image give?",
           "A conv filter has one weight per tap and per input channel, plus one bias. The image size does not "
           "enter at all.",
           "Dense: inputs × units + units. Conv: (kh · kw · channels + 1) × filters."),
    answer="dense: 64·64·3 = 12,288 inputs × 50 units + 50 biases = 614,450; "
           "conv: (5·5·3 + 1) × 32 = 76 × 32 = 2,432.",
)
def check_dense_vs_conv(dense_params: Any, conv_params: Any) -> None:
    """Parameters of a dense layer 64x64x3 -> 50 units, and of a conv layer of 32 filters 5x5 on 3 channels."""
    dense = _number(dense_params, "dense_params")
    conv = _number(conv_params, "conv_params")
    if dense == 64 * 64 * 3 * 50:
        raise GradingError("dense_params: you counted the weights; add one bias per output unit.")
    if dense == 64 * 64 * 50 + 50:
        raise GradingError("dense_params: every one of the 3 colour channels of every pixel is an input.")
    check_array(dense, 64 * 64 * 3 * 50 + 50, what="dense_params", reveal=False)
    if conv == 5 * 5 * 3 * 32:
        raise GradingError("conv_params: you counted the weights; add one bias per filter.")
    if conv == 5 * 5 * 32 + 32:
        raise GradingError("conv_params: each filter is as deep as the input (3 channels), not a flat 5x5.")
    if conv > 64 * 64:
        raise GradingError("conv_params: the image size does not enter: a filter has the same weights at every "
                           "position.")
    check_array(conv, (5 * 5 * 3 + 1) * 32, what="conv_params", reveal=False)
    _ok(f"the dense layer needs {int(dense):,} parameters, the conv layer {int(conv):,}: "
        f"{dense / conv:.0f} times fewer, and the conv layer's count does not depend on the image size.")


def _top_bright_6x6() -> np.ndarray:
    img = np.zeros((6, 6))
    img[:3] = 10.0
    return img


@self_check(
    hints=("The output has (6 − 3 + 1) × (6 − 3 + 1) cells. Where does a 3×3 window see only bright pixels, "
           "only dark ones, or both?",
           "A window entirely in one half gives 0: the kernel's rows add up to 0. Only the windows that straddle "
           "the boundary between row 2 and row 3 respond.",
           "The +1 row is on top: a window with bright pixels above dark ones gives a positive sum (count how "
           "many bright pixels meet the +1 row and the −1 row)."),
    answer="edges = F.conv2d(torch.from_numpy(top_bright)[None, None], "
           "torch.from_numpy(kernel('horizontal edge'))[None, None])[0, 0].numpy()\n"
           "Rows 0 and 3 are 0; rows 1 and 2 are 30 (three bright pixels × 1 × 10, the −1 row sees dark pixels).",
)
def check_horizontal_edges(out: Any) -> None:
    """The 4x4 output of the horizontal-edge kernel [[1,1,1],[0,0,0],[-1,-1,-1]] on a 6x6 image bright on top."""
    from cnnlab.data.samples import kernel

    expected = _torch_op("conv2d", _top_bright_6x6(), kernel("horizontal edge"))
    got = np.asarray(out, dtype=np.float64) if isinstance(out, (np.ndarray, list, tuple)) else out
    if isinstance(got, np.ndarray) and got.shape == expected.shape and np.allclose(got, -expected):
        raise GradingError("your output has the right size but the opposite sign: the kernel's +1 row is on top, "
                           "so bright-above-dark gives positive values.")
    check_array(got, expected, what="your edge map", reveal=False,
                hint="a 3x3 kernel on a 6x6 image without padding gives (6 - 3 + 1) x (6 - 3 + 1) cells")
    _ok("the edge shows up as a band of 30s in the middle two rows.")


@self_check(
    hints=("The output has (H − kh + 1) × (W − kw + 1) cells. Start from out = np.zeros(...) of that shape.",
           "For the tap (u, v), the weight kern[u, v] multiplies a whole slice of the image: the pixels "
           "image[u + i, v + j] for every output cell (i, j). That slice has the output's shape.",
           "for u in range(kh): for v in range(kw): out += kern[u, v] * image[u:u + H_out, v:v + W_out]"),
    answer="def correlate2d(image, kern):\n"
           "    kh, kw = kern.shape\n"
           "    h_out, w_out = image.shape[0] - kh + 1, image.shape[1] - kw + 1\n"
           "    out = np.zeros((h_out, w_out))\n"
           "    for u in range(kh):\n"
           "        for v in range(kw):\n"
           "            out += kern[u, v] * image[u:u + h_out, v:v + w_out]\n"
           "    return out",
)
def check_correlate2d(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
    """``fn(image, kernel)``: 2-D cross-correlation of an HxW image with a kh x kw kernel, no padding, stride 1."""
    rng = np.random.default_rng(0)
    for h, w, kh, kw in [(5, 5, 3, 3), (6, 4, 2, 3), (7, 8, 3, 1), (4, 4, 4, 4)]:
        image, kern = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
        expected = _torch_op("conv2d", image, kern)
        got = _call(fn, image.copy(), kern.copy(), what=f"a {h}x{w} image and a {kh}x{kw} kernel")
        got_arr = np.asarray(got, dtype=np.float64) if isinstance(got, np.ndarray) else None
        if got_arr is not None and got_arr.shape == expected.shape:
            flipped = _torch_op("conv2d", image, kern[::-1, ::-1].copy())
            if not np.allclose(got_arr, expected) and np.allclose(got_arr, flipped):
                raise GradingError("you computed a true convolution (kernel flipped); deep-learning 'convolution' "
                                   "is cross-correlation: do not flip the kernel.")
        check_array(got, expected, what=f"your output for a {h}x{w} image and a {kh}x{kw} kernel", reveal=False,
                    hint=f"the output has ({h} - {kh} + 1) x ({w} - {kw} + 1) cells")
    _ok("your loops over the kernel's taps match PyTorch's conv2d on 4 random cases, including non-square ones: "
        "kh·kw slices instead of H_out·W_out windows.")


@self_check(
    hints=("How many maps does a layer output: one per input channel, or one per filter?",
           "Without padding, how many positions does a 5-wide window have along 32 pixels? Count the first "
           "position too.",
           "(filters, n − f + 1, n − f + 1)."),
    answer="(16, 28, 28): one map per filter; each filter sums over all 3 input channels; 32 − 5 + 1 = 28.",
)
def check_conv_layer_shape(shape: Any) -> None:
    """Output shape (C, H, W) of 16 filters of size 5x5, no padding, stride 1, on a (3, 32, 32) image."""
    got = _shape(shape, 3, "the shape (channels, height, width)")
    if len(got) == 4 and got[:2] in {(16, 3), (3, 16)}:
        raise GradingError("each filter spans all 3 input channels and sums over them: one filter gives one map, "
                           "so there is no separate axis for the input channels.", kind="shape")
    if len(got) != 3:
        raise GradingError(f"give 3 numbers (channels, height, width), got {len(got)}", kind="shape")
    if got[0] == 3:
        raise GradingError("the number of output maps is the number of filters, not the input's channels.")
    if got[0] != 16:
        raise GradingError("the channel count is off: one output map per filter.")
    if got[1:] == (32, 32):
        raise GradingError("without padding the window cannot be centred on the border pixels: the map shrinks.")
    if got[1:] == (27, 27):
        raise GradingError("that counts the shifts of the window; the positions are one more (the first one "
                           "needs no shift).")
    if got != (16, 28, 28):
        raise GradingError(f"{got[1:]} is not the size of each map: count how many times a 5-wide window fits "
                           "along 32 pixels.")
    _ok("(16, 28, 28): one 28 x 28 map per filter; each filter sums over all 3 input channels.")


def _brightness_ratios(photo: np.ndarray) -> tuple[float, float]:
    """max |Sobel x response| of photo + 0.3 and of 2 · photo, each divided by that of the photo (valid padding)."""
    from cnnlab.data.samples import kernel

    sobel = kernel("Sobel x")

    def peak(img: np.ndarray) -> float:
        return float(np.abs(_torch_op("conv2d", img, sobel)).max())

    base = peak(photo)
    return peak(photo + 0.3) / base, peak(2 * photo) / base


@self_check(
    hints=("Add up the Sobel x kernel's nine numbers. What does a constant added to every pixel contribute to "
           "each weighted sum?",
           "A convolution is linear: scaling the input scales every output by the same factor.",
           "The offset adds 0.3 × (sum of the kernel) to every output; doubling the pixels doubles every output."),
    answer="(1, 2): the Sobel kernel's weights add up to 0, so adding 0.3 to every pixel changes no output "
           "(without padding); doubling the pixels doubles every response. An edge detector sees differences, "
           "not brightness.",
)
def check_predict_brightness(prediction: Any, measured: Any) -> None:
    """Predicted (offset ratio, contrast ratio) of the largest Sobel x response, against the measurement."""
    from cnnlab.data.photos import load_photo

    pred = _numbers(prediction, 2, "your prediction (brighter, doubled)")
    reference = _brightness_ratios(load_photo("china", size=160, gray=True))
    got = _check_measurement(measured, reference, "the largest Sobel x response after / before", rtol=1e-6)

    def explain(i: int, p: float, m: float) -> str | None:
        return ("what do the kernel's weights add up to?" if i == 0 else
                "is the convolution linear in its input?")
    _compare_prediction(pred, got, ["photo + 0.3", "2 × photo"], 0.02, explain)
    _ok(f"you predicted {pred[0]:g} and {pred[1]:g}, the photo gave {got[0]:.3f} and {got[1]:.3f}: the weights add "
        "up to 0, so a brightness offset is invisible to the edge detector, and the response scales with "
        "the contrast.")


# ----------------------------------------------------------------- lecture 02
# (n, f, p, s) of the output-size exercise; the answer is one output width per case
OUTPUT_SIZE_CASES = [(9, 3, 1, 2), (8, 3, 0, 2), (10, 4, 0, 3), (227, 11, 0, 4)]


@self_check(
    hints=("Pad first: the padded axis has n + 2p pixels. How many times does an f-wide window fit when it "
           "jumps s pixels at a time?",
           "The first window needs f pixels; every further window needs s more. A window that does not fit "
           "completely is dropped.",
           "floor((n + 2p − f) / s) + 1, case by case."),
    answer="[5, 3, 3, 55]: (9+2−3)//2+1 = 5, (8−3)//2+1 = 3 (the floor drops half a step), (10−4)//3+1 = 3, "
           "(227−11)//4+1 = 55 (AlexNet's first layer).",
)
def check_output_sizes(sizes: Any) -> None:
    """Output widths floor((n + 2p - f) / s) + 1 for each (n, f, p, s) of ``OUTPUT_SIZE_CASES``."""
    if isinstance(sizes, (str, bytes)):
        raise GradingError(f"give {len(OUTPUT_SIZE_CASES)} numbers, one per case, got the text {sizes!r}",
                           kind="type")
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
            raise GradingError(f"for n={n}, f={f}, p={p}, s={s} your width {value:g} is not it: "
                               f"compute (n + 2p - f) / s, round down, add 1", kind="values")
    _ok("floor((n + 2p - f) / s) + 1 on all four, including the ones where the floor matters.")


@self_check(
    hints=("TensorFlow's 'same' at stride s promises an output of ceil(n / s). Start there.",
           "The last window starts at (out − 1)·s and needs f pixels: the padded axis must be "
           "(out − 1)·s + f long. The total padding is the difference to n.",
           "Split the total in two; when it is odd, the extra zero goes at the end (bottom/right)."),
    answer="(1, 2): out = ceil(12/2) = 6, total = (6 − 1)·2 + 5 − 12 = 3, split 1 before and 2 after.",
)
def check_same_padding(pads: Any) -> None:
    """(before, after) padding TensorFlow's "same" uses for n=12, f=5, s=2 along one axis."""
    if isinstance(pads, (str, bytes)):
        raise GradingError(f"give a pair (before, after), got the text {pads!r}", kind="type")
    try:
        before, after = (int(v) for v in pads)
    except (TypeError, ValueError):
        raise GradingError(f"give a pair (before, after), got {pads!r}", kind="type") from None
    if (before, after) == (2, 1):
        raise GradingError("right total, wrong side: TensorFlow puts the extra row/column at the bottom/right.")
    if (before, after) == (2, 2):
        raise GradingError("p = (f - 1)/2 on each side is 'same' at stride 1; at stride 2 the output only needs "
                           "to be ceil(n / s) long, which takes less padding.")
    if before > after:
        raise GradingError("TensorFlow never pads more before than after: the extra zero goes at the end.")
    if (before, after) != (1, 2):
        raise GradingError(f"(before, after) = {(before, after)} is not it: find the output ceil(n/s) first, then "
                           "the total padding (out − 1)·s + f − n, then split it with the extra at the end.")
    _ok("total padding 3, split (1, 2) with the extra at the bottom/right: output ceil(12/2) = 6.")


@self_check(
    hints=("Valid adds no zeros; same adds (f − 1)/2 on each side; full adds f − 1 on each side.",
           "Then use n + 2p − f + 1 (stride 1) for each of the three paddings."),
    answer="(4, 8, 12): valid 8 − 5 + 1 = 4, same (p = 2) keeps 8, full (p = 4) gives 8 + 8 − 5 + 1 = 12.",
)
def check_padding_modes(sizes: Any) -> None:
    """Output widths (valid, same, full) of a 5-wide kernel at stride 1 on an 8-pixel-wide input."""
    got = _shape(sizes, 3, "(valid, same, full)")
    if len(got) != 3:
        raise GradingError(f"give three widths (valid, same, full), got {len(got)} numbers", kind="shape")
    valid, same, full = got
    if valid != 4:
        raise GradingError(f"valid: {valid} is not it — no padding, so the window fits n - f + 1 times.")
    if same != 8:
        raise GradingError(f"same: {same} is not it — 'same' pads (f - 1)/2 on each side; what width does that "
                           "give at stride 1?")
    if full == 10:
        raise GradingError("full: p = f - 1 zeros go on EACH side.")
    if full != 12:
        raise GradingError(f"full: {full} is not it — use p = f - 1 in n + 2p - f + 1.")
    _ok("(4, 8, 12): valid shrinks by f - 1, same keeps the size, full grows by f - 1.")


@self_check(
    hints=("With dilation d the taps are d pixels apart. How many pixels does a 5-tap kernel span then?",
           "The span is d·(f − 1) + 1 (there is no gap after the last tap). Use it in place of f in the "
           "output-size formula."),
    answer="7: the kernel spans 2·(5 − 1) + 1 = 9 pixels, so 15 − 9 + 1 = 7 positions.",
)
def check_dilated_output(width: Any) -> None:
    """Output width of a 5-wide kernel with dilation 2 on a 15-pixel-wide input (no padding, stride 1)."""
    got = _number(width, "your width")
    if got == 11:
        raise GradingError("that is the width without dilation: with dilation 2 the taps are 2 pixels apart, so "
                           "the kernel covers d·(f - 1) + 1 pixels.")
    if got == 6:
        raise GradingError("the effective size is d·(f - 1) + 1, not d·f: there is no gap after the last tap.")
    if got != 7:
        raise GradingError(f"{got:g} is not it: use the effective size f' = d·(f - 1) + 1 in the output-size "
                           "formula.")
    _ok("effective size 2·4 + 1 = 9, so 15 - 9 + 1 = 7 positions.")


@self_check(
    hints=("The dilated kernel has d·(kh − 1) + 1 rows and d·(kw − 1) + 1 columns, mostly zeros.",
           "Tap (u, v) of the original kernel goes to row u·d, column v·d: start from np.zeros and assign "
           "with a step-d slice.",
           "out = np.zeros(((kh - 1) * d + 1, (kw - 1) * d + 1)); out[::d, ::d] = k"),
    answer="def dilate_kernel(k, d):\n"
           "    kh, kw = k.shape\n"
           "    out = np.zeros(((kh - 1) * d + 1, (kw - 1) * d + 1))\n"
           "    out[::d, ::d] = k\n"
           "    return out",
)
def check_dilate_kernel(fn: Callable[[np.ndarray, int], np.ndarray]) -> None:
    """``fn(k, d)``: the kernel with d - 1 zeros between taps, so that a plain convolution equals a dilated one."""
    rng = np.random.default_rng(4)
    for (kh, kw), d in [((3, 3), 2), ((2, 3), 3), ((3, 3), 1), ((1, 4), 2)]:
        k = rng.normal(size=(kh, kw))
        got = _call(fn, k.copy(), d, what=f"a {kh}x{kw} kernel and d={d}")
        got_arr = np.asarray(got, dtype=np.float64) if isinstance(got, np.ndarray) else got
        if isinstance(got_arr, np.ndarray) and got_arr.shape == (kh * d, kw * d) and d > 1:
            raise GradingError(f"for a {kh}x{kw} kernel and d={d} your kernel has a gap after the last tap too: "
                               "the dilated size is d·(k - 1) + 1.", kind="shape")
        expected = np.zeros(((kh - 1) * d + 1, (kw - 1) * d + 1))
        for (u, v), value in np.ndenumerate(k):  # tap (u, v) lands d·u rows and d·v columns from the corner
            expected[u * d, v * d] = value
        check_array(got_arr, expected, what=f"your kernel for a {kh}x{kw} kernel and d={d}", reveal=False)
    x = rng.normal(size=(9, 11))  # and the point of it: a plain convolution with it is a dilated convolution
    check_array(_torch_op("conv2d", x, np.asarray(got_arr, dtype=np.float64)),
                _torch_op("conv2d", x, k, dilation=d), what="conv2d(x, your kernel)", reveal=False)
    _ok("a plain convolution with your zero-stuffed kernel equals PyTorch's dilated convolution: dilation adds "
        "reach, not weights.")


@self_check(
    hints=("'same' at stride s (TensorFlow's rule, which cnnlab.ops follows) gives ceil(n / s).",
           "'valid' uses floor((n − f) / s) + 1 with no padding."),
    answer="(43, 42): same gives ceil(128/3) = 43; valid gives (128 − 3)//3 + 1 = 42.",
)
def check_predict_strided_size(prediction: Any, measured: Any) -> None:
    """Predicted output heights (same, valid) of a 3x3 blur at stride 3 on the 128 x 128 photo, vs the measurement."""
    pred = _numbers(prediction, 2, "your prediction (same, valid)")
    got = _check_measurement(measured, (math.ceil(128 / 3), (128 - 3) // 3 + 1), "the output heights at stride 3")

    def explain(i: int, p: float, m: float) -> str | None:
        if i == 0:
            return "'same' at a stride above 1 keeps ceil(n / s), not n" if p == 128 else "round up for 'same'"
        return "round down, then add 1 for the first window"
    _compare_prediction(pred, got, ["'same'", "'valid'"], 0.0, explain)
    _ok(f"you predicted {pred[0]:g} and {pred[1]:g}, measured {got[0]:g} and {got[1]:g}: 'same' rounds up "
        "(ceil(n/s)), 'valid' rounds down and drops the pixels no window reaches.")


# ----------------------------------------------------------------- lecture 03
@self_check(
    hints=("Drop an odd last row or column first, so that height and width are even.",
           "x[:h, :w].reshape(h // 2, 2, w // 2, 2) puts every 2×2 block on axes 1 and 3 (or loop over the "
           "output cells and take x[2i:2i+2, 2j:2j+2].max()).",
           "Take .max over axes 1 and 3 of that reshaped array."),
    answer="def max_pool_2x2(x):\n"
           "    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2\n"
           "    return x[:h, :w].reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))",
)
def check_max_pool_2x2(fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """``fn(x)``: 2x2 max pooling with stride 2 of an HxW array (an odd last row/column is dropped)."""
    rng = np.random.default_rng(2)
    for h, w in [(4, 4), (6, 8), (5, 7), (2, 2)]:
        x = rng.normal(size=(h, w))
        expected = _torch_op("max_pool2d", x, kernel_size=2)
        got = _call(fn, x.copy(), what=f"a {h}x{w} array")
        got_arr = np.asarray(got, dtype=np.float64) if isinstance(got, np.ndarray) else None
        if got_arr is not None and got_arr.shape == expected.shape:
            avg = _torch_op("avg_pool2d", x, kernel_size=2)
            if not np.allclose(got_arr, expected) and np.allclose(got_arr, avg):
                raise GradingError("that is average pooling: take the maximum of each 2x2 window, not the mean.")
        check_array(got, expected, what=f"your pooled {h}x{w} array", reveal=False,
                    hint="2x2 windows with stride 2: drop an odd last row or column")
    _ok("your pooling matches PyTorch's max_pool2d, odd sizes included.")


@self_check(
    hints=("Pooling works on each channel separately: which axes change?",
           "The pooling window is 3 wide but moves 2 pixels at a time: use the output-size formula of "
           "lecture 02 with f = 3, s = 2, p = 0.",
           "floor((55 − 3) / 2) + 1 for height and width."),
    answer="(8, 96, 27, 27): batch and channels unchanged, floor((55 − 3)/2) + 1 = 27 (AlexNet's overlapping "
           "pooling).",
)
def check_pool_output_shape(shape: Any) -> None:
    """Shape after 3x3 max pooling with stride 2 (overlapping windows) of an NCHW batch of shape (8, 96, 55, 55)."""
    got = _shape(shape, 4, "the shape")
    if len(got) != 4:
        raise GradingError(f"give 4 numbers (batch, channels, height, width), got {len(got)}", kind="shape")
    if got[:2] != (8, 96):
        raise GradingError("pooling works on each channel of each image separately: the batch size and the "
                           "number of channels do not change.")
    if got[2] != got[3]:
        raise GradingError("the input is square and the window too: height and width come out equal.")
    if got[2:] == (28, 28):
        raise GradingError("round down: a window that does not fit completely is dropped.")
    if got[2:] == (26, 26):
        raise GradingError("add 1 for the first window position.")
    if got[2:] == (18, 18):
        raise GradingError("that is a 3x3 pooling with stride 3; here the window moves 2 pixels at a time, so "
                           "neighbouring windows overlap by one row/column.")
    if got[2:] == (53, 53):
        raise GradingError("that is the size at stride 1: divide by the stride 2.")
    if got != (8, 96, 27, 27):
        raise GradingError(f"{got[2:]} is not the pooled size: use floor((n - f) / s) + 1 with f = 3, s = 2.")
    _ok("(8, 96, 27, 27): overlapping 3x3/2 pooling halves height and width (rounded down) like 2x2/2 does, and "
        "keeps every channel.")


@self_check(
    hints=("Channel pooling takes a maximum across channels at each pixel: which axes keep their size?",
           "12 channels in groups of 4 consecutive channels: how many groups? Each group becomes one channel."),
    answer="(1, 3, 10, 10): 12 / 4 = 3 groups, one output channel each; every pixel is kept.",
)
def check_channel_pool_shape(shape: Any) -> None:
    """Shape after max pooling over groups of 4 consecutive channels of a (1, 12, 10, 10) batch."""
    got = _shape(shape, 4, "the shape")
    if got == (1, 12, 5, 5):
        raise GradingError("that pools over space; channel (depthwise) pooling takes the maximum across channels at "
                           "each pixel, so height and width stay.")
    if got == (1, 4, 10, 10):
        raise GradingError("4 is the group size, not the number of groups.")
    if got == (1, 1, 10, 10):
        raise GradingError("one maximum per group of 4 channels, and 12 channels make more than one group.")
    if got != (1, 3, 10, 10):
        raise GradingError(f"{got} is not it: the batch and the 10 x 10 size stay, the channels shrink by the "
                           "group size.")
    _ok("(1, 3, 10, 10): one channel per group of 4, every pixel kept.")


def _average_pool_shift_counts() -> tuple[float, float]:
    """Cells of the 2x2 average-pooled stripes image that change after shifts of +1 and +2 pixels."""
    from cnnlab.data.samples import stripes_for_pooling

    img = stripes_for_pooling(8)
    before = _torch_op("avg_pool2d", img, kernel_size=2)
    counts = []
    for dx in (1, 2):
        moved = np.zeros_like(img)
        moved[:, dx:] = img[:, :-dx]  # shifted right, zeros come in on the left
        counts.append(float((~np.isclose(_torch_op("avg_pool2d", moved, kernel_size=2), before)).sum()))
    return counts[0], counts[1]


@self_check(
    hints=("The stripes' values sit in the left column of every 2×2 window. Where does a shift of +1 put them, "
           "and does an average care where in the window a value is?",
           "A shift of +2 moves every value into the next window: what happens to each window's sum?"),
    answer="(0, 16): +1 keeps each value in its own window (left column -> right column), so no average changes; "
           "+2 moves every value into the next window, so every one of the 16 averages changes. Average pooling "
           "shares max pooling's tolerance to a shift that stays inside the window.",
)
def check_predict_average_pool_shift(prediction: Any, measured: Any) -> None:
    """Predicted numbers of changed cells (shift +1, shift +2) with 2x2 average pooling of the stripes, vs measured."""
    pred = _numbers(prediction, 2, "your prediction (shift +1, shift +2)")
    got = _check_measurement(measured, _average_pool_shift_counts(), "the changed cells of the average-pooled map")

    def explain(i: int, p: float, m: float) -> str | None:
        return ("after +1, is each value still in its own window?" if i == 0 else
                "after +2, which window does each value land in?")
    _compare_prediction(pred, got, ["shift +1", "shift +2"], 0.0, explain)
    _ok(f"you predicted {pred[0]:g} and {pred[1]:g}, measured {got[0]:g} and {got[1]:g}: like the maximum, the "
        "average ignores where in its window a value sits, and changes once values cross into the next window.")
