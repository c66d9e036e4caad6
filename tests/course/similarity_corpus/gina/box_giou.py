# written late at night, sorry for the style
def box_giou(a, b):
    """GIoU for all pairs of xyxy boxes: (N, 4), (M, 4) -> (N, M)."""
    l1, t1, r1, b1 = _split(a.unsqueeze(1))
    l2, t2, r2, b2 = _split(b.unsqueeze(0))
    wi = (torch.min(r1, r2) - torch.max(l1, l2)).clamp_min(0)
    hi = (torch.min(b1, b2) - torch.max(t1, t2)).clamp_min(0)
    inter = wi * hi
    uni = (r1 - l1) * (b1 - t1) + (r2 - l2) * (b2 - t2) - inter
    ew = torch.max(r1, r2) - torch.min(l1, l2)
    eh = torch.max(b1, b2) - torch.min(t1, t2)
    return inter / uni - 1 + uni / (ew * eh)


def _split(t):
    return t[..., 0], t[..., 1], t[..., 2], t[..., 3]
