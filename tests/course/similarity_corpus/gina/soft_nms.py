# written late at night, sorry for the style
def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    """Soft-NMS, Gaussian: (picked indices, their scores when picked)."""
    n = boxes.shape[0]
    x1, y1, x2, y2 = boxes.T
    sizes = (x2 - x1) * (y2 - y1)
    iw = (torch.min(x2[:, None], x2[None]) - torch.max(x1[:, None], x1[None])).clamp_min(0)
    ih = (torch.min(y2[:, None], y2[None]) - torch.max(y1[:, None], y1[None])).clamp_min(0)
    overlap = iw * ih / (sizes[:, None] + sizes[None] - iw * ih)
    factor = torch.exp(-overlap ** 2 / sigma)
    cur = scores.clone()
    cur[cur < score_threshold] = -1.0
    keep, keep_s = [], []
    for _ in range(n):
        k = int(torch.argmax(cur))
        if cur[k] < score_threshold:
            break
        keep.append(k)
        keep_s.append(float(cur[k]))
        cur[k] = -1.0
        live = cur >= 0
        cur = torch.where(live, cur * factor[k], cur)
        cur[live & (cur < score_threshold)] = -1.0
    return (torch.tensor(keep, dtype=torch.long, device=boxes.device),
            torch.tensor(keep_s, dtype=scores.dtype, device=scores.device))
