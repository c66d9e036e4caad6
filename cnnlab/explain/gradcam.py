"""Grad-CAM: weight a layer's feature maps by the average gradient of the class score (Selvaraju et al., 2017)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._common import as_targets, check_images, class_scores, eval_mode, resolve_layer

__all__ = ["GradCamParts", "grad_cam", "grad_cam_parts"]


@dataclass
class GradCamParts:
    """Every quantity of one Grad-CAM computation (the lecture shows them cell by cell)."""

    activations: torch.Tensor  # A: [N, K, h, w], the layer's feature maps
    gradients: torch.Tensor    # dS/dA: [N, K, h, w]
    weights: torch.Tensor      # alpha: [N, K], the gradients averaged over the h x w positions
    cam: torch.Tensor          # relu(sum_k alpha_k A_k): [N, h, w]
    targets: torch.Tensor      # the class explained for each image: [N]


def grad_cam_parts(model: nn.Module, x: torch.Tensor, layer: str | nn.Module,
                   target: int | Sequence[int] | torch.Tensor | None = None) -> GradCamParts:
    """Grad-CAM at the resolution of ``layer``, with the activations, gradients and weights it was made from.

    Args:
        model (nn.Module): a classifier returning scores [N, classes]; run in eval mode (its previous
            mode is put back) and the hooks are removed afterwards, also when something fails.
        x (Tensor[N, C, H, W]): images on the model's device.
        layer (str or nn.Module): the layer whose output [N, K, h, w] is explained, or its dotted name.
        target (int, sequence or Tensor[N], optional): the class of each image; None: the predicted one.

    Returns:
        GradCamParts: ``cam[n] = relu(sum_k weights[n, k] * activations[n, k])`` with
        ``weights = gradients.mean((2, 3))``; the class score is the logit (before softmax).
    """
    check_images(model, x)
    module = resolve_layer(model, layer)
    seen: dict[str, torch.Tensor] = {}

    def keep(_module, _inputs, output):
        if not isinstance(output, torch.Tensor) or output.ndim != 4:
            raise ValueError(f"Grad-CAM needs a layer whose output is [N, K, h, w], got "
                             f"{tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__}")
        seen["activations"] = output.detach().clone()  # a later in-place op (ReLU) must not change it
        output.register_hook(lambda grad: seen.__setitem__("gradients", grad.detach().clone()))

    handle = module.register_forward_hook(keep)
    try:
        with eval_mode(model), torch.enable_grad():
            inp = x.detach().clone().requires_grad_(True)  # so the graph reaches the layer even if it is the first
            logits = model(inp)
            targets = as_targets(target, logits)
            scores = class_scores(logits, targets)
            torch.autograd.grad(scores.sum(), inp)
    finally:
        handle.remove()
    if "gradients" not in seen:
        raise ValueError("the layer's output did not reach the class score: pick a layer the forward pass uses")
    acts, grads = seen["activations"], seen["gradients"]
    weights = grads.mean(dim=(2, 3))
    cam = torch.relu((weights[:, :, None, None] * acts).sum(1))
    return GradCamParts(acts, grads, weights, cam, targets)


def grad_cam(model: nn.Module, x: torch.Tensor, layer: str | nn.Module,
             target: int | Sequence[int] | torch.Tensor | None = None, upsample: bool = True) -> torch.Tensor:
    """Grad-CAM heat maps: where in the image the evidence for the class lies, seen from ``layer``.

    Args:
        model (nn.Module): a classifier returning scores [N, classes].
        x (Tensor[N, C, H, W]): images on the model's device.
        layer (str or nn.Module): the layer explained (deeper layers: more semantic, coarser maps).
        target (int, sequence or Tensor[N], optional): the class of each image; None: the predicted one.
        upsample (bool): resize the maps bilinearly to H x W (default) or keep the layer's h x w.

    Returns:
        Tensor[N, H, W] (or [N, h, w]): non-negative maps, same device and dtype as ``x``.
    """
    cam = grad_cam_parts(model, x, layer, target).cam
    if upsample and cam.shape[-2:] != x.shape[-2:]:
        cam = F.interpolate(cam[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    return cam
