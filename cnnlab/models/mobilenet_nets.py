"""MobileNets (Howard et al., 2017; Sandler et al., 2018): depthwise separable nets for phones.

* v1: a 3×3 conv then 13 depthwise-3×3 + pointwise-1×1 pairs (BN + ReLU6 after each),
  as Keras' ``MobileNet``: 4,231,976 trainable parameters for 1000 classes, which Keras
  reports as 4,253,864 with the batch-norm statistics.
* v2: inverted residual units (1×1 expand ×6 → depthwise 3×3 → linear 1×1 projection,
  skip connection when the shape is kept), as torchvision: 3,504,872 parameters.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import conv_bn_relu

__all__ = ["MobileNetV1", "MobileNetV2", "InvertedResidual", "mobilenet_v1", "mobilenet_v2"]

# (pointwise width, stride of the depthwise conv)
_V1_PLAN = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
# (expansion t, width c, repeats n, first stride s)
_V2_PLAN = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def _scaled(c: int, width: float, divisor: int = 8) -> int:
    """Round a scaled width to a multiple of ``divisor`` without losing more than 10%."""
    v = max(divisor, int(c * width + divisor / 2) // divisor * divisor)
    return v + divisor if v < 0.9 * c * width else v


class MobileNetV1(nn.Module):
    def __init__(self, num_classes: int = 1000, in_channels: int = 3, small: bool = False,
                 width: float | None = None, dropout: float = 1e-3):
        super().__init__()
        width = width if width is not None else (0.25 if small else 1.0)
        eps = 1e-3
        ch = _scaled(32, width)
        layers: list[nn.Module] = [conv_bn_relu(in_channels, ch, 3, stride=1 if small else 2, activation=nn.ReLU6, eps=eps)]
        for c, s in _V1_PLAN:
            out = _scaled(c, width)
            layers += [conv_bn_relu(ch, ch, 3, stride=s, groups=ch, activation=nn.ReLU6, eps=eps),
                       conv_bn_relu(ch, out, 1, activation=nn.ReLU6, eps=eps)]
            ch = out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(ch, num_classes)  # Keras uses an equivalent 1x1 conv

    def forward(self, x):
        return self.fc(self.dropout(self.avgpool(self.features(x)).flatten(1)))


class InvertedResidual(nn.Module):
    """MobileNetV2's unit: expand (1×1, ReLU6) → depthwise 3×3 (ReLU6) → project (1×1, linear)."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, expansion: int):
        super().__init__()
        hidden = in_ch * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(conv_bn_relu(in_ch, hidden, 1, activation=nn.ReLU6))
        layers += [conv_bn_relu(hidden, hidden, 3, stride=stride, groups=hidden, activation=nn.ReLU6),
                   conv_bn_relu(hidden, out_ch, 1, activation=None)]
        self.body = nn.Sequential(*layers)
        self.use_skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.use_skip else self.body(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000, in_channels: int = 3, small: bool = False,
                 width: float | None = None, dropout: float = 0.2):
        super().__init__()
        width = width if width is not None else (0.25 if small else 1.0)
        ch = _scaled(32, width)
        layers: list[nn.Module] = [conv_bn_relu(in_channels, ch, 3, stride=1 if small else 2, activation=nn.ReLU6)]
        for t, c, n, s in _V2_PLAN:
            out = _scaled(c, width)
            for i in range(n):
                layers.append(InvertedResidual(ch, out, s if i == 0 else 1, t))
                ch = out
        last = _scaled(1280, max(1.0, width)) if not small else 256
        layers.append(conv_bn_relu(ch, last, 1, activation=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def mobilenet_v1(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> MobileNetV1:
    return MobileNetV1(num_classes=num_classes, in_channels=in_channels, small=small, **kwargs)


def mobilenet_v2(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> MobileNetV2:
    return MobileNetV2(num_classes=num_classes, in_channels=in_channels, small=small, **kwargs)
