"""Occlusion maps: cover part of the image with a grey patch and measure how much the class score drops
(Zeiler & Fergus, 2014)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._common import as_targets, check_images, class_scores, eval_mode

__all__ = ["occlusion_map", "patch_positions"]


def patch_positions(size: int, patch: int, stride: int) -> list[int]:
    """Top (or left) coordinates of the patches along one side: every ``stride`` pixels, and the last
    position ``size - patch`` added when the stride skips it, so that every pixel is covered."""
    if not (1 <= patch <= size):
        raise ValueError(f"the patch ({patch}) must be between 1 and the image side ({size})")
    if stride < 1:
        raise ValueError(f"the stride must be a positive int, got {stride}")
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


@torch.no_grad()
def occlusion_map(model: nn.Module, x: torch.Tensor, target: int | Sequence[int] | torch.Tensor | None = None,
                  patch: int = 4, stride: int = 2, fill: float = 0.0, score: str = "logit",
                  batch_size: int = 256) -> torch.Tensor:
    """How much each pixel's neighbourhood matters: the average drop of the class score over the patches covering it.

    Every patch position (``patch_positions`` along each side) gives one occluded copy of the image, with
    the patch set to ``fill``; the drop is score(original) - score(occluded), positive where hiding
    the pixels hurt the class. A pixel's value is the mean drop of all the patches that cover it.

    Args:
        model (nn.Module): a classifier returning scores [N, classes]; run in eval mode, previous mode put back.
        x (Tensor[N, C, H, W]): images on the model's device.
        target (int, sequence or Tensor[N], optional): the class of each image; None: the predicted one.
        patch (int): side of the square patch, in pixels.
        stride (int): step between patch positions.
        fill (float): the value written into the patch (0 = black; pick the background or the mean pixel).
        score (str): ``"logit"`` or ``"prob"`` (the softmax probability of the class).
        batch_size (int): occluded copies per forward pass.

    Returns:
        Tensor[N, H, W]: mean score drop per pixel, same device and dtype as ``x``.
    """
    check_images(model, x)
    n, _, h, w = x.shape
    tops, lefts = patch_positions(h, patch, stride), patch_positions(w, patch, stride)
    boxes = [(t, l) for t in tops for l in lefts]
    total = torch.zeros(n, h, w, dtype=x.dtype, device=x.device)
    count = torch.zeros(h, w, dtype=x.dtype, device=x.device)
    for t, l in boxes:
        count[t:t + patch, l:l + patch] += 1
    with eval_mode(model):
        logits = model(x)
        targets = as_targets(target, logits)
        base = class_scores(logits, targets, score)
        for i in range(n):
            for start in range(0, len(boxes), batch_size):
                chunk = boxes[start:start + batch_size]
                copies = x[i:i + 1].repeat(len(chunk), 1, 1, 1)
                for j, (t, l) in enumerate(chunk):
                    copies[j, :, t:t + patch, l:l + patch] = fill
                drops = base[i] - class_scores(model(copies), targets[i].expand(len(chunk)), score)
                for j, (t, l) in enumerate(chunk):
                    total[i, t:t + patch, l:l + patch] += drops[j]
    return total / count
