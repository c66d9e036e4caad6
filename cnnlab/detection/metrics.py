"""Precision/recall, average precision (AP) and mean average precision (mAP) for detectors.

Two standard definitions are implemented, chosen with ``method``:

``"voc"`` (PASCAL VOC 2010+)
    IoU threshold 0.5; detections of a class are ranked by score over the whole data set;
    each one is compared with the ground-truth box it overlaps most: a true positive when that
    IoU is > 0.5 and the box was not claimed yet, otherwise a false positive (a duplicate).
    AP is the area under the precision envelope, interpolated at *every* recall point.

``"coco"`` (MS COCO, as in pycocotools with area range "all")
    IoU thresholds 0.50, 0.55, ..., 0.95; at most ``max_detections=100`` per image and class;
    each detection claims the still unclaimed ground truth with the highest IoU >= threshold.
    AP is the mean of the precision envelope sampled at 101 recall levels 0, 0.01, ..., 1;
    mAP averages over classes and thresholds ("AP@[.5:.95]").

Predictions and targets are lists with one dict per image (tensors or numpy arrays)::

    predictions[i] = {"boxes": (N, 4) xyxy, "scores": (N,), "labels": (N,)}
    targets[i]     = {"boxes": (M, 4) xyxy, "labels": (M,)}

Classes without any ground-truth box have no AP (NaN) and are left out of the mean;
the mAP is NaN when no class has ground truth.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from .boxes import check_boxes
from .iou import pairwise_iou

METHODS = ("voc", "coco", "voc11")
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)    # bit-for-bit the thresholds pycocotools uses
COCO_RECALL_LEVELS = np.linspace(0.0, 1.0, 101)

__all__ = ["COCO_IOU_THRESHOLDS", "METHODS", "ap_from_curve", "evaluate_detections",
           "match_detections", "mean_average_precision", "precision_recall_curve"]


def _np(x: Any, name: str, dtype=np.float64) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(x).__name__}") from exc


def _boxes(x: Any, name: str) -> np.ndarray:
    arr = _np(x, name)
    if arr.size == 0:
        arr = arr.reshape(0, 4)
    check_boxes(torch.from_numpy(arr), "xyxy", name=name)
    return arr


def match_detections(boxes: Any, scores: Any, gt_boxes: Any, iou_threshold: float = 0.5,
                     rule: str = "coco") -> np.ndarray:
    """Mark each detection of one image and one class as true (True) or false (False) positive.

    Detections are visited by decreasing score (ties: input order). ``rule="coco"``: a
    detection claims the unclaimed ground-truth box with the highest IoU >= threshold.
    ``rule="voc"``: it looks at the ground-truth box with the highest IoU overall and is a
    true positive only if that IoU is > threshold and the box is still unclaimed.
    Returns a boolean array in the input order.
    """
    b, g = _boxes(boxes, "boxes"), _boxes(gt_boxes, "gt_boxes")
    s = _np(scores, "scores").reshape(-1)
    if s.shape[0] != b.shape[0]:
        raise ValueError(f"scores has {s.shape[0]} entries for {b.shape[0]} boxes; expected one score per box")
    if rule not in ("coco", "voc"):
        raise ValueError(f"rule={rule!r}; expected 'coco' or 'voc'")
    if b.shape[0] == 0 or g.shape[0] == 0:
        return np.zeros(b.shape[0], dtype=bool)
    return _match(pairwise_iou(b, g), s, iou_threshold, rule)


def _match(iou: np.ndarray, s: np.ndarray, iou_threshold: float, rule: str) -> np.ndarray:
    tp = np.zeros(iou.shape[0], dtype=bool)
    if iou.shape[0] == 0 or iou.shape[1] == 0:
        return tp
    claimed = np.zeros(iou.shape[1], dtype=bool)
    thr = min(iou_threshold, 1 - 1e-10)
    for d in np.argsort(-s, kind="stable"):
        if rule == "voc":
            j = int(np.argmax(iou[d]))
            if iou[d, j] > iou_threshold and not claimed[j]:
                claimed[j] = tp[d] = True
            continue
        free = np.where(claimed, -1.0, iou[d])
        best = free.max()
        if best >= thr:                     # pycocotools' loop: the last of equal IoUs wins
            j = len(free) - 1 - int(np.argmax(free[::-1] == best))
            claimed[j] = tp[d] = True
    return tp


def precision_recall_curve(scores: Any, is_tp: Any, num_gt: int) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall after each detection, ranked by decreasing score (ties: input order).

    ``is_tp[k]`` says whether detection ``k`` is a true positive; ``num_gt`` is the number
    of ground-truth objects (must be positive: recall is undefined without them).
    """
    s = _np(scores, "scores").reshape(-1)
    tp = _np(is_tp, "is_tp", dtype=bool).reshape(-1)
    if s.shape != tp.shape:
        raise ValueError(f"scores has {s.shape[0]} entries but is_tp has {tp.shape[0]}; expected one flag per score")
    if num_gt <= 0:
        raise ValueError(f"num_gt={num_gt}: recall needs at least one ground-truth object")
    order = np.argsort(-s, kind="stable")
    ctp = np.cumsum(tp[order]).astype(np.float64)
    cfp = np.cumsum(~tp[order]).astype(np.float64)
    return ctp / (ctp + cfp), ctp / num_gt


def ap_from_curve(precision: Any, recall: Any, method: str = "voc") -> float:
    """Area under a precision/recall curve given point by point along the ranked detections.

    ``method="voc"``: all-point interpolation (VOC 2010+); ``"coco"``: 101 recall levels;
    ``"voc11"``: the old 11-point VOC 2007 rule. Precision is first replaced by its
    envelope (the best precision at any recall at least as high). No detections: AP = 0.
    """
    p = _np(precision, "precision").reshape(-1)
    r = _np(recall, "recall").reshape(-1)
    if p.shape != r.shape:
        raise ValueError(f"precision has {p.size} points and recall {r.size}; expected the same number")
    if method not in METHODS:
        raise ValueError(f"method={method!r}; expected one of {METHODS}")
    if np.any(np.diff(r) < 0):
        raise ValueError("recall must be non-decreasing along the ranked detections")
    if p.size == 0:
        return 0.0
    if method == "voc":
        mrec = np.concatenate([[0.0], r, [1.0]])
        mpre = np.concatenate([[0.0], p, [0.0]])
        mpre = np.maximum.accumulate(mpre[::-1])[::-1]
        step = np.nonzero(mrec[1:] != mrec[:-1])[0]
        return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))
    envelope = np.maximum.accumulate(p[::-1])[::-1]
    if method == "voc11":
        return float(np.mean([envelope[r >= t].max() if np.any(r >= t) else 0.0
                              for t in np.linspace(0, 1, 11)]))
    idx = np.searchsorted(r, COCO_RECALL_LEVELS, side="left")
    sampled = np.where(idx < p.size, envelope[np.minimum(idx, p.size - 1)], 0.0)
    return float(np.mean(sampled))


def _image(pred: dict, target: dict, i: int) -> tuple:
    for key in ("boxes", "scores", "labels"):
        if key not in pred:
            raise ValueError(f"predictions[{i}] has no {key!r}; expected keys 'boxes', 'scores', 'labels'")
    for key in ("boxes", "labels"):
        if key not in target:
            raise ValueError(f"targets[{i}] has no {key!r}; expected keys 'boxes', 'labels'")
    pb, gb = _boxes(pred["boxes"], f"predictions[{i}]['boxes']"), _boxes(target["boxes"], f"targets[{i}]['boxes']")
    ps = _np(pred["scores"], "scores").reshape(-1)
    pl = _np(pred["labels"], "labels", dtype=np.int64).reshape(-1)
    gl = _np(target["labels"], "labels", dtype=np.int64).reshape(-1)
    if not (ps.size == pl.size == pb.shape[0]) or gl.size != gb.shape[0]:
        raise ValueError(f"image {i}: boxes, scores and labels disagree in length "
                         f"(predictions {pb.shape[0]}/{ps.size}/{pl.size}, targets {gb.shape[0]}/{gl.size})")
    return pb, ps, pl, gb, gl


def evaluate_detections(predictions: Sequence[dict], targets: Sequence[dict], method: str = "coco",
                        iou_thresholds: Sequence[float] | None = None,
                        max_detections: int | None = -1) -> dict:
    """Full evaluation: AP per class and IoU threshold, and the means.

    Returns ``{"map", "ap" (T x K array, NaN for classes without ground truth),
    "classes", "iou_thresholds", "per_class" {label: AP averaged over thresholds},
    "map_50" and "map_75" (when those thresholds are evaluated)}``. Defaults follow
    ``method``: VOC uses IoU 0.5 and no cap on detections, COCO 0.50:0.95 and 100 per image.
    """
    if method not in ("voc", "coco"):
        raise ValueError(f"method={method!r}; expected 'voc' or 'coco'")
    if len(predictions) != len(targets):
        raise ValueError(f"{len(predictions)} predictions for {len(targets)} targets; expected one dict per image each")
    if iou_thresholds is None:
        iou_thresholds = COCO_IOU_THRESHOLDS if method == "coco" else np.array([0.5])
    if max_detections == -1:
        max_detections = 100 if method == "coco" else None
    thresholds = np.asarray(iou_thresholds, dtype=np.float64).reshape(-1)
    images = [_image(p, t, i) for i, (p, t) in enumerate(zip(predictions, targets))]
    classes = sorted({int(c) for im in images for c in np.concatenate([im[2], im[4]])})
    ap = np.full((thresholds.size, len(classes)), np.nan)
    for k, c in enumerate(classes):
        per_image = []
        for pb, ps, pl, gb, gl in images:
            sel = np.nonzero(pl == c)[0]
            sel = sel[np.argsort(-ps[sel], kind="stable")][:max_detections]
            gt = gb[gl == c]
            iou = pairwise_iou(pb[sel], gt) if len(sel) and len(gt) else np.zeros((len(sel), len(gt)))
            per_image.append((iou, ps[sel], len(gt)))
        num_gt = sum(n for _, _, n in per_image)
        if num_gt == 0:
            continue
        scores = np.concatenate([s for _, s, _ in per_image])
        for t, thr in enumerate(thresholds):
            tp = np.concatenate([_match(iou, s, thr, method) for iou, s, _ in per_image])
            precision, recall = precision_recall_curve(scores, tp, num_gt)
            ap[t, k] = ap_from_curve(precision, recall, method)
    out = {"ap": ap, "classes": classes, "iou_thresholds": thresholds,
           "map": float(np.nanmean(ap)) if np.isfinite(ap).any() else float("nan"),
           "per_class": {c: float(np.nanmean(ap[:, k])) if np.isfinite(ap[:, k]).any() else float("nan")
                         for k, c in enumerate(classes)}}
    for name, value in (("map_50", 0.5), ("map_75", 0.75)):
        hit = np.nonzero(np.isclose(thresholds, value))[0]
        if hit.size and np.isfinite(ap[hit[0]]).any():
            out[name] = float(np.nanmean(ap[hit[0]]))
    return out


def mean_average_precision(predictions: Sequence[dict], targets: Sequence[dict], method: str = "voc",
                           iou_thresholds: Sequence[float] | None = None,
                           max_detections: int | None = -1) -> float:
    """mAP of a detector over a data set: ``method="voc"`` (mAP@0.5) or ``"coco"`` (mAP@[.5:.95]).

    See :func:`evaluate_detections` for the inputs and the per-class numbers.
    """
    return evaluate_detections(predictions, targets, method, iou_thresholds, max_detections)["map"]
