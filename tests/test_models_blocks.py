"""Building blocks: shapes, parameter counts by hand, and behaviour against a reference."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab.models.blocks import Bottleneck, InceptionModule, ResidualUnit, SeparableConv2d, SEBlock


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_residual_unit_identity_and_projection():
    same = ResidualUnit(16, 16)
    assert isinstance(same.shortcut, nn.Identity)
    # two 3x3 convs without bias + two BNs (gamma, beta)
    assert n_params(same) == 2 * 16 * 16 * 9 + 2 * 2 * 16
    down = ResidualUnit(16, 32, stride=2)
    conv = down.shortcut[0]
    assert conv.kernel_size == (1, 1) and conv.stride == (2, 2)
    assert down(torch.randn(2, 16, 9, 9)).shape == (2, 32, 5, 5)


def test_residual_unit_adds_the_shortcut():
    torch.manual_seed(0)
    unit = ResidualUnit(4, 4).eval()
    nn.init.zeros_(unit.bn2.weight)  # residual branch outputs zero -> unit is relu(x)
    nn.init.zeros_(unit.bn2.bias)
    x = torch.randn(1, 4, 6, 6)
    torch.testing.assert_close(unit(x), torch.relu(x))


def test_bottleneck_shapes_and_counts():
    b = Bottleneck(256, 64)
    assert isinstance(b.shortcut, nn.Identity)
    assert n_params(b) == 256 * 64 + 64 * 64 * 9 + 64 * 256 + 2 * (64 + 64 + 256)
    b2 = Bottleneck(256, 128, stride=2)
    assert b2(torch.randn(1, 256, 8, 8)).shape == (1, 512, 4, 4)
    se = Bottleneck(64, 16, se_reduction=16)
    assert isinstance(se.se, SEBlock)


def test_se_block_matches_manual_computation():
    torch.manual_seed(0)
    se = SEBlock(32, reduction=16)
    assert n_params(se) == 32 * 2 + 2 + 2 * 32 + 32
    x = torch.randn(3, 32, 5, 5, dtype=torch.float64)
    se = se.double()
    s = x.mean(dim=(2, 3))
    gate = torch.sigmoid(torch.relu(s @ se.fc1.weight.T + se.fc1.bias) @ se.fc2.weight.T + se.fc2.bias)
    torch.testing.assert_close(se(x), x * gate[:, :, None, None])
    assert ((se.weights(x) > 0) & (se.weights(x) < 1)).all()
    with pytest.raises(ValueError, match="reduction must be a positive int"):
        SEBlock(8, reduction=0)


def test_separable_conv_equals_depthwise_then_pointwise():
    torch.manual_seed(0)
    m = SeparableConv2d(8, 16).double()
    assert n_params(m) == 8 * 9 + 8 * 16  # vs 8*16*9 = 1152 for a regular conv
    x = torch.randn(2, 8, 7, 7, dtype=torch.float64)
    ref = nn.functional.conv2d(x, m.depthwise.weight, padding=1, groups=8)
    ref = nn.functional.conv2d(ref, m.pointwise.weight)
    torch.testing.assert_close(m(x), ref)
    assert SeparableConv2d(8, 16, stride=2).double()(x).shape == (2, 16, 4, 4)


def test_inception_module_concatenates_branches():
    m = InceptionModule(192, 64, 96, 128, 16, 32, 32)
    y = m(torch.randn(1, 192, 28, 28))
    assert y.shape == (1, 256, 28, 28) and m.out_channels == 256
    # branch 2 by hand: 1x1 192->96, 3x3 96->128 (no bias), BN gamma/beta
    assert n_params(m.branch2) == 192 * 96 + 2 * 96 + 96 * 128 * 9 + 2 * 128
    assert m.branch3[1][0].kernel_size == (5, 5)
    with pytest.raises(ValueError, match="large_kernel must be odd"):
        InceptionModule(8, 1, 1, 1, 1, 1, 1, large_kernel=4)
