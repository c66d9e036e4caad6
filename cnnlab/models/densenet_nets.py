"""DenseNet (Huang et al., 2017): every layer in a block sees the feature maps of all earlier ones.

A dense layer (BN-ReLU-1×1 conv to 4k maps, BN-ReLU-3×3 conv to k maps, growth rate
k) concatenates its k new maps to its input; transitions (BN-ReLU-1×1 conv halving
the depth, 2×2 average pool) sit between blocks. DenseNet-121 (k = 32, blocks of 6,
12, 24, 16 layers), as torchvision: 7,978,856 parameters for 1000 classes.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["DenseNet", "DenseLayer", "densenet121"]


def _bn_relu_conv(in_ch: int, out_ch: int, k: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(in_ch), nn.ReLU(inplace=True), nn.Conv2d(in_ch, out_ch, k, padding=k // 2, bias=False)]


class DenseLayer(nn.Module):
    def __init__(self, in_ch: int, growth: int, bn_size: int = 4):
        super().__init__()
        self.body = nn.Sequential(*_bn_relu_conv(in_ch, bn_size * growth, 1), *_bn_relu_conv(bn_size * growth, growth, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.body(x)], dim=1)


class DenseNet(nn.Module):
    def __init__(self, growth: int = 32, blocks: tuple[int, ...] = (6, 12, 24, 16), init_features: int = 64,
                 num_classes: int = 1000, in_channels: int = 3, small: bool = False):
        super().__init__()
        if small:
            self.stem = nn.Sequential(nn.Conv2d(in_channels, init_features, 3, padding=1, bias=False))
        else:
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, init_features, 7, stride=2, padding=3, bias=False),
                nn.BatchNorm2d(init_features), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1),
            )
        layers: list[nn.Module] = []
        ch = init_features
        for i, n in enumerate(blocks):
            for _ in range(n):
                layers.append(DenseLayer(ch, growth))
                ch += growth
            if i < len(blocks) - 1:  # transition: halve depth and size
                layers += [*_bn_relu_conv(ch, ch // 2, 1), nn.AvgPool2d(2, 2)]
                ch //= 2
        layers += [nn.BatchNorm2d(ch), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(ch, num_classes)

    def forward(self, x):
        return self.fc(self.avgpool(self.features(self.stem(x))).flatten(1))


def densenet121(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> DenseNet:
    if small:  # growth 12, three blocks of 4 layers, for 8x8-32x32 inputs
        kwargs = {"growth": 12, "blocks": (4, 4, 4), "init_features": 24, **kwargs}
    return DenseNet(num_classes=num_classes, in_channels=in_channels, small=small, **kwargs)
