def _pairwise(d, g):
    lo = torch.max(d[:, None, :2], g[None, :, :2])
    hi = torch.min(d[:, None, 2:], g[None, :, 2:])
    inter = (hi - lo).clamp_min(0).prod(-1)
    da = (d[:, 2] - d[:, 0]) * (d[:, 3] - d[:, 1])
    ga = (g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1])
    return inter / (da[:, None] + ga[None] - inter), inter / da[:, None]


def _ap_101(tp_flags, n_pos):
    if len(tp_flags) == 0:
        return 0.0
    flags = torch.tensor(tp_flags, dtype=torch.float64)
    tp = torch.cumsum(flags, 0)
    precision = tp / torch.arange(1, len(tp_flags) + 1)
    recall = tp / n_pos
    envelope = torch.flip(torch.cummax(torch.flip(precision, [0]), 0).values, [0])
    total = 0.0
    for k in range(101):
        idx = torch.nonzero(recall >= k / 100)
        total += float(envelope[idx[0, 0]]) if len(idx) else 0.0
    return total / 101


def coco_ap(boxes, scores, gt_boxes, gt_crowd):
    """COCO-style AP over IoU thresholds 0.50:0.05:0.95, with crowd regions."""
    iou, covered = _pairwise(boxes, gt_boxes)
    crowd = gt_crowd.bool()
    iou[:, crowd] = -1.0
    ranking = torch.sort(scores, descending=True, stable=True).indices
    aps = []
    for t in [(50 + 5 * k) / 100 for k in range(10)]:
        open_gt = torch.ones(len(gt_boxes), dtype=torch.bool)
        flags = []
        for d in ranking.tolist():
            masked = torch.where(open_gt, iou[d], torch.full_like(iou[d], -1.0))
            best = int(masked.argmax())
            if masked[best] >= t:
                open_gt[best] = False
                flags.append(1.0)
            elif crowd.any() and bool((covered[d][crowd] >= t).any()):
                continue
            else:
                flags.append(0.0)
        aps.append(_ap_101(flags, int((~crowd).sum())))
    return sum(aps) / len(aps)
