"""Reference (instructor only): assignment 2's blocks, with the attribute names the assignment fixes.

The grader gives a student's block and these the same weights, filled by parameter name, so
the names are part of the answer: ``pre_bn``, ``conv_a``, ``mid_bn``, ``conv_b``, ``skip``
(pre-activation unit); ``mlp_in``, ``mlp_out``, ``spatial`` (CBAM); ``group_conv``,
``depthwise`` (shuffle convolution). None of these designs is in the zoo
(``cnnlab.models.blocks`` holds post-activation units with a conv + BN projection, squeeze-and-
excitation and a plain depthwise-separable convolution), and no zoo attribute has these names.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["CBAM", "PreActUnit", "ShuffleConv"]


class PreActUnit(nn.Module):
    """ResNet v2 unit: z = relu(pre_bn(x)); out = conv_b(relu(mid_bn(conv_a(z)))) + shortcut.

    The shortcut is x itself when the shape is kept; otherwise ``skip(z)``, an average pool
    over stride x stride windows (ceil mode) then a 1x1 convolution, applied to the
    pre-activated z. No activation after the addition.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__()
        self.pre_bn = nn.BatchNorm2d(in_ch)
        self.conv_a = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.mid_bn = nn.BatchNorm2d(out_ch)
        self.conv_b = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.project = stride != 1 or in_ch != out_ch
        if self.project:
            self.skip = nn.Sequential(nn.AvgPool2d(stride, ceil_mode=True), nn.Conv2d(in_ch, out_ch, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.relu(self.pre_bn(x))
        out = self.conv_b(torch.relu(self.mid_bn(self.conv_a(z))))
        return out + (self.skip(z) if self.project else x)


class CBAM(nn.Module):
    """Channel attention from the average- and max-pooled maps through one shared MLP, then
    spatial attention from the channel mean and max through a k x k convolution."""

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp_in = nn.Linear(channels, hidden, bias=False)
        self.mlp_out = nn.Linear(hidden, channels, bias=False)
        self.spatial = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mlp = lambda v: self.mlp_out(torch.relu(self.mlp_in(v)))  # noqa: E731
        gate = torch.sigmoid(mlp(x.mean(dim=(2, 3))) + mlp(x.amax(dim=(2, 3))))
        x = x * gate[:, :, None, None]
        maps = torch.stack([x.mean(dim=1), x.amax(dim=1)], dim=1)
        return x * torch.sigmoid(self.spatial(maps))


class ShuffleConv(nn.Module):
    """ShuffleNet's idea: a grouped 1x1 convolution (in -> out channels, ``groups`` groups), a
    channel shuffle (group g, channel i -> position i * groups + g), then a k x k depthwise
    convolution; no biases."""

    def __init__(self, in_ch: int, out_ch: int, groups: int = 2, kernel_size: int = 3, stride: int = 1):
        super().__init__()
        self.groups = groups
        self.group_conv = nn.Conv2d(in_ch, out_ch, 1, groups=groups, bias=False)
        self.depthwise = nn.Conv2d(out_ch, out_ch, kernel_size, stride=stride, padding=kernel_size // 2,
                                   groups=out_ch, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.group_conv(x)
        n, c, h, w = y.shape
        y = y.reshape(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)
        return self.depthwise(y)
