"""Convolution: the instructor's references (naive loops, im2col) against torch.nn.functional.conv2d
and autograd, and the students' ``cnnlab.ops.conv2d`` (PyTorch behind cnnlab's checks) against the loops."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import convolve2d, correlate2d

from cnnlab import ops
from cnnlab.course import reference
from cnnlab.ops._validate import as_pair
from cnnlab.ops.geometry import prepare_conv

IMPLS = {
    "naive": (reference.conv2d_naive_forward, reference.conv2d_naive_backward),
    "fast": (reference.conv2d_fast_forward, reference.conv2d_fast_backward),
}
CONV2D = {"naive": reference.conv2d_naive, "fast": reference.conv2d_fast, "student": ops.conv2d}
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-4)}


def torch_conv(x, w, b, stride, pads, dilation, groups, dout):
    """Output and (dx, dw, db) from torch, padding explicitly (top, bottom, left, right)."""
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    top, bottom, left, right = pads
    out = F.conv2d(F.pad(xt, (left, right, top, bottom)), wt, bt, stride=stride, dilation=dilation, groups=groups)
    out.backward(torch.tensor(dout, dtype=out.dtype))
    grads = (xt.grad.numpy(), wt.grad.numpy(), None if bt is None else bt.grad.numpy())
    return out.detach().numpy(), grads


def case_inputs(case, dtype, rng):
    """x, w, b (None with "no_bias") and the keyword parameters of one configuration."""
    n, c, h, w_, k, kh, kw = case["shape"]
    x = rng.standard_normal((n, c, h, w_)).astype(dtype)
    w = rng.standard_normal((k, c // case.get("groups", 1), kh, kw)).astype(dtype)
    b = None if case.get("no_bias") else rng.standard_normal(k).astype(dtype)
    params = {key: case[key] for key in ("stride", "padding", "dilation", "groups") if key in case}
    return x, w, b, params


def run_case(case, dtype, seed=0):
    """Check both implementations on one configuration; return their float64 results."""
    rng = np.random.default_rng(seed)
    n, c, h, w_, k, kh, kw = case["shape"]
    groups = case.get("groups", 1)
    x, w, b, params = case_inputs(case, dtype, rng)
    stride = as_pair(case.get("stride", 1), "stride")
    dilation = as_pair(case.get("dilation", 1), "dilation")
    pads = ops.resolve_padding(case.get("padding", 0), (kh, kw), stride, dilation, input_size=(h, w_))

    expected_hw = (
        ops.conv_output_size(h, kh, pads[:2], stride[0], dilation[0]),
        ops.conv_output_size(w_, kw, pads[2:], stride[1], dilation[1]),
    )
    dout = rng.standard_normal((n, k, *expected_hw)).astype(dtype)
    ref_out, ref_grads = torch_conv(x, w, b, stride, pads, dilation, groups, dout)
    results = {}
    for name, (forward, backward) in IMPLS.items():
        out, cache = forward(x, w, b, params)
        assert out.shape == (n, k, *expected_hw), name
        assert out.dtype == dtype, name
        np.testing.assert_allclose(out, ref_out, **TOL[dtype], err_msg=f"{name} forward")
        grads = backward(dout, cache)
        for label, got, ref in zip(("dx", "dw", "db"), grads, ref_grads):
            if ref is None:
                assert got is None
                continue
            assert got.shape == ref.shape and got.dtype == dtype, f"{name} {label}"
            np.testing.assert_allclose(got, ref, **TOL[dtype], err_msg=f"{name} {label}")
        results[name] = (out, grads)
    return results


# (N, C, H, W, K, kh, kw) plus parameters: every feature the course uses, named.
CASES = {
    "basic_3x3": dict(shape=(2, 3, 7, 7, 4, 3, 3)),
    "batch1_same": dict(shape=(1, 3, 6, 5, 2, 3, 3), padding="same"),
    "even_kernel_same": dict(shape=(2, 2, 6, 7, 3, 2, 4), padding="same"),
    "stride2_same_tf": dict(shape=(1, 2, 7, 8, 3, 3, 3), stride=2, padding="same"),
    "stride3_pad1": dict(shape=(2, 2, 11, 10, 3, 3, 3), stride=3, padding=1),
    "stride_pair": dict(shape=(1, 2, 9, 9, 2, 3, 2), stride=(2, 3), padding=(1, 0)),
    "asymmetric_pad": dict(shape=(2, 3, 5, 6, 2, 3, 3), padding=(0, 2, 1, 0)),
    "dilation2": dict(shape=(1, 2, 9, 8, 3, 3, 3), dilation=2, padding=2),
    "dilation_pair_full": dict(shape=(1, 1, 6, 7, 2, 2, 3), dilation=(2, 1), padding="full"),
    "groups2": dict(shape=(2, 4, 6, 6, 6, 3, 3), groups=2, padding=1),
    "depthwise": dict(shape=(2, 3, 7, 6, 3, 3, 3), groups=3, padding=1),
    "depthwise_multiplier": dict(shape=(1, 3, 5, 5, 6, 3, 3), groups=3, stride=2),
    "pointwise_1x1": dict(shape=(2, 5, 4, 3, 7, 1, 1)),
    "1x1_stride2_no_bias": dict(shape=(1, 4, 7, 7, 2, 1, 1), stride=2, no_bias=True),
    "kernel_equals_input": dict(shape=(2, 2, 3, 3, 2, 3, 3)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_named_cases_match_torch(name, dtype):
    run_case(CASES[name], dtype)


@st.composite
def conv_cases(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    c = groups * draw(st.integers(1, 2))
    k = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(
        st.one_of(
            st.sampled_from(["valid", "same", "full"]),
            st.integers(0, 2),
            st.tuples(st.integers(0, 2), st.integers(0, 2)),
            st.tuples(*[st.integers(0, 2)] * 4),
        )
    )
    eff_h, eff_w = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    h = draw(st.integers(eff_h, eff_h + 5))
    w = draw(st.integers(eff_w, eff_w + 5))
    n = draw(st.integers(1, 2))
    no_bias = draw(st.booleans())
    return dict(shape=(n, c, h, w, k, kh, kw), stride=stride, padding=padding,
                dilation=dilation, groups=groups, no_bias=no_bias)


@settings(max_examples=30, deadline=None)
@given(case=conv_cases(), dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
def test_random_configurations_match_torch(case, dtype, seed):
    run_case(case, dtype, seed)


@settings(max_examples=15, deadline=None)
@given(case=conv_cases(), seed=st.integers(0, 2**16))
def test_naive_and_fast_agree_in_float64(case, seed):
    res = run_case(case, np.float64, seed)
    (out_n, grads_n), (out_f, grads_f) = res["naive"], res["fast"]
    np.testing.assert_allclose(out_n, out_f, rtol=0, atol=1e-10)
    for a, b in zip(grads_n, grads_f):
        if a is None:
            assert b is None
        else:
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_classic_vertical_edge_example():
    image = np.zeros((6, 6))
    image[:, :3] = 10  # bright left half, dark right half
    kernel = np.array([[1, 0, -1]] * 3, dtype=float)
    for impl in CONV2D.values():
        out = impl(image[None, None], kernel[None, None])[0, 0]
        assert out.shape == (4, 4)
        np.testing.assert_array_equal(out, np.tile([0.0, 30.0, 30.0, 0.0], (4, 1)))


def test_flip_gives_true_convolution():
    rng = np.random.default_rng(1)
    image, kernel = rng.standard_normal((7, 6)), rng.standard_normal((3, 2))
    x, w = image[None, None], kernel[None, None]
    np.testing.assert_allclose(ops.conv2d(x, w)[0, 0], correlate2d(image, kernel, mode="valid"))
    np.testing.assert_allclose(ops.conv2d(x, w, flip=True)[0, 0], convolve2d(image, kernel, mode="valid"))
    # with a non-symmetric kernel the two really differ
    assert not np.allclose(ops.conv2d(x, w), ops.conv2d(x, w, flip=True))


def test_flip_kernel_rotates_last_two_axes():
    w = np.arange(2 * 3 * 2 * 3).reshape(2, 3, 2, 3)
    flipped = ops.flip_kernel(w)
    np.testing.assert_array_equal(flipped, np.rot90(w, 2, axes=(2, 3)))
    np.testing.assert_array_equal(ops.flip_kernel(flipped), w)
    np.testing.assert_array_equal(ops.flip_kernel([[1, 2], [3, 4]]), [[4, 3], [2, 1]])


def test_backward_matches_numerical_gradient():
    """An independent check of the naive backward pass that does not use torch."""
    from cnnlab.gradcheck import numerical_gradient, rel_error

    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((2, 1, 2, 3)), rng.standard_normal(2)
    params = {"stride": (2, 1), "padding": (1, 0, 0, 1), "groups": 2}
    out, cache = reference.conv2d_naive_forward(x, w, b, params)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = reference.conv2d_naive_backward(dout, cache)
    forward = lambda _: reference.conv2d_naive_forward(x, w, b, params)[0]  # noqa: E731
    assert rel_error(dx, numerical_gradient(forward, x, dout)) < 1e-8
    assert rel_error(dw, numerical_gradient(forward, w, dout)) < 1e-8
    assert rel_error(db, numerical_gradient(forward, b, dout)) < 1e-8


@pytest.mark.parametrize("impl", sorted(CONV2D))
def test_dtypes(impl):
    conv = CONV2D[impl]
    x = np.arange(2 * 3 * 3).reshape(1, 2, 3, 3)
    w = np.ones((1, 2, 2, 2), dtype=np.int32)
    out = conv(x, w, None)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out[0, 0], [[8 + 44, 12 + 48], [20 + 56, 24 + 60]])
    out32 = conv(x.astype(np.float32), w.astype(np.float32), np.zeros(1, np.float32))
    assert out32.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_student_conv2d_matches_the_loops(name, dtype):
    """cnnlab.ops.conv2d (PyTorch behind cnnlab's padding rules) equals the reference loops."""
    x, w, b, params = case_inputs(CASES[name], dtype, np.random.default_rng(4))
    got = ops.conv2d(x, w, b, **params)
    assert got.dtype == dtype and isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, reference.conv2d_naive(x, w, b, **params), **TOL[dtype])


GOOD_X, GOOD_W = np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3))


@pytest.mark.parametrize("impl", ["naive", "fast", "student"])
@pytest.mark.parametrize(
    "x, w, b, params, message",
    [
        (np.zeros((3, 5, 5)), GOOD_W, None, {}, r"x must be 4-D \(N, C, H, W\), got shape \(3, 5, 5\)"),
        (GOOD_X, np.zeros((3, 3, 3)), None, {}, r"w must be 4-D \(out_channels"),
        (GOOD_X, np.zeros((2, 4, 3, 3)), None, {},
         r"x has 3 channels but w expects 4 input channels per group × 1 groups"),
        (np.zeros((1, 4, 5, 5)), np.zeros((2, 1, 3, 3)), None, {"groups": 2},
         r"x has 4 channels but w expects 1 input channels per group × 2 groups"),
        (np.zeros((1, 4, 5, 5)), np.zeros((3, 4, 3, 3)), None, {"groups": 2}, r"groups=2 must divide"),
        (np.zeros((1, 3, 5, 5)), np.zeros((2, 1, 3, 3)), None, {"groups": 2}, r"groups=2 must divide the number of input"),
        (GOOD_X, GOOD_W, None, {"groups": 0}, r"groups must be a positive integer"),
        (GOOD_X, np.zeros((2, 3, 7, 7)), None, {}, r"kernel \(effective size 7×7\) is larger than the padded input 5×5"),
        (GOOD_X, GOOD_W, None, {"dilation": 3}, r"effective size 7×7 with dilation \(3, 3\)"),
        (GOOD_X, GOOD_W, None, {"stride": 0}, r"stride must be positive"),
        (GOOD_X, GOOD_W, None, {"stride": (1, -1)}, r"stride must be positive"),
        (GOOD_X, GOOD_W, None, {"dilation": 0}, r"dilation must be positive"),
        (GOOD_X, GOOD_W, np.zeros(3), {}, r"b must have shape \(2,\) \(one bias per output channel\), got shape \(3,\)"),
        (GOOD_X, GOOD_W, None, {"padding": "sane"}, r"unknown padding 'sane'; expected 'valid', 'same', 'full'"),
        (GOOD_X, GOOD_W, None, {"padding": -1}, r"padding must be non-negative"),
        (GOOD_X, GOOD_W, None, {"strides": 2}, r"unknown conv parameter\(s\) \['strides'\]"),
    ],
)
def test_bad_input_raises_clear_error(impl, x, w, b, params, message):
    if impl == "student":
        if "strides" in params:  # conv2d takes keyword arguments: a misspelt one is Python's TypeError
            with pytest.raises(TypeError, match="strides"):
                ops.conv2d(x, w, b, **params)
            return
        with pytest.raises(ValueError, match=message):
            ops.conv2d(x, w, b, **params)
        return
    with pytest.raises(ValueError, match=message):
        IMPLS[impl][0](x, w, b, params)


@pytest.mark.parametrize("impl", ["naive", "fast"])
def test_backward_rejects_wrong_dout_shape(impl):
    forward, backward = IMPLS[impl]
    out, cache = forward(GOOD_X, GOOD_W, None, {})
    with pytest.raises(ValueError, match=r"dout must have the shape of the forward output \(1, 2, 3, 3\)"):
        backward(np.zeros((1, 2, 5, 5)), cache)


def test_im2col_rows_are_flattened_patches():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((4, 3, 2, 3))
    cols = reference.im2col(x, (2, 3), stride=(1, 2), padding=1)
    ho, wo = ops.conv_output_size(5, 2, 1, 1), ops.conv_output_size(6, 3, 1, 2)
    assert cols.shape == (2 * ho * wo, 3 * 2 * 3)
    x_pad = ops.pad2d(x, 1)
    n, i, j = 1, 4, 2  # an arbitrary output position
    np.testing.assert_array_equal(cols[(n * ho + i) * wo + j], x_pad[n, :, i : i + 2, 2 * j : 2 * j + 3].ravel())
    # im2col @ W^T is the convolution
    out = (cols @ w.reshape(4, -1).T).reshape(2, ho, wo, 4).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(out, ops.conv2d(x, w, stride=(1, 2), padding=1), atol=1e-12)
    with pytest.raises(ValueError, match="x must be 4-D"):
        reference.im2col(x[0], 3)


# The fast convolution builds its patch matrix a few images at a time (so that it stays in
# the processor's cache). The cases below are split into chunks of 1, 2 and 3 images by
# shrinking the chunk budget; every split must give torch's answer, forward and backward.
FAST_MODULE = sys.modules[reference.conv2d_fast_forward.__module__]
CHUNKED_CASES = {
    "stride2_dilation2": dict(shape=(5, 4, 11, 10, 6, 3, 3), stride=2, dilation=2, padding=2),
    "groups2_same_even_kernel": dict(shape=(5, 4, 9, 8, 6, 3, 2), groups=2, padding="same"),
    "depthwise_stride_pair_asymmetric": dict(
        shape=(4, 3, 8, 9, 3, 3, 3), groups=3, stride=(2, 1), padding=(1, 0, 2, 1)
    ),
    "groups_dilation_pair_no_bias": dict(shape=(3, 6, 10, 10, 4, 2, 3), groups=2, dilation=(2, 1), no_bias=True),
    "pointwise_stride3": dict(shape=(7, 5, 7, 8, 3, 1, 1), stride=3),
    # the stride-1 same-width layers, whose patches are copied as whole rows end to end
    "same_3x3": dict(shape=(5, 4, 9, 8, 6, 3, 3), padding=1),
    "same_tall_dilated_no_bias": dict(shape=(4, 3, 10, 7, 5, 5, 3), padding="same", dilation=(2, 1), no_bias=True),
    "pointwise": dict(shape=(6, 5, 4, 7, 3, 1, 1)),
}


def patch_bytes_per_image(case, itemsize):
    """Size of one image's patch matrix: Ho·Wo rows of kh·kw·C numbers."""
    n, c, h, w_, k, kh, kw = case["shape"]
    stride = as_pair(case.get("stride", 1), "stride")
    dilation = as_pair(case.get("dilation", 1), "dilation")
    pads = ops.resolve_padding(case.get("padding", 0), (kh, kw), stride, dilation, input_size=(h, w_))
    ho = ops.conv_output_size(h, kh, pads[:2], stride[0], dilation[0])
    wo = ops.conv_output_size(w_, kw, pads[2:], stride[1], dilation[1])
    return ho * wo * kh * kw * c * itemsize


@pytest.mark.parametrize("images_per_chunk", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", sorted(CHUNKED_CASES))
def test_fast_conv_in_chunks_of_images_matches_torch(name, dtype, images_per_chunk, monkeypatch):
    case = CHUNKED_CASES[name]
    chunk_bytes = images_per_chunk * patch_bytes_per_image(case, np.dtype(dtype).itemsize)
    monkeypatch.setattr(FAST_MODULE, "CHUNK_BYTES", chunk_bytes)
    chunked = run_case(case, dtype)["fast"]
    monkeypatch.setattr(FAST_MODULE, "CHUNK_BYTES", 1 << 40)  # the whole batch at once
    whole = run_case(case, dtype)["fast"]
    tol = dict(rtol=0, atol=1e-12) if dtype == np.float64 else TOL[dtype]
    np.testing.assert_allclose(chunked[0], whole[0], **tol)
    for got, ref in zip(chunked[1], whole[1]):
        if ref is not None:
            np.testing.assert_allclose(got, ref, **tol)


# (images per chunk allowed by CHUNK_BYTES, threads to share among) -> chunk sizes for a batch of 7
CHUNK_SPLITS = {
    (1, 1): [1] * 7,
    (2, 1): [2, 2, 1, 2],  # four chunks of at most two, as even as 7 allows
    (3, 1): [2, 3, 2],
    (3, 2): [2, 2, 1, 2],  # three chunks would leave one thread idle at the end: four
    (7, 1): [7],
    (100, 2): [4, 3],  # one chunk would fit, but two threads want two
    (100, 16): [1] * 7,  # never an empty chunk
}


@pytest.mark.parametrize("images_per_chunk, parts", sorted(CHUNK_SPLITS))
def test_image_chunks_cover_the_batch_in_order(images_per_chunk, parts, monkeypatch):
    case = CHUNKED_CASES["pointwise_stride3"]
    n = case["shape"][0]
    monkeypatch.setattr(FAST_MODULE, "CHUNK_BYTES", images_per_chunk * patch_bytes_per_image(case, 8))
    x = np.zeros(case["shape"][:4])
    w = np.zeros((case["shape"][4], case["shape"][1], *case["shape"][5:]))
    *_, geo = prepare_conv(x, w, None, {"stride": case["stride"]})
    chunks = FAST_MODULE._image_chunks(n, x.shape[1], geo, x.itemsize, parts=parts)
    assert [s.stop - s.start for s in chunks] == CHUNK_SPLITS[images_per_chunk, parts]
    assert [i for s in chunks for i in range(n)[s]] == list(range(n))


def test_chunks_are_shared_among_threads_with_a_single_threaded_blas():
    """With a budget of 2 BLAS threads, the chunks run on 2 Python threads, each seeing a 1-thread
    BLAS; the budget is back to 2 afterwards, and the result is the 1-thread result."""
    import threading

    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    barrier = threading.Barrier(2, timeout=10)  # both chunks must be in flight at once

    def work(chunk):
        barrier.wait()
        return threading.get_ident(), blas_threads()

    with threadpool_limits(2, user_api="blas"):
        seen = FAST_MODULE._on_every_core(work, [slice(0, 1), slice(1, 2)])
        assert blas_threads() == {2}
        rng = np.random.default_rng(3)
        x, w = rng.standard_normal((6, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3))
        out_two, cache = reference.conv2d_fast_forward(x, w, None, {"padding": 1})
        grads_two = reference.conv2d_fast_backward(np.ones_like(out_two), cache)
    assert len({ident for ident, _ in seen}) == 2
    assert all(inside == {1} for _, inside in seen)
    with threadpool_limits(1, user_api="blas"):
        out_one, cache = reference.conv2d_fast_forward(x, w, None, {"padding": 1})
        grads_one = reference.conv2d_fast_backward(np.ones_like(out_one), cache)
    np.testing.assert_allclose(out_two, out_one, rtol=0, atol=1e-12)
    for two, one in zip(grads_two[:2], grads_one[:2]):
        np.testing.assert_allclose(two, one, rtol=0, atol=1e-12)


def test_results_come_back_in_chunk_order_whichever_thread_ran_them():
    import threading
    import time

    from threadpoolctl import threadpool_limits

    def work(chunk):
        time.sleep(0.02)  # long enough for the pool thread to wake and take its turns
        return chunk.start, threading.get_ident()

    chunks = [slice(i, i + 1) for i in range(6)]
    with threadpool_limits(2, user_api="blas"):
        done = FAST_MODULE._on_every_core(work, chunks)
    assert [start for start, _ in done] == [0, 1, 2, 3, 4, 5]
    assert len({ident for _, ident in done}) == 2


def test_a_failing_chunk_raises_after_every_thread_has_stopped():
    """An error in the calling thread's chunk must not return while the pool thread still writes."""
    import threading
    import time

    from threadpoolctl import threadpool_limits

    finished = []

    def work(chunk):
        if threading.current_thread() is threading.main_thread():
            raise ValueError(f"chunk {chunk.start} failed")
        time.sleep(0.05)
        finished.append(chunk.start)

    with threadpool_limits(2, user_api="blas"), pytest.raises(ValueError, match="failed"):
        FAST_MODULE._on_every_core(work, [slice(0, 1), slice(1, 2)])
    assert len(finished) == 1  # the pool thread's chunk was complete when the error came back


def test_workspaces_are_kept_per_thread_and_layer_and_a_result_is_never_one():
    """Patch matrices are built in memory each thread keeps between calls; an output handed back
    must not be overwritten by the next call, whatever its shape and dtype."""
    import threading

    rng = np.random.default_rng(5)
    first = rng.standard_normal((3, 2, 7, 7)), rng.standard_normal((4, 2, 3, 3)), rng.standard_normal(4)
    out_first = reference.conv2d_fast(*first, padding=1)
    kept = out_first.copy()
    second = [a.astype(np.float32) for a in (rng.standard_normal((2, 3, 9, 6)), rng.standard_normal((5, 3, 2, 2)))]
    out_second = reference.conv2d_fast(*second, stride=2)
    np.testing.assert_array_equal(out_first, kept)
    expected = F.conv2d(torch.from_numpy(second[0]), torch.from_numpy(second[1]), stride=2).numpy()
    np.testing.assert_allclose(out_second, expected, **TOL[np.float32])

    *_, geo = prepare_conv(*first, {"padding": 1})
    space = FAST_MODULE._workspace(geo, 3, 2, np.float64)
    assert FAST_MODULE._workspace(geo, 3, 2, np.float64) is space  # the same layer again
    assert FAST_MODULE._workspace(geo, 2, 2, np.float64) is not space  # another chunk size
    assert FAST_MODULE._workspace(geo, 3, 2, np.float32) is not space
    elsewhere = []
    thread = threading.Thread(target=lambda: elsewhere.append(FAST_MODULE._workspace(geo, 3, 2, np.float64)))
    thread.start()
    thread.join()
    assert elsewhere[0] is not space and not np.shares_memory(elsewhere[0].with_ones, space.with_ones)


def test_a_kept_workspace_gives_each_new_input_its_own_answer():
    """The padding's zeros and the row of ones are written once; what each chunk copies in must
    replace, not add to, what the last one left."""
    rng = np.random.default_rng(8)
    w, b = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    for pad in (1, (0, 2, 1, 0)):  # whole rows end to end, and the general layout
        for _ in range(3):
            x = rng.standard_normal((2, 2, 6, 5)) * 10
            out, cache = reference.conv2d_fast_forward(x, w, b, {"padding": pad})
            dout = rng.standard_normal(out.shape)
            dx, dw, db = reference.conv2d_fast_backward(dout, cache)
            pads = prepare_conv(x, w, b, {"padding": pad})[3].pads
            ref_out, ref_grads = torch_conv(x, w, b, (1, 1), pads, (1, 1), 1, dout)
            np.testing.assert_allclose(out, ref_out, **TOL[np.float64])
            for got, ref in zip((dx, dw, db), ref_grads):
                np.testing.assert_allclose(got, ref, **TOL[np.float64])


def test_workspaces_beyond_the_budget_are_dropped_least_recently_used_first(monkeypatch):
    x = np.zeros((2, 3, 8, 8))
    geos = [prepare_conv(x, np.zeros((4, 3, k, k)), None, {"padding": k // 2})[3] for k in (1, 3, 5)]
    sizes = [FAST_MODULE._Workspace(g, 2, 3, np.float64).nbytes for g in geos]
    # room for the 1x1 and the 5x5 layers' workspaces, not for all three
    monkeypatch.setattr(FAST_MODULE, "WORKSPACE_BYTES", sizes[0] + sizes[2])
    monkeypatch.setattr(FAST_MODULE._thread_workspaces, "kept", {}, raising=False)
    one, three = (FAST_MODULE._workspace(g, 2, 3, np.float64) for g in geos[:2])
    assert FAST_MODULE._workspace(geos[0], 2, 3, np.float64) is one  # now the most recently used
    five = FAST_MODULE._workspace(geos[2], 2, 3, np.float64)  # no room for three: the 3x3 layer's goes
    assert FAST_MODULE._workspace(geos[0], 2, 3, np.float64) is one
    assert FAST_MODULE._workspace(geos[2], 2, 3, np.float64) is five
    assert FAST_MODULE._workspace(geos[1], 2, 3, np.float64) is not three


def test_a_workspace_larger_than_the_budget_is_not_kept(monkeypatch):
    monkeypatch.setattr(FAST_MODULE, "WORKSPACE_BYTES", 1000)  # below one image's patch matrix
    *_, geo = prepare_conv(np.zeros((2, 3, 9, 9)), np.zeros((4, 3, 3, 3)), None, {"padding": 1})
    assert FAST_MODULE._workspace(geo, 2, 3, np.float64) is not FAST_MODULE._workspace(geo, 2, 3, np.float64)


def test_image_chunks_hold_at_least_one_image(monkeypatch):
    monkeypatch.setattr(FAST_MODULE, "CHUNK_BYTES", 1)  # smaller than any image
    *_, geo = prepare_conv(np.zeros((3, 2, 5, 5)), np.zeros((1, 2, 3, 3)), None, {})
    assert FAST_MODULE._image_chunks(3, 2, geo, 8) == [slice(0, 1), slice(1, 2), slice(2, 3)]


def test_a_forked_child_runs_the_threaded_convolution_with_its_own_threads():
    """The thread pool is per process: after a fork (DataLoader workers on Linux) the child does not
    wait forever on threads that only exist in its parent."""
    import multiprocessing

    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((4, 3, 8, 8)), rng.standard_normal((2, 3, 3, 3))
    with threadpool_limits(2, user_api="blas"):
        expected = reference.conv2d_fast(x, w, padding=1)  # the parent's pool exists from here on
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(1) as pool:
            got = pool.apply_async(_conv_in_child, (x, w)).get(timeout=60)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def _conv_in_child(x, w):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(2, user_api="blas"):
        return reference.conv2d_fast(x, w, padding=1)
