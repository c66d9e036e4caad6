"""Self-checks for lecture 03b (backpropagation through convolution and pooling, im2col, receptive fields).

Every expected answer is computed here independently (torch autograd, or the receptive-field
recursion), never stored as a constant, so a check also documents what it asks. Every check has
a hint ladder and a worked answer (``exercises.hint('NAME')``, ``exercises.show_answer('NAME')``);
no message of a wrong answer states the expected value.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from cnnlab.checks import GradingError, check_array

from ._core import number as _number
from ._core import ok as _ok
from ._core import self_check

__all__ = [
    "check_conv_input_gradient", "check_conv_kernel_gradient", "check_im2col_shapes", "check_learned_kernel",
    "check_max_pool_gradient", "check_overlapping_pool_gradient", "check_predict_kernel_learning_rate",
    "check_receptive_field_sizes", "mystery_filter_data",
]

# The data the exercises of lecture 03b state (the notebook prints them from here). The input and the
# upstream gradient are chosen so that the usual slips (a kernel turned by 180°, a convolution instead of
# a correlation, a transpose) all give a different answer.
EXERCISE_X = np.array([[2, 0, 1, 3], [1, 4, 0, 2], [0, 1, 3, 1], [2, 2, 1, 0]], dtype=np.float64)
EXERCISE_DOUT = np.array([[1.0, 0.0], [2.0, -1.0]])                 # upstream gradient of the 2x2 output
EXERCISE_POOL_X = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]], dtype=np.float64)
POOL_DOUT = np.array([[1.0, 2.0], [3.0, 4.0]])
# 3x3 max pooling with stride 2 (overlapping windows) of this 5x5 input; one pixel wins two windows.
OVERLAP_X = np.array([[1, 2, 0, 1, 3], [0, 5, 1, 2, 1], [2, 1, 4, 7, 0], [1, 3, 0, 1, 2], [0, 2, 6, 1, 1]],
                     dtype=np.float64)
_SOBEL_X = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
# learning-rate experiment of exercise 3.2: the two rates and the number of steps
LEARNING_RATES, LR_STEPS = (0.6, 1.0), 20


def _array(value: Any, what: str) -> np.ndarray:
    try:
        a = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value, dtype=np.float64)
    except (TypeError, ValueError):
        raise GradingError(f"{what} should be an array of numbers, got {type(value).__name__}", kind="type") from None
    return a


def _conv_grads(x: np.ndarray, w: np.ndarray, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dx, dw) of out = conv2d(x, w) (valid, stride 1) for the upstream gradient dout, by torch autograd."""
    import torch
    import torch.nn.functional as F

    xt = torch.tensor(x[None, None], requires_grad=True)
    wt = torch.tensor(w[None, None], requires_grad=True)
    F.conv2d(xt, wt).backward(torch.tensor(dout[None, None]))
    return xt.grad[0, 0].numpy(), wt.grad[0, 0].numpy()


def _max_pool_dx(x: np.ndarray, dout: np.ndarray, size: int, stride: int) -> np.ndarray:
    """dx of max pooling by torch autograd."""
    import torch
    import torch.nn.functional as F

    xt = torch.tensor(x[None, None], requires_grad=True)
    F.max_pool2d(xt, size, stride).backward(torch.tensor(dout[None, None]))
    return xt.grad[0, 0].numpy()


@self_check(
    hints=("dx has the input's shape (4×4). Output cell (i, j) used the 3×3 window whose top-left corner is "
           "(i, j).",
           "Start from zeros; for every output cell add dout[i, j] · w onto that cell's window. Cells where "
           "dout is 0 add nothing.",
           "Windows overlap: where two windows cover the same pixel their contributions add up. Use w itself, "
           "not w turned by 180°, when you paste it onto the windows."),
    answer="dx = np.zeros((4, 4))\n"
           "for (i, j), g in np.ndenumerate(EXERCISE_DOUT):\n"
           "    dx[i:i + 3, j:j + 3] += g * kernel('Sobel x')\n"
           "(equivalently, the full convolution of dout with the kernel turned by 180°).",
)
def check_conv_input_gradient(dx: Any) -> None:
    """dx for out = conv2d(x, Sobel x) (4x4 input, valid, stride 1) and dout = EXERCISE_DOUT."""
    got = _array(dx, "dx")
    want, _ = _conv_grads(EXERCISE_X, _SOBEL_X, EXERCISE_DOUT)
    if got.shape != want.shape:
        raise GradingError(f"dx has shape {got.shape}; it must have the input's shape", kind="shape")
    unflipped, _ = _conv_grads(EXERCISE_X, _SOBEL_X[::-1, ::-1].copy(), EXERCISE_DOUT)
    if np.allclose(got, unflipped) and not np.allclose(got, want):
        raise GradingError("dx is the full convolution of dout with the kernel the wrong way round: turn the "
                           "kernel by 180° for the sliding-window form, or place w itself at each output's window")
    check_array(got, want, what="dx", reveal=False, hint="place dout[i, j] * w on the window of output (i, j) "
                                                         "and add up")
    _ok("each output cell sends its gradient, times the weights, back to its own 3×3 window.")


@self_check(
    hints=("dw has the kernel's shape (3×3). Weight w[u, v] multiplies x[i + u, j + v] in output (i, j).",
           "dw[u, v] = Σ over output cells of dout[i, j] · x[i + u, j + v]: slide the 2×2 dout over the 4×4 "
           "input, without flipping anything.",
           "It is the valid cross-correlation of x with dout: for dw[u, v] take the 2×2 block x[u:u+2, v:v+2], "
           "multiply it by dout element by element and add up."),
    answer="dw = correlate(EXERCISE_X, EXERCISE_DOUT), i.e. dw[u, v] = np.sum(x[u:u + 2, v:v + 2] * dout):\n"
           "[[0, 8, -1], [0, 3, 5], [2, 4, 5]].",
)
def check_conv_kernel_gradient(dw: Any) -> None:
    """dw for out = conv2d(EXERCISE_X, w) (3x3 kernel, valid, stride 1) and dout = EXERCISE_DOUT."""
    got = _array(dw, "dw")
    _, want = _conv_grads(EXERCISE_X, _SOBEL_X, EXERCISE_DOUT)
    if got.shape != want.shape:
        raise GradingError(f"dw has shape {got.shape}; it must have the kernel's shape", kind="shape")
    _, convolved = _conv_grads(EXERCISE_X, _SOBEL_X, EXERCISE_DOUT[::-1, ::-1].copy())
    if np.allclose(got, want[::-1, ::-1]) and not np.allclose(got, want):
        raise GradingError("your dw is the right one turned by 180°: dw[u, v] belongs to the weight at row u, "
                           "column v, which meets x[i + u, j + v]")
    if np.allclose(got, convolved) and not np.allclose(got, want):
        raise GradingError("you flipped dout (a true convolution); dw is the cross-correlation of x with dout, "
                           "nothing flipped")
    check_array(got, want, what="dw", reveal=False, hint="dw = cross-correlation of the input x with dout (valid)")
    _ok("dw[u, v] adds x[i + u, j + v] * dout[i, j] over every output cell: the input correlated with dout.")


@self_check(
    hints=("Max pooling passes each window's largest value on. Which pixel is the largest in each of the four "
           "2×2 windows?",
           "Only the winner of a window changes the output when nudged: it gets dout of its window; the other "
           "three pixels get 0."),
    answer="winners 6 (row 1, col 1), 5 (row 1, col 2), 3 (row 2, col 0), 4 (row 3, col 2):\n"
           "[[0, 0, 0, 0], [0, 1, 2, 0], [3, 0, 0, 0], [0, 0, 4, 0]].",
)
def check_max_pool_gradient(dx: Any) -> None:
    """dx of 2x2 max pooling (stride 2) of EXERCISE_POOL_X for dout = [[1, 2], [3, 4]]."""
    got = _array(dx, "dx")
    want = _max_pool_dx(EXERCISE_POOL_X, POOL_DOUT, 2, 2)
    if got.shape != want.shape:
        raise GradingError(f"dx has shape {got.shape}; it must have the input's shape", kind="shape")
    if np.allclose(got, np.kron(POOL_DOUT, np.ones((2, 2))) / 4):
        raise GradingError("that is average pooling's gradient (¼ to every pixel); max pooling sends each "
                           "dout value only to the pixel that won its window")
    check_array(got, want, what="dx", reveal=False, hint="one non-zero per window, at the window's largest input")
    _ok("each window's gradient goes to its maximum; the other three pixels get 0.")


@self_check(
    hints=("With 3×3 windows and stride 2 on a 5×5 input the output is 2×2; window (i, j) covers rows 2i to "
           "2i + 2 and columns 2j to 2j + 2. Row 2 and column 2 belong to two windows each.",
           "Find each window's maximum. One pixel is the maximum of two windows.",
           "A pixel that wins several windows receives the SUM of their dout values (dx[...] += dout[i, j], "
           "not =)."),
    answer="winners: window (0,0) -> 5 at (1, 1); windows (0,1) and (1,1) -> 7 at (2, 3); window (1,0) -> 6 at "
           "(4, 2). dx is 0 except dx[1, 1] = 1, dx[2, 3] = 2 + 4 = 6, dx[4, 2] = 3.",
)
def check_overlapping_pool_gradient(dx: Any) -> None:
    """dx of 3x3 max pooling with stride 2 of OVERLAP_X for dout = [[1, 2], [3, 4]] (windows overlap)."""
    got = _array(dx, "dx")
    want = _max_pool_dx(OVERLAP_X, POOL_DOUT, 3, 2)
    if got.shape != want.shape:
        raise GradingError(f"dx has shape {got.shape}; it must have the input's shape (5, 5)", kind="shape")
    overwritten = np.zeros_like(OVERLAP_X)
    for (i, j), g in np.ndenumerate(POOL_DOUT):
        win = OVERLAP_X[2 * i:2 * i + 3, 2 * j:2 * j + 3]
        r, c = np.unravel_index(win.argmax(), win.shape)
        overwritten[2 * i + r, 2 * j + c] = g
    if np.allclose(got, overwritten) and not np.allclose(got, want):
        raise GradingError("a pixel that wins two windows must receive both windows' gradients: add them "
                           "(+=) instead of overwriting")
    if np.count_nonzero(got) == 4 and np.isclose(got.sum(), POOL_DOUT.sum()):
        raise GradingError("you found four different winners, but two overlapping windows share theirs: look at "
                           "the pixels in row 2 and column 2 again")
    check_array(got, want, what="dx", reveal=False,
                hint="each of the 4 windows sends its dout to its own maximum; shared winners add up")
    _ok("the pixel at (2, 3) is the maximum of two windows and collects both gradients: with overlapping "
        "windows max pooling's backward pass must add, not assign.")


def _mystery() -> tuple[np.ndarray, float]:
    """The hidden 3x3 kernel (no textbook kernel) and bias of exercise 3.1."""
    kern = np.random.default_rng(2023).normal(size=(3, 3)).round(1)
    return kern, 0.7


def mystery_filter_data() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Two 20x20 noise images and their responses to a hidden 3x3 kernel plus a hidden bias (exercise 3.1).

    Returns:
        (images, targets): lists of two float64 arrays, 20x20 and 18x18.
    """
    import torch
    import torch.nn.functional as F

    kern, bias = _mystery()
    images = list(np.random.default_rng(5).normal(size=(2, 20, 20)))
    targets = [F.conv2d(torch.from_numpy(im)[None, None], torch.from_numpy(kern)[None, None],
                        torch.tensor([bias], dtype=torch.float64))[0, 0].numpy() for im in images]
    return images, targets


def _losses(history: Any) -> list[float]:
    if isinstance(history, (str, bytes)) or not hasattr(history, "__len__"):
        raise GradingError("history should be the list your learning function returns: one (loss, ...) entry or "
                           "one loss per step", kind="type")
    losses = []
    for h in history:
        losses.append(_number(h[0] if isinstance(h, (tuple, list)) else h, "each loss in history"))
    return losses


@self_check(
    hints=("learn_kernel learns the weights only. The targets also contain a constant offset: a bias b, the "
           "same for every output cell.",
           "Add a bias to the forward pass (correlate(x, w) + b) and update it with its own gradient: "
           "db = dout.sum(), the formula of section 1 (tiny_conv_backward returns it).",
           "Start w and b at 0, use lr = 0.2 and 60 steps as for the noise images, and keep one history entry "
           "(loss, w) per step."),
    answer="def learn_kernel_and_bias(images, targets, lr, steps, size=3):\n"
           "    w, b, history = np.zeros((size, size)), 0.0, []\n"
           "    for _ in range(steps):\n"
           "        grad, grad_b, loss = np.zeros_like(w), 0.0, 0.0\n"
           "        for x, y in zip(images, targets):\n"
           "            err = correlate(x, w) + b - y\n"
           "            loss += np.mean(err**2) / len(images)\n"
           "            _, dw, db = tiny_conv_backward(x, w, 2 * err / err.size / len(images))\n"
           "            grad, grad_b = grad + dw, grad_b + db\n"
           "        w, b = w - lr * grad, b - lr * grad_b\n"
           "        history.append((loss, w.copy()))\n"
           "    return w, b, history\n"
           "mystery_kernel, mystery_bias, mystery_history = learn_kernel_and_bias(images, targets, lr=0.2, steps=60)",
)
def check_learned_kernel(kernel: Any, bias: Any, history: Any) -> None:
    """A 3x3 kernel and a bias learned by gradient descent, from zero, from ``mystery_filter_data()``."""
    from cnnlab.data.samples import KERNELS

    got = _array(kernel, "kernel").squeeze()
    b = _number(np.asarray(bias).reshape(-1)[0] if np.size(bias) == 1 else bias, "bias")
    losses = _losses(history)
    want, want_b = _mystery()
    images, targets = mystery_filter_data()
    if got.shape != (3, 3):
        raise GradingError(f"the kernel should be 3x3, got shape {got.shape}", kind="shape")
    for name, k in KERNELS.items():
        if np.allclose(got, k, atol=0.05):
            raise GradingError(f"that is the textbook '{name}' kernel; the hidden kernel is none of them: learn it "
                               "from mystery_filter_data()")
    if len(losses) < 10:
        raise GradingError(f"history has {len(losses)} entries: give the whole history, one entry per step (the "
                           "check looks at how the loss went down)", kind="shape")
    start = float(np.mean([np.mean(t**2) for t in targets]))
    if not math.isclose(losses[0], start, rel_tol=1e-3):
        raise GradingError("the first loss in history is not the loss of the zero kernel on mystery_filter_data(): "
                           "start from w = 0 and b = 0, on those images and targets")
    if not losses[-1] < 1e-3 * losses[0]:
        raise GradingError("the loss has not gone down by a factor of 1000 yet: train for more steps, or check "
                           "the bias is learned too (without it the loss stalls)")
    if abs(b) < 1e-6:
        raise GradingError("the bias is still 0: the targets have a constant offset, so learn b too "
                           "(db = dout.sum())")
    err, err_b = float(np.abs(got - want).max()), abs(b - want_b)
    if err > 0.05 or err_b > 0.05:
        raise GradingError(f"the kernel (worst entry off by {err:.3f}) or the bias (off by {err_b:.3f}) is not "
                           "within 0.05 of the hidden ones: train longer", kind="values")
    _ok(f"recovered the hidden kernel to within {err:.3f} and the bias to within {err_b:.3f}; the loss fell from "
        f"{losses[0]:.3g} to {losses[-1]:.2g} in {len(losses)} steps.")


def _lr_ratios() -> tuple[float, float]:
    """final / initial loss of learning Sobel x from zero on the lecture's two noise images, at each rate."""
    import torch
    import torch.nn.functional as F

    images = torch.from_numpy(np.random.default_rng(1).normal(size=(2, 1, 20, 20)))
    targets = F.conv2d(images, torch.from_numpy(_SOBEL_X)[None, None])
    ratios = []
    for lr in LEARNING_RATES:
        w = torch.zeros(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
        losses = []
        for _ in range(LR_STEPS):
            loss = ((F.conv2d(images, w) - targets) ** 2).mean()
            (grad,) = torch.autograd.grad(loss, w)
            losses.append(float(loss.detach()))
            with torch.no_grad():
                w -= lr * grad
        ratios.append(losses[-1] / losses[0])
    return ratios[0], ratios[1]


_SHRINKS = {"shrinks", "shrink", "decreases", "decrease", "down", "converges", "smaller"}
_GROWS = {"grows", "grow", "increases", "increase", "up", "diverges", "explodes", "larger"}


@self_check(
    hints=("For the noise images the loss is a bowl whose curvature is about 2 in every direction (each "
           "weight's squared input averages 1, times 2 from the square).",
           "Gradient descent on a bowl of curvature c moves each error by a factor (1 − lr·c) per step: it "
           "shrinks when that factor lies between −1 and 1, and overshoots further at every step when it is "
           "beyond −1.",
           "Compute 1 − lr·2 for each rate, and remember that the curvature is about 2, a little more in "
           "some directions."),
    answer="('shrinks', 'grows'): at lr = 0.6 the factor 1 − 0.6·2 = −0.2 shrinks the error at every step; at "
           "lr = 1.0 the factor is about −1 and a little beyond it in the steepest direction, so the error "
           "flips sign and grows: the loss after 20 steps is far above its start.",
)
def check_predict_kernel_learning_rate(prediction: Any, measured: Any) -> None:
    """Predicted 'shrinks'/'grows' of the loss after LR_STEPS steps at each rate of LEARNING_RATES, vs measured."""
    if isinstance(prediction, str) or not hasattr(prediction, "__len__") or len(prediction) != 2:
        raise GradingError("give two words, one per learning rate, e.g. ('shrinks', 'grows')", kind="type")
    words = []
    for p in prediction:
        w = str(p).strip().lower()
        if w not in _SHRINKS | _GROWS:
            raise GradingError(f"{p!r} is not one of 'shrinks' or 'grows'", kind="type")
        words.append("shrinks" if w in _SHRINKS else "grows")
    reference = _lr_ratios()
    got = []
    for m, r in zip(_array(measured, "the measurement").reshape(-1), reference):
        if not (math.isclose(float(m), r, rel_tol=1e-2) or max(float(m), r) < 1e-12):  # or both at rounding level
            raise GradingError("`measured` does not match the experiment: run the check cell as written "
                               "(final loss / first loss at each rate)", kind="values")
        got.append("shrinks" if m < 1 else "grows")
    for word, outcome, lr in zip(words, got, LEARNING_RATES):
        if word != outcome:
            raise GradingError(f"at lr = {lr} you predicted the loss {word}; the run disagrees. Compare the factor "
                               "(1 − lr × curvature) with −1 and 1.", kind="values")
    _ok(f"you predicted {words[0]} / {words[1]}; after {LR_STEPS} steps the loss was ×{reference[0]:.1e} and "
        f"×{reference[1]:.1e} of its start. Past about 2 / curvature, a larger step overshoots further each time.")


@self_check(
    hints=("One row of the patch matrix per output position of every image; one column per number in a patch.",
           "A patch covers all 3 channels: C·kh·kw numbers. Each image has (32 − 5 + 1)² output positions, and "
           "there are 8 images.",
           "The weight matrix turns a patch row into one number per filter: (C·kh·kw) rows, one column per "
           "filter."),
    answer="patches (8·28·28, 3·5·5) = (6272, 75), weights (75, 16); their product is (6272, 16). "
           "(The transposed convention, (75, 6272) and (16, 75), is fine too.)",
)
def check_im2col_shapes(patches_shape: Any, weights_shape: Any) -> None:
    """Shapes for a batch (8, 3, 32, 32), 16 filters 5x5, stride 1, no padding: patch matrix and weight matrix."""
    n, c, h, w, f, k = 8, 3, 32, 32, 16, 5
    rows, cols = n * (h - k + 1) * (w - k + 1), c * k * k
    try:
        p, q = tuple(int(v) for v in patches_shape), tuple(int(v) for v in weights_shape)
    except (TypeError, ValueError):
        raise GradingError("give each shape as a tuple of two integers, e.g. (10, 20)", kind="type") from None
    if p == (cols, rows) and q == (f, cols):
        _ok("the transposed convention (patches as columns, W @ patches) works too.")
        return
    if len(p) != 2 or len(q) != 2:
        raise GradingError("both matrices are 2-D: give each shape as two integers", kind="shape")
    if p[0] == (h - k + 1) * (w - k + 1):
        raise GradingError("patches: one row per output position *of every image*: multiply by the batch size 8")
    if p[1] == k * k:
        raise GradingError("patches: each row holds a whole 3-channel patch, C·kh·kw values, not kh·kw")
    check_array(np.array(p), np.array([rows, cols]), what="patches_shape", reveal=False,
                hint="(N·H_out·W_out, C·kh·kw)")
    check_array(np.array(q), np.array([cols, f]), what="weights_shape", reveal=False, hint="(C·kh·kw, filters)")
    _ok(f"({rows}, {cols}) @ ({cols}, {f}) = ({rows}, {f}): one row per output position, one column per filter; "
        f"the patch matrix holds {rows * cols:,} numbers, {rows * cols / (n * c * h * w):.0f}× the input.")


@self_check(
    hints=("Start from r = 1 and jump = 1. Each layer adds (k − 1) · dilation · jump to r, then multiplies the "
           "jump by its stride.",
           "(a) The pooling layer adds (2 − 1)·1 and doubles the jump, so the two convolutions after it add "
           "2·2 each. (b) No strides: each 5×5 layer adds (5 − 1)·d."),
    answer="(a) 1 + 2 + 2 + 1 + 4 + 4 = 14; (b) 1 + 4·1 + 4·2 + 4·4 = 29.",
)
def check_receptive_field_sizes(vgg_like: Any, dilated: Any) -> None:
    """Receptive fields of (conv3, conv3, maxpool2/2, conv3, conv3) and of 5x5 convs with dilations 1, 2, 4."""
    from cnnlab.ops.receptive_fields import LayerSpec, receptive_field

    a = receptive_field([3, 3, LayerSpec(2, 2, kind="pool"), 3, 3])[-1].size
    b = receptive_field([(5, 1, 1), (5, 1, 2), (5, 1, 4)])[-1].size
    for value, what in [(vgg_like, "vgg_like"), (dilated, "dilated")]:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise GradingError(f"{what} should be a number (pixels along one side), got {value!r}", kind="type")
    if vgg_like == 9:
        raise GradingError("vgg_like: after the stride-2 pooling neighboring units are 2 input pixels apart, "
                           "so each later 3x3 conv adds (3 - 1) x 2 pixels, not 2")
    check_array(float(vgg_like), float(a), what="vgg_like", reveal=False, hint="r += (k - 1) x jump; jump *= stride")
    if dilated == 13:
        raise GradingError("dilated: a 5x5 kernel with dilation d spans 4d + 1 pixels, so it adds 4d, not 4")
    check_array(float(dilated), float(b), what="dilated", reveal=False, hint="r += (k - 1) x dilation x jump")
    _ok(f"{a} and {b} pixels: pooling (and stride) multiplies what every later layer adds; dilation grows the "
        f"field exponentially with no extra weights.")
