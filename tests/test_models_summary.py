"""The lecture's example reproduces its numbers; MAC counts agree with hand computations."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import cnnlab.models as M


def test_lecture_example_summary_numbers():
    model = M.lecture_cnn()
    stats = M.summary(model, (1, 3, 32, 32))
    params = [sum(p.numel() for p in m.parameters()) for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert params == [896, 18_496, 36_928, 102_464, 650]
    assert stats.total_params == 159_434 == sum(params)
    text = str(stats)
    for s in ["896", "18,496", "36,928", "102,464", "650", "[1, 1600]", "[1, 64, 5, 5]", "159,434"]:
        assert s in text
    flat = model[:9](torch.zeros(1, 3, 32, 32))
    assert flat.shape == (1, 1600)


def test_lecture_example_rejects_tiny_inputs():
    with pytest.raises(ValueError, match="too small"):
        M.lecture_cnn(input_size=8)


def test_macs_of_small_layers_by_hand():
    conv = nn.Conv2d(3, 8, 3, padding=1)  # 8 maps of 10x10, each value 3*3*3 products
    assert M.count_macs(conv, (1, 3, 10, 10)) == 8 * 10 * 10 * 27
    strided = nn.Conv2d(4, 6, 5, stride=2)  # output 6x6x6 from 16x16
    assert M.count_macs(strided, (1, 4, 16, 16)) == 6 * 6 * 6 * 4 * 25
    depthwise = nn.Conv2d(4, 4, 3, padding=1, groups=4)
    assert M.count_macs(depthwise, (1, 4, 5, 5)) == 4 * 25 * 9
    lin = nn.Sequential(nn.Flatten(), nn.Linear(12, 5))
    assert M.count_macs(lin, (2, 3, 2, 2)) == 2 * 12 * 5
    total, per = M.count_macs(M.lecture_cnn(), (1, 3, 32, 32), per_layer=True)
    assert per["0"] == 32 * 32 * 32 * 27 and per["6"] == 5 * 5 * 64 * 576
    assert total == 32 * 32 * 32 * 27 + 14 * 14 * 64 * 288 + 5 * 5 * 64 * 576 + 1600 * 64 + 64 * 10


def test_separable_conv_is_cheaper_by_the_textbook_ratio():
    n, k, cin, cout = 16, 3, 32, 64
    regular = M.count_macs(nn.Conv2d(cin, cout, k, padding=1), (1, cin, n, n))
    separable = M.count_macs(M.DepthwiseSeparableConv(cin, cout, k), (1, cin, n, n))
    assert separable / regular == pytest.approx(1 / cout + 1 / k**2)


def test_count_parameters_options():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    model[0].weight.requires_grad_(False)
    assert M.count_parameters(model) == 18 + 2 + 4
    assert M.count_parameters(model, trainable_only=True) == 2 + 4
    assert M.count_parameters(model, include_buffers=True) == 24 + 4  # running mean and var
    with pytest.raises(ValueError, match="input_size must be"):
        M.count_macs(model, (3, 3))
