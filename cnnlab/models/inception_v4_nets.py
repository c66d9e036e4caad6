"""Blocks of Inception-v4 and Inception-ResNet (Szegedy et al., 2016), at their published widths.

* :class:`InceptionV4A` — Inception-v4's 35×35 module: four branches (average pool → 1×1; 1×1;
  1×1 → 3×3; 1×1 → 3×3 → 3×3: two stacked 3×3 convolutions replace the old 5×5), concatenated:
  384 → 4·96 = 384 channels.
* :class:`InceptionResNetA` — Inception-ResNet-v2's 35×35 block: three narrow branches,
  concatenated (128 channels), a linear 1×1 convolution back to the input's depth, the result
  **scaled down** (by 0.17 here; the paper scales residuals by 0.1 to 0.3, which kept its very deep networks stable) and **added** to the input.

Every convolution except the residual block's last 1×1 is conv (no bias) → batch norm → ReLU.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import conv_bn_relu

__all__ = ["InceptionResNetA", "InceptionV4A"]


class InceptionV4A(nn.Module):
    def __init__(self, in_ch: int = 384, width: int = 96, reduce: int = 64):
        super().__init__()
        self.pool_proj = nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False), conv_bn_relu(in_ch, width, 1))
        self.b1x1 = conv_bn_relu(in_ch, width, 1)
        self.b3x3 = nn.Sequential(conv_bn_relu(in_ch, reduce, 1), conv_bn_relu(reduce, width, 3))
        self.b3x3dbl = nn.Sequential(conv_bn_relu(in_ch, reduce, 1), conv_bn_relu(reduce, width, 3),
                                     conv_bn_relu(width, width, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.pool_proj(x), self.b1x1(x), self.b3x3(x), self.b3x3dbl(x)], dim=1)


class InceptionResNetA(nn.Module):
    def __init__(self, in_ch: int = 320, scale: float = 0.17):
        super().__init__()
        self.scale = scale
        self.b1x1 = conv_bn_relu(in_ch, 32, 1)
        self.b3x3 = nn.Sequential(conv_bn_relu(in_ch, 32, 1), conv_bn_relu(32, 32, 3))
        self.b3x3dbl = nn.Sequential(conv_bn_relu(in_ch, 32, 1), conv_bn_relu(32, 48, 3), conv_bn_relu(48, 64, 3))
        self.up = nn.Conv2d(32 + 32 + 64, in_ch, 1)  # linear: no BN, no ReLU before the addition
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = torch.cat([self.b1x1(x), self.b3x3(x), self.b3x3dbl(x)], dim=1)
        return self.relu(x + self.scale * self.up(branches))
