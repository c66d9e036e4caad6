"""Reference (instructor only): assignment 2's blocks, with the attribute names the assignment fixes.

The grader gives a student's block and these the same weights, filled by parameter name, so
the names (``conv1``, ``bn1``, ``conv2``, ``bn2``, ``shortcut``; ``fc1``, ``fc2``; ``depthwise``,
``pointwise``) are part of the answer. Students have other blocks (``cnnlab.models.blocks``:
``BasicBlock``, ``SqueezeExcite``, ``DepthwiseSeparableConv``) built differently, for the
architecture zoo.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["ResidualUnit", "SEBlock", "SeparableConv2d"]


class ResidualUnit(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); a 1×1 projection + BN when the shape changes."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        if stride == 1 and in_ch == out_ch:
            self.shortcut: nn.Module = nn.Identity()
        else:
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class SEBlock(nn.Module):
    """Squeeze (global average) → fc1 + ReLU → fc2 + sigmoid → scale each channel by its gate."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3))))))
        return x * gate[:, :, None, None]


class SeparableConv2d(nn.Module):
    """A k×k depthwise convolution (groups = in_ch), then a 1×1 pointwise one; no biases."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, stride: int = 1, padding: int = 1):
        super().__init__()
        self.depthwise = nn.Conv2d(in_ch, in_ch, kernel_size, stride=stride, padding=padding, groups=in_ch,
                                   bias=False)
        self.pointwise = nn.Conv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))
