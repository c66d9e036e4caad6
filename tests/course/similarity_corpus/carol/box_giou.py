def _corners(t):
    return t[..., 0], t[..., 1], t[..., 2], t[..., 3]


def box_giou(a, b):
    """Pairwise generalised IoU of xyxy boxes: (N, 4), (M, 4) -> (N, M)."""
    ax1, ay1, ax2, ay2 = _corners(a.unsqueeze(1))
    bx1, by1, bx2, by2 = _corners(b.unsqueeze(0))
    iw = (torch.min(ax2, bx2) - torch.max(ax1, bx1)).clamp_min(0)
    ih = (torch.min(ay2, by2) - torch.max(ay1, by1)).clamp_min(0)
    both = iw * ih
    either = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - both
    cw = torch.max(ax2, bx2) - torch.min(ax1, bx1)
    ch = torch.max(ay2, by2) - torch.min(ay1, by1)
    return both / either - 1 + either / (cw * ch)
