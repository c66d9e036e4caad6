"""Neural style transfer (Gatys et al.): optimize the pixels of an image so that its deep features
match a content image and its Gram matrices (which feature maps fire together) match a style image.

The feature network has random, fixed weights: three 3x3 convolutions with growing dilation (1, 2, 4),
so its maps see patterns of about 3, 7 and 15 pixels. Random filters at several scales describe
textures well enough for style transfer (Ustyuzhaninov et al., 2017, "What does it take to generate
natural textures?"), and nothing has to be trained or downloaded."""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.train.loop import cpu_threads_limited

from .metrics import gram_matrix

__all__ = ["RandomFeatureNet", "StyleResult", "style_transfer"]


class RandomFeatureNet(nn.Module):
    """Fixed random 3x3 convolutions + ReLU with growing dilation: multi-scale features for style transfer.

    Args:
        widths (sequence of int): channels of each convolution.
        dilations (sequence of int): dilation of each convolution (its reach grows with it).
        seed (int): draws the He-initialised weights; biases are zero.
    """

    def __init__(self, widths: Sequence[int] = (24, 32, 48), dilations: Sequence[int] = (1, 2, 4), seed: int = 0):
        super().__init__()
        if len(widths) != len(dilations) or not widths:
            raise ValueError(f"need one dilation per width, got widths {tuple(widths)} and dilations {tuple(dilations)}")
        g = torch.Generator().manual_seed(seed)
        layers, cin = [], 3
        for w, d in zip(widths, dilations):
            conv = nn.Conv2d(cin, w, 3, padding=d, dilation=d, padding_mode="reflect")
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * (2 / (cin * 9)) ** 0.5)
                conv.bias.zero_()
            layers.append(conv)
            cin = w
        self.layers = nn.ModuleList(layers)
        self.eval().requires_grad_(False)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The centred image (its colors) then the maps of each layer: [x - 0.5, layer1, layer2, ...].

        Args:
            x (Tensor[N, 3, H, W]): images in [0, 1].
        """
        h = x - 0.5
        out = [h]
        for conv in self.layers:
            h = F.relu(conv(h))
            out.append(h)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[-1]


@dataclass
class StyleResult:
    """The stylized image (3, H, W) in [0, 1] and the loss curves (one entry per step)."""

    image: torch.Tensor
    content_loss: list[float] = field(default_factory=list)
    style_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def reduction(self) -> dict[str, float]:
        """How many times each loss fell from the first step to the last."""
        return {"content": self.content_loss[0] / max(self.content_loss[-1], 1e-12),
                "style": self.style_loss[0] / max(self.style_loss[-1], 1e-12)}


def style_transfer(net: nn.Module, content: torch.Tensor, style: torch.Tensor, steps: int = 150,
                   style_weight: float = 1e4, content_layer: int = 2, lr: float = 0.05, seed: int = 0,
                   start: str = "content") -> StyleResult:
    """Optimize an image (start: ``"content"`` or ``"noise"``) with Adam on the pixels.

    ``net.features(x)`` gives the list of feature maps (e.g. ``RandomFeatureNet``); ``content`` and
    ``style`` are (3, H, W) in [0, 1]. The content loss is the MSE of map ``content_layer``, the
    style loss the summed MSE of every map's Gram matrices.
    """
    if content.dim() != 3 or style.dim() != 3 or content.shape[0] != 3 or style.shape[0] != 3:
        raise ValueError("content and style must be (3, H, W) images")
    if start not in ("noise", "content"):
        raise ValueError(f"start must be 'noise' or 'content', got {start!r}")
    dev = next(net.parameters()).device
    content, style = content.to(dev)[None], style.to(dev)[None]
    with torch.no_grad():
        target_content = net.features(content)[content_layer]
        target_grams = [gram_matrix(f) for f in net.features(style)]
    g = torch.Generator().manual_seed(seed)
    init = torch.rand(content.shape, generator=g).to(dev) if start == "noise" else content.clone()
    logit = torch.logit(init.clamp(0.01, 0.99)).requires_grad_(True)   # sigmoid keeps pixels in [0, 1]
    opt = torch.optim.Adam([logit], lr=lr)
    result = StyleResult(image=init[0].cpu())
    t0 = time.perf_counter()
    with cpu_threads_limited(dev, 1):     # tiny tensors: one thread is fastest (see cnnlab.train.fit)
        _optimize(net, logit, opt, steps, target_content, target_grams, content_layer, style_weight, result)
    result.seconds = time.perf_counter() - t0
    result.image = torch.sigmoid(logit.detach())[0].cpu()
    return result


def _optimize(net, logit, opt, steps, target_content, target_grams, content_layer, style_weight, result) -> None:
    for _ in range(steps):
        feats = net.features(torch.sigmoid(logit))
        c_loss = F.mse_loss(feats[content_layer], target_content)
        s_loss = sum(F.mse_loss(gram_matrix(f), t) for f, t in zip(feats, target_grams))
        opt.zero_grad()
        (c_loss + style_weight * s_loss).backward()
        opt.step()
        result.content_loss.append(c_loss.item())
        result.style_loss.append(s_loss.item())
