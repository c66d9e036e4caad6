"""Bounding-box formats, conversions, areas and clipping.

Three formats are used in the course, all in pixels with x to the right and y down:

* ``"xyxy"``   – corners ``(x1, y1, x2, y2)``, with ``x1 <= x2`` and ``y1 <= y2``;
* ``"xywh"``   – top-left corner, width and height ``(x, y, w, h)`` (COCO's format);
* ``"cxcywh"`` – centre, width and height ``(cx, cy, w, h)`` (what a network regresses).

Every function takes a torch tensor or a numpy array whose last axis has length 4 and
returns the same kind it was given. Coordinates are continuous: a box from 0 to 10 is
10 pixels wide (no "+1" convention).
"""
from __future__ import annotations

from typing import Any

import torch

from ._arrays import back, to_tensor

BOX_FORMATS = ("xyxy", "xywh", "cxcywh")

__all__ = ["BOX_FORMATS", "box_area", "box_convert", "check_boxes", "clip_boxes"]


def _check_format(fmt: str, name: str) -> None:
    if fmt not in BOX_FORMATS:
        raise ValueError(f"{name}={fmt!r} is not a box format; expected one of {BOX_FORMATS}")


def check_boxes(boxes: torch.Tensor, fmt: str = "xyxy", name: str = "boxes", ndim: int | None = 2) -> None:
    """Raise a clear ``ValueError`` when ``boxes`` is not a valid array of boxes in ``fmt``.

    Checks: last axis of length 4 (and ``ndim`` axes in all, unless ``ndim`` is None),
    no NaN or infinite coordinate, and no negative width/height (``x2 < x1`` in xyxy).
    """
    _check_format(fmt, "fmt")
    shape = tuple(boxes.shape)
    if boxes.ndim == 0 or shape[-1] != 4 or (ndim is not None and boxes.ndim != ndim):
        want = "(N, 4)" if ndim == 2 else "(..., 4)"
        raise ValueError(f"{name} has shape {shape}, expected {want}: one row of 4 numbers per box")
    if boxes.numel() == 0:
        return
    if not bool(torch.isfinite(boxes).all()):
        raise ValueError(f"{name} contains NaN or infinite coordinates; every box needs 4 finite numbers")
    if fmt == "xyxy":
        bad = (boxes[..., 2] < boxes[..., 0]) | (boxes[..., 3] < boxes[..., 1])
        what = "x2 < x1 or y2 < y1"
    else:
        bad = (boxes[..., 2] < 0) | (boxes[..., 3] < 0)
        what = "a negative width or height"
    if bool(bad.any()):
        i = int(bad.reshape(-1).nonzero()[0])
        row = [round(float(v), 4) for v in boxes.reshape(-1, 4)[i]]
        raise ValueError(f"{name}[{i}] = {row} has {what}; "
                         f"in {fmt!r} format boxes must be {_layout(fmt)}")


def _layout(fmt: str) -> str:
    return {"xyxy": "(x1, y1, x2, y2) with x1 <= x2 and y1 <= y2",
            "xywh": "(x, y, w, h) with w, h >= 0",
            "cxcywh": "(cx, cy, w, h) with w, h >= 0"}[fmt]


def _to_xyxy(b: torch.Tensor, fmt: str) -> torch.Tensor:
    if fmt == "xyxy":
        return b.clone()
    p, q, w, h = b.unbind(-1)
    if fmt == "xywh":
        return torch.stack([p, q, p + w, q + h], dim=-1)
    return torch.stack([p - w / 2, q - h / 2, p + w / 2, q + h / 2], dim=-1)


def _from_xyxy(b: torch.Tensor, fmt: str) -> torch.Tensor:
    if fmt == "xyxy":
        return b
    x1, y1, x2, y2 = b.unbind(-1)
    w, h = x2 - x1, y2 - y1
    if fmt == "xywh":
        return torch.stack([x1, y1, w, h], dim=-1)
    return torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, w, h], dim=-1)


def box_convert(boxes: Any, in_fmt: str, out_fmt: str) -> Any:
    """Convert boxes of shape ``(..., 4)`` from ``in_fmt`` to ``out_fmt`` (see the module docstring)."""
    _check_format(in_fmt, "in_fmt")
    _check_format(out_fmt, "out_fmt")
    b, was_numpy = to_tensor(boxes, "boxes")
    check_boxes(b, in_fmt, ndim=None)
    return back(_from_xyxy(_to_xyxy(b, in_fmt), out_fmt), was_numpy)


def box_area(boxes: Any, fmt: str = "xyxy") -> Any:
    """Area ``w * h`` of each box: shape ``(..., 4)`` in, ``(...)`` out."""
    b, was_numpy = to_tensor(boxes, "boxes")
    check_boxes(b, fmt, ndim=None)
    if fmt == "xyxy":
        area = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    else:
        area = b[..., 2] * b[..., 3]
    return back(area, was_numpy)


def clip_boxes(boxes: Any, height: float, width: float) -> Any:
    """Clip xyxy boxes to the image ``[0, width] x [0, height]``; a box fully outside becomes zero-area."""
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got height={height}, width={width}")
    b, was_numpy = to_tensor(boxes, "boxes")
    check_boxes(b, "xyxy", ndim=None)
    x = b[..., 0::2].clamp(0, width)
    y = b[..., 1::2].clamp(0, height)
    out = torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], dim=-1)
    return back(out, was_numpy)
