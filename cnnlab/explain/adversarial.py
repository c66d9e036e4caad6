"""Adversarial examples with the fast gradient sign method (Goodfellow et al., 2015), and accuracy under attack."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ._common import check_images, eval_mode

__all__ = ["accuracy_under_attack", "fgsm"]


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
         clamp: tuple[float, float] | None = (0.0, 1.0)) -> torch.Tensor:
    """Move every pixel by ``eps`` in the direction that raises the loss: x + eps * sign(d loss / d x).

    Args:
        model (nn.Module): a classifier returning scores [N, classes]; run in eval mode, previous mode put back.
        x (Tensor[N, C, H, W]): images on the model's device.
        y (Tensor[N]): their true classes.
        eps (float): the size of the step on every pixel (in the units of ``x``), >= 0.
        clamp ((float, float) or None): keep the result in this pixel range (default [0, 1]).

    Returns:
        Tensor[N, C, H, W]: the adversarial images (detached), same device and dtype as ``x``.
    """
    check_images(model, x)
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    y = torch.as_tensor(y, device=x.device).long().reshape(-1)
    if y.numel() != x.shape[0]:
        raise ValueError(f"give one label per image: {x.shape[0]} images, {y.numel()} labels")
    with eval_mode(model), torch.enable_grad():
        inp = x.detach().clone().requires_grad_(True)
        loss = F.cross_entropy(model(inp), y, reduction="sum")  # a sum: each image's gradient is its own
        (grad,) = torch.autograd.grad(loss, inp)
    adv = x.detach() + eps * grad.sign()
    if clamp is not None:
        adv = adv.clamp(*clamp)
    return adv


def accuracy_under_attack(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epsilons: Sequence[float],
                          clamp: tuple[float, float] | None = (0.0, 1.0), batch_size: int = 256) -> list[float]:
    """The model's accuracy on FGSM images, one value per ``eps`` (eps = 0: the clean accuracy).

    Args:
        model (nn.Module): a classifier returning scores [N, classes].
        x (Tensor[N, C, H, W]): images on the model's device.
        y (Tensor[N]): their true classes.
        epsilons (sequence of float): the attack strengths to measure.
        clamp ((float, float) or None): the pixel range kept.
        batch_size (int): images per forward pass.

    Returns:
        list[float]: the fraction of images still classified correctly, for each eps.
    """
    y = torch.as_tensor(y, device=x.device).long().reshape(-1)
    correct = [0] * len(epsilons)
    for start in range(0, x.shape[0], batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        for k, eps in enumerate(epsilons):
            adv = fgsm(model, xb, yb, float(eps), clamp)
            with eval_mode(model), torch.no_grad():
                correct[k] += int((model(adv).argmax(1) == yb).sum())
    return [c / x.shape[0] for c in correct]
