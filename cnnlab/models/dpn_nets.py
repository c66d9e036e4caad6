"""Dual path networks (Chen et al., 2017): one block with a residual path and a dense path.

A DPN block runs a ResNeXt-style bottleneck (1×1 → grouped 3×3 → 1×1) on its input. The first
``res_ch`` output channels are **added** to the first ``res_ch`` input channels (the ResNet path:
features re-used and refined), the remaining ``dense_inc`` output channels are **concatenated** to
the input's other channels (the DenseNet path: new features kept). So the residual part keeps its
width and the dense part grows by ``dense_inc`` per block.
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import conv_bn_relu

__all__ = ["DualPathBlock"]


class DualPathBlock(nn.Module):
    def __init__(self, in_ch: int, res_ch: int, dense_inc: int, mid_ch: int, groups: int = 32):
        super().__init__()
        if in_ch < res_ch:
            raise ValueError(f"in_ch ({in_ch}) must hold the residual path's {res_ch} channels (plus the dense part)")
        if mid_ch % groups:
            raise ValueError(f"mid_ch ({mid_ch}) must be divisible by groups ({groups})")
        self.res_ch = res_ch
        self.body = nn.Sequential(conv_bn_relu(in_ch, mid_ch, 1), conv_bn_relu(mid_ch, mid_ch, 3, groups=groups),
                                  nn.Conv2d(mid_ch, res_ch + dense_inc, 1, bias=False),
                                  nn.BatchNorm2d(res_ch + dense_inc))
        self.out_channels = in_ch + dense_inc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        residual = x[:, :self.res_ch] + out[:, :self.res_ch]
        dense = torch.cat([x[:, self.res_ch:], out[:, self.res_ch:]], dim=1)
        return torch.relu(torch.cat([residual, dense], dim=1))
