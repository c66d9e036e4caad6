def box_giou(a, b):
    """Pairwise generalised IoU of xyxy boxes: (N, 4), (M, 4) -> (N, M)."""
    # my own version, written for the assignment

    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    overlap = (bottom_right - top_left).clamp(min=0).prod(dim=-1)
    size_a = (a[:, 2:] - a[:, :2]).prod(dim=-1)
    size_b = (b[:, 2:] - b[:, :2]).prod(dim=-1)
    joint = size_a[:, None] + size_b[None, :] - overlap
    encl_min = torch.minimum(a[:, None, :2], b[None, :, :2])
    encl_max = torch.maximum(a[:, None, 2:], b[None, :, 2:])
    enclosure = (encl_max - encl_min).prod(dim=-1)
    return overlap / joint - (enclosure - joint) / enclosure
