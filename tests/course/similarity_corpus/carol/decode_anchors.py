def decode_anchors(offsets, anchors, weights=(1.0, 1.0, 1.0, 1.0), image_size=None):
    """Boxes (B, A, 4) xyxy from offsets (B, A, 4) relative to anchors (A, 4)."""
    scale = offsets.new_tensor(weights)
    t = offsets / scale
    wh = anchors[:, 2:] - anchors[:, :2]
    xy = (anchors[:, 2:] + anchors[:, :2]) / 2
    centre = xy + t[..., :2] * wh
    size = wh * t[..., 2:].exp()
    out = torch.cat((centre - size / 2, centre + size / 2), -1)
    if image_size is None:
        return out
    limit = offsets.new_tensor([image_size[1], image_size[0]]).repeat(2)
    return torch.where(out < 0, torch.zeros_like(out), torch.where(out > limit, limit.expand_as(out), out))
