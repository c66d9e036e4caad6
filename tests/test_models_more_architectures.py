"""ResNeXt, ZFNet, Inception-v4 / Inception-ResNet blocks and DPN's dual path block: shapes and
parameter counts against values computed by hand (and ResNeXt-50 against its published count)."""
from __future__ import annotations

import pytest
import torch

from cnnlab.models import count_parameters
from cnnlab.models.dpn_nets import DualPathBlock
from cnnlab.models.inception_v4_nets import InceptionResNetA, InceptionV4A
from cnnlab.models.resnext_nets import resnext50_32x4d
from cnnlab.models.zfnet_nets import zfnet


def conv(cin, cout, k, bias=True, groups=1):
    return cout * (cin // groups) * k * k + (cout if bias else 0)


def cbr(cin, cout, k, groups=1):  # conv without bias + batch norm (γ, β)
    return conv(cin, cout, k, bias=False, groups=groups) + 2 * cout


def test_resnext50_matches_the_published_count():
    with torch.device("meta"):
        assert count_parameters(resnext50_32x4d()) == 25_028_904


def test_resnext_unit_uses_32_groups_of_4():
    net = resnext50_32x4d()
    unit = net.stages[0][0]
    assert unit.conv2.groups == 32 and unit.conv2.in_channels == 128 and unit.conv3.out_channels == 256
    by_hand = cbr(64, 128, 1) + cbr(128, 128, 3, groups=32) + cbr(128, 256, 1) + cbr(64, 256, 1)
    assert count_parameters(unit) == by_hand


def test_zfnet_counts_and_sizes_follow_the_paper():
    net = zfnet()
    by_hand = (conv(3, 96, 7) + conv(96, 256, 5) + conv(256, 384, 3) + conv(384, 384, 3) + conv(384, 256, 3)
               + (256 * 6 * 6 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * 1000)
    assert count_parameters(net) == by_hand == 62_357_608
    sizes, x = [], torch.zeros(1, 3, 224, 224)
    for layer in net.features:
        x = layer(x)
        if isinstance(layer, (torch.nn.Conv2d, torch.nn.MaxPool2d)):
            sizes.append(x.shape[-1])
    assert sizes == [110, 55, 26, 13, 13, 13, 13, 6]
    assert net.features[0].kernel_size == (7, 7) and net.features[0].stride == (2, 2)


def test_inception_v4_a():
    block = InceptionV4A()
    assert block(torch.zeros(1, 384, 35, 35)).shape == (1, 384, 35, 35)
    by_hand = (cbr(384, 96, 1) + cbr(384, 96, 1) + cbr(384, 64, 1) + cbr(64, 96, 3)
               + cbr(384, 64, 1) + cbr(64, 96, 3) + cbr(96, 96, 3))
    assert count_parameters(block) == by_hand


def test_inception_resnet_a_adds_a_scaled_residual():
    block = InceptionResNetA()
    by_hand = (cbr(320, 32, 1) + cbr(320, 32, 1) + cbr(32, 32, 3) + cbr(320, 32, 1) + cbr(32, 48, 3)
               + cbr(48, 64, 3) + conv(128, 320, 1))
    assert count_parameters(block) == by_hand == 123_168
    with torch.no_grad():
        block.up.weight.zero_()
        block.up.bias.zero_()
        x = torch.rand(1, 320, 9, 9)
        torch.testing.assert_close(block.eval()(x), x)  # nothing to add: the block passes x on


def test_dual_path_block_adds_one_part_and_concatenates_the_other():
    block = DualPathBlock(in_ch=96, res_ch=64, dense_inc=16, mid_ch=64, groups=8).eval()
    x = torch.rand(2, 96, 7, 7)
    out = block(x)
    assert out.shape == (2, 112, 7, 7) and block.out_channels == 112
    # the old dense channels pass through unchanged (after the final ReLU, x >= 0 already)
    torch.testing.assert_close(out[:, 64:96], x[:, 64:])
    by_hand = cbr(96, 64, 1) + cbr(64, 64, 3, groups=8) + cbr(64, 80, 1)
    assert count_parameters(block) == by_hand


@pytest.mark.parametrize("kwargs,message", [
    ({"in_ch": 32, "res_ch": 64, "dense_inc": 8, "mid_ch": 32}, "residual path"),
    ({"in_ch": 96, "res_ch": 64, "dense_inc": 8, "mid_ch": 30, "groups": 8}, "divisible"),
])
def test_dual_path_block_rejects_bad_widths(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DualPathBlock(**kwargs)


@pytest.mark.parametrize("builder,size", [(resnext50_32x4d, 16), (zfnet, 32)])
def test_small_versions_train_on_the_digits_sizes(builder, size):
    net = builder(num_classes=10, in_channels=1, small=True)
    out = net(torch.zeros(2, 1, size, size))
    assert out.shape == (2, 10)
    out.sum().backward()
