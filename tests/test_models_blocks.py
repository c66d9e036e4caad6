"""Building blocks: shapes, parameter counts by hand, and behaviour against the operations written out."""
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


def _fill(module: nn.Module) -> nn.Module:
    """float64, eval mode, random weights and running statistics (so BN is not the identity)."""
    module = module.double().eval()
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand_like(t) + 0.5 if name.endswith("running_var") else torch.randn_like(t) * 0.3)
    return module


def _bn(x: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
    """Eval-mode batch norm written out: (x - mean) / sqrt(var + eps) * gamma + beta."""
    shape = (1, -1, 1, 1)
    return ((x - bn.running_mean.view(shape)) / torch.sqrt(bn.running_var.view(shape) + bn.eps)
            * bn.weight.view(shape) + bn.bias.view(shape))


@pytest.mark.parametrize("args", [(4, 4, 1), (4, 8, 2), (3, 6, 1)])
def test_basic_block_computes_the_post_activation_unit_written_out(args):
    torch.manual_seed(1)
    unit = _fill(BasicBlock(*args))
    conv1, bn1, _, conv2, bn2 = unit.body
    x = torch.randn(2, args[0], 7, 6, dtype=torch.float64)
    stride = args[2]
    branch = _bn(torch.nn.functional.conv2d(torch.relu(_bn(torch.nn.functional.conv2d(x, conv1.weight, stride=stride,
                                                                                       padding=1), bn1)),
                                            conv2.weight, padding=1), bn2)
    if isinstance(unit.shortcut, nn.Identity):
        shortcut = x
    else:
        shortcut = _bn(torch.nn.functional.conv2d(x, unit.shortcut[0].weight, stride=stride), unit.shortcut[1])
    torch.testing.assert_close(unit(x), torch.relu(branch + shortcut))


def test_zoo_blocks_share_no_parameter_name_with_assignment_2s_blocks():
    """Assignment 2 fixes its blocks' attribute names (the grader loads weights by name): no zoo
    block may have one of them, nor compute one of those blocks under another name."""
    graded = set()
    for block in (reference.PreActUnit(4, 8, 2), reference.CBAM(16, 4), reference.ShuffleConv(4, 6, 2)):
        graded |= {n.split(".")[0] for n, _ in block.named_parameters()}
    for zoo in (BasicBlock(4, 8, 2), Bottleneck(4, 2, 2), SqueezeExcite(16, 4), DepthwiseSeparableConv(4, 6),
                InceptionModule(8, 1, 1, 1, 1, 1, 1)):
        names = {n for n, _ in zoo.named_modules()} | {n.split(".")[-1] for n, _ in zoo.named_parameters()}
        assert not names & graded, f"{type(zoo).__name__} uses {sorted(names & graded)}"
    # a pre-activation unit is not the zoo's post-activation one: same weights (by order), other output
    torch.manual_seed(3)
    x = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    zoo_out = _fill(BasicBlock(4, 4))(x)
    assert (zoo_out >= 0).all()  # post-activation: a ReLU after the addition
    assert (_fill(reference.PreActUnit(4, 4))(x) < 0).any()  # pre-activation: nothing after it
