"""Intersection over Union (IoU), the overlap measure used to compare boxes.

``IoU(A, B) = area(A ∩ B) / area(A ∪ B)``: 1 for identical boxes, 0 for disjoint ones.
Conventions (documented because libraries differ): a pair whose union has zero area
(two zero-area boxes) has IoU 0, not NaN; an empty input gives an ``N x 0`` or
``0 x M`` matrix.
"""
from __future__ import annotations

from typing import Any

import torch

from ._arrays import back, to_tensor
from .boxes import check_boxes

__all__ = ["box_intersection", "pairwise_iou"]


def _pair(a: Any, b: Any) -> tuple[torch.Tensor, torch.Tensor, bool]:
    ta, na = to_tensor(a, "boxes a")
    tb, _ = to_tensor(b, "boxes b")
    check_boxes(ta, "xyxy", name="boxes a")
    check_boxes(tb, "xyxy", name="boxes b")
    dtype = torch.promote_types(ta.dtype, tb.dtype)
    return ta.to(dtype), tb.to(device=ta.device, dtype=dtype), na


def _inter_union(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return inter, union


def box_intersection(a: Any, b: Any) -> Any:
    """Pairwise intersection areas of xyxy boxes: ``(N, 4)`` and ``(M, 4)`` give ``(N, M)``."""
    ta, tb, was_numpy = _pair(a, b)
    return back(_inter_union(ta, tb)[0], was_numpy)


def pairwise_iou(a: Any, b: Any) -> Any:
    """Pairwise IoU of xyxy boxes: ``(N, 4)`` and ``(M, 4)`` give an ``(N, M)`` matrix.

    Vectorised (no Python loop). Zero-area boxes have IoU 0 with everything.
    Returns numpy when ``a`` is numpy, a tensor when ``a`` is a tensor.
    """
    ta, tb, was_numpy = _pair(a, b)
    inter, union = _inter_union(ta, tb)
    iou = torch.where(union > 0, inter / union.clamp(min=torch.finfo(union.dtype).tiny), torch.zeros_like(union))
    return back(iou, was_numpy)
