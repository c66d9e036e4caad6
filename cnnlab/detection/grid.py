"""YOLO-style grid targets: encode boxes into an ``S x S`` grid and decode a grid back into boxes.

The image is cut into ``S x S`` cells. The cell that contains an object's centre is
responsible for it and stores ``5 + C`` numbers (channels last)::

    [objectness, tx, ty, tw, th, p(class 0), ..., p(class C-1)]

* objectness: 1 for a responsible cell, 0 elsewhere;
* ``tx, ty`` in [0, 1): where the centre lies inside the cell (0 = left/top edge);
* ``tw, th``: the box size relative to the image, ``sqrt(w / W)`` as in YOLOv1 (``size="sqrt"``,
  so that an error on a small box costs more than the same error on a big one) or ``w / W``
  (``size="linear"``);
* a one-hot class vector.

One object per cell (YOLOv1's limit): when two centres fall into the same cell the box listed
first is kept and a ``ValueError`` is raised only if ``on_collision="raise"``.
``grid_to_boxes`` turns such a grid (or a network's probabilities in the same layout) into boxes
with score ``objectness * max class probability``.
"""
from __future__ import annotations

from typing import Any

import torch

from ._arrays import back, to_tensor
from .boxes import check_boxes

SIZE_ENCODINGS = ("sqrt", "linear")

__all__ = ["SIZE_ENCODINGS", "grid_to_boxes", "encode_grid", "grid_cell_of"]


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    h, w = (value, value) if isinstance(value, int) else tuple(value)
    if h <= 0 or w <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return int(h), int(w)


def grid_cell_of(boxes: torch.Tensor, image_size, grid_size) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column of the cell holding each xyxy box's centre (clamped to the grid)."""
    (H, W), (S_h, S_w) = _pair(image_size, "image_size"), _pair(grid_size, "grid_size")
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    col = (cx / W * S_w).floor().long().clamp(0, S_w - 1)
    row = (cy / H * S_h).floor().long().clamp(0, S_h - 1)
    return row, col


def encode_grid(boxes: Any, labels: Any, image_size: int | tuple[int, int], grid_size: int | tuple[int, int],
                num_classes: int, size: str = "sqrt", on_collision: str = "keep_first") -> Any:
    """Encode xyxy ``boxes`` ``(K, 4)`` (pixels) and ``labels`` ``(K,)`` into an ``(S, S, 5 + C)`` grid."""
    if size not in SIZE_ENCODINGS:
        raise ValueError(f"size={size!r}; expected one of {SIZE_ENCODINGS}")
    if on_collision not in ("keep_first", "raise"):
        raise ValueError(f"on_collision={on_collision!r}; expected 'keep_first' or 'raise'")
    b, was_numpy = to_tensor(boxes, "boxes")
    if b.numel() == 0:
        b = b.reshape(0, 4)
    check_boxes(b, "xyxy")
    lab = to_tensor(labels, "labels", dtype=torch.long)[0].reshape(-1).to(b.device)
    if lab.shape[0] != b.shape[0]:
        raise ValueError(f"{lab.shape[0]} labels for {b.shape[0]} boxes; expected one label per box")
    if lab.numel() and (lab.min() < 0 or lab.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes - 1}], got {lab.tolist()}")
    (H, W), (S_h, S_w) = _pair(image_size, "image_size"), _pair(grid_size, "grid_size")
    grid = torch.zeros(S_h, S_w, 5 + num_classes, dtype=b.dtype, device=b.device)
    row, col = grid_cell_of(b, (H, W), (S_h, S_w))
    for k in range(b.shape[0]):
        r, c = int(row[k]), int(col[k])
        if grid[r, c, 0] > 0:
            if on_collision == "raise":
                raise ValueError(f"box {k} has its centre in cell ({r}, {c}), which already holds an object")
            continue
        x1, y1, x2, y2 = b[k]
        w, h = (x2 - x1) / W, (y2 - y1) / H
        grid[r, c, 0] = 1
        grid[r, c, 1] = (x1 + x2) / 2 / W * S_w - c
        grid[r, c, 2] = (y1 + y2) / 2 / H * S_h - r
        grid[r, c, 3:5] = torch.stack([w, h]).sqrt() if size == "sqrt" else torch.stack([w, h])
        grid[r, c, 5 + int(lab[k])] = 1
    return back(grid, was_numpy)


def grid_to_boxes(grid: Any, image_size: int | tuple[int, int], score_threshold: float = 0.0,
                size: str = "sqrt") -> tuple[Any, Any, Any]:
    """Turn an ``(S, S, 5 + C)`` grid into ``(boxes (K, 4) xyxy, scores (K,), labels (K,))``.

    Keeps cells whose score ``objectness * max class probability`` is above ``score_threshold``
    (strictly), ordered by decreasing score (ties: row-major cell order). Values are used as
    given: apply sigmoid/softmax to a network's raw outputs first.
    """
    if size not in SIZE_ENCODINGS:
        raise ValueError(f"size={size!r}; expected one of {SIZE_ENCODINGS}")
    g, was_numpy = to_tensor(grid, "grid")
    if g.ndim != 3 or g.shape[-1] < 6:
        raise ValueError(f"grid has shape {tuple(g.shape)}, expected (S, S, 5 + num_classes)")
    (H, W) = _pair(image_size, "image_size")
    S_h, S_w = g.shape[:2]
    rows = torch.arange(S_h, device=g.device, dtype=g.dtype)[:, None].expand(S_h, S_w)
    cols = torch.arange(S_w, device=g.device, dtype=g.dtype)[None, :].expand(S_h, S_w)
    cx = (cols + g[..., 1]) / S_w * W
    cy = (rows + g[..., 2]) / S_h * H
    w, h = (g[..., 3], g[..., 4]) if size == "linear" else (g[..., 3] ** 2, g[..., 4] ** 2)
    w, h = w * W, h * H
    boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1).reshape(-1, 4)
    class_prob, labels = g[..., 5:].max(dim=-1)
    scores = (g[..., 0] * class_prob).reshape(-1)
    keep = (scores > score_threshold).nonzero().flatten()
    keep = keep[torch.sort(scores[keep], descending=True, stable=True).indices]
    return back(boxes[keep], was_numpy), back(scores[keep], was_numpy), back(labels.reshape(-1)[keep], was_numpy)
