"""Greedy non-maximum suppression (NMS), class-aware, and a step-by-step record for the widget.

Semantics (the same as ``torchvision.ops.nms`` / ``batched_nms``, with ties made deterministic):

1. order the boxes by score, highest first; equal scores keep their input order
   (a stable sort, so the lower index comes first);
2. keep the first box still in the list and *suppress* every remaining box whose IoU with it
   is strictly greater than ``iou_threshold`` (IoU equal to the threshold survives);
3. repeat until the list is empty.

``batched_nms`` does this independently per label, so boxes of different classes never
suppress each other, and returns the indices of the kept boxes sorted by decreasing score
(give every box the same label for plain, class-agnostic NMS). ``nms_steps`` records the
decisions one kept box at a time. An optional ``score_threshold`` first drops boxes whose
score is below it. Inputs may be tensors or numpy arrays; the indices come back as an int64 tensor, or
as a numpy array when ``boxes`` was numpy.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._arrays import back, to_tensor
from .boxes import check_boxes
from .iou import pairwise_iou

__all__ = ["batched_nms", "nms_steps", "sort_by_score"]


def _check(boxes: Any, scores: Any, iou_threshold: float) -> tuple[torch.Tensor, torch.Tensor, bool]:
    b, was_numpy = to_tensor(boxes, "boxes")
    s, _ = to_tensor(scores, "scores")
    check_boxes(b, "xyxy")
    s = s.to(b.device)
    if s.ndim != 1 or s.shape[0] != b.shape[0]:
        raise ValueError(f"scores has shape {tuple(s.shape)}, expected ({b.shape[0]},): one score per box")
    if s.numel() and not bool(torch.isfinite(s).all()):
        raise ValueError("scores contains NaN or infinite values; every box needs a finite score")
    if not 0.0 <= float(iou_threshold) <= 1.0:
        raise ValueError(f"iou_threshold={iou_threshold} is outside [0, 1]")
    return b, s, was_numpy


def sort_by_score(scores: torch.Tensor) -> torch.Tensor:
    """Indices that order ``scores`` from highest to lowest, ties by lower index first."""
    return torch.sort(scores, descending=True, stable=True).indices


def _greedy(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    order = sort_by_score(scores)
    if order.numel() == 0:
        return order
    iou = pairwise_iou(boxes[order], boxes[order]).cpu()
    over = (iou > iou_threshold).numpy()
    suppressed = np.zeros(over.shape[0], dtype=bool)
    kept = []
    for i in range(over.shape[0]):
        if not suppressed[i]:
            kept.append(i)
            suppressed |= over[i]       # earlier entries are already decided, so this is safe
    return order[torch.as_tensor(kept, dtype=torch.long, device=order.device)]


def _score_filter(scores: torch.Tensor, score_threshold: float | None) -> torch.Tensor:
    if score_threshold is None:
        return torch.arange(scores.shape[0], device=scores.device)
    return (scores >= score_threshold).nonzero().flatten()


def batched_nms(boxes: Any, scores: Any, labels: Any, iou_threshold: float,
                score_threshold: float | None = None) -> Any:
    """Class-aware NMS: suppression only among boxes with the same label; kept indices by decreasing score."""
    b, s, was_numpy = _check(boxes, scores, iou_threshold)
    lab = to_tensor(labels, "labels", dtype=torch.long)[0].to(b.device)
    if lab.ndim != 1 or lab.shape[0] != b.shape[0]:
        raise ValueError(f"labels has shape {tuple(lab.shape)}, expected ({b.shape[0]},): one label per box")
    candidates = _score_filter(s, score_threshold)
    kept = []
    for value in torch.unique(lab[candidates]):
        idx = candidates[lab[candidates] == value]
        kept.append(idx[_greedy(b[idx], s[idx], iou_threshold)])
    if not kept:
        return back(torch.empty(0, dtype=torch.long, device=b.device), was_numpy)
    keep = torch.sort(torch.cat(kept)).values           # ascending index, so ties below stay stable
    keep = keep[sort_by_score(s[keep])]
    return back(keep, was_numpy)


def nms_steps(boxes: Any, scores: Any, iou_threshold: float) -> list[dict]:
    """Record greedy NMS one decision at a time (used by the NMS stepper widget).

    Returns one dict per kept box, in order: ``{"kept": i, "suppressed": [j, ...],
    "ious": [IoU(i, j), ...]}`` with indices into the input.
    """
    b, s, _ = _check(boxes, scores, iou_threshold)
    order = sort_by_score(s).tolist()
    iou = pairwise_iou(b, b).cpu()
    alive = list(order)
    steps = []
    while alive:
        i = alive.pop(0)
        gone = [j for j in alive if float(iou[i, j]) > iou_threshold]
        steps.append({"kept": i, "suppressed": gone, "ious": [float(iou[i, j]) for j in gone]})
        alive = [j for j in alive if j not in gone]
    return steps
