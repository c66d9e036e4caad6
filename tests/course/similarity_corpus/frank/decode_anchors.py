def decode_anchors(offsets, anchors, weights=(1.0, 1.0, 1.0, 1.0), image_size=None):
    # unpack everything, then rebuild the corners
    dx, dy, dw, dh = offsets.unbind(-1)
    wx, wy, ww, wh = weights
    x1, y1, x2, y2 = anchors.unbind(-1)
    width, height = x2 - x1, y2 - y1
    mid_x, mid_y = x1 + 0.5 * width, y1 + 0.5 * height
    half_w = 0.5 * width * torch.exp(dw / ww)
    half_h = 0.5 * height * torch.exp(dh / wh)
    new_x = mid_x + dx / wx * width
    new_y = mid_y + dy / wy * height
    corners = [new_x - half_w, new_y - half_h, new_x + half_w, new_y + half_h]
    if image_size is not None:
        rows, cols = image_size
        corners = [corners[0].clamp(0, cols), corners[1].clamp(0, rows),
                   corners[2].clamp(0, cols), corners[3].clamp(0, rows)]
    return torch.stack(corners, dim=-1)
