"""SSD-style anchor (default) boxes and matching them to ground truth.

At every cell of a feature map of size ``S x S`` we place boxes of several scales and aspect
ratios centred on the cell. Each anchor is matched to the ground-truth box it overlaps most when
that IoU reaches ``iou_threshold``; in addition every ground-truth box claims its best anchor, so
no object is left without one (the SSD / Faster R-CNN rule). The network then predicts offsets
of the matched box relative to its anchor (``encode_offsets`` / ``decode_offsets``: centre shift
in anchor widths, log of the size ratio).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from ._arrays import back, to_tensor
from .boxes import box_convert, check_boxes
from .iou import pairwise_iou

__all__ = ["decode_offsets", "encode_offsets", "make_anchors", "match_anchors"]


def make_anchors(feature_size: int | tuple[int, int], image_size: int | tuple[int, int],
                 scales: Sequence[float] = (0.2, 0.4), aspect_ratios: Sequence[float] = (1.0, 2.0, 0.5)) -> torch.Tensor:
    """Anchors ``(S_h * S_w * A, 4)`` xyxy in pixels, ``A = len(scales) * len(aspect_ratios)``.

    A scale is a fraction of the image side; an aspect ratio ``r = w / h`` gives
    ``w = s * sqrt(r)`` and ``h = s / sqrt(r)``. Order: row, column, scale, ratio.
    """
    S_h, S_w = (feature_size, feature_size) if isinstance(feature_size, int) else feature_size
    H, W = (image_size, image_size) if isinstance(image_size, int) else image_size
    if any(s <= 0 for s in scales) or any(r <= 0 for r in aspect_ratios):
        raise ValueError(f"scales and aspect ratios must be positive, got {scales} and {aspect_ratios}")
    shapes = torch.tensor([[s * W * math.sqrt(r), s * H / math.sqrt(r)] for s in scales for r in aspect_ratios])
    cy = (torch.arange(S_h) + 0.5) * H / S_h
    cx = (torch.arange(S_w) + 0.5) * W / S_w
    centres = torch.stack(torch.meshgrid(cy, cx, indexing="ij")[::-1], dim=-1).reshape(-1, 1, 2)
    cxcywh = torch.cat([centres.expand(-1, len(shapes), 2), shapes[None].expand(centres.shape[0], -1, 2)], dim=-1)
    return box_convert(cxcywh.reshape(-1, 4), "cxcywh", "xyxy")


def match_anchors(anchors: Any, gt_boxes: Any, iou_threshold: float = 0.5) -> Any:
    """Index of the ground-truth box each anchor is responsible for, or -1 for background.

    An anchor takes the ground truth it overlaps most if that IoU is >= ``iou_threshold``;
    then each ground-truth box forces its own best anchor (ties: lowest anchor index) to it.
    """
    a, was_numpy = to_tensor(anchors, "anchors")
    g, _ = to_tensor(gt_boxes, "gt_boxes")
    if g.numel() == 0:
        return back(torch.full((a.shape[0],), -1, dtype=torch.long), was_numpy)
    iou = pairwise_iou(a, g.to(a.dtype))
    best_iou, best_gt = iou.max(dim=1)
    match = torch.where(best_iou >= iou_threshold, best_gt, torch.full_like(best_gt, -1))
    best_anchor = iou.argmax(dim=0)                     # argmax returns the first maximum
    match[best_anchor] = torch.arange(g.shape[0])
    return back(match, was_numpy)


def encode_offsets(anchors: Any, boxes: Any) -> Any:
    """Regression targets of xyxy ``boxes`` relative to ``anchors`` (same length): ``(dx, dy, log dw, log dh)``."""
    a, was_numpy = to_tensor(anchors, "anchors")
    b, _ = to_tensor(boxes, "boxes")
    check_boxes(a, "xyxy", name="anchors")
    check_boxes(b, "xyxy")
    ac, bc = box_convert(a, "xyxy", "cxcywh"), box_convert(b.to(a.dtype), "xyxy", "cxcywh")
    if bool((ac[:, 2:] <= 0).any()) or bool((bc[:, 2:] <= 0).any()):
        raise ValueError("anchors and boxes need a positive width and height to take the log of their ratio")
    out = torch.cat([(bc[:, :2] - ac[:, :2]) / ac[:, 2:], torch.log(bc[:, 2:] / ac[:, 2:])], dim=1)
    return back(out, was_numpy)


def decode_offsets(anchors: Any, offsets: Any) -> Any:
    """Inverse of :func:`encode_offsets`: boxes (xyxy) from anchors and predicted offsets."""
    a, was_numpy = to_tensor(anchors, "anchors")
    d, _ = to_tensor(offsets, "offsets")
    ac = box_convert(a, "xyxy", "cxcywh")
    d = d.to(a.dtype)
    cxcywh = torch.cat([ac[:, :2] + d[:, :2] * ac[:, 2:], ac[:, 2:] * torch.exp(d[:, 2:])], dim=1)
    return back(box_convert(cxcywh, "cxcywh", "xyxy"), was_numpy)
