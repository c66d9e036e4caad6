# copied from cnnlab/detection/metrics.py: _match (COCO rule) + precision_recall_curve + ap_from_curve("coco") averaged over
# COCO_IOU_THRESHOLDS, as evaluate_detections(method="coco") does for one class and one image; renamed
import numpy as np

COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
COCO_RECALL_LEVELS = np.linspace(0.0, 1.0, 101)


def _match(iou, s, iou_threshold):
    tp = np.zeros(iou.shape[0], dtype=bool)
    if iou.shape[0] == 0 or iou.shape[1] == 0:
        return tp
    claimed = np.zeros(iou.shape[1], dtype=bool)
    thr = min(iou_threshold, 1 - 1e-10)
    for d in np.argsort(-s, kind="stable"):
        free = np.where(claimed, -1.0, iou[d])
        best = free.max()
        if best >= thr:
            j = len(free) - 1 - int(np.argmax(free[::-1] == best))
            claimed[j] = tp[d] = True
    return tp


def _ap(precision, recall):
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, COCO_RECALL_LEVELS, side="left")
    sampled = np.where(idx < precision.size, envelope[np.minimum(idx, precision.size - 1)], 0.0)
    return float(np.mean(sampled))


def coco_ap(boxes, scores, gt_boxes, gt_crowd):
    b, g, s = boxes.numpy(), gt_boxes.numpy(), scores.numpy()
    lt = np.maximum(b[:, None, :2], g[None, :, :2])
    rb = np.minimum(b[:, None, 2:], g[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])
    iou = inter / (area(b)[:, None] + area(g)[None, :] - inter)
    order = np.argsort(-s, kind="stable")
    aps = []
    for thr in COCO_IOU_THRESHOLDS:
        tp = _match(iou, s, thr)[order]
        ctp, cfp = np.cumsum(tp).astype(float), np.cumsum(~tp).astype(float)
        aps.append(_ap(ctp / (ctp + cfp), ctp / len(g)))
    return float(np.mean(aps))
