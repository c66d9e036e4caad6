# written late at night, sorry for the style
def coco_ap(boxes, scores, gt_boxes, gt_crowd):
    """AP, COCO style, over IoU thresholds 0.50:0.05:0.95, with crowd regions."""
    iou, frac = _overlaps(boxes, gt_boxes)
    crowd = gt_crowd.bool()
    iou[:, crowd] = -1.0
    order = torch.sort(scores, descending=True, stable=True).indices
    per_t = []
    for t in [(50 + 5 * k) / 100 for k in range(10)]:
        unused = torch.ones(len(gt_boxes), dtype=torch.bool)
        flags = []
        for d in order.tolist():
            cand = torch.where(unused, iou[d], torch.full_like(iou[d], -1.0))
            best = int(cand.argmax())
            if cand[best] >= t:
                unused[best] = False
                flags.append(1.0)
            elif crowd.any() and bool((frac[d][crowd] >= t).any()):
                continue
            else:
                flags.append(0.0)
        per_t.append(_ap(flags, int((~crowd).sum())))
    return sum(per_t) / len(per_t)


def _overlaps(d, g):
    lo = torch.max(d[:, None, :2], g[None, :, :2])
    hi = torch.min(d[:, None, 2:], g[None, :, 2:])
    inter = (hi - lo).clamp_min(0).prod(-1)
    da = (d[:, 2] - d[:, 0]) * (d[:, 3] - d[:, 1])
    ga = (g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1])
    return inter / (da[:, None] + ga[None] - inter), inter / da[:, None]


def _ap(marks, npos):
    if len(marks) == 0:
        return 0.0
    flags = torch.tensor(marks, dtype=torch.float64)
    tp = torch.cumsum(flags, 0)
    precision = tp / torch.arange(1, len(marks) + 1)
    recall = tp / npos
    env = torch.flip(torch.cummax(torch.flip(precision, [0]), 0).values, [0])
    total = 0.0
    for k in range(101):
        idx = torch.nonzero(recall >= k / 100)
        total += float(env[idx[0, 0]]) if len(idx) else 0.0
    return total / 101
