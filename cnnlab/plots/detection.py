"""Draw boxes, class names and scores over an image (matplotlib for figures, numpy for widgets)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["CLASS_COLOURS", "as_hwc", "paint_boxes", "show_detections"]

CLASS_COLOURS = ((255, 80, 80), (80, 220, 80), (90, 140, 255), (255, 210, 40), (230, 90, 230), (60, 220, 230))


def as_hwc(image: Any) -> np.ndarray:
    """A ``(3, H, W)`` tensor/array or an ``(H, W, 3)`` array as a float ``(H, W, 3)`` numpy image."""
    arr = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if arr.ndim == 3 and arr.shape[0] == 3 and arr.shape[-1] != 3:
        arr = arr.transpose(1, 2, 0)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"image has shape {arr.shape}, expected (3, H, W) or (H, W, 3)")
    return arr.astype(np.float64)


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def show_detections(image: Any, boxes: Any, labels: Any = None, scores: Any = None,
                    class_names: Sequence[str] | None = None, ax=None, title: str | None = None,
                    linestyle: str = "-"):
    """Show ``image`` with xyxy ``boxes`` outlined, captioned ``name score``; returns the axes."""
    from matplotlib.patches import Rectangle

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(3.2, 3.2))
    ax.imshow(np.clip(as_hwc(image), 0, 1), interpolation="nearest")
    b = _np(boxes).reshape(-1, 4)
    lab = None if labels is None else _np(labels).reshape(-1)
    sc = None if scores is None else _np(scores).reshape(-1)
    for k, (x1, y1, x2, y2) in enumerate(b):
        c = 0 if lab is None else int(lab[k])
        colour = np.array(CLASS_COLOURS[c % len(CLASS_COLOURS)]) / 255
        # pixel k covers [k - 0.5, k + 0.5] in imshow's coordinates
        ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, lw=1.5,
                                   edgecolor=colour, linestyle=linestyle))
        words = []
        if lab is not None:
            words.append(class_names[c] if class_names is not None else str(c))
        if sc is not None:
            words.append(f"{sc[k]:.2f}")
        if words:
            ax.text(x1 - 0.5, y1 - 1, " ".join(words), color="black", fontsize=7, va="bottom",
                    bbox={"facecolor": colour, "alpha": 0.8, "pad": 1, "edgecolor": "none"})
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def paint_boxes(image: Any, boxes: Any, colours: Sequence[tuple[int, int, int]] | None = None, scale: int = 4,
                thickness: int = 1, fills: Sequence[tuple[int, int, int, float] | None] | None = None) -> np.ndarray:
    """Upscale ``image`` by ``scale`` (nearest) and draw box outlines in it: ``(H*s, W*s, 3)`` uint8.

    ``fills`` optionally tints each box's inside with ``(r, g, b, alpha)``. Pure numpy: fast
    enough for widgets that redraw on every slider move.
    """
    img = as_hwc(image)
    out = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8).repeat(scale, 0).repeat(scale, 1)
    H, W = out.shape[:2]
    b = np.round(_np(boxes).reshape(-1, 4) * scale).astype(int)
    for k, (x1, y1, x2, y2) in enumerate(b):
        x1, x2 = np.clip([x1, x2], 0, W)
        y1, y2 = np.clip([y1, y2], 0, H)
        if fills is not None and fills[k] is not None and x2 > x1 and y2 > y1:
            r, g, bl, alpha = fills[k]
            region = out[y1:y2, x1:x2].astype(np.float64)
            out[y1:y2, x1:x2] = (region * (1 - alpha) + np.array([r, g, bl]) * alpha).astype(np.uint8)
        colour = (255, 255, 255) if colours is None else colours[k]
        t = thickness
        out[y1:min(y1 + t, H), x1:x2] = colour
        out[max(y2 - t, 0):y2, x1:x2] = colour
        out[y1:y2, x1:min(x1 + t, W)] = colour
        out[y1:y2, max(x2 - t, 0):x2] = colour
    return out
