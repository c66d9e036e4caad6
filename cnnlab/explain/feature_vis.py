"""Feature visualisation: gradient ascent on the input to find an image that excites one channel strongly
(Erhan et al., 2009; Olah et al., 2017)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._common import eval_mode, resolve_layer

__all__ = ["ChannelVisualization", "visualize_channels"]


@dataclass
class ChannelVisualization:
    """The images found (one per channel) and each channel's mean activation before each step and after the last."""

    images: torch.Tensor       # [B, C, H, W], image b for channels[b]
    activations: torch.Tensor  # [steps + 1, B] on the CPU, row 0 for the starting images
    channels: list[int]


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


def visualize_channels(model: nn.Module, layer: str | nn.Module, channels: int | Sequence[int],
                       shape: tuple[int, int, int], steps: int = 64, lr: float = 0.05, start: torch.Tensor | None = None,
                       clamp: tuple[float, float] | None = (0.0, 1.0), blur: float = 0.0,
                       seed: int = 0) -> ChannelVisualization:
    """For each channel of ``layer``, find an image that makes it fire strongly, by normalised gradient ascent.

    The images form one batch (image b climbs the mean activation of ``channels[b]``; in eval mode the
    images do not interact). Each step computes g = d objective / d image and moves every image by
    ``lr * g / rms(g)`` (its own rms, so the step size does not depend on the gradient's scale), then
    clips it to ``clamp`` (the pixel range of the data, which keeps it looking like an input).
    ``blur`` > 0 smooths the images after every step with a Gaussian of that standard deviation (in
    pixels): without it the ascent favours pixel-level noise that no real input contains.

    Args:
        model (nn.Module): the network; run in eval mode (previous mode put back), its hook always removed.
        layer (str or nn.Module): the layer whose output [B, K, ...] holds the channels (a class score
            layer [B, classes] works too), or its dotted name.
        channels (int or sequence of int): the channels to excite, one image each.
        shape ((int, int, int)): each image's (C, H, W).
        steps (int): gradient-ascent steps.
        lr (float): step size, in pixel units per step.
        start (Tensor[B, C, H, W], optional): the starting images; default: seeded noise around the
            middle of ``clamp``.
        clamp ((float, float) or None): the pixel range kept after every step.
        blur (float): standard deviation of the Gaussian smoothing after each step (0: none).
        seed (int): seeds the starting noise.

    Returns:
        ChannelVisualization: the images (on the model's device, in its dtype) and the activation history.
    """
    module = resolve_layer(model, layer)
    chans = [int(channels)] if isinstance(channels, int) else [int(c) for c in channels]
    if not chans:
        raise ValueError("give at least one channel")
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    if start is None:
        gen = torch.Generator().manual_seed(seed)
        mid = 0.5 * (clamp[0] + clamp[1]) if clamp is not None else 0.0
        img = (mid + 0.05 * torch.randn((len(chans), *shape), generator=gen)).to(device=device, dtype=dtype)
    else:
        if start.shape != (len(chans), *shape):
            raise ValueError(f"start must have shape {(len(chans), *shape)} (one image per channel), "
                             f"got {tuple(start.shape)}")
        img = start.detach().clone().to(device=device, dtype=dtype)
    seen: dict[str, torch.Tensor] = {}

    def keep(_module, _inputs, output):
        seen["out"] = output

    handle = module.register_forward_hook(keep)
    history: list[torch.Tensor] = []
    index = torch.tensor(chans, device=device)
    rows = torch.arange(len(chans), device=device)
    try:
        with eval_mode(model), torch.enable_grad():
            for step in range(steps + 1):
                img.requires_grad_(True)
                model(img)
                out = seen.pop("out")
                bad = [c for c in chans if not 0 <= c < (out.shape[1] if out.ndim >= 2 else 0)]
                if bad:
                    raise ValueError(f"channel {bad[0]} does not exist: the layer's output has shape "
                                     f"{tuple(out.shape)}")
                chosen = out[rows, index]                          # [B, ...]: each image's own channel
                per_image = chosen.flatten(1).mean(1) if chosen.ndim > 1 else chosen
                history.append(per_image.detach().cpu())
                if step == steps:
                    break
                (grad,) = torch.autograd.grad(per_image.sum(), img)
                with torch.no_grad():
                    rms = grad.pow(2).flatten(1).mean(1).sqrt().clamp_min(1e-12)
                    img = img + lr * grad / rms[:, None, None, None]
                    if blur > 0:
                        img = _gaussian_blur(img, blur)
                    if clamp is not None:
                        img = img.clamp(*clamp)
    finally:
        handle.remove()
    return ChannelVisualization(img.detach(), torch.stack(history), chans)
