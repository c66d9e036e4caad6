"""ZFNet (Zeiler and Fergus, 2013): AlexNet with the changes their visualizations suggested.

Against AlexNet: the first layer uses 7×7 filters with stride 2 (not 11×11 with stride 4), so
fewer fine details are lost and fewer filters die; the second layer has stride 2. The widths
(96, 256, 384, 384, 256) are those of the 2012 AlexNet paper (``alexnet_nets.WIDTHS_2012``);
``alexnet()`` builds torchvision's narrower one-GPU variant, so ZFNet is not wider than
the original AlexNet, only than that variant. Layer sizes follow the paper for a 224×224 input:
110 → 55 → 26 → 13 → 13 → 13 → 6. Local response normalization (``lrn=True``) after the first two
layers as in the paper. ``small=True`` keeps the shape of the design at a width a CPU trains.
"""
from __future__ import annotations

from torch import nn

from .alexnet_nets import WIDTHS_2012, ConvThenDense

__all__ = ["ZFNet", "zfnet"]


class ZFNet(ConvThenDense):
    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, lrn: bool = False,
                 small: bool = False):
        norm = (lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)) if lrn else nn.Identity
        if small:  # for 32x32 inputs: stride 1 in the first layer, an eighth of the width
            widths, hidden, pooled, s1 = (12, 32, 48, 48, 32), 128, 2, 1
        else:
            widths, hidden, pooled, s1 = WIDTHS_2012, 4096, 6, 2
        c1, c2, c3, c4, c5 = widths
        features = nn.Sequential(
            nn.Conv2d(in_channels, c1, 7, stride=s1, padding=1), nn.ReLU(inplace=True), norm(),
            nn.MaxPool2d(3, 2, padding=1),
            nn.Conv2d(c1, c2, 5, stride=2), nn.ReLU(inplace=True), norm(), nn.MaxPool2d(3, 2, padding=1),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        )
        super().__init__(features, c5, pooled, hidden, num_classes, dropout)


def zfnet(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> ZFNet:
    return ZFNet(num_classes=num_classes, in_channels=in_channels, small=small, **kwargs)
