"""ResNet (He et al., 2015): deep stacks of residual units with skip connections.

ResNet-18/34 use the basic two-conv unit, ResNet-50 the 1×1-3×3-1×1 bottleneck; each
stage after the first halves the map with stride 2 and doubles the depth, and there
the shortcut is a 1×1 stride-2 projection. Layout and counts as torchvision:
11,689,512 / 21,797,672 / 25,557,032 parameters for 1000 classes. ``small=True``
swaps the 7×7/2 stem and max-pool for one 3×3 conv and starts at width 16, for 8×8–32×32 inputs.
"""
from __future__ import annotations

from torch import nn

from .blocks import BasicBlock, Bottleneck, conv_bn_relu

__all__ = ["ResNet", "resnet18", "resnet34", "resnet50"]


class ResNet(nn.Module):
    def __init__(self, unit: str = "basic", layers: tuple[int, ...] = (2, 2, 2, 2), num_classes: int = 1000,
                 in_channels: int = 3, small: bool = False, width: int | None = None,
                 se_reduction: int | None = None):
        super().__init__()
        if unit not in ("basic", "bottleneck"):
            raise ValueError(f"unit must be 'basic' or 'bottleneck', got {unit!r}")
        width = width or (16 if small else 64)
        if small:
            self.stem = conv_bn_relu(in_channels, width, 3)
        else:
            self.stem = nn.Sequential(conv_bn_relu(in_channels, width, 7, stride=2, padding=3), nn.MaxPool2d(3, 2, 1))
        stages: list[nn.Module] = []
        ch = width
        for i, n in enumerate(layers):
            planes = width * 2**i
            units = []
            for j in range(n):
                stride = 2 if (i > 0 and j == 0) else 1
                if unit == "basic":
                    units.append(BasicBlock(ch, planes, stride, se_reduction=se_reduction))
                    ch = planes
                else:
                    units.append(Bottleneck(ch, planes, stride, se_reduction=se_reduction))
                    ch = planes * 4
            stages.append(nn.Sequential(*units))
        self.stages = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(ch, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.fc(self.avgpool(self.stages(self.stem(x))).flatten(1))


def resnet18(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> ResNet:
    return ResNet("basic", (2, 2, 2, 2), num_classes, in_channels, small, **kwargs)


def resnet34(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> ResNet:
    return ResNet("basic", (3, 4, 6, 3), num_classes, in_channels, small, **kwargs)


def resnet50(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> ResNet:
    return ResNet("bottleneck", (3, 4, 6, 3), num_classes, in_channels, small, **kwargs)
