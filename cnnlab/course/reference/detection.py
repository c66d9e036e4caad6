"""Reference (instructor only): assignment 3's four detection functions, written by definition.

Plain loops over boxes, cells and ranked detections, independent of ``cnnlab.detection``
(whose vectorised helpers, under other names and APIs, are what students have). Inputs and
outputs follow the assignment: float tensors in, the same dtype and device out.
"""
from __future__ import annotations

import torch

__all__ = ["average_precision", "box_iou", "decode_grid", "nms"]


def _iou_one(a: list[float], b: list[float]) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(iw, 0.0) * max(ih, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, M) IoU matrix of xyxy boxes, one pair at a time."""
    rows_a, rows_b = a.tolist(), b.tolist()
    values = [[_iou_one(p, q) for q in rows_b] for p in rows_a]
    return torch.tensor(values, dtype=a.dtype, device=a.device).reshape(len(rows_a), len(rows_b))


def _ranked(scores: torch.Tensor) -> list[int]:
    """Indices by decreasing score; equal scores keep their input order."""
    values = scores.tolist()
    return sorted(range(len(values)), key=lambda i: (-values[i], i))


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy NMS by definition: keep the best remaining box, drop those overlapping it by more than the threshold."""
    rows = boxes.tolist()
    waiting = _ranked(scores)
    kept = []
    while waiting:
        best = waiting.pop(0)
        kept.append(best)
        waiting = [j for j in waiting if _iou_one(rows[best], rows[j]) <= iou_threshold]
    return torch.tensor(kept, dtype=torch.long, device=boxes.device)


def decode_grid(grid: torch.Tensor, image_size: int, score_threshold: float = 0.0):
    """(boxes, scores, labels) of the cells scoring strictly above the threshold, by decreasing score."""
    s_h, s_w = grid.shape[:2]
    cells = grid.tolist()
    found = []  # (score, cell order, box, label)
    for r in range(s_h):
        for c in range(s_w):
            obj, tx, ty, tw, th, *probs = cells[r][c]
            label = max(range(len(probs)), key=lambda k: (probs[k], -k))  # first maximum
            score = obj * probs[label]
            if score > score_threshold:
                cx, cy = (c + tx) / s_w * image_size, (r + ty) / s_h * image_size
                w, h = tw ** 2 * image_size, th ** 2 * image_size
                found.append((score, r * s_w + c, [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], label))
    found.sort(key=lambda item: (-item[0], item[1]))
    boxes = torch.tensor([f[2] for f in found], dtype=grid.dtype, device=grid.device).reshape(-1, 4)
    scores = torch.tensor([f[0] for f in found], dtype=grid.dtype, device=grid.device)
    labels = torch.tensor([f[3] for f in found], dtype=torch.long, device=grid.device)
    return boxes, scores, labels


def average_precision(scores: torch.Tensor, is_tp: torch.Tensor, num_gt: int) -> float:
    """VOC all-point AP: rank, precision/recall after each detection, precision envelope, sum over recall steps."""
    flags = [bool(t) for t in is_tp.tolist()]
    tp = fp = 0
    precision, recall = [], []
    for i in _ranked(scores):
        tp, fp = tp + flags[i], fp + (not flags[i])
        precision.append(tp / (tp + fp))
        recall.append(tp / num_gt)
    area, previous_recall = 0.0, 0.0
    for k, r in enumerate(recall):
        best_later = max(precision[k:])  # the envelope: best precision at this recall or beyond
        area += (r - previous_recall) * best_later
        previous_recall = r
    return float(area)
