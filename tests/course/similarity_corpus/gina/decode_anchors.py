# written late at night, sorry for the style
def decode_anchors(offsets, anchors, weights=(1.0, 1.0, 1.0, 1.0), image_size=None):
    """Decode (B, A, 4) xyxy from offsets (B, A, 4) relative to anchors (A, 4)."""
    w = offsets.new_tensor(weights)
    d = offsets / w
    dims = anchors[:, 2:] - anchors[:, :2]
    mid = (anchors[:, 2:] + anchors[:, :2]) / 2
    ctr = mid + d[..., :2] * dims
    dims2 = dims * d[..., 2:].exp()
    res = torch.cat((ctr - dims2 / 2, ctr + dims2 / 2), -1)
    if image_size is None:
        return res
    bound = offsets.new_tensor([image_size[1], image_size[0]]).repeat(2)
    return torch.where(res < 0, torch.zeros_like(res), torch.where(res > bound, bound.expand_as(res), res))
