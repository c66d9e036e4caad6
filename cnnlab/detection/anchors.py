"""SSD-style anchor (default) boxes and matching them to ground truth.

At every cell of a feature map of size ``S x S`` we place boxes of several scales and aspect
ratios centred on the cell. Each anchor is matched to the ground-truth box it overlaps most when
that IoU reaches ``iou_threshold``; in addition every ground-truth box claims its best anchor, so
no object is left without one (the SSD / Faster R-CNN rule). The network then predicts offsets
of the matched box relative to its anchor: centre shift in anchor widths, log of the size ratio.
``encode_offsets`` / ``decode_offsets`` do this for ONE anchor (the lecture's worked example);
the vectorised version over all anchors is left to the students.
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


def _one_box(x: Any, name: str) -> tuple[torch.Tensor, bool]:
    t, was_numpy = to_tensor(x, name)
    if tuple(t.shape) != (4,):
        raise ValueError(f"{name} must be ONE box (x1, y1, x2, y2), shape (4,), got shape {tuple(t.shape)}: these "
                         f"helpers work on a single anchor (the lecture's worked example)")
    t = t.double() if not t.is_floating_point() else t
    if not bool(t[2] > t[0]) or not bool(t[3] > t[1]):
        raise ValueError(f"{name} needs a positive width and height (x2 > x1, y2 > y1), got {t.tolist()}")
    return t, was_numpy


def encode_offsets(anchor: Any, box: Any) -> Any:
    """The regression target of one xyxy ``box`` relative to one xyxy ``anchor``: ``(t_x, t_y, t_w, t_h)`` with

    t_x = (cx - cx_a) / w_a,  t_y = (cy - cy_a) / h_a,  t_w = log(w / w_a),  t_h = log(h / h_a).

    Args:
        anchor (Tensor[4] or array): the anchor's corners.
        box (Tensor[4] or array): the true box's corners.

    Returns:
        Tensor[4] (numpy when ``anchor`` was numpy): the four offsets, all 0 when the box is the anchor.
    """
    a, was_numpy = _one_box(anchor, "anchor")
    b, _ = _one_box(box, "box")
    ac, bc = box_convert(a[None], "xyxy", "cxcywh")[0], box_convert(b[None].to(a.dtype), "xyxy", "cxcywh")[0]
    out = torch.cat([(bc[:2] - ac[:2]) / ac[2:], torch.log(bc[2:] / ac[2:])])
    return back(out, was_numpy)


def decode_offsets(anchor: Any, offsets: Any) -> Any:
    """Inverse of :func:`encode_offsets` for one anchor: the xyxy box given by ``offsets`` (Tensor[4])."""
    a, was_numpy = _one_box(anchor, "anchor")
    d, _ = to_tensor(offsets, "offsets")
    if tuple(d.shape) != (4,):
        raise ValueError(f"offsets must be the four numbers (t_x, t_y, t_w, t_h) of one anchor, got shape "
                         f"{tuple(d.shape)}")
    ac, d = box_convert(a[None], "xyxy", "cxcywh")[0], d.to(a.dtype)
    cxcywh = torch.cat([ac[:2] + d[:2] * ac[2:], ac[2:] * torch.exp(d[2:])])
    return back(box_convert(cxcywh[None], "cxcywh", "xyxy")[0], was_numpy)
