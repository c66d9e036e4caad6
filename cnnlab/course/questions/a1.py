"""Checks of assignment 1, convolution and pooling from scratch (numpy), run by the trusted grader.

``check_*(student_function, hidden=True)`` runs the visible cases and many random ones drawn
at grading time (rectangular inputs and kernels, batch of one, strides 1-3, padding 0-2);
``FORBIDDEN_*`` are the curated dotted prefixes the static analysis refuses in each answer.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cnnlab.course import reference

from cnnlab.checks.arrays import check_array
from cnnlab.checks.errors import GradingError

from .functions import Case, check_function, hidden_seed, random_cases
from .spec import GradedCheck
from .timing import timed

CONV_REFERENCES = (
    "cnnlab.ops.conv2d", "cnnlab.course.reference.conv2d_naive", "cnnlab.course.reference.conv2d_naive_forward",
    "cnnlab.course.reference.conv2d_fast_forward", "cnnlab.course.reference.im2col",
    "cnnlab.course.reference.conv2d_naive_backward", "cnnlab.course.reference.conv2d_fast_backward",
    "torch.nn.functional.conv2d", "torch.conv2d", "torch.nn.grad.conv2d_input", "torch.nn.grad.conv2d_weight",
    "scipy.signal.correlate", "scipy.signal.convolve2d", "scipy.signal.correlate2d",
)
POOL_REFERENCES = (
    "cnnlab.course.reference.max_pool_forward", "cnnlab.course.reference.avg_pool_forward", "cnnlab.ops.max_pool2d",
    "cnnlab.ops.avg_pool2d", "cnnlab.course.reference.max_pool_backward", "cnnlab.course.reference.avg_pool_backward",
    "torch.nn.functional.max_pool2d", "torch.nn.functional.avg_pool2d", "torch.max_pool2d", "torch.avg_pool2d",
)
SIZE_REFERENCES = ("cnnlab.ops.conv_output_size", "cnnlab.ops.resolve_padding", "cnnlab.ops.padding",
                   "cnnlab.course.reference.count_window_positions", "cnnlab.course.reference.same_padding_by_search")
# What a from-scratch answer may not use (dotted prefixes, after alias resolution; see static.py).
_FRAMEWORK = ("cnnlab.ops", "cnnlab.course", "cnnlab.functional", "torch.ops", "torch._C", "torch.nn.functional",
              "torch.nn.grad", "torch.nn.Conv*", "torch.nn.MaxPool*", "torch.nn.AvgPool*", "torch.nn.Unfold",
              "torch.nn.Fold", "torch.conv*", "torch.max_pool*", "torch.avg_pool*", "torch.nn.modules",
              "torch.Tensor.unfold", "scipy.ndimage", "scipy.signal", "numpy.convolve", "numpy.correlate",
              "torchvision", "tensorflow", "jax", "cv2", "skimage")
FORBIDDEN_CONV = _FRAMEWORK
FORBIDDEN_POOL = _FRAMEWORK
FORBIDDEN_SIZE = ("cnnlab.ops", "cnnlab.course")
SPEED_MAX_RATIO = 25.0  # generous: a loop over output positions with vectorised channels passes
USES_TORCH = False  # a numpy assignment: its grading sandbox does not load torch (about a second per student)


# --- references (instructor only: cnnlab.course.reference) -----------------------------------

def ref_output_size(in_hw, kernel, stride=1, padding=0, dilation=1) -> np.ndarray:
    """[H_out, W_out] (one array, so that both sizes are compared as one answer)."""
    return np.array(reference.count_window_positions(in_hw, kernel, stride, padding, dilation))


def ref_same_padding(in_hw, kernel, stride=1, dilation=1, out_hw=None) -> np.ndarray:
    """[top, bottom, left, right] as one array."""
    return np.array(reference.same_padding_by_search(in_hw, kernel, stride, dilation, out_hw))


def _sizes_compare(hint: str) -> Callable[[Any, Any, str], None]:
    """Compare a tuple/list/array of sizes with the expected ones without ever stating them."""
    def compare(got: Any, expected: Any, what: str) -> None:
        if isinstance(got, (tuple, list)):
            if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in got):
                raise GradingError(f"{what} should hold whole numbers (ints), got {[type(v).__name__ for v in got]}",
                                   kind="type")
            got = np.array(got)
        check_array(got, expected, what=what, rtol=0, atol=0, hint=hint, reveal=False)
    return compare


def ref_conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    return reference.conv2d_fast_forward(x, w, b, {"stride": stride, "padding": padding})[0]


def ref_max_pool_forward(x: np.ndarray, size: int, stride: int | None = None) -> np.ndarray:
    return reference.max_pool_forward(x, {"size": size, "stride": stride or size})[0]


def ref_avg_pool_forward(x: np.ndarray, size: int, stride: int | None = None) -> np.ndarray:
    return reference.avg_pool_forward(x, {"size": size, "stride": stride or size})[0]


def ref_conv_backward(dout, x, w, b, stride=1, padding=0):
    """(dx, dw, db) from the reference im2col backward pass in float64 (tested against PyTorch's
    autograd to 1e-10 in tests/test_ops_conv.py; grading assignment 1 then loads no torch)."""
    as64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    _, cache = reference.conv2d_fast_forward(as64(x), as64(w), as64(b), {"stride": stride, "padding": padding})
    return reference.conv2d_fast_backward(as64(dout), cache)


def ref_max_pool_backward(dout, x, size, stride=None):
    """dx from the reference max pooling backward pass in float64 (tested against PyTorch's autograd
    in tests/test_ops_pool.py; random inputs have no ties)."""
    _, cache = reference.max_pool_forward(np.asarray(x, dtype=np.float64), {"size": size, "stride": stride or size})
    return reference.max_pool_backward(np.asarray(dout, dtype=np.float64), cache)


# --- case generators ---------------------------------------------------------------------------

def _conv_case(rng: np.random.Generator, *, small: bool = False) -> Case:
    n = int(rng.integers(1, 3))
    c = int(rng.integers(1, 4))
    k = int(rng.integers(1, 4))
    kh, kw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    s = int(rng.integers(1, 4))
    p = int(rng.integers(0, 3))
    top = 6 if small else 10
    h, w = int(rng.integers(max(kh, 2), top)), int(rng.integers(max(kw, 2), top))
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((k, c, kh, kw))
    b = rng.standard_normal(k)
    return Case((x, wt, b), {"stride": s, "padding": p})


def _pool_case(rng: np.random.Generator) -> Case:
    size = int(rng.integers(1, 4))
    stride = int(rng.integers(1, 4))
    x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(1, 4)),
                             int(rng.integers(size, 11)), int(rng.integers(size, 11))))
    return Case((x, size), {"stride": stride})


VISIBLE_CONV = [
    Case((np.arange(2 * 6 * 6, dtype=np.float64).reshape(1, 2, 6, 6) / 10, np.ones((1, 2, 3, 3)), np.zeros(1)),
         {"stride": 1, "padding": 0}, "6x6 input, 3x3 kernel"),
    Case((np.random.default_rng(7).standard_normal((2, 3, 5, 5)), np.random.default_rng(8).standard_normal((4, 3, 3, 3)),
          np.arange(4.0)), {"stride": 2, "padding": 1}, "stride 2, padding 1"),
]


def _spec(r: np.random.Generator, low: int, high: int) -> int | tuple[int, int]:
    """An int (both axes) or an (h, w) pair, each half of the time."""
    if r.random() < 0.5:
        return int(r.integers(low, high))
    return int(r.integers(low, high)), int(r.integers(low, high))


def _size_case(r: np.random.Generator) -> Case:
    kernel, stride, dilation = _spec(r, 1, 6), _spec(r, 1, 4), _spec(r, 1, 4)
    form = int(r.integers(0, 3))
    padding = (int(r.integers(0, 4)) if form == 0 else (int(r.integers(0, 4)), int(r.integers(0, 4))) if form == 1
               else tuple(int(v) for v in r.integers(0, 4, 4)))
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    dh, dw = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    in_hw = (int(r.integers(dh * (kh - 1) + 1, 40)), int(r.integers(dw * (kw - 1) + 1, 40)))
    return Case((in_hw, kernel), {"stride": stride, "padding": padding, "dilation": dilation})


def check_output_size(output_size: Callable[..., Any], hidden: bool = False) -> None:
    cases = [Case(((6, 6), 3)), Case(((7, 9), (3, 2)), {"stride": 2, "padding": 1}),
             Case(((10, 8), 3), {"dilation": 2}), Case(((5, 5), 2), {"padding": (0, 1, 0, 1)})]
    if hidden:
        cases += random_cases(_size_case, 50)
        cases += [Case(((1, 1), 1)), Case(((9, 4), (3, 1)), {"stride": (3, 1), "padding": (2, 0, 0, 3), "dilation": (3, 1)})]
    check_function(output_size, ref_output_size, cases, forbidden=SIZE_REFERENCES, name="output_size",
                   output_names=["(H_out, W_out)"],
                   compare=_sizes_compare("per axis: a dilated kernel covers d * (f - 1) + 1 pixels; count the "
                                          "strided positions where it fits in the padded length"))


def _padding_case(r: np.random.Generator) -> Case:
    kernel, stride, dilation = _spec(r, 1, 6), _spec(r, 1, 4), _spec(r, 1, 4)
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    sh, sw = stride if isinstance(stride, tuple) else (stride, stride)
    dh, dw = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    in_hw = (int(r.integers(2, 30)), int(r.integers(2, 30)))
    # a reachable target: at least what no padding gives, up to a few more
    low = [max((n - d * (f - 1) - 1) // s + 1, 1) for n, f, s, d in zip(in_hw, (kh, kw), (sh, sw), (dh, dw))]
    out_hw = None if r.random() < 0.2 else (low[0] + int(r.integers(0, 5)), low[1] + int(r.integers(0, 5)))
    return Case((in_hw, kernel), {"stride": stride, "dilation": dilation, "out_hw": out_hw})


def check_same_padding(same_padding: Callable[..., Any], hidden: bool = False) -> None:
    cases = [Case(((5, 5), 3)), Case(((6, 6), 4)), Case(((7, 8), 3), {"stride": 2}),
             Case(((6, 6), 3), {"out_hw": (8, 6)}), Case(((9, 9), 3), {"dilation": 2, "out_hw": (9, 10)})]
    if hidden:
        cases += random_cases(_padding_case, 50)
    check_function(same_padding, ref_same_padding, cases, forbidden=SIZE_REFERENCES, name="same_padding",
                   output_names=["(top, bottom, left, right)"],
                   compare=_sizes_compare("per axis, find the least total padding that gives the target number of "
                                          "outputs; when the total is odd the extra pixel goes after (bottom, right)"))


def check_conv_forward(conv_forward: Callable[..., Any], hidden: bool = False, name: str = "conv_forward") -> None:
    cases = list(VISIBLE_CONV)
    if hidden:
        cases += random_cases(_conv_case, 12)
        cases.append(Case((np.random.default_rng(3).standard_normal((1, 2, 4, 9)),
                           np.random.default_rng(4).standard_normal((3, 2, 2, 3)), np.zeros(3)),
                          {"stride": 1, "padding": 0}, "wide input"))
    check_function(conv_forward, ref_conv_forward, cases, forbidden=CONV_REFERENCES, name=name, rtol=1e-7, atol=1e-9)


def check_max_pool_forward(max_pool_forward: Callable[..., Any], hidden: bool = False) -> None:
    cases = [Case((np.arange(32.0).reshape(1, 2, 4, 4), 2), {"stride": 2})]
    if hidden:
        cases += random_cases(_pool_case, 15)
    check_function(max_pool_forward, ref_max_pool_forward, cases, forbidden=POOL_REFERENCES, name="max_pool_forward")


def check_avg_pool_forward(avg_pool_forward: Callable[..., Any], hidden: bool = False) -> None:
    cases = [Case((np.arange(32.0).reshape(1, 2, 4, 4), 2), {"stride": 2})]
    if hidden:
        cases += random_cases(_pool_case, 15)
    check_function(avg_pool_forward, ref_avg_pool_forward, cases, forbidden=POOL_REFERENCES, name="avg_pool_forward")


def check_conv_backward(conv_backward: Callable[..., Any], hidden: bool = False) -> None:
    rng = np.random.default_rng(hidden_seed())

    def with_dout(case: Case) -> Case:
        x, w, b = case.args
        out_shape = ref_conv_forward(x, w, b, **case.kwargs).shape
        return Case((rng.standard_normal(out_shape), x, w, b), case.kwargs)

    cases = [with_dout(VISIBLE_CONV[1])]
    if hidden:
        cases += [with_dout(c) for c in random_cases(lambda r: _conv_case(r, small=True), 4)]
    check_function(conv_backward, ref_conv_backward, cases, forbidden=CONV_REFERENCES, name="conv_backward",
                   output_names=["dx", "dw", "db"], rtol=1e-5, atol=1e-7)


def check_max_pool_backward(max_pool_backward: Callable[..., Any], hidden: bool = False) -> None:
    rng = np.random.default_rng(hidden_seed())

    def with_dout(case: Case) -> Case:
        out_shape = ref_max_pool_forward(*case.args, **case.kwargs).shape
        return Case((rng.standard_normal(out_shape), *case.args), case.kwargs)

    cases = [with_dout(Case((np.random.default_rng(5).standard_normal((1, 2, 4, 4)), 2), {"stride": 2}))]
    if hidden:
        # random inputs have no ties, so the maximum (and its gradient) is unique
        cases += [with_dout(c) for c in random_cases(_pool_case, 4)]
    check_function(max_pool_backward, ref_max_pool_backward, cases, forbidden=POOL_REFERENCES,
                   name="max_pool_backward", rtol=1e-5, atol=1e-7)


SPEED_SHAPES = ((16, 16, 32, 32), (32, 16, 3, 3), (32,))


def speed_ratio(conv_forward_fast: Callable[..., Any], repeat: int = 5) -> float:
    """Time of the student's vectorised conv over the reference im2col conv, both timed here by the grader.

    Runs alternate (reference, answer, transfer) up to ``repeat`` times on fresh random inputs (a
    cached answer does not help) and compares the fastest of each, which a busy machine disturbs
    least; for an answer in a sandboxed process the time of sending the arrays there and back
    (measured by the grader alone, the fastest of three) is subtracted. Every timed output is
    checked. A clear verdict stops early: under a quarter of the allowed ratio after one timed
    round, under half of it (or over four times it) after two.
    """
    rng = np.random.default_rng(hidden_seed())
    transfer = getattr(conv_forward_fast, "transfer_seconds", None)
    results_only = getattr(conv_forward_fast, "results_only", None)
    answer = results_only() if results_only is not None else conv_forward_fast
    ref_times, student_times = [], []
    out_shape = (SPEED_SHAPES[0][0], SPEED_SHAPES[1][0], *SPEED_SHAPES[0][2:])  # padding 1, stride 1: same size
    transfer_time = 0.0
    if transfer is not None:
        arrays = _speed_inputs(rng)
        transfer_time = min(transfer(arrays, out_shape) for _ in range(3))
    for _ in range(repeat + 1):  # the first round warms up
        x, w, b = _speed_inputs(rng)
        expected, seconds = timed(lambda: ref_conv_forward(x, w, b, 1, 1))
        ref_times.append(seconds)
        try:
            out, seconds = timed(lambda: answer(x, w, b, stride=1, padding=1))
        except Exception as exc:  # noqa: BLE001 - the answer crashed on the timing input
            if getattr(exc, "fail_closed", False):
                raise
            kind = getattr(exc, "remote_type", type(exc).__name__)
            raise GradingError(f"conv_forward_fast raised {kind} on an input of shape {SPEED_SHAPES[0]}: {exc}",
                               kind="exception") from None
        student_times.append(seconds)
        # a fast but wrong answer on big inputs does not count
        check_array(out, expected, what="conv_forward_fast on the timing input", rtol=1e-7, atol=1e-9)
        timed_rounds = len(ref_times) - 1
        if timed_rounds >= 1:
            ratio = _ratio(ref_times, student_times, transfer_time)
            clearly_fast = ratio <= SPEED_MAX_RATIO / (4 if timed_rounds == 1 else 2)
            clearly_slow = timed_rounds >= 2 and ratio > 4 * SPEED_MAX_RATIO
            if clearly_fast or clearly_slow:
                break  # more rounds would not change the verdict
    return _ratio(ref_times, student_times, transfer_time)


def _speed_inputs(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Fresh x, w, b of SPEED_SHAPES, uniform in [-1, 1) (drawn 4x faster than normal numbers)."""
    return tuple(rng.random(shape) * 2 - 1 for shape in SPEED_SHAPES)


def _ratio(ref_times: list[float], student_times: list[float], transfer_time: float) -> float:
    """Fastest answer (minus the transfer time) over the fastest reference, warm-up round left out."""
    return max(min(student_times[1:]) - transfer_time, 0.0) / max(min(ref_times[1:]), 1e-6)


def check_conv_forward_fast(conv_forward_fast: Callable[..., Any], hidden: bool = False) -> None:
    check_conv_forward(conv_forward_fast, hidden=hidden, name="conv_forward_fast")
    ratio = speed_ratio(conv_forward_fast)
    if not ratio <= SPEED_MAX_RATIO:
        raise GradingError(
            f"conv_forward_fast is correct but {ratio:.0f}x slower than cnnlab's im2col convolution (allowed: "
            f"{SPEED_MAX_RATIO:.0f}x): vectorise over the batch, channels and filters, looping at most over "
            "the kernel positions", kind="speed")


GRADED_CELLS = {
    "test_output_size": GradedCheck(check_output_size, ("output_size",), FORBIDDEN_SIZE),
    "test_same_padding": GradedCheck(check_same_padding, ("same_padding",), FORBIDDEN_SIZE),
    "test_conv_forward": GradedCheck(check_conv_forward, ("conv_forward",), FORBIDDEN_CONV),
    "test_max_pool_forward": GradedCheck(check_max_pool_forward, ("max_pool_forward",), FORBIDDEN_POOL),
    "test_avg_pool_forward": GradedCheck(check_avg_pool_forward, ("avg_pool_forward",), FORBIDDEN_POOL),
    "test_conv_backward": GradedCheck(check_conv_backward, ("conv_backward",), FORBIDDEN_CONV),
    "test_max_pool_backward": GradedCheck(check_max_pool_backward, ("max_pool_backward",), FORBIDDEN_POOL),
    "test_conv_forward_fast": GradedCheck(check_conv_forward_fast, ("conv_forward_fast",), FORBIDDEN_CONV),
}
