"""AlexNet (Krizhevsky, Sutskever and Hinton, 2012), torchvision's single-GPU variant.

Five convolutions stacked directly (11×11/4, 5×5, 3×3 ×3) with three max-pools, then
two 4096-unit dense layers with 50% dropout: 61,100,840 parameters for 1000 classes.
The widths 64/192/384/256/256 are those of torchvision's ``alexnet`` (from Krizhevsky's
2014 "One weird trick" one-GPU network), the version most code loads; the 2012 paper's
network had 96/256/384/384/256 filters, split in two halves over two GPUs (``WIDTHS_2012``).
ReLU activations, dropout and data augmentation were the paper's key ingredients;
``lrn=True`` adds its local response normalisation after the first two convs (no
parameters). ``small=True`` keeps the shape of the design at a width a CPU trains.
"""
from __future__ import annotations

from torch import nn

__all__ = ["AlexNet", "ConvThenDense", "WIDTHS_2012", "WIDTHS_TORCHVISION", "alexnet"]

WIDTHS_TORCHVISION = (64, 192, 384, 256, 256)  # what ``alexnet()`` builds
WIDTHS_2012 = (96, 256, 384, 384, 256)  # the 2012 paper's filters per conv layer (both GPUs together)


class ConvThenDense(nn.Module):
    """A conv stack, adaptive average pooling to ``pooled``×``pooled``, then AlexNet's dense head
    (dropout, ``hidden`` units, dropout, ``hidden`` units, the classifier). ZFNet shares it."""

    def __init__(self, features: nn.Sequential, channels: int, pooled: int, hidden: int, num_classes: int,
                 dropout: float):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d(pooled)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(channels * pooled * pooled, hidden), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


class AlexNet(ConvThenDense):
    def __init__(self, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5,
                 lrn: bool = False, small: bool = False):
        norm = (lambda: nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)) if lrn else nn.Identity
        if small:  # for 32x32 inputs: 3x3/5x5 kernels, stride 1, an eighth of the width
            c1, c2, c3, c4, c5, hidden, pooled = 16, 32, 48, 48, 32, 128, 2
            stem = [nn.Conv2d(in_channels, c1, 5, padding=2)]
        else:
            (c1, c2, c3, c4, c5), hidden, pooled = WIDTHS_TORCHVISION, 4096, 6
            stem = [nn.Conv2d(in_channels, c1, 11, stride=4, padding=2)]
        features = nn.Sequential(
            *stem, nn.ReLU(inplace=True), norm(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(inplace=True), norm(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        )
        super().__init__(features, c5, pooled, hidden, num_classes, dropout)


def alexnet(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> AlexNet:
    return AlexNet(num_classes=num_classes, in_channels=in_channels, small=small, **kwargs)
