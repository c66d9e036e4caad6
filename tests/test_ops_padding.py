"""conv_output_size, resolve_padding and pad2d: known cases, TensorFlow's "same" rule, real output shapes."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab import ops


@pytest.mark.parametrize(
    "n, f, p, s, d, expected",
    [
        (6, 3, 0, 1, 1, 4),  # the classic 6x6 * 3x3 example
        (32, 3, 1, 1, 1, 32),  # "same" at stride 1
        (32, 2, 0, 2, 1, 16),  # 2x2 pooling halves
        (7, 2, 0, 2, 1, 3),  # ... rounding down
        (7, 3, 1, 2, 1, 4),  # floor((7 + 2 - 3) / 2) + 1
        (224, 7, 3, 2, 1, 112),  # ResNet stem
        (227, 11, 0, 4, 1, 55),  # AlexNet conv1
        (5, 3, 0, 1, 2, 1),  # dilated 3x3 covers 5x5
        (10, 3, (0, 1), 3, 1, 3),  # uneven padding: floor(8 / 3) + 1
        (1, 1, 0, 5, 1, 1),
    ],
)
def test_conv_output_size_known_cases(n, f, p, s, d, expected):
    assert ops.conv_output_size(n, f, p, s, d) == expected


@pytest.mark.parametrize(
    "args, message",
    [
        ((4, 5), r"kernel \(effective size 5\) is larger than the padded input \(4\)"),
        ((5, 3, 0, 1, 3), r"effective size 7"),
        ((5, 3, 0, 0), r"s must be a positive integer, got 0"),
        ((5, 3, 0, 1, 0), r"d must be a positive integer"),
        ((5, 0), r"f must be a positive integer"),
        ((5, 3, -1), r"padding must be non-negative"),
        ((5, 3, "same"), r"p must be an int or a \(before, after\) pair"),
    ],
)
def test_conv_output_size_errors(args, message):
    with pytest.raises(ValueError, match=message):
        ops.conv_output_size(*args)


@pytest.mark.parametrize(
    "padding, kernel, stride, dilation, size, expected",
    [
        ("valid", 3, 1, 1, None, (0, 0, 0, 0)),
        ("same", 3, 1, 1, None, (1, 1, 1, 1)),
        ("same", 5, 1, 1, None, (2, 2, 2, 2)),
        ("same", 2, 1, 1, None, (0, 1, 0, 1)),  # even kernel: extra at bottom/right
        ("same", (4, 1), 1, 1, None, (1, 2, 0, 0)),
        ("same", 3, 1, 2, None, (2, 2, 2, 2)),  # dilated: effective size 5
        ("SAME", 3, 1, 1, None, (1, 1, 1, 1)),
        ("full", 3, 1, 1, None, (2, 2, 2, 2)),
        ("full", (2, 3), 1, (3, 1), None, (3, 3, 2, 2)),
        # TensorFlow at stride 2: out = ceil(n/2), total = max((out-1)*2 + f - n, 0)
        ("same", 3, 2, 1, (7, 8), (1, 1, 0, 1)),  # 7: total 2; 8: total 1 -> extra right
        ("same", 1, 2, 1, (5, 5), (0, 0, 0, 0)),  # total would be negative -> 0
        ("same", 7, 2, 1, (224, 224), (2, 3, 2, 3)),
        (2, 3, 1, 1, None, (2, 2, 2, 2)),
        ((1, 2), 3, 1, 1, None, (1, 1, 2, 2)),
        ((0, 1, 2, 3), 3, 1, 1, None, (0, 1, 2, 3)),
        (np.int64(1), 3, 1, 1, None, (1, 1, 1, 1)),
    ],
)
def test_resolve_padding_known_cases(padding, kernel, stride, dilation, size, expected):
    assert ops.resolve_padding(padding, kernel, stride, dilation, input_size=size) == expected


def tensorflow_same(n: int, f: int, s: int) -> tuple[int, int]:
    """TensorFlow's documented rule, written independently of the package."""
    out = math.ceil(n / s)
    if n % s == 0:
        total = max(f - s, 0)
    else:
        total = max(f - (n % s), 0)
    return total // 2, total - total // 2


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), f=st.integers(1, 7), s=st.integers(1, 4))
def test_same_follows_tensorflow_rule(n, f, s):
    top, bottom, left, right = ops.resolve_padding("same", (f, f), s, 1, input_size=(n, n))
    assert (top, bottom) == tensorflow_same(n, f, s) == (left, right)
    assert ops.conv_output_size(n, f, (top, bottom), s) == math.ceil(n / s)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 12),
    f=st.integers(1, 4),
    s=st.integers(1, 3),
    d=st.integers(1, 2),
    padding=st.one_of(st.sampled_from(["valid", "same", "full"]), st.integers(0, 3),
                      st.tuples(*[st.integers(0, 3)] * 4)),
)
def test_sizes_match_the_real_output_of_the_ops_and_torch(n, f, s, d, padding):
    pads = ops.resolve_padding(padding, f, s, d, input_size=(n, n + 1))
    eff = d * (f - 1) + 1
    if eff > n + pads[0] + pads[1] or eff > n + 1 + pads[2] + pads[3]:
        with pytest.raises(ValueError, match="larger than the padded input"):
            ops.conv2d(np.zeros((1, 1, n, n + 1)), np.zeros((1, 1, f, f)), stride=s, padding=padding, dilation=d)
        return
    expected = (ops.conv_output_size(n, f, pads[:2], s, d), ops.conv_output_size(n + 1, f, pads[2:], s, d))
    out = ops.conv2d(np.zeros((1, 1, n, n + 1)), np.zeros((1, 1, f, f)), stride=s, padding=padding, dilation=d)
    assert out.shape[2:] == expected
    x = F.pad(torch.zeros(1, 1, n, n + 1), (pads[2], pads[3], pads[0], pads[1]))
    assert F.conv2d(x, torch.zeros(1, 1, f, f), stride=s, dilation=d).shape[2:] == expected
    if padding == "same" and s == 1:
        assert expected == (n, n + 1)
    if padding == "same":
        assert expected == (math.ceil(n / s), math.ceil((n + 1) / s))


@pytest.mark.parametrize(
    "padding, message",
    [
        ("half", r"unknown padding 'half'; expected 'valid', 'same', 'full', an int, a pair"),
        (-1, r"padding must be non-negative, got -1"),
        ((1, -2), r"padding must be non-negative"),
        ((1, 2, 3), r"padding has 3 values"),
        ((1.5, 1), r"padding values must be integers"),
        (None, r"unknown padding None"),
    ],
)
def test_resolve_padding_errors(padding, message):
    with pytest.raises(ValueError, match=message):
        ops.resolve_padding(padding, 3)


def test_same_with_stride_needs_input_size():
    with pytest.raises(ValueError, match=r"pass input_size=\(H, W\)"):
        ops.resolve_padding("same", 3, stride=2)


def test_pad2d():
    image = np.arange(6.0).reshape(2, 3)
    padded = ops.pad2d(image, (1, 0, 2, 1))
    assert padded.shape == (3, 6)
    np.testing.assert_array_equal(padded[1:, 2:5], image)
    assert padded.sum() == image.sum()
    batch = np.ones((2, 3, 4, 5))
    assert ops.pad2d(batch, 1).shape == (2, 3, 6, 7)
    assert ops.pad2d(batch, (2, 0)).shape == (2, 3, 8, 5)
    assert np.isneginf(ops.pad2d(image, 1, value=-np.inf)[0, 0])
    with pytest.raises(ValueError, match="at least 2 axes"):
        ops.pad2d(np.zeros(3), 1)
