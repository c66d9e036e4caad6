"""VGGNet (Simonyan and Zisserman, 2014): only 3×3 convolutions, 2–4 of them before each pool.

Configurations A (VGG-11), D (VGG-16) and E (VGG-19) as in torchvision, without batch
norm by default: 132,863,336 / 138,357,544 / 143,667,240 parameters for 1000 classes,
almost all of them in the first 25,088→4096 dense layer. ``small=True`` divides the
widths by 8 and replaces the 7×7 pooled map by global average pooling.
"""
from __future__ import annotations

from torch import nn

__all__ = ["VGG", "VGG_CONFIGS", "vgg", "vgg11", "vgg16", "vgg19"]

# numbers are conv widths, "M" a 2x2 max-pool
VGG_CONFIGS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    def __init__(self, depth: int = 16, num_classes: int = 1000, in_channels: int = 3,
                 batch_norm: bool = False, small: bool = False, dropout: float = 0.5):
        super().__init__()
        if depth not in VGG_CONFIGS:
            raise ValueError(f"VGG depth must be one of {sorted(VGG_CONFIGS)}, got {depth!r}")
        div, pooled, hidden = (8, 1, 128) if small else (1, 7, 4096)
        layers: list[nn.Module] = []
        ch = in_channels
        for v in VGG_CONFIGS[depth]:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            out = v // div
            layers.append(nn.Conv2d(ch, out, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU(inplace=True))
            ch = out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(pooled)
        self.classifier = nn.Sequential(
            nn.Linear(ch * pooled * pooled, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def vgg(depth: int = 16, num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> VGG:
    return VGG(depth, num_classes=num_classes, in_channels=in_channels, small=small, **kwargs)


def vgg11(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> VGG:
    return vgg(11, num_classes, in_channels, small, **kwargs)


def vgg16(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> VGG:
    return vgg(16, num_classes, in_channels, small, **kwargs)


def vgg19(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> VGG:
    return vgg(19, num_classes, in_channels, small, **kwargs)
