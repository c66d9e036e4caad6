"""Feature visualisation: gradient ascent on the input to find an image that excites one channel strongly
(Erhan et al., 2009; Olah et al., 2017)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._common import eval_mode, resolve_layer

__all__ = ["ChannelVisualization", "visualize_channel"]


@dataclass
class ChannelVisualization:
    """The image found and the channel's mean activation before each step (and after the last)."""

    image: torch.Tensor       # [1, C, H, W]
    activations: list[float]  # len(steps) + 1 values, the first for the starting image


def _gaussian_blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian smoothing of [N, C, H, W], each channel on its own, edges replicated."""
    radius = max(1, int(round(2 * sigma)))
    t = torch.arange(-radius, radius + 1, device=img.device, dtype=img.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = img.shape[1]
    out = F.pad(img, (radius, radius, radius, radius), mode="replicate")
    out = F.conv2d(out, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(out, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def visualize_channel(model: nn.Module, layer: str | nn.Module, channel: int, shape: tuple[int, int, int],
                      steps: int = 64, lr: float = 0.05, start: torch.Tensor | None = None,
                      clamp: tuple[float, float] | None = (0.0, 1.0), blur: float = 0.0,
                      seed: int = 0) -> ChannelVisualization:
    """Find an image that makes ``channel`` of ``layer`` fire strongly, by normalised gradient ascent.

    Each step computes g = d mean(activation of the channel) / d image and moves the image by
    ``lr * g / rms(g)`` (the size of a step does not depend on the gradient's scale), then clips
    it to ``clamp`` (the pixel range of the data, which keeps the image looking like an input).
    ``blur`` > 0 smooths the image after every step with a Gaussian of that standard deviation (in
    pixels): without it the ascent favours pixel-level noise that no real input contains.

    Args:
        model (nn.Module): the network; run in eval mode (previous mode put back), its hook always removed.
        layer (str or nn.Module): the layer whose output [1, K, h, w] holds the channel, or its dotted name.
        channel (int): which of the K channels to excite.
        shape ((int, int, int)): the image's (C, H, W).
        steps (int): gradient-ascent steps.
        lr (float): step size, in pixel units per step.
        start (Tensor[1, C, H, W], optional): the starting image; default: seeded noise around 0.5 * (lo + hi).
        clamp ((float, float) or None): the pixel range kept after every step.
        blur (float): standard deviation of the Gaussian smoothing after each step (0: none).
        seed (int): seeds the starting noise.

    Returns:
        ChannelVisualization: the image (on the model's device, in its dtype) and the activation history.
    """
    module = resolve_layer(model, layer)
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    if start is None:
        gen = torch.Generator().manual_seed(seed)
        mid = 0.5 * (clamp[0] + clamp[1]) if clamp is not None else 0.0
        img = (mid + 0.05 * torch.randn((1, *shape), generator=gen)).to(device=device, dtype=dtype)
    else:
        img = start.detach().clone().to(device=device, dtype=dtype)
    seen: dict[str, torch.Tensor] = {}

    def keep(_module, _inputs, output):
        seen["out"] = output

    handle = module.register_forward_hook(keep)
    history: list[float] = []
    try:
        with eval_mode(model), torch.enable_grad():
            for step in range(steps + 1):
                img.requires_grad_(True)
                model(img)
                out = seen.pop("out")
                if out.ndim < 2 or not (0 <= channel < out.shape[1]):
                    raise ValueError(f"channel {channel} does not exist: the layer's output has shape {tuple(out.shape)}")
                objective = out[:, channel].mean()
                history.append(objective.item())
                if step == steps:
                    break
                (grad,) = torch.autograd.grad(objective, img)
                with torch.no_grad():
                    img = img + lr * grad / grad.pow(2).mean().sqrt().clamp_min(1e-12)
                    if blur > 0:
                        img = _gaussian_blur(img, blur)
                    if clamp is not None:
                        img = img.clamp(*clamp)
    finally:
        handle.remove()
    return ChannelVisualization(img.detach(), history)
