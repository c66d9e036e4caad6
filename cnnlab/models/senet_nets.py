"""SENet (Hu et al., 2017; ILSVRC 2017 winner, 2.25% top-5): residual nets with SE blocks.

Each residual unit recalibrates its output channels with a squeeze-and-excitation
block before the addition. SE-ResNet-50 (reduction 16) has 28,088,024 parameters,
2,530,992 more than ResNet-50 — about 10% more weights for a small extra cost in FLOPs.
"""
from __future__ import annotations

from .resnet_nets import ResNet

__all__ = ["se_resnet18", "se_resnet50"]


def se_resnet50(num_classes: int = 1000, in_channels: int = 3, small: bool = False, reduction: int = 16,
                **kwargs) -> ResNet:
    return ResNet("bottleneck", (3, 4, 6, 3), num_classes, in_channels, small, se_reduction=reduction, **kwargs)


def se_resnet18(num_classes: int = 1000, in_channels: int = 3, small: bool = False, reduction: int = 16,
                **kwargs) -> ResNet:
    """SE version of ResNet-18 (the small one is a handy SENet for the digits; reduction 4 there)."""
    if small and reduction == 16:
        reduction = 4
    return ResNet("basic", (2, 2, 2, 2), num_classes, in_channels, small, se_reduction=reduction, **kwargs)
