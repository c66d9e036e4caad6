"""Saliency maps: how much the class score changes when one input pixel changes (Simonyan et al., 2014)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._common import as_targets, check_images, class_scores, eval_mode

__all__ = ["input_gradient", "saliency_map"]


def input_gradient(model: nn.Module, x: torch.Tensor, target: int | Sequence[int] | torch.Tensor | None = None,
                   score: str = "logit") -> torch.Tensor:
    """The gradient of each image's class score with respect to its pixels.

    Args:
        model (nn.Module): a classifier returning scores [N, classes]; run in eval mode, its
            previous mode is put back afterwards, and its parameters' ``.grad`` are not touched.
        x (Tensor[N, C, H, W]): images on the model's device.
        target (int, sequence or Tensor[N], optional): the class of each image; None: the predicted one.
        score (str): ``"logit"`` (the score before softmax, the usual choice) or ``"prob"``.

    Returns:
        Tensor[N, C, H, W]: d score / d x, same device and dtype as ``x``.
    """
    check_images(model, x)
    with eval_mode(model), torch.enable_grad():
        inp = x.detach().clone().requires_grad_(True)
        logits = model(inp)
        scores = class_scores(logits, as_targets(target, logits), score)
        # the images are independent in eval mode, so one backward pass of the sum gives every image's gradient
        (grad,) = torch.autograd.grad(scores.sum(), inp)
    return grad


def saliency_map(model: nn.Module, x: torch.Tensor, target: int | Sequence[int] | torch.Tensor | None = None,
                 score: str = "logit") -> torch.Tensor:
    """Saliency of every pixel: the largest absolute input gradient over the colour channels.

    Args:
        model (nn.Module): a classifier returning scores [N, classes].
        x (Tensor[N, C, H, W]): images on the model's device.
        target (int, sequence or Tensor[N], optional): the class of each image; None: the predicted one.
        score (str): ``"logit"`` or ``"prob"``.

    Returns:
        Tensor[N, H, W]: max over c of |d score / d x[c, i, j]|.
    """
    return input_gradient(model, x, target, score).abs().amax(dim=1)
