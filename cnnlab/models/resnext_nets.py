"""ResNeXt (Xie et al., 2016): ResNet's bottleneck with a grouped 3×3 convolution ("cardinality").

ResNeXt-50 32×4d keeps ResNet-50's stages (3, 4, 6, 3 units) but its bottleneck is twice as wide
(128 channels in the first stage instead of 64) and the 3×3 convolution is split into 32 groups
of 4 channels each: 32 parallel narrow paths whose outputs add up. Each unit expands by 2 (not
4), so the stage outputs are again 256, 512, 1024 and 2048 channels. Counts as torchvision:
25,028,904 parameters for 1000 classes. ``small=True`` uses a 3×3 stem, base width 16 and 8 groups.
"""
from __future__ import annotations

from torch import nn

from .blocks import Bottleneck, conv_bn_relu

__all__ = ["ResNeXt", "resnext50_32x4d"]


class ResNeXt(nn.Module):
    def __init__(self, layers: tuple[int, ...] = (3, 4, 6, 3), groups: int = 32, group_width: int = 4,
                 num_classes: int = 1000, in_channels: int = 3, small: bool = False):
        super().__init__()
        if small:
            stem_ch, groups, group_width = 16, 8, 2
            self.stem = conv_bn_relu(in_channels, stem_ch, 3)
        else:
            stem_ch = 64
            self.stem = nn.Sequential(conv_bn_relu(in_channels, stem_ch, 7, stride=2, padding=3), nn.MaxPool2d(3, 2, 1))
        stages: list[nn.Module] = []
        ch = stem_ch
        for i, n in enumerate(layers):
            mid = groups * group_width * 2**i          # width of the grouped 3×3 conv
            units = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                units.append(Bottleneck(ch, mid, stride, expansion=2, groups=groups))
                ch = mid * 2
            stages.append(nn.Sequential(*units))
        self.stages = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(ch, num_classes)

    def forward(self, x):
        return self.fc(self.avgpool(self.stages(self.stem(x))).flatten(1))


def resnext50_32x4d(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> ResNeXt:
    return ResNeXt((3, 4, 6, 3), 32, 4, num_classes, in_channels, small, **kwargs)
