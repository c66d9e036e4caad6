def box_giou(a, b):
    """Pairwise generalised IoU of xyxy boxes: (N, 4), (M, 4) -> (N, M)."""

    lo = torch.maximum(a[:, None, :2], b[None, :, :2])
    hi = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (hi - lo).clamp(min=0).prod(dim=-1)
    area_a = (a[:, 2:] - a[:, :2]).prod(dim=-1)
    area_b = (b[:, 2:] - b[:, :2]).prod(dim=-1)
    union = area_a[:, None] + area_b[None, :] - inter
    hull_lo = torch.minimum(a[:, None, :2], b[None, :, :2])
    hull_hi = torch.maximum(a[:, None, 2:], b[None, :, 2:])
    hull = (hull_hi - hull_lo).prod(dim=-1)
    return inter / union - (hull - union) / hull
