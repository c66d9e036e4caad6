def coco_ap(boxes, scores, gt_boxes, gt_crowd):
    """COCO-style AP over IoU thresholds 0.50:0.05:0.95, with is_crowd regions."""
    # my own version, written for the assignment

    tl = torch.maximum(boxes[:, None, :2], gt_boxes[None, :, :2])
    br = torch.minimum(boxes[:, None, 2:], gt_boxes[None, :, 2:])
    common = (br - tl).clamp(min=0).prod(dim=-1)
    det_area = (boxes[:, 2:] - boxes[:, :2]).prod(dim=-1)
    gt_area = (gt_boxes[:, 2:] - gt_boxes[:, :2]).prod(dim=-1)
    ious = common / (det_area[:, None] + gt_area[None, :] - common)
    covered = common / det_area[:, None]
    ranking = torch.argsort(scores, descending=True, stable=True).tolist()
    is_crowd = gt_crowd.bool()
    positives = int((~is_crowd).sum())
    recall_levels = torch.arange(101, dtype=torch.float64) / 100
    acc = 0.0
    for k in range(10):
        t = (50 + 5 * k) / 100
        available = ~is_crowd.clone()
        marks = []
        for d in ranking:
            options = torch.where(available & (ious[d] >= t), ious[d], torch.full_like(ious[d], -1.0))
            g = int(torch.argmax(options))
            if options[g] >= 0:
                available[g] = False
                marks.append(1.0)
            elif bool((is_crowd & (covered[d] >= t)).any()):
                continue
            else:
                marks.append(0.0)
        if not marks:
            continue
        hits = torch.tensor(marks, dtype=torch.float64).cumsum(0)
        prec = hits / torch.arange(1, len(marks) + 1, dtype=torch.float64)
        rec = hits / positives
        ok = rec[None, :] >= recall_levels[:, None]
        top = torch.where(ok, prec[None, :], torch.zeros(1, dtype=torch.float64)).amax(dim=1)
        acc += float(top.mean())
    return acc / 10
