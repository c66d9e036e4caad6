def box_giou(a, b):
    # GIoU matrix with two plain loops (slow but clear)
    out = torch.zeros(a.shape[0], b.shape[0], dtype=a.dtype, device=a.device)
    for i in range(a.shape[0]):
        ax1, ay1, ax2, ay2 = a[i].tolist()
        for j in range(b.shape[0]):
            bx1, by1, bx2, by2 = b[j].tolist()
            # smallest box around both
            enclosing = (max(ax2, bx2) - min(ax1, bx1)) * (max(ay2, by2) - min(ay1, by1))
            overlap_h = max(0.0, min(ay2, by2) - max(ay1, by1))
            overlap_w = max(0.0, min(ax2, bx2) - max(ax1, bx1))
            common = overlap_w * overlap_h
            total = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - common
            out[i, j] = common / total - (enclosing - total) / enclosing
    return out
