"""Neural style transfer (Gatys et al.): optimize the pixels of an image so that its deep features
match a content image and its Gram matrices (which feature maps fire together) match a style image.

The feature network is a small VGG-like CNN trained for a few seconds on the shapes data."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.train.loop import cpu_threads_limited

from .metrics import gram_matrix

__all__ = ["FeatureNet", "StyleResult", "style_transfer", "train_feature_net"]


class FeatureNet(nn.Module):
    """Three conv stages (16, 32, 64 filters) and a classifier head for the four shapes."""

    def __init__(self, num_classes: int = 4):
        super().__init__()
        self.stages = nn.ModuleList([
            nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU()),
            nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU()),
            nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU()),
        ])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The image itself (its colors) then the maps of each stage: [x, stage1, stage2, stage3]."""
        out = [x]
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)[-1])


def train_feature_net(epochs: int = 3, size: int = 1500, seed: int = 0,
                      device: torch.device | str | None = None) -> FeatureNet:
    """A ``FeatureNet`` trained to classify the four shapes (a few seconds on a CPU), in eval mode."""
    from torch.utils.data import DataLoader

    from cnnlab.data.shapes import ShapesClassification
    from cnnlab.train import fit

    torch.manual_seed(seed)
    net = FeatureNet()
    data = ShapesClassification("train", size, seed=seed)
    loader = DataLoader(data, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(seed))
    fit(net, loader, epochs=epochs, lr=3e-3, device=device, seed=seed, progress=False)
    return net.eval().requires_grad_(False)


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


def style_transfer(net: FeatureNet, content: torch.Tensor, style: torch.Tensor, steps: int = 500,
                   style_weight: float = 200.0, content_layer: int = 3, lr: float = 0.05, seed: int = 0,
                   start: str = "noise") -> StyleResult:
    """Optimize an image (start: ``"noise"`` or ``"content"``) with Adam on the pixels.

    ``content`` and ``style`` are (3, H, W) in [0, 1]; the content loss is the MSE of layer
    ``content_layer``'s maps, the style loss the summed MSE of every layer's Gram matrices.
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
