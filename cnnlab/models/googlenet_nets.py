"""GoogLeNet / Inception v1 (Szegedy et al., 2014): 22 layers built from inception modules.

Laid out as torchvision's reference (batch norm after every conv, no auxiliary heads):
6,624,904 parameters for 1000 classes — about a tenth of AlexNet's, thanks to the 1×1
bottlenecks in front of the 3×3 and 5×5 branches and global average pooling instead of
a large dense layer. Like torchvision, the "5×5" branch uses a 3×3 kernel by default;
``large_kernel=5`` gives the paper's (7,005,832 parameters).
"""
from __future__ import annotations

from torch import nn

from .blocks import InceptionModule, conv_bn_relu

__all__ = ["GoogLeNet", "googlenet", "GOOGLENET_MODULES"]

# name: (ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj); "M" = max-pool between stages
GOOGLENET_MODULES = [
    ("3a", (64, 96, 128, 16, 32, 32)), ("3b", (128, 128, 192, 32, 96, 64)), "M",
    ("4a", (192, 96, 208, 16, 48, 64)), ("4b", (160, 112, 224, 24, 64, 64)), ("4c", (128, 128, 256, 24, 64, 64)),
    ("4d", (112, 144, 288, 32, 64, 64)), ("4e", (256, 160, 320, 32, 128, 128)), "M",
    ("5a", (256, 160, 320, 32, 128, 128)), ("5b", (384, 192, 384, 48, 128, 128)),
]


class GoogLeNet(nn.Module):
    def __init__(self, num_classes: int = 1000, in_channels: int = 3, small: bool = False,
                 large_kernel: int = 3, dropout: float = 0.2):
        super().__init__()
        eps = 1e-3
        if small:  # 32x32 input: one 3x3 stem, widths / 8, only the 3x and 4a-4b modules
            div = 8
            self.stem = nn.Sequential(conv_bn_relu(in_channels, 24, 3, eps=eps))
            plan = GOOGLENET_MODULES[:5]
            ch = 24
        else:
            div = 1
            self.stem = nn.Sequential(
                conv_bn_relu(in_channels, 64, 7, stride=2, padding=3, eps=eps), nn.MaxPool2d(3, 2, ceil_mode=True),
                conv_bn_relu(64, 64, 1, eps=eps), conv_bn_relu(64, 192, 3, eps=eps), nn.MaxPool2d(3, 2, ceil_mode=True),
            )
            plan = GOOGLENET_MODULES
            ch = 192
        layers: list[nn.Module] = []
        for i, item in enumerate(plan):
            if item == "M":
                last = i == len(GOOGLENET_MODULES) - 3
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True) if last else nn.MaxPool2d(3, 2, ceil_mode=True))
                continue
            widths = [max(4, w // div) for w in item[1]]
            module = InceptionModule(ch, *widths, large_kernel=large_kernel)
            layers.append(module)
            ch = module.out_channels
        self.inception = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(ch, num_classes)

    def forward(self, x):
        x = self.avgpool(self.inception(self.stem(x))).flatten(1)
        return self.fc(self.dropout(x))


def googlenet(num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> GoogLeNet:
    return GoogLeNet(num_classes=num_classes, in_channels=in_channels, small=small, **kwargs)
