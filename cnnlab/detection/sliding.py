"""Sliding-window detection: run a crop classifier on every window of several sizes.

This is the oldest way to turn a classifier into a detector: cut the image into overlapping
windows (several sizes, a fixed stride), resize each to the classifier's input size, classify
it, and keep windows whose best non-background class scores high. Many neighbouring windows
see the same object, so the raw output is full of duplicates: that is what non-maximum
suppression cleans up. It is also slow (hundreds of classifier runs per image), which is why
single-shot detectors share one convolutional pass over the whole image instead.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..train.inference import eval_mode
from .iou import pairwise_iou
from .suppression import batched_nms

__all__ = ["crop_windows", "sliding_window_detect", "sliding_windows", "window_training_set"]


def sliding_windows(image_size: int, window_sizes: Sequence[int] = (16, 24, 32), stride: int = 4) -> torch.Tensor:
    """Every square window ``(K, 4)`` xyxy that fits in a square image, for each size, on a ``stride`` grid."""
    if stride < 1 or any(s < 1 or s > image_size for s in window_sizes):
        raise ValueError(f"need stride >= 1 and window sizes in [1, {image_size}], got {stride} and {window_sizes}")
    out = []
    for s in window_sizes:
        starts = torch.arange(0, image_size - s + 1, stride, dtype=torch.float32)
        y, x = torch.meshgrid(starts, starts, indexing="ij")
        out.append(torch.stack([x, y, x + s, y + s], dim=-1).reshape(-1, 4))
    return torch.cat(out)


def crop_windows(image: torch.Tensor, windows: torch.Tensor, crop_size: int = 32) -> torch.Tensor:
    """Crop and resize (bilinear) every xyxy window of one ``(3, H, W)`` image: ``(K, 3, crop, crop)``."""
    C, H, W = image.shape
    w = windows.to(image.device, image.dtype)
    # affine map from the crop's [-1, 1] square to the window in the image's [-1, 1] coordinates
    theta = torch.zeros(len(w), 2, 3, device=image.device, dtype=image.dtype)
    theta[:, 0, 0] = (w[:, 2] - w[:, 0]) / W
    theta[:, 0, 2] = (w[:, 0] + w[:, 2]) / W - 1
    theta[:, 1, 1] = (w[:, 3] - w[:, 1]) / H
    theta[:, 1, 2] = (w[:, 1] + w[:, 3]) / H - 1
    grid = F.affine_grid(theta, [len(w), C, crop_size, crop_size], align_corners=False)
    return F.grid_sample(image.expand(len(w), C, H, W), grid, align_corners=False)


def _shrink(windows: torch.Tensor, factor: float) -> torch.Tensor:
    centre = (windows[:, :2] + windows[:, 2:]) / 2
    half = (windows[:, 2:] - windows[:, :2]) * factor / 2
    return torch.cat([centre - half, centre + half], dim=1)


@torch.no_grad()
def sliding_window_detect(classifier: nn.Module, image: torch.Tensor, window_sizes: Sequence[int] = (16, 24, 32),
                          stride: int = 4, crop_size: int = 32, background_class: int = -1,
                          score_threshold: float = 0.5, box_shrink: float = 0.7,
                          iou_threshold: float | None = None) -> dict[str, torch.Tensor]:
    """Classify every window of ``image`` ``(3, H, W)``; return the windows that look like an object.

    The score of a window is its best non-background class probability. The reported box is the
    window shrunk by ``box_shrink`` around its centre (objects fill about that much of a window
    in training). ``iou_threshold=None`` returns the raw duplicates; a number applies class-aware NMS.
    """
    dev = next(classifier.parameters()).device
    windows = sliding_windows(image.shape[-1], window_sizes, stride).to(dev)
    with eval_mode(classifier):
        probs = torch.softmax(classifier(crop_windows(image.to(dev), windows, crop_size)), dim=1)
    bg = background_class % probs.shape[1]
    probs[:, bg] = -1
    scores, labels = probs.max(dim=1)
    keep = scores >= score_threshold
    labels = labels[keep] - (labels[keep] > bg).long()       # class ids without the background slot
    out = {"boxes": _shrink(windows[keep], box_shrink), "scores": scores[keep], "labels": labels}
    if iou_threshold is not None:
        k = batched_nms(out["boxes"], out["scores"], out["labels"], iou_threshold)
        out = {key: v[k] for key, v in out.items()}
    return out


def window_training_set(images: torch.Tensor, targets: Sequence[dict], num_windows: int = 4000,
                        crop_size: int = 32, box_shrink: float = 0.7, iou_threshold: float = 0.5,
                        num_classes: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Crops for training a window classifier (R-CNN style): half jittered around objects, half anywhere.

    A crop gets the class of the object its shrunk window overlaps with IoU >= ``iou_threshold``,
    otherwise the background label ``num_classes``.
    """
    rng = np.random.default_rng(seed)
    H = images.shape[-1]
    crops, labels = [], []
    for k in range(num_windows):
        i = int(rng.integers(len(images)))
        gt, gl = targets[i]["boxes"].float(), targets[i]["labels"]
        if k % 2 == 0 and len(gt):
            g = gt[int(rng.integers(len(gt)))]
            side = float(max(g[2] - g[0], g[3] - g[1])) / box_shrink * rng.uniform(0.8, 1.25)
            cx, cy = ((g[:2] + g[2:]) / 2).tolist()
            cx, cy = cx + rng.normal(0, side / 6), cy + rng.normal(0, side / 6)
        else:
            side = rng.uniform(14, 40)
            cx, cy = rng.uniform(side / 2, H - side / 2, 2)
        window = torch.tensor([[cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]])
        label = num_classes
        if len(gt):
            iou = pairwise_iou(_shrink(window, box_shrink), gt)[0]
            if float(iou.max()) >= iou_threshold:
                label = int(gl[int(iou.argmax())])
        crops.append(crop_windows(images[i], window, crop_size)[0])
        labels.append(label)
    return torch.stack(crops), torch.tensor(labels)
