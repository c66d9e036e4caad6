"""IoUExplorer: move and resize two boxes, see their overlap and union shaded and the IoU printed.

It also prints the mean squared error between the two boxes' four numbers, to show why
MSE is a fine training loss but a poor metric: the same MSE can mean a good or a useless box
depending on the box sizes, while IoU reads the same way for every size.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..detection.iou import pairwise_iou
from . import _render as R
from ._base import Explorer

UNION = (120, 170, 255)
INTER = (255, 170, 60)
BOX_A = (30, 90, 220)
BOX_B = (220, 50, 50)


class IoUExplorer(Explorer):
    """Two boxes ``a`` and ``b`` given as ``(x, y, w, h)`` in pixels on a ``canvas x canvas`` square."""

    def __init__(self, a: tuple[int, int, int, int] = (10, 12, 30, 24), b: tuple[int, int, int, int] = (24, 20, 28, 30),
                 canvas: int = 64, scale: int = 5):
        self.canvas, self.scale = int(canvas), int(scale)
        self.a = self._check(a, "a")
        self.b = self._check(b, "b")

    def _check(self, box, name: str) -> tuple[int, int, int, int]:
        x, y, w, h = (int(v) for v in box)
        if w < 0 or h < 0:
            raise ValueError(f"box {name} = {box} has a negative width or height; use (x, y, w, h) with w, h >= 0")
        return x, y, w, h

    def set(self, **changes: int) -> IoUExplorer:
        """Change coordinates by name, e.g. ``set(a_x=5, b_w=20)``."""
        for key, value in changes.items():
            which, _, field = key.partition("_")
            if which not in ("a", "b") or field not in ("x", "y", "w", "h"):
                raise ValueError(f"unknown control {key!r}; use a_x, a_y, a_w, a_h, b_x, b_y, b_w or b_h")
            box = list(getattr(self, which))
            box["xywh".index(field)] = int(value)
            setattr(self, which, self._check(box, which))
        return self._changed()

    @staticmethod
    def _xyxy(box) -> np.ndarray:
        x, y, w, h = box
        return np.array([[x, y, x + w, y + h]], dtype=np.float64)

    @property
    def iou(self) -> float:
        return float(pairwise_iou(self._xyxy(self.a), self._xyxy(self.b))[0, 0])

    def numbers(self) -> dict[str, float]:
        """Areas, intersection, union, IoU, and the MSE between the two boxes' (x, y, w, h)."""
        a, b = self._xyxy(self.a)[0], self._xyxy(self.b)[0]
        iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        area_a, area_b = self.a[2] * self.a[3], self.b[2] * self.b[3]
        inter = iw * ih
        return {"area_a": float(area_a), "area_b": float(area_b), "intersection": inter,
                "union": float(area_a + area_b - inter), "iou": self.iou,
                "mse": float(np.mean((np.array(self.a, float) - np.array(self.b, float)) ** 2))}

    def render(self) -> dict[str, Any]:
        s, n = self.scale, self.canvas
        img = np.full((n * s, n * s, 3), 250, dtype=np.uint8)
        masks = []
        for x, y, w, h in (self.a, self.b):
            m = np.zeros((n * s, n * s), dtype=bool)
            m[max(y, 0) * s:max(y + h, 0) * s, max(x, 0) * s:max(x + w, 0) * s] = True
            masks.append(m)
        img[masks[0] | masks[1]] = UNION
        img[masks[0] & masks[1]] = INTER
        for box, colour in ((self.a, BOX_A), (self.b, BOX_B)):
            x, y, w, h = (v * s for v in box)
            _outline(img, x, y, w, h, colour)
        v = self.numbers()
        summary = (f"<b>IoU = {v['intersection']:.0f} / {v['union']:.0f} = {v['iou']:.3f}</b> "
                   f"&nbsp; (area A {v['area_a']:.0f}, area B {v['area_b']:.0f}; "
                   f"MSE of (x, y, w, h) = {v['mse']:.1f})")
        return {"image": R.png_bytes(img), "iou": v["iou"], "summary": summary}

    def _build_view(self):
        import ipywidgets as W

        rows = []
        for which in ("a", "b"):
            row = []
            for k, field in enumerate("xywh"):
                key = f"{which}_{field}"
                row.append(self.bind(key, W.IntSlider(min=0, max=self.canvas, description=f"{which.upper()} {field}",
                                                      layout=W.Layout(width="260px")),
                                     lambda which=which, k=k: getattr(self, which)[k],
                                     lambda v, key=key: self.set(**{key: v})))
            rows.append(W.VBox([W.HTML(f"<b>box {which.upper()}</b>")] + row))
        self._w_image = W.Image(format="png")
        self._w_summary = W.HTML()
        return W.VBox([W.HBox([self._w_image, W.VBox(rows)]), self._w_summary])

    def _refresh_view(self) -> None:
        view = self.render()
        self._w_image.value = view["image"]
        self._w_summary.value = view["summary"]


def _outline(img: np.ndarray, x: int, y: int, w: int, h: int, colour, t: int = 2) -> None:
    H, W = img.shape[:2]
    x1, y1, x2, y2 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x2 <= x1 or y2 <= y1:
        return
    img[y1:y1 + t, x1:x2] = colour
    img[max(y2 - t, 0):y2, x1:x2] = colour
    img[y1:y2, x1:x1 + t] = colour
    img[y1:y2, max(x2 - t, 0):x2] = colour
