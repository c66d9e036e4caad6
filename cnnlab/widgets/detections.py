"""DetectionsViewer: browse a detector's output image by image with a score-threshold slider.

Predicted boxes are drawn in their class colour, ground truth (when given) in white. The text
below counts true and false positives and missed objects at IoU 0.5 for the current threshold,
so moving the slider walks along the precision/recall trade-off.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..plots.detection import CLASS_COLOURS, as_hwc, paint_boxes
from ..detection.metrics import match_detections
from . import _render as R
from ._base import Explorer


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


class DetectionsViewer(Explorer):
    """``images`` (N, 3, H, W), ``predictions`` (list of boxes/scores/labels dicts), optional ``targets``."""

    def __init__(self, images: Any, predictions: Sequence[dict], targets: Sequence[dict] | None = None,
                 class_names: Sequence[str] | None = None, score_threshold: float = 0.5, scale: int = 5):
        if len(images) != len(predictions) or (targets is not None and len(targets) != len(images)):
            raise ValueError("images, predictions and targets need one entry per image each")
        self.images, self.predictions, self.targets = images, predictions, targets
        self.class_names = class_names
        self.scale = scale
        self.index = 0
        self.score_threshold = float(score_threshold)

    def set(self, index: int | None = None, score_threshold: float | None = None) -> DetectionsViewer:
        if index is not None:
            if not 0 <= index < len(self.images):
                raise ValueError(f"index {index} is outside [0, {len(self.images) - 1}]")
            self.index = int(index)
        if score_threshold is not None:
            self.score_threshold = float(score_threshold)
        return self._changed()

    def visible(self) -> dict[str, np.ndarray]:
        """The current image's detections scoring at least the threshold."""
        p = self.predictions[self.index]
        scores = _np(p["scores"]).reshape(-1)
        keep = scores >= self.score_threshold
        return {"boxes": _np(p["boxes"]).reshape(-1, 4)[keep], "scores": scores[keep],
                "labels": _np(p["labels"]).reshape(-1)[keep]}

    def counts(self) -> dict[str, int]:
        """True positives, false positives and missed objects at IoU 0.5 (class by class)."""
        if self.targets is None:
            return {}
        v = self.visible()
        t = self.targets[self.index]
        gb, gl = _np(t["boxes"]).reshape(-1, 4), _np(t["labels"]).reshape(-1)
        tp = 0
        for c in set(gl.tolist()) | set(v["labels"].tolist()):
            tp += int(match_detections(v["boxes"][v["labels"] == c], v["scores"][v["labels"] == c],
                                       gb[gl == c], 0.5).sum())
        return {"tp": tp, "fp": len(v["boxes"]) - tp, "missed": len(gb) - tp}

    def _name(self, label: int) -> str:
        return self.class_names[label] if self.class_names is not None else str(label)

    def render(self) -> dict[str, Any]:
        v = self.visible()
        boxes, colours = list(v["boxes"]), [CLASS_COLOURS[int(c) % len(CLASS_COLOURS)] for c in v["labels"]]
        if self.targets is not None:
            boxes = list(_np(self.targets[self.index]["boxes"]).reshape(-1, 4)) + boxes
            colours = [(255, 255, 255)] * (len(boxes) - len(colours)) + colours
        img = paint_boxes(as_hwc(self.images[self.index]), np.array(boxes).reshape(-1, 4), colours,
                          scale=self.scale, thickness=2)
        items = ", ".join(f"{self._name(int(c))} {s:.2f}" for c, s in zip(v["labels"], v["scores"]))
        text = f"image {self.index}: {len(v['boxes'])} detection(s) with score ≥ {self.score_threshold:.2f}"
        text += f": {items}" if items else ""
        if self.targets is not None:
            c = self.counts()
            text += (f"<br>at IoU 0.5: {c['tp']} true positive(s), {c['fp']} false positive(s), "
                     f"{c['missed']} missed (white boxes are the ground truth)")
        return {"image": R.png_bytes(img), "summary": text}

    def _build_view(self):
        import ipywidgets as W

        self._w_index = self.bind("index", W.IntSlider(min=0, max=len(self.images) - 1, description="image"),
                                  "index", lambda v: self.set(index=v))
        self._w_thr = self.bind("score_threshold", W.FloatSlider(min=0.0, max=1.0, step=0.05, description="score ≥"),
                                "score_threshold", lambda v: self.set(score_threshold=v))
        self._w_image = W.Image(format="png")
        self._w_summary = W.HTML()
        return W.VBox([W.HBox([self._w_index, self._w_thr]), self._w_image, self._w_summary])

    def _refresh_view(self) -> None:
        view = self.render()
        self._w_image.value = view["image"]
        self._w_summary.value = view["summary"]
