def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    """Gaussian soft-NMS: (picked indices, their scores when picked)."""

    def iou_with(box, others):
        lo = torch.maximum(box[:2], others[:, :2])
        hi = torch.minimum(box[2:], others[:, 2:])
        inter = (hi - lo).clamp(min=0).prod(dim=-1)
        area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])
        return inter / (area(box) + area(others) - inter)

    current = scores.clone()
    alive = (current >= score_threshold).nonzero().flatten()
    picked, picked_scores = [], []
    while alive.numel() > 0:
        best = alive[torch.argmax(current[alive])]  # argmax returns the first (lowest index) maximum
        picked.append(int(best))
        picked_scores.append(current[best])
        alive = alive[alive != best]
        current[alive] = current[alive] * torch.exp(-iou_with(boxes[best], boxes[alive]) ** 2 / sigma)
        alive = alive[current[alive] >= score_threshold]
    kept_scores = torch.stack(picked_scores) if picked_scores else scores.new_zeros(0)
    return torch.tensor(picked, dtype=torch.long, device=boxes.device), kept_scores
