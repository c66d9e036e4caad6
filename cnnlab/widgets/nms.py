"""NMSStepper: step through greedy non-maximum suppression on real detector output.

Each step keeps the highest-scored box still alive (orange) and removes every remaining box
whose IoU with it is above the threshold (red, listed with their IoUs). Boxes kept earlier are
green, boxes still waiting are grey. The threshold slider replays the suppression from scratch.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..plots.detection import as_hwc, paint_boxes
from ..detection.suppression import nms_steps
from . import _render as R
from ._base import Explorer

KEPT = (60, 200, 60)
CURRENT = (255, 150, 0)
GONE = (230, 40, 40)
WAITING = (170, 170, 170)


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


class NMSStepper(Explorer):
    """Greedy NMS one kept box at a time over ``boxes`` (xyxy) and ``scores`` drawn on ``image``."""

    def __init__(self, image: Any, boxes: Any, scores: Any, iou_threshold: float = 0.5, scale: int = 5):
        self.image = as_hwc(image)
        self.boxes = _np(boxes).astype(np.float64).reshape(-1, 4)
        self.scores = _np(scores).astype(np.float64).reshape(-1)
        if len(self.scores) != len(self.boxes):
            raise ValueError(f"{len(self.scores)} scores for {len(self.boxes)} boxes; expected one score per box")
        self.scale = scale
        self.step = 0
        self.set_threshold(iou_threshold)

    @classmethod
    def from_detections(cls, image: Any, detections: dict, **kwargs) -> NMSStepper:
        """Build from a detector's raw output dict with ``"boxes"`` and ``"scores"``."""
        return cls(image, detections["boxes"], detections["scores"], **kwargs)

    def set_threshold(self, iou_threshold: float) -> NMSStepper:
        """Replay suppression with a new IoU threshold (back to step 0)."""
        if not 0 <= iou_threshold <= 1:
            raise ValueError(f"iou_threshold={iou_threshold} is outside [0, 1]")
        self.iou_threshold = float(iou_threshold)
        self.steps = nms_steps(self.boxes, self.scores, self.iou_threshold)
        self.step = 0
        return self._changed()

    @property
    def num_steps(self) -> int:
        return len(self.steps)

    def go(self, step: int) -> NMSStepper:
        """Show the state after ``step`` decisions (0 = nothing decided yet)."""
        self.step = int(np.clip(step, 0, self.num_steps))
        return self._changed()

    def next(self) -> NMSStepper:
        return self.go(self.step + 1)

    def previous(self) -> NMSStepper:
        return self.go(self.step - 1)

    def status(self) -> dict[str, list[int]]:
        """Indices that are kept (before this step), current, suppressed now, suppressed earlier, waiting."""
        done = self.steps[: max(self.step - 1, 0)]
        current = self.steps[self.step - 1] if self.step else None
        kept = [s["kept"] for s in done]
        gone_before = [j for s in done for j in s["suppressed"]]
        now = [] if current is None else current["suppressed"]
        cur = [] if current is None else [current["kept"]]
        decided = set(kept) | set(gone_before) | set(now) | set(cur)
        waiting = [i for i in range(len(self.boxes)) if i not in decided]
        return {"kept": kept, "current": cur, "suppressed_now": now, "suppressed_before": gone_before,
                "waiting": waiting}

    def render(self) -> dict[str, Any]:
        st = self.status()
        order = st["waiting"] + st["kept"] + st["suppressed_now"] + st["current"]   # current drawn last (on top)
        colours = ([WAITING] * len(st["waiting"]) + [KEPT] * len(st["kept"]) + [GONE] * len(st["suppressed_now"])
                   + [CURRENT] * len(st["current"]))
        img = paint_boxes(self.image, self.boxes[order], colours, scale=self.scale, thickness=2)
        if self.step == 0:
            text = (f"{len(self.boxes)} boxes, IoU threshold {self.iou_threshold:.2f}: "
                    f"press <i>next</i> to keep the best box.")
        else:
            s = self.steps[self.step - 1]
            rows = "".join(f"<tr><td>box {j}</td><td>{self.scores[j]:.2f}</td><td>{v:.2f}</td></tr>"
                           for j, v in zip(s["suppressed"], s["ious"]))
            text = (f"step {self.step}/{self.num_steps}: keep box {s['kept']} (score {self.scores[s['kept']]:.2f}); "
                    f"it suppresses {len(s['suppressed'])} box(es) with IoU &gt; {self.iou_threshold:.2f}"
                    + (f"<table><tr><th>box</th><th>score</th><th>IoU</th></tr>{rows}</table>" if rows else ""))
        total_kept = len(st["kept"]) + len(st["current"])
        text += f"<br>kept so far: {total_kept}; still waiting: {len(st['waiting'])}"
        return {"image": R.png_bytes(img), "summary": text, "status": st}

    def _build_view(self):
        import ipywidgets as W

        self._w_image = W.Image(format="png")
        self._w_summary = W.HTML()
        self._w_thr = self.bind("iou_threshold", W.FloatSlider(min=0.0, max=1.0, step=0.05, description="IoU thr"),
                                "iou_threshold", self.set_threshold)
        self._w_step = self.bind("step", W.IntSlider(min=0, description="step"), "step", self.go,
                                 lambda: {"max": self.num_steps})
        prev, nxt, reset = W.Button(description="◀ previous"), W.Button(description="next ▶"), W.Button(description="reset")
        prev.on_click(lambda _: self.previous())
        nxt.on_click(lambda _: self.next())
        reset.on_click(lambda _: self.go(0))
        return W.VBox([W.HBox([prev, nxt, reset, self._w_step, self._w_thr]), W.HBox([self._w_image, self._w_summary])])

    def _refresh_view(self) -> None:
        view = self.render()
        self._w_image.value = view["image"]
        self._w_summary.value = view["summary"]
