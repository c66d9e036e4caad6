"""Reference (instructor only): assignment 3's four detection functions, written by definition.

Plain loops over boxes, anchors and ranked detections, independent of ``cnnlab.detection``
(which students have: plain IoU, greedy NMS, one set of anchor offsets, VOC/COCO AP without
crowd regions). Each function here computes something that package does not: the generalised
IoU, Gaussian soft-NMS, anchor decoding for a batch with box-coder weights and clipping, and
COCO-style AP over ten IoU thresholds with crowd regions. Float tensors in, the same dtype and
device out.
"""
from __future__ import annotations

import math

import torch

__all__ = ["box_giou", "coco_ap", "decode_anchors", "soft_nms"]

IOU_THRESHOLDS = tuple((50 + 5 * k) / 100 for k in range(10))  # 0.50, 0.55, ..., 0.95
RECALL_LEVELS = tuple(k / 100 for k in range(101))           # 0.00, 0.01, ..., 1.00


def _area(b: list[float]) -> float:
    return (b[2] - b[0]) * (b[3] - b[1])


def _inter(a: list[float], b: list[float]) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    return max(iw, 0.0) * max(ih, 0.0)


def _iou_one(a: list[float], b: list[float]) -> float:
    inter = _inter(a, b)
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def _giou_one(a: list[float], b: list[float]) -> float:
    inter = _inter(a, b)
    union = _area(a) + _area(b) - inter
    hull = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return inter / union - (hull - union) / hull


def box_giou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, M) generalised IoU of xyxy boxes, one pair at a time: IoU - (hull - union) / hull."""
    rows_a, rows_b = a.tolist(), b.tolist()
    values = [[_giou_one(p, q) for q in rows_b] for p in rows_a]
    return torch.tensor(values, dtype=a.dtype, device=a.device).reshape(len(rows_a), len(rows_b))


def soft_nms(boxes: torch.Tensor, scores: torch.Tensor, sigma: float = 0.5, score_threshold: float = 0.001):
    """Gaussian soft-NMS: pick the best remaining box, multiply every other remaining score by
    exp(-IoU^2 / sigma), drop those that fall below the threshold; repeat.

    Returns (indices in the order picked, their scores when picked). Equal scores: lower index first.
    """
    rows = boxes.tolist()
    current = {i: s for i, s in enumerate(scores.tolist()) if s >= score_threshold}
    kept, kept_scores = [], []
    while current:
        best = min(current, key=lambda i: (-current[i], i))
        kept.append(best)
        kept_scores.append(current.pop(best))
        for j in list(current):
            current[j] *= math.exp(-_iou_one(rows[best], rows[j]) ** 2 / sigma)
            if current[j] < score_threshold:
                del current[j]
    return (torch.tensor(kept, dtype=torch.long, device=boxes.device),
            torch.tensor(kept_scores, dtype=scores.dtype, device=scores.device))


def decode_anchors(offsets: torch.Tensor, anchors: torch.Tensor, weights=(1.0, 1.0, 1.0, 1.0), image_size=None):
    """(B, A, 4) xyxy boxes from offsets (B, A, 4) = (tx, ty, tw, th) relative to anchors (A, 4) xyxy.

    With the weights (wx, wy, ww, wh): cx = acx + tx / wx * aw, cy = acy + ty / wy * ah,
    w = aw * exp(tw / ww), h = ah * exp(th / wh); then clipped to [0, W] x [0, H] when
    ``image_size = (H, W)`` is given.
    """
    wx, wy, ww, wh = (float(v) for v in weights)
    out = []
    for image in offsets.tolist():
        boxes = []
        for (tx, ty, tw, th), (x1, y1, x2, y2) in zip(image, anchors.tolist()):
            aw, ah = x2 - x1, y2 - y1
            cx, cy = x1 + aw / 2 + tx / wx * aw, y1 + ah / 2 + ty / wy * ah
            w, h = aw * math.exp(tw / ww), ah * math.exp(th / wh)
            box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
            if image_size is not None:
                height, width = image_size
                box = [min(max(box[0], 0.0), width), min(max(box[1], 0.0), height),
                       min(max(box[2], 0.0), width), min(max(box[3], 0.0), height)]
            boxes.append(box)
        out.append(boxes)
    return torch.tensor(out, dtype=offsets.dtype, device=offsets.device).reshape(offsets.shape)


def _ap_at(rows: list[list[float]], order: list[int], gts: list[list[float]], crowd: list[bool], t: float) -> float:
    """AP at one IoU threshold: greedy matching by score, crowd regions absorb detections, 101 recall levels."""
    claimed = [False] * len(gts)
    flags = []  # True / False for the detections that count, in rank order
    for d in order:
        best, best_iou = -1, -1.0
        for g, box in enumerate(gts):
            if crowd[g] or claimed[g]:
                continue
            iou = _iou_one(rows[d], box)
            if iou >= t and iou > best_iou:  # the first of equal IoUs wins
                best, best_iou = g, iou
        if best >= 0:
            claimed[best] = True
            flags.append(True)
            continue
        inside = [_inter(rows[d], box) / _area(rows[d]) for g, box in enumerate(gts) if crowd[g]]
        if any(v >= t for v in inside):
            continue  # matched a crowd region: ignored, neither true nor false positive
        flags.append(False)
    num_gt = sum(not c for c in crowd)
    precision, recall, tp = [], [], 0
    for k, flag in enumerate(flags):
        tp += flag
        precision.append(tp / (k + 1))
        recall.append(tp / num_gt)
    total = 0.0
    for level in RECALL_LEVELS:
        reached = [p for p, r in zip(precision, recall) if r >= level]
        total += max(reached) if reached else 0.0
    return total / len(RECALL_LEVELS)


def coco_ap(boxes: torch.Tensor, scores: torch.Tensor, gt_boxes: torch.Tensor, gt_crowd: torch.Tensor) -> float:
    """COCO-style AP of one class in one image, averaged over IoU thresholds 0.50:0.05:0.95.

    Detections by decreasing score (ties: input order) claim the unclaimed non-crowd ground
    truth with the highest IoU >= t; one that claims none but lies inside a crowd region
    (intersection / its own area >= t) is ignored; the rest are false positives. Precision is
    sampled at recall levels k / 100 (the best precision at recall >= that level, 0 if none).
    """
    rows, gts = boxes.tolist(), gt_boxes.tolist()
    crowd = [bool(c) for c in gt_crowd.tolist()]
    values = scores.tolist()
    order = sorted(range(len(values)), key=lambda i: (-values[i], i))
    return float(sum(_ap_at(rows, order, gts, crowd, t) for t in IOU_THRESHOLDS) / len(IOU_THRESHOLDS))
