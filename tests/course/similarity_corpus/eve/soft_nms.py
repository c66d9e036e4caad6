def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    """Gaussian soft-NMS: (chosen indices, their scores when chosen)."""
    # my own version, written for the assignment

    def overlaps(box, rest):
        lo = torch.maximum(box[:2], rest[:, :2])
        hi = torch.minimum(box[2:], rest[:, 2:])
        inter = (hi - lo).clamp(min=0).prod(dim=-1)
        area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])
        return inter / (area(box) + area(rest) - inter)

    live_scores = scores.clone()
    remaining = (live_scores >= score_threshold).nonzero().flatten()
    chosen, chosen_scores = [], []
    while remaining.numel() > 0:
        winner = remaining[torch.argmax(live_scores[remaining])]  # argmax returns the first (lowest index) maximum
        chosen.append(int(winner))
        chosen_scores.append(live_scores[winner])
        remaining = remaining[remaining != winner]
        live_scores[remaining] = live_scores[remaining] * torch.exp(-overlaps(boxes[winner], boxes[remaining]) ** 2 / sigma)
        remaining = remaining[live_scores[remaining] >= score_threshold]
    final = torch.stack(chosen_scores) if chosen_scores else scores.new_zeros(0)
    return torch.tensor(chosen, dtype=torch.long, device=boxes.device), final
