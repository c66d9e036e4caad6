"""The architecture zoo in PyTorch: building blocks, classic networks, summaries and counts."""
from __future__ import annotations

from . import blocks
from .blocks import Bottleneck, InceptionModule, ResidualUnit, SeparableConv2d, SEBlock, conv_bn_relu
