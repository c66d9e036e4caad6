def decode_anchors(offsets, anchors, weights=(1.0, 1.0, 1.0, 1.0), image_size=None):
    """Boxes (B, A, 4) xyxy from offsets (B, A, 4) relative to anchors (A, 4)."""

    w = torch.as_tensor(weights, dtype=offsets.dtype, device=offsets.device)
    t = offsets / w
    size = anchors[:, 2:] - anchors[:, :2]
    centre = anchors[:, :2] + size / 2
    c = centre + t[..., :2] * size
    s = size * torch.exp(t[..., 2:])
    boxes = torch.cat([c - s / 2, c + s / 2], dim=-1)
    if image_size is not None:
        height, width = image_size
        upper = torch.tensor([width, height, width, height], dtype=offsets.dtype, device=offsets.device)
        boxes = torch.minimum(boxes.clamp(min=0), upper)
    return boxes
