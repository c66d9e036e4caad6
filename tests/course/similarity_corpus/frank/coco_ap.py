def area(p):
    return (p[2] - p[0]) * (p[3] - p[1])


def inter_area(p, q):
    return max(0.0, min(p[2], q[2]) - max(p[0], q[0])) * max(0.0, min(p[3], q[3]) - max(p[1], q[1]))


def coco_ap(boxes, scores, gt_boxes, gt_crowd):
    # ten thresholds, greedy matching, 101-point precision
    dets, gts, crowd = boxes.tolist(), gt_boxes.tolist(), gt_crowd.tolist()
    real = sum(1 for c in crowd if not c)
    ranked = sorted(range(len(dets)), key=lambda d: -float(scores[d]))
    result = 0.0
    for step in range(10):
        thr = (50 + 5 * step) / 100
        taken = set()
        hits = []
        for d in ranked:
            best, best_iou = None, thr
            for g, box in enumerate(gts):
                if crowd[g] or g in taken:
                    continue
                i = inter_area(dets[d], box)
                iou = i / (area(dets[d]) + area(box) - i)
                if iou >= best_iou and (best is None or iou > best_iou):
                    best, best_iou = g, iou
            if best is not None:
                taken.add(best)
                hits.append(True)
            elif any(crowd[g] and inter_area(dets[d], box) / area(dets[d]) >= thr for g, box in enumerate(gts)):
                pass
            else:
                hits.append(False)
        prec, rec, found = [], [], 0
        for n, hit in enumerate(hits, start=1):
            found += hit
            prec.append(found / n)
            rec.append(found / real)
        samples = []
        for k in range(101):
            level = k / 100
            reachable = [p for p, r in zip(prec, rec) if r >= level]
            samples.append(max(reachable) if reachable else 0.0)
        result += sum(samples) / 101
    return result / 10
