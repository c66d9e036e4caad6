"""Building blocks: shapes, parameter counts by hand, and behaviour against a reference."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab.course.reference import blocks as reference
from cnnlab.models.blocks import BasicBlock, Bottleneck, DepthwiseSeparableConv, InceptionModule, SqueezeExcite


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_basic_block_identity_and_projection():
    same = BasicBlock(16, 16)
    assert isinstance(same.shortcut, nn.Identity)
    # two 3x3 convs without bias + two BNs (gamma, beta)
    assert n_params(same) == 2 * 16 * 16 * 9 + 2 * 2 * 16
    down = BasicBlock(16, 32, stride=2)
    conv = down.shortcut[0]
    assert conv.kernel_size == (1, 1) and conv.stride == (2, 2)
    assert down(torch.randn(2, 16, 9, 9)).shape == (2, 32, 5, 5)


def test_basic_block_adds_the_shortcut():
    torch.manual_seed(0)
    unit = BasicBlock(4, 4).eval()
    nn.init.zeros_(unit.body[4].weight)  # residual branch outputs zero -> unit is relu(x)
    nn.init.zeros_(unit.body[4].bias)
    x = torch.randn(1, 4, 6, 6)
    torch.testing.assert_close(unit(x), torch.relu(x))


def test_bottleneck_shapes_and_counts():
    b = Bottleneck(256, 64)
    assert isinstance(b.shortcut, nn.Identity)
    assert n_params(b) == 256 * 64 + 64 * 64 * 9 + 64 * 256 + 2 * (64 + 64 + 256)
    b2 = Bottleneck(256, 128, stride=2)
    assert b2(torch.randn(1, 256, 8, 8)).shape == (1, 512, 4, 4)
    se = Bottleneck(64, 16, se_reduction=16)
    assert isinstance(se.se, SqueezeExcite)


def test_se_block_matches_manual_computation():
    torch.manual_seed(0)
    se = SqueezeExcite(32, reduction=16)
    assert n_params(se) == 32 * 2 + 2 + 2 * 32 + 32
    x = torch.randn(3, 32, 5, 5, dtype=torch.float64)
    se = se.double()
    s = x.mean(dim=(2, 3))
    fc1, fc2 = se.excite[0], se.excite[2]
    gate = torch.sigmoid(torch.relu(s @ fc1.weight.T + fc1.bias) @ fc2.weight.T + fc2.bias)
    torch.testing.assert_close(se(x), x * gate[:, :, None, None])
    assert ((se.weights(x) > 0) & (se.weights(x) < 1)).all()
    with pytest.raises(ValueError, match="reduction must be a positive int"):
        SqueezeExcite(8, reduction=0)


def test_separable_conv_equals_depthwise_then_pointwise():
    torch.manual_seed(0)
    m = DepthwiseSeparableConv(8, 16).double()
    assert n_params(m) == 8 * 9 + 8 * 16  # vs 8*16*9 = 1152 for a regular conv
    x = torch.randn(2, 8, 7, 7, dtype=torch.float64)
    ref = nn.functional.conv2d(x, m[0].weight, padding=1, groups=8)
    ref = nn.functional.conv2d(ref, m[1].weight)
    torch.testing.assert_close(m(x), ref)
    assert DepthwiseSeparableConv(8, 16, stride=2).double()(x).shape == (2, 16, 4, 4)


def test_inception_module_concatenates_branches():
    m = InceptionModule(192, 64, 96, 128, 16, 32, 32)
    y = m(torch.randn(1, 192, 28, 28))
    assert y.shape == (1, 256, 28, 28) and m.out_channels == 256
    # branch 2 by hand: 1x1 192->96, 3x3 96->128 (no bias), BN gamma/beta
    assert n_params(m.branch2) == 192 * 96 + 2 * 96 + 96 * 128 * 9 + 2 * 128
    assert m.branch3[1][0].kernel_size == (5, 5)
    with pytest.raises(ValueError, match="large_kernel must be odd"):
        InceptionModule(8, 1, 1, 1, 1, 1, 1, large_kernel=4)


def _copy_weights(src: nn.Module, dst: nn.Module) -> None:
    """Same tensors, matched by order (the two layouts register their parameters in the same order)."""
    with torch.no_grad():
        for (_, a), (_, b) in zip(src.state_dict().items(), dst.state_dict().items(), strict=True):
            b.copy_(a)


@pytest.mark.parametrize("args", [(4, 4, 1), (4, 8, 2), (3, 6, 1)])
def test_student_and_reference_residual_units_compute_the_same_with_other_names(args):
    torch.manual_seed(1)
    ours, ref = BasicBlock(*args).double().eval(), reference.ResidualUnit(*args).double().eval()
    for m in ours.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    _copy_weights(ours, ref)
    x = torch.randn(2, args[0], 6, 6, dtype=torch.float64)
    torch.testing.assert_close(ours(x), ref(x))
    # the assignment fixes the names; the student package uses others
    assert {n for n, _ in ours.named_parameters()}.isdisjoint({n for n, _ in ref.named_parameters()} - {
        "shortcut.0.weight", "shortcut.1.weight", "shortcut.1.bias"})


def test_student_and_reference_se_and_separable_compute_the_same_with_other_names():
    torch.manual_seed(2)
    x = torch.randn(2, 16, 5, 5, dtype=torch.float64)
    for ours, ref in [(SqueezeExcite(16, 4), reference.SEBlock(16, 4)),
                      (DepthwiseSeparableConv(16, 8, 3), reference.SeparableConv2d(16, 8, 3))]:
        ours, ref = ours.double().eval(), ref.double().eval()
        _copy_weights(ours, ref)
        torch.testing.assert_close(ours(x), ref(x))
        assert {n for n, _ in ours.named_parameters()}.isdisjoint({n for n, _ in ref.named_parameters()})
