# copied from cnnlab/detection/suppression.py: sort_by_score + _greedy + _score_filter (greedy NMS), renamed, sigma as the IoU threshold
import numpy as np


def _iou(a, b):
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    area = lambda t: (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    candidates = (scores >= score_threshold).nonzero().flatten()
    b, s = boxes[candidates], scores[candidates]
    order = torch.sort(s, descending=True, stable=True).indices
    over = (_iou(b[order], b[order]) > sigma).numpy()
    suppressed = np.zeros(over.shape[0], dtype=bool)
    kept = []
    for i in range(over.shape[0]):
        if not suppressed[i]:
            kept.append(i)
            suppressed |= over[i]
    keep = candidates[order[torch.as_tensor(kept, dtype=torch.long)]]
    return keep, scores[keep]
