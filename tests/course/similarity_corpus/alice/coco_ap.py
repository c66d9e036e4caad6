def coco_ap(boxes, scores, gt_boxes, gt_crowd):
    """COCO-style AP over IoU thresholds 0.50:0.05:0.95, with crowd regions."""

    lo = torch.maximum(boxes[:, None, :2], gt_boxes[None, :, :2])
    hi = torch.minimum(boxes[:, None, 2:], gt_boxes[None, :, 2:])
    inter = (hi - lo).clamp(min=0).prod(dim=-1)
    area_d = (boxes[:, 2:] - boxes[:, :2]).prod(dim=-1)
    area_g = (gt_boxes[:, 2:] - gt_boxes[:, :2]).prod(dim=-1)
    iou = inter / (area_d[:, None] + area_g[None, :] - inter)
    inside = inter / area_d[:, None]
    order = torch.argsort(scores, descending=True, stable=True).tolist()
    crowd = gt_crowd.bool()
    num_gt = int((~crowd).sum())
    levels = torch.arange(101, dtype=torch.float64) / 100
    total = 0.0
    for k in range(10):
        t = (50 + 5 * k) / 100
        free = ~crowd.clone()
        flags = []
        for d in order:
            candidates = torch.where(free & (iou[d] >= t), iou[d], torch.full_like(iou[d], -1.0))
            g = int(torch.argmax(candidates))
            if candidates[g] >= 0:
                free[g] = False
                flags.append(1.0)
            elif bool((crowd & (inside[d] >= t)).any()):
                continue
            else:
                flags.append(0.0)
        if not flags:
            continue
        tp = torch.tensor(flags, dtype=torch.float64).cumsum(0)
        precision = tp / torch.arange(1, len(flags) + 1, dtype=torch.float64)
        recall = tp / num_gt
        reached = recall[None, :] >= levels[:, None]
        best = torch.where(reached, precision[None, :], torch.zeros(1, dtype=torch.float64)).amax(dim=1)
        total += float(best.mean())
    return total / 10
