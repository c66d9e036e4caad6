"""Xception (Chollet, 2016): Inception taken to the extreme with depthwise separable convolutions.

Entry flow (two convs, three residual blocks that halve the map), middle flow (eight
residual blocks of three 728-wide separable convs) and exit flow, laid out as Keras'
``keras.applications.Xception``. For 1000 classes it has 22,855,952 trainable
parameters; Keras reports 22,910,480 because it also counts the batch-norm running
means and variances (``count_parameters(model, include_buffers=True)``).
"""
from __future__ import annotations

from torch import nn

from .blocks import DepthwiseSeparableConv, conv_bn_relu

__all__ = ["Xception", "XceptionBlock", "xception"]


def _sep_bn(in_ch: int, out_ch: int) -> list[nn.Module]:
    return [DepthwiseSeparableConv(in_ch, out_ch), nn.BatchNorm2d(out_ch, eps=1e-3)]


class XceptionBlock(nn.Module):
    """ReLU-SepConv-BN repeated, plus a shortcut: identity, or 1×1 stride-2 conv + BN before a 3×3/2 max-pool."""

    def __init__(self, in_ch: int, widths: list[int], downsample: bool, first_relu: bool = True):
        super().__init__()
        layers: list[nn.Module] = []
        ch = in_ch
        for i, w in enumerate(widths):
            if i > 0 or first_relu:
                layers.append(nn.ReLU())
            layers += _sep_bn(ch, w)
            ch = w
        if downsample:
            layers.append(nn.MaxPool2d(3, 2, padding=1))
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, ch, 1, stride=2, bias=False), nn.BatchNorm2d(ch, eps=1e-3))
        else:
            if in_ch != ch:
                raise ValueError(f"an identity shortcut needs in_ch == out_ch, got {in_ch} and {ch}")
            self.shortcut = nn.Identity()
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class Xception(nn.Module):
    def __init__(self, num_classes: int = 1000, in_channels: int = 3, small: bool = False, middle_blocks: int | None = None):
        super().__init__()
        if small:  # 32x32 input: widths / 8, stride-1 stem, two middle blocks
            d, stem_stride, middle = 8, 1, 2 if middle_blocks is None else middle_blocks
        else:
            d, stem_stride, middle = 1, 2, 8 if middle_blocks is None else middle_blocks
        w = lambda c: c // d  # noqa: E731 - short width rule
        self.entry = nn.Sequential(
            conv_bn_relu(in_channels, w(32), 3, stride=stem_stride, padding=0 if not small else 1, eps=1e-3),
            conv_bn_relu(w(32), w(64), 3, padding=0 if not small else 1, eps=1e-3),
            XceptionBlock(w(64), [w(128), w(128)], downsample=True, first_relu=False),
            XceptionBlock(w(128), [w(256), w(256)], downsample=True),
            XceptionBlock(w(256), [w(728), w(728)], downsample=True),
        )
        self.middle = nn.Sequential(*[XceptionBlock(w(728), [w(728)] * 3, downsample=False) for _ in range(middle)])
        self.exit = nn.Sequential(
            XceptionBlock(w(728), [w(728), w(1024)], downsample=True),
            DepthwiseSeparableConv(w(1024), w(1536)), nn.BatchNorm2d(w(1536), eps=1e-3), nn.ReLU(),
            DepthwiseSeparableConv(w(1536), w(2048)), nn.BatchNorm2d(w(2048), eps=1e-3), nn.ReLU(),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(w(2048), num_classes)

    def forward(self, x):
        return self.fc(self.avgpool(self.exit(self.middle(self.entry(x)))).flatten(1))


def xception(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> Xception:
    return Xception(num_classes=num_classes, in_channels=in_channels, small=small, **kwargs)
