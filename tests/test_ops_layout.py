"""Layout converters: NHWC <-> NCHW and TensorFlow HWIO <-> PyTorch OIHW weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab import ops


def tf_style_conv(x_nhwc: np.ndarray, w_hwio: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The syllabus formula in TensorFlow's layout, by brute force:
    z[n, i, j, k] = b[k] + Σ_u Σ_v Σ_k' x[n, i+u, j+v, k'] · w[u, v, k', k]."""
    n, h, w, _ = x_nhwc.shape
    kh, kw, _, k = w_hwio.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, k))
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            patch = x_nhwc[:, i : i + kh, j : j + kw, :]
            out[:, i, j, :] = np.einsum("nuvc,uvck->nk", patch, w_hwio) + b
    return out


def test_converted_tensorflow_weights_give_the_same_convolution():
    rng = np.random.default_rng(0)
    x_nhwc = rng.standard_normal((2, 6, 5, 3))
    w_hwio = rng.standard_normal((3, 2, 3, 4))
    b = rng.standard_normal(4)
    out_nchw = ops.conv2d(ops.nhwc_to_nchw(x_nhwc), ops.hwio_to_oihw(w_hwio), b)
    np.testing.assert_allclose(ops.nchw_to_nhwc(out_nchw), tf_style_conv(x_nhwc, w_hwio, b), atol=1e-12)


def test_axes_land_where_torch_puts_them():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 5))
    nhwc = ops.nchw_to_nhwc(x)
    assert nhwc.shape == (2, 4, 5, 3) and nhwc.flags.c_contiguous
    np.testing.assert_array_equal(nhwc, torch.tensor(x).permute(0, 2, 3, 1).numpy())
    assert nhwc[1, 2, 3, 0] == x[1, 0, 2, 3]
    w = rng.standard_normal((8, 3, 5, 2))  # out, in, kh, kw
    hwio = ops.oihw_to_hwio(w)
    assert hwio.shape == (5, 2, 3, 8)
    assert hwio[4, 1, 2, 7] == w[7, 2, 4, 1]


def test_round_trips_are_identities():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((6, 3, 3, 2))
    np.testing.assert_array_equal(ops.nhwc_to_nchw(ops.nchw_to_nhwc(x)), x)
    np.testing.assert_array_equal(ops.hwio_to_oihw(ops.oihw_to_hwio(w)), w)


@pytest.mark.parametrize(
    "fn, arg, message",
    [
        (ops.nhwc_to_nchw, np.zeros((4, 5, 3)), r"x must be 4-D \(N, H, W, C\), got shape \(4, 5, 3\)"),
        (ops.nchw_to_nhwc, np.zeros((3, 4, 5)), r"x must be 4-D \(N, C, H, W\), got shape \(3, 4, 5\); .*x\[None\]"),
        (ops.hwio_to_oihw, np.zeros((3, 3, 8)), r"w must be 4-D \(kh, kw, in, out\)"),
        (ops.oihw_to_hwio, np.zeros((8, 3, 3, 3, 1)), r"w must be 4-D \(out, in, kh, kw\), got shape \(8, 3, 3, 3, 1\)"),
    ],
)
def test_wrong_rank_is_rejected(fn, arg, message):
    with pytest.raises(ValueError, match=message):
        fn(arg)
