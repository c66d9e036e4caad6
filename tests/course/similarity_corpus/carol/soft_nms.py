def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    """Gaussian soft-NMS: (picked indices, their scores when picked)."""
    n = boxes.shape[0]
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    iw = (torch.min(x2[:, None], x2[None]) - torch.max(x1[:, None], x1[None])).clamp_min(0)
    ih = (torch.min(y2[:, None], y2[None]) - torch.max(y1[:, None], y1[None])).clamp_min(0)
    ious = iw * ih / (areas[:, None] + areas[None] - iw * ih)
    decay = torch.exp(-ious ** 2 / sigma)
    s = scores.clone()
    s[s < score_threshold] = -1.0
    result_idx, result_score = [], []
    for _ in range(n):
        k = int(torch.argmax(s))
        if s[k] < score_threshold:
            break
        result_idx.append(k)
        result_score.append(float(s[k]))
        s[k] = -1.0
        alive = s >= 0
        s = torch.where(alive, s * decay[k], s)
        s[alive & (s < score_threshold)] = -1.0
    return (torch.tensor(result_idx, dtype=torch.long, device=boxes.device),
            torch.tensor(result_score, dtype=scores.dtype, device=scores.device))
