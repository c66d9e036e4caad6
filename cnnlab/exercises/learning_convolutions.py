"""Self-checks for lecture 03b (backpropagation through convolution and pooling, im2col, receptive fields).

Every expected answer is computed here independently (torch autograd, or the receptive-field
recursion), never stored as a constant, so a check also documents what it asks.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from cnnlab.checks import GradingError, check_array

from ._core import ok as _ok
from ._core import self_check

__all__ = [
    "check_conv_input_gradient", "check_conv_kernel_gradient", "check_im2col_shapes", "check_learned_kernel",
    "check_max_pool_gradient", "check_receptive_field_sizes",
]

# The data the exercises of lecture 03b state (the notebook prints them from here).
EXERCISE_X = np.arange(16, dtype=np.float64).reshape(4, 4)          # input of the 3x3 convolution
EXERCISE_DOUT = np.array([[1.0, 0.0], [0.0, -1.0]])                 # upstream gradient of its 2x2 output
EXERCISE_POOL_X = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]], dtype=np.float64)
_SOBEL_X = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])


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


@self_check
def check_conv_input_gradient(dx: Any) -> None:
    """dx for out = conv2d(x, Sobel x) (4x4 input, valid, stride 1) and dout = EXERCISE_DOUT."""
    got = _array(dx, "dx")
    want, _ = _conv_grads(EXERCISE_X, _SOBEL_X, EXERCISE_DOUT)
    if got.shape != want.shape:
        raise GradingError(f"dx has shape {got.shape}; it must have the input's shape {want.shape}", kind="shape")
    unflipped, _ = _conv_grads(EXERCISE_X, _SOBEL_X[::-1, ::-1].copy(), EXERCISE_DOUT)
    if np.allclose(got, unflipped) and not np.allclose(got, want):
        raise GradingError("dx is the full convolution of dout with the kernel turned by 180°: your kernel is "
                           "the wrong way round (flip it, or place w itself at each output's window)")
    check_array(got, want, what="dx", hint="place dout[i, j] * w on the window of output (i, j) and add up")
    _ok("each output cell sends its gradient, times the weights, back to its own 3×3 window.")


@self_check
def check_conv_kernel_gradient(dw: Any) -> None:
    """dw for out = conv2d(EXERCISE_X, w) (3x3 kernel, valid, stride 1) and dout = EXERCISE_DOUT."""
    got = _array(dw, "dw")
    _, want = _conv_grads(EXERCISE_X, _SOBEL_X, EXERCISE_DOUT)
    if got.shape != want.shape:
        raise GradingError(f"dw has shape {got.shape}; it must have the kernel's shape {want.shape}", kind="shape")
    check_array(got, want, what="dw", hint="dw = cross-correlation of the input x with dout (valid)")
    _ok("dw[u, v] adds x[i + u, j + v] * dout[i, j] over every output cell: the input correlated with dout.")


@self_check
def check_max_pool_gradient(dx: Any) -> None:
    """dx of 2x2 max pooling (stride 2) of EXERCISE_POOL_X for dout = [[1, 2], [3, 4]]."""
    import torch
    import torch.nn.functional as F

    got = _array(dx, "dx")
    xt = torch.tensor(EXERCISE_POOL_X[None, None], requires_grad=True)
    dout = np.array([[1.0, 2.0], [3.0, 4.0]])
    F.max_pool2d(xt, 2).backward(torch.tensor(dout[None, None]))
    want = xt.grad[0, 0].numpy()
    if got.shape != want.shape:
        raise GradingError(f"dx has shape {got.shape}; it must have the input's shape {want.shape}", kind="shape")
    if np.allclose(got, np.kron(dout, np.ones((2, 2))) / 4):
        raise GradingError("that is average pooling's gradient (¼ to every pixel); max pooling sends each "
                           "dout value only to the pixel that won its window")
    check_array(got, want, what="dx", hint="one non-zero per window, at the window's largest input")
    _ok("each window's gradient goes to its maximum; the other three pixels get 0.")


@self_check
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
    if p[0] == (h - k + 1) * (w - k + 1):
        raise GradingError("patches: one row per output position *of every image*: multiply by the batch size 8")
    if len(p) == 2 and p[1] == k * k:
        raise GradingError("patches: each row holds a whole 3-channel patch, C·kh·kw values, not kh·kw")
    check_array(np.array(p), np.array([rows, cols]), what="patches_shape", hint="(N·H_out·W_out, C·kh·kw)")
    check_array(np.array(q), np.array([cols, f]), what="weights_shape", hint="(C·kh·kw, number of filters)")
    _ok(f"({rows}, {cols}) @ ({cols}, {f}) = ({rows}, {f}): one row per output position, one column per filter; "
        f"the patch matrix holds {rows * cols:,} numbers, {rows * cols / (n * c * h * w):.0f}× the input.")


@self_check
def check_learned_kernel(kernel: Any) -> None:
    """A 3x3 kernel learned by gradient descent to reproduce the Sobel y filter."""
    got = _array(kernel, "kernel").squeeze()
    want = _SOBEL_X.T.copy()
    if got.shape != (3, 3):
        raise GradingError(f"the kernel should be 3x3, got shape {got.shape}", kind="shape")
    if np.allclose(got, _SOBEL_X, atol=0.05):
        raise GradingError("that is Sobel x (vertical edges); the exercise asks for Sobel y (horizontal edges)")
    err = float(np.abs(got - want).max())
    if err > 0.05:
        raise GradingError(f"the kernel is still {err:.3f} away from Sobel y in its worst entry: train longer "
                           f"or with a larger learning rate (and check the loss goes down)", kind="values")
    _ok(f"learned Sobel y to within {err:.3f}.")


@self_check
def check_receptive_field_sizes(vgg_like: Any, dilated: Any) -> None:
    """Receptive fields of (conv3, conv3, maxpool2/2, conv3, conv3) and of 3x3 convs with dilations 1, 2, 4."""
    from cnnlab.ops.receptive_fields import LayerSpec, receptive_field

    a = receptive_field([3, 3, LayerSpec(2, 2, kind="pool"), 3, 3])[-1].size
    b = receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)])[-1].size
    for value, what in [(vgg_like, "vgg_like"), (dilated, "dilated")]:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise GradingError(f"{what} should be a number (pixels along one side), got {value!r}", kind="type")
    if vgg_like == 9:
        raise GradingError("vgg_like: after the stride-2 pooling neighboring units are 2 input pixels apart, "
                           "so each later 3x3 conv adds (3 - 1) x 2 = 4 pixels, not 2")
    check_array(float(vgg_like), float(a), what="vgg_like", hint="r += (k - 1) x jump; jump *= stride")
    if dilated == 7:
        raise GradingError("dilated: a 3x3 kernel with dilation d spans 2d + 1 pixels, so it adds 2d")
    check_array(float(dilated), float(b), what="dilated", hint="r += (k - 1) x dilation x jump")
    _ok(f"{a} and {b} pixels: pooling (and stride) multiplies what every later layer adds; dilation grows the "
        f"field exponentially with no extra weights.")
