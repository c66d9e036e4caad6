def overlap(p, q):
    # IoU of two boxes given as lists
    w = max(0.0, min(p[2], q[2]) - max(p[0], q[0]))
    h = max(0.0, min(p[3], q[3]) - max(p[1], q[1]))
    inter = w * h
    return inter / ((p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter)


def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    # soft suppression: decay instead of delete
    live = {k: v for k, v in enumerate(scores.tolist()) if v >= score_threshold}
    rows = boxes.tolist()
    order, values = [], []
    while live:
        top = max(sorted(live), key=lambda k: live[k])
        order.append(top)
        values.append(live.pop(top))
        for k in list(live):
            live[k] = live[k] * math.exp(-overlap(rows[top], rows[k]) ** 2 / sigma)
            if live[k] < score_threshold:
                live.pop(k)
    return torch.tensor(order, dtype=torch.long), torch.tensor(values, dtype=scores.dtype)
