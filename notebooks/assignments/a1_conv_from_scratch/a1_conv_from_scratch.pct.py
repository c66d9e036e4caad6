# ---
# jupyter:
#   jupytext:
#     formats: ipynb,.pct.py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 1 — convolution and pooling from scratch
#
# You will write, in plain NumPy, the pieces every CNN framework hides: the output shape of a
# dilated, strided convolution, the padding that gives a chosen output size, the forward pass of a convolution and of max/average pooling, their backward
# passes and a vectorised convolution (lecture 03b derives the backward passes on the simplest case).
#
# **Rules**
# - Work in the cells marked `# YOUR CODE HERE` and delete the `raise NotImplementedError()` line.
# - Arrays use PyTorch's layout: inputs `(N, C, H, W)`, weights `(K, C, kh, kw)`, biases `(K,)`.
# - **Do not hard-code sizes.** Read every size from the arguments: the hidden tests use other
#   batch sizes, channel counts, rectangular images and kernels, strides and paddings.
# - Write the code yourself: an answer that calls `cnnlab.ops`, `torch` or `scipy` convolution or
#   pooling functions gets no points for that question (the grader checks).
# - **Imports:** the grader holds only numpy, matplotlib, IPython and cnnlab's set-up helpers (no
#   PyTorch, SciPy or `cnnlab.ops`); the set-up cell applies the same rule here, and
#   `python -m cnnlab.assignment_rules check a1_conv_from_scratch.ipynb` checks your notebook.
# - Run the test cell under each answer. Passing the visible tests is necessary, not sufficient:
#   the grader checks the same function on many more inputs, in float64, drawn at grading time.
# - Before submitting: *Kernel → Restart and Run All*, and check that nothing fails unexpectedly.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import cnnlab
cnnlab.hello(with_torch=False)  # numpy only: PyTorch is not loaded

import numpy as np
from cnnlab.checks import check_array
from cnnlab.gradcheck import numerical_gradient
from cnnlab.assignment_rules import use_rules
use_rules("a1_conv_from_scratch")  # imports the grader lacks fail here too


# %% [markdown]
# ## 1. Output shape of a dilated, strided convolution (2 points)
#
# Lecture 02 counts the positions of a window along one axis. Real layers take a setting per
# axis: `output_size(in_hw, kernel, stride=1, padding=0, dilation=1)` returns `(H_out, W_out)`
# for an input of `in_hw = (H, W)` pixels, where
#
# - `kernel`, `stride` and `dilation` are each an int (the same on both axes) or an `(h, w)` pair;
# - a kernel of `f` taps with dilation `d` leaves `d - 1` pixels between neighbouring taps, so it
#   covers `d * (f - 1) + 1` pixels;
# - `padding` is an int (every side), an `(h, w)` pair (top and bottom get `h`, left and right `w`)
#   or a 4-tuple `(top, bottom, left, right)`, which may be uneven.
#
# Round down when the last window does not fit.

# %% nbgrader={"grade": false, "grade_id": "output_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
def output_size(in_hw, kernel, stride=1, padding=0, dilation=1):
    """(H_out, W_out) of a convolution with per-axis kernel, stride, padding and dilation."""
    ### BEGIN SOLUTION
    def per_axis(value):
        return tuple(value) if isinstance(value, (tuple, list)) else (value, value)

    if isinstance(padding, (tuple, list)) and len(padding) == 4:
        top, bottom, left, right = padding
    else:
        ph, pw = per_axis(padding)
        top, bottom, left, right = ph, ph, pw, pw
    sizes = []
    for n, f, s, d, before, after in zip(in_hw, per_axis(kernel), per_axis(stride), per_axis(dilation),
                                         (top, left), (bottom, right)):
        span = d * (f - 1) + 1
        sizes.append((n + before + after - span) // s + 1)
    return tuple(sizes)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_output_size", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert tuple(output_size((6, 6), 3)) == (4, 4), "a 6x6 image and a 3x3 kernel give a 4x4 output"
assert tuple(output_size((7, 9), (3, 2), stride=2, padding=1)) == (4, 5)
assert tuple(output_size((10, 10), 3, dilation=2)) == (6, 6), "a 3-tap kernel with dilation 2 covers 5 pixels"

# %% [markdown]
# ## 2. The padding for a target output size (2 points)
#
# "Same" padding (lecture 02) is one target among many: an encoder may need a layer to give
# exactly `out_hw` outputs. `same_padding(in_hw, kernel, stride=1, dilation=1, out_hw=None)` returns
# `(top, bottom, left, right)`: on each axis, the **least** total zero padding for which the
# (dilated, strided) window gives exactly the target number of outputs, split in two with the
# extra pixel **after** (bottom, right) when the total is odd. Without `out_hw` the target is
# TensorFlow's "same" size, `ceil(n / s)` on each axis. `kernel`, `stride`, `dilation` and
# `out_hw` are ints or `(h, w)` pairs as in question 1; the tests only ask for targets that
# padding can reach (at least as many outputs as without padding).

# %% nbgrader={"grade": false, "grade_id": "same_padding", "locked": false, "schema_version": 3, "solution": true, "task": false}
def same_padding(in_hw, kernel, stride=1, dilation=1, out_hw=None):
    """(top, bottom, left, right) zero padding giving out_hw outputs (default: 'same', ceil(n / s))."""
    ### BEGIN SOLUTION
    def per_axis(value):
        return tuple(value) if isinstance(value, (tuple, list)) else (value, value)

    targets = per_axis(out_hw) if out_hw is not None else tuple(-(-n // s) for n, s in zip(in_hw, per_axis(stride)))
    pads = []
    for n, f, s, d, out in zip(in_hw, per_axis(kernel), per_axis(stride), per_axis(dilation), targets):
        total = max((out - 1) * s + d * (f - 1) + 1 - n, 0)
        pads += [total // 2, total - total // 2]
    return tuple(pads)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_same_padding", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert tuple(same_padding((5, 5), 3)) == (1, 1, 1, 1)
assert tuple(same_padding((6, 6), 4)) == (1, 2, 1, 2), "an odd total: the extra pixel goes after"
assert tuple(same_padding((6, 6), 3, out_hw=(8, 6))) == (2, 2, 1, 1)

# %% [markdown]
# ## 3. Convolution, forward pass (4 points)
#
# `x` has shape `(N, C, H, W)`, `w` shape `(K, C, kh, kw)`, `b` shape `(K,)`. Pad `x` with `padding`
# zeros on the top, bottom, left and right (not on the batch or channel axes), slide each filter
# with step `stride` and return `out` of shape `(N, K, H_out, W_out)` with
# `out[n, k, i, j] = b[k] + sum(x_pad[n, :, i*stride : i*stride+kh, j*stride : j*stride+kw] * w[k])`.
# Loops are fine here. Hint: `np.pad`.

# %% nbgrader={"grade": false, "grade_id": "conv_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_forward(x, w, b, stride=1, padding=0):
    """Naive 2-D convolution (cross-correlation), NCHW."""
    ### BEGIN SOLUTION
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (wd + 2 * padding - kw) // stride + 1
    out = np.zeros((n, k, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            for f in range(k):
                out[:, f, i, j] = (patch * w[f]).sum(axis=(1, 2, 3)) + b[f]
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_forward", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
edge = np.zeros((1, 1, 6, 6)); edge[..., :3] = 1.0          # bright left, dark right
kernel = np.array([[1.0, 0.0, -1.0]] * 3).reshape(1, 1, 3, 3)  # vertical edge detector
out = conv_forward(edge, kernel, np.zeros(1))
assert out.shape == (1, 1, 4, 4), f"expected (1, 1, 4, 4), got {out.shape}"
assert np.all(out[0, 0, :, 1:3] == 3) and np.all(out[0, 0, :, [0, 3]] == 0), "the edge shows as a bright band"

# %% [markdown]
# ## 4. Pooling, forward pass (3 + 2 points)
#
# Max and average pooling with a `size × size` window moving by `stride` (default: `size`) over
# height and width, each channel separately; no padding. The output has shape
# `(N, C, H_out, W_out)`.

# %% nbgrader={"grade": false, "grade_id": "max_pool_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_pool_forward(x, size, stride=None):
    """Max pooling over height and width, NCHW."""
    ### BEGIN SOLUTION
    stride = stride or size
    n, c, h, w = x.shape
    ho, wo = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * stride : i * stride + size, j * stride : j * stride + size].max(axis=(2, 3))
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_max_pool_forward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
x = np.arange(32.0).reshape(1, 2, 4, 4)
out = max_pool_forward(x, 2)
assert out.shape == (1, 2, 2, 2)
assert np.array_equal(out[0, 0], [[5, 7], [13, 15]])

# %% nbgrader={"grade": false, "grade_id": "avg_pool_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def avg_pool_forward(x, size, stride=None):
    """Average pooling over height and width, NCHW."""
    ### BEGIN SOLUTION
    stride = stride or size
    n, c, h, w = x.shape
    ho, wo = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = x[:, :, i * stride : i * stride + size, j * stride : j * stride + size].mean(axis=(2, 3))
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_avg_pool_forward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
out = avg_pool_forward(np.arange(32.0).reshape(1, 2, 4, 4), 2)
assert np.allclose(out[0, 0], [[2.5, 4.5], [10.5, 12.5]])

# %% [markdown]
# ## 5. Why pool? (2 points, graded by hand)
#
# Using your `max_pool_forward`, compare a 2×2 max pooling of an image with that of the same image
# shifted right by one pixel, by two pixels, and left by one pixel. In two or three sentences: what
# changes, what does not, and what does that say about the invariance pooling buys a CNN?

# %%
img = np.zeros((1, 1, 8, 8)); img[0, 0, 2, 2] = 1.0  # one bright pixel
for shift in (0, 1, 2, -1):
    print(shift, max_pool_forward(np.roll(img, shift, axis=3), 2)[0, 0].astype(int).tolist())


# %% [markdown] nbgrader={"grade": true, "grade_id": "written_pooling_shift", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# The bright pixel sits in the left column of its 2×2 window: shifted right by one it stays in
# that window and the pooled map is unchanged, but shifted left by one it crosses into the
# previous window and the pooled map changes; a two-pixel shift moves it into the next window
# (the pooled map shifts by one cell). So max pooling is invariant to some one-pixel shifts,
# depending on where the maximum sits and on the direction; on real images only part of the
# pooled cells stay the same. It makes the features change less under small translations; it
# does not make them invariant. (Full marks: the right/left asymmetry, or "depends on the
# position in the window", plus "partial, small shifts only".)
# ### END SOLUTION

# %% [markdown]
# ## 6. Backward passes (3 + 2 points)
#
# Given `dout`, the gradient of the loss with respect to the output, return the gradients with
# respect to the inputs. They are checked against a numerical gradient (`cnnlab.gradcheck`): you
# can do the same with `cnnlab.gradcheck.numerical_gradient` before running the tests.

# %% nbgrader={"grade": false, "grade_id": "conv_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_backward(dout, x, w, b, stride=1, padding=0):
    """Gradients (dx, dw, db) of conv_forward."""
    ### BEGIN SOLUTION
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    ho, wo = dout.shape[2], dout.shape[3]
    for i in range(ho):
        for j in range(wo):
            rows = slice(i * stride, i * stride + kh)
            cols = slice(j * stride, j * stride + kw)
            patch = xp[:, :, rows, cols]
            g = dout[:, :, i, j]
            dw += np.tensordot(g, patch, axes=([0], [0]))
            dxp[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
    dx = dxp[:, :, padding : padding + h, padding : padding + wd]
    return dx, dw, db
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_backward", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(0)
x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
dout = rng.standard_normal(conv_forward(x, w, b, 2, 1).shape)
dx, dw, db = conv_backward(dout, x, w, b, 2, 1)
check_array(dx, numerical_gradient(lambda _: conv_forward(x, w, b, 2, 1), x, dout), what="dx", rtol=1e-5, atol=1e-7)
check_array(dw, numerical_gradient(lambda _: conv_forward(x, w, b, 2, 1), w, dout), what="dw", rtol=1e-5, atol=1e-7)
check_array(db, numerical_gradient(lambda _: conv_forward(x, w, b, 2, 1), b, dout), what="db", rtol=1e-5, atol=1e-7)

# %% nbgrader={"grade": false, "grade_id": "max_pool_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_pool_backward(dout, x, size, stride=None):
    """Gradient dx of max_pool_forward: each window's gradient goes to its maximum."""
    ### BEGIN SOLUTION
    stride = stride or size
    dx = np.zeros_like(x)
    ho, wo = dout.shape[2], dout.shape[3]
    for i in range(ho):
        for j in range(wo):
            win = x[:, :, i * stride : i * stride + size, j * stride : j * stride + size]
            mask = win == win.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * stride : i * stride + size, j * stride : j * stride + size] += (
                mask * dout[:, :, i, j][:, :, None, None])
    return dx
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_max_pool_backward", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
x = np.random.default_rng(5).standard_normal((1, 2, 4, 4))
dout = np.random.default_rng(6).standard_normal((1, 2, 2, 2))
check_array(max_pool_backward(dout, x, 2), numerical_gradient(lambda _: max_pool_forward(x, 2), x, dout),
            what="dx", rtol=1e-5, atol=1e-7)

# %% [markdown]
# ## 7. A fast convolution (2 points)
#
# Same result as `conv_forward`, but fast: loop at most over the kernel positions (or use
# `np.lib.stride_tricks.sliding_window_view` and `np.tensordot`/`np.einsum`). The grader times it
# against an im2col convolution on the same inputs; within 25× passes.

# %% nbgrader={"grade": false, "grade_id": "conv_forward_fast", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_forward_fast(x, w, b, stride=1, padding=0):
    """Vectorised 2-D convolution, NCHW."""
    ### BEGIN SOLUTION
    k, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,kcij->nkhw", win, w, optimize=True) + b[None, :, None, None]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_forward_fast", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
rng = np.random.default_rng(1)
x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
check_array(conv_forward_fast(x, w, b, 2, 1), conv_forward(x, w, b, 2, 1), what="conv_forward_fast vs conv_forward")
