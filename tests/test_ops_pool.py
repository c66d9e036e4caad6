"""Pooling: the instructor's reference layers (forward and backward) against torch.nn.functional and
autograd, and the students' ``cnnlab.ops`` pooling (PyTorch behind cnnlab's checks) against the references."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab import ops
from cnnlab.course import reference

TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}


def torch_pool(kind, x, size, stride, pads, dout):
    """Torch's output and input gradient; asymmetric padding applied with F.pad first.

    Max pooling pads with -inf; average pooling pads with zeros that count in the
    divisor, which is what avg_pool2d's default count_include_pad=True does too.
    """
    xt = torch.tensor(x, requires_grad=True)
    top, bottom, left, right = pads
    fill = -float("inf") if kind == "max" else 0.0
    padded = F.pad(xt, (left, right, top, bottom), value=fill)
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    out = pool(padded, size, stride)
    out.backward(torch.tensor(dout, dtype=out.dtype))
    return out.detach().numpy(), xt.grad.numpy()


OPS = {
    "max": (reference.max_pool_forward, reference.max_pool_backward),
    "avg": (reference.avg_pool_forward, reference.avg_pool_backward),
}
STUDENT = {"max": ops.max_pool2d, "avg": ops.avg_pool2d}


def run_case(kind, x, size, stride, padding):
    forward, backward = OPS[kind]
    params = {"size": size, "stride": stride, "padding": padding}
    out, cache = forward(x, params)
    size_pair = size if isinstance(size, tuple) else (size, size)
    stride_pair = size_pair if stride is None else stride
    pads = ops.resolve_padding(padding, size_pair, stride_pair, input_size=x.shape[2:])
    dout = np.random.default_rng(0).standard_normal(out.shape).astype(x.dtype)
    ref_out, ref_dx = torch_pool(kind, x, size_pair, stride_pair, pads, dout)
    assert out.shape == ref_out.shape and out.dtype == x.dtype
    np.testing.assert_allclose(out, ref_out, **TOL[x.dtype.type])
    student = STUDENT[kind](x, size, stride, padding)
    assert student.dtype == x.dtype
    np.testing.assert_allclose(student, out, **TOL[x.dtype.type])
    dx = backward(dout, cache)
    assert dx.shape == x.shape and dx.dtype == x.dtype
    np.testing.assert_allclose(dx, ref_dx, **TOL[x.dtype.type])


@st.composite
def pool_cases(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = draw(st.tuples(st.integers(0, kh // 2), st.integers(0, kh // 2),
                             st.integers(0, kw // 2), st.integers(0, kw // 2)))
    h, w = draw(st.integers(kh, kh + 6)), draw(st.integers(kw, kw + 6))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    return (n, c, h, w), (kh, kw), stride, padding


@settings(max_examples=30, deadline=None)
@given(case=pool_cases(), kind=st.sampled_from(["max", "avg"]),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
def test_random_pooling_matches_torch(case, kind, dtype, seed):
    shape, size, stride, padding = case
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    run_case(kind, x, size, stride, padding)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(
    "shape, size, stride, padding",
    [
        ((2, 3, 8, 8), 2, None, 0),  # the usual 2x2 / 2
        ((1, 2, 7, 7), 2, None, 0),  # odd size: last row/column dropped
        ((2, 2, 7, 9), 3, 2, 1),  # overlapping windows with padding
        ((1, 1, 6, 5), (3, 2), (1, 2), (1, 1, 0, 1)),
        ((1, 1, 5, 5), 1, 1, 0),
        ((1, 3, 5, 6), 3, 3, "same"),
    ],
)
def test_named_pooling_cases(kind, shape, size, stride, padding):
    x = np.random.default_rng(1).standard_normal(shape)
    run_case(kind, x, size, stride, padding)


@settings(max_examples=20, deadline=None)
@given(case=pool_cases(), seed=st.integers(0, 2**16))
def test_max_pool_ties_follow_torch(case, seed):
    """Small integers make ties common: the gradient must go where torch sends it (first max)."""
    shape, size, stride, padding = case
    x = np.random.default_rng(seed).integers(0, 3, size=shape).astype(np.float64)
    run_case("max", x, size, stride, padding)


def test_max_pool_tie_goes_to_first_in_row_major_order():
    x = np.array([[[[1.0, 5.0], [5.0, 5.0]]]])
    out, cache = reference.max_pool_forward(x, {"size": 2})
    assert out.item() == 5.0
    dx = reference.max_pool_backward(np.array([[[[2.0]]]]), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0.0, 2.0], [0.0, 0.0]])


def test_avg_pool_counts_padding_in_the_divisor():
    x = np.ones((1, 1, 2, 2))
    out = ops.avg_pool2d(x, 2, stride=1, padding=1)
    # corner windows hold one real 1 and three padded zeros
    np.testing.assert_allclose(out[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])
    ref = F.avg_pool2d(torch.ones(1, 1, 2, 2), 2, stride=1, padding=1, count_include_pad=True)
    np.testing.assert_allclose(out, ref.numpy())


def test_max_pool_pads_with_minus_infinity():
    x = -np.ones((1, 1, 2, 2))
    out = ops.max_pool2d(x, 2, stride=1, padding=1)
    np.testing.assert_array_equal(out, -np.ones((1, 1, 3, 3)))  # zero padding would give 0s


def test_shift_by_one_pixel_can_leave_max_pool_unchanged():
    """The syllabus example of a little translation invariance."""
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 0] = x[0, 0, 2, 2] = 1.0
    shifted = np.roll(x, 1, axis=3)
    np.testing.assert_array_equal(ops.max_pool2d(x, 2), ops.max_pool2d(shifted, 2))
    assert not np.array_equal(ops.max_pool2d(x, 2), ops.max_pool2d(np.roll(x, 2, axis=3), 2))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_global_avg_pool_matches_adaptive_avg_pool(dtype):
    x = np.random.default_rng(2).standard_normal((3, 4, 5, 7)).astype(dtype)
    out, cache = ops.global_avg_pool_forward(x)
    xt = torch.tensor(x, requires_grad=True)
    ref = F.adaptive_avg_pool2d(xt, 1)
    dout = np.random.default_rng(3).standard_normal((3, 4, 1, 1)).astype(dtype)
    ref.backward(torch.tensor(dout))
    assert out.shape == (3, 4, 1, 1) and out.dtype == dtype
    np.testing.assert_allclose(out, ref.detach().numpy(), **TOL[dtype])
    dx = ops.global_avg_pool_backward(dout, cache)
    assert dx.shape == x.shape and dx.dtype == dtype
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL[dtype])


def test_depthwise_max_pool_matches_max_pool_over_channels():
    x = np.random.default_rng(4).standard_normal((2, 6, 3, 4))
    out = ops.depthwise_max_pool(x, 3)
    assert out.shape == (2, 2, 3, 4)
    # torch reference: move channels last and pool them as a 1-D signal
    t = torch.tensor(x).permute(0, 2, 3, 1).reshape(-1, 1, 6)
    ref = F.max_pool1d(t, 3).reshape(2, 3, 4, 2).permute(0, 3, 1, 2)
    np.testing.assert_array_equal(out, ref.numpy())
    np.testing.assert_array_equal(ops.depthwise_max_pool(x, 1), x)
    with pytest.raises(ValueError, match="size=4 must divide the number of channels, but x has 6"):
        ops.depthwise_max_pool(x, 4)
    with pytest.raises(ValueError, match="size must be a positive integer"):
        ops.depthwise_max_pool(x, 0)


def test_student_functions_equal_the_reference_forward_output():
    x = np.random.default_rng(5).standard_normal((1, 2, 6, 6))
    np.testing.assert_array_equal(ops.max_pool2d(x, 3, 2, 1),
                                  reference.max_pool_forward(x, {"size": 3, "stride": 2, "padding": 1})[0])
    np.testing.assert_allclose(ops.avg_pool2d(x, 2), reference.avg_pool_forward(x, {"size": 2})[0], rtol=1e-12)
    assert ops.max_pool2d(x, 2).shape == (1, 2, 3, 3)
    assert ops.max_pool2d(x.astype(np.float32), 2).dtype == np.float32


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(
    "x, params, message",
    [
        (np.zeros((2, 4, 4)), {"size": 2}, r"x must be 4-D \(N, C, H, W\), got shape \(2, 4, 4\)"),
        (np.zeros((1, 1, 4, 4)), {"size": 0}, r"size must be positive"),
        (np.zeros((1, 1, 4, 4)), {"size": 2, "stride": 0}, r"stride must be positive"),
        (np.zeros((1, 1, 4, 4)), {"size": 5}, r"pooling window \(effective size 5×5\) is larger than the padded input 4×4"),
        (np.zeros((1, 1, 4, 4)), {"size": 2, "padding": 2}, r"padding \(2, 2, 2, 2\) is too large for a 2×2 pooling window"),
        (np.zeros((1, 1, 4, 4)), {"size": 2, "padding": -1}, r"padding must be non-negative"),
        (np.zeros((1, 1, 4, 4)), {"size": 2, "padding": "big"}, r"unknown padding 'big'"),
        (np.zeros((1, 1, 4, 4)), {"pool_size": 2}, r"unknown \w+ pool parameter\(s\) \['pool_size'\]"),
    ],
)
def test_bad_pooling_input_raises_clear_error(kind, x, params, message):
    with pytest.raises(ValueError, match=message):
        OPS[kind][0](x, params)
    if "pool_size" not in params:  # the students' functions take keyword arguments
        with pytest.raises(ValueError, match=message):
            STUDENT[kind](x, params["size"], params.get("stride"), params.get("padding", 0))


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_backward_rejects_wrong_dout_shape(kind):
    forward, backward = OPS[kind]
    _, cache = forward(np.zeros((1, 2, 4, 4)), {"size": 2})
    with pytest.raises(ValueError, match=r"dout must have the shape of the forward output \(1, 2, 2, 2\)"):
        backward(np.zeros((1, 2, 4, 4)), cache)
