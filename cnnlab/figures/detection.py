"""Figures for the localization and detection lecture (07): tasks, box formats, IoU, detector families."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from . import figure

BLUE, ORANGE, GREEN, GREY, RED, PURPLE = "#6ea0dc", "#eb7814", "#78be78", "#dddddd", "#dc5050", "#b482c8"


def _scene(seed: int = 11, max_objects: int = 3):
    from ..data.shapes import make_scene

    return make_scene(np.random.default_rng(seed), 64, max_objects, max_objects)


@figure("detection_tasks")
def detection_tasks() -> Figure:
    from ..data.shapes import SHAPE_CLASSES, make_scene
    from ..plots.detection import show_detections

    fig = Figure(figsize=(8.4, 3.0))
    axes = fig.subplots(1, 3)
    one = make_scene(np.random.default_rng(4), 64, 1, 1, 16, 30)
    many = _scene()
    name = SHAPE_CLASSES[int(one["labels"][0])]
    show_detections(one["image"], np.zeros((0, 4)), ax=axes[0], title=f"classification: \"{name}\"")
    show_detections(one["image"], one["boxes"], one["labels"], class_names=SHAPE_CLASSES, ax=axes[1],
                    title="localization: class + one box")
    show_detections(many["image"], many["boxes"], many["labels"], class_names=SHAPE_CLASSES, ax=axes[2],
                    title="detection: every object, class + box")
    return fig


@figure("box_formats")
def box_formats() -> Figure:
    fig = Figure(figsize=(6.0, 3.6))
    ax = fig.add_subplot()
    x1, y1, x2, y2 = 2.0, 1.5, 8.0, 5.5
    ax.add_patch(Rectangle((0, 0), 10, 7, facecolor="white", edgecolor="#888"))
    ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, facecolor=BLUE, alpha=0.35, edgecolor="k", lw=2))
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    for (px, py), text, dx, dy in [((x1, y1), "(x1, y1)", -0.2, -0.25), ((x2, y2), "(x2, y2)", 0.15, 0.45),
                                   ((cx, cy), "(cx, cy)", 0.15, -0.15)]:
        ax.plot(px, py, "o", color=RED)
        ax.text(px + dx, py + dy, text, fontsize=10, ha="right" if dx < 0 else "left")
    ax.annotate("", (x2, y2 + 0.6), (x1, y2 + 0.6), arrowprops={"arrowstyle": "<->"})
    ax.text(cx, y2 + 1.1, "w", ha="center")
    ax.annotate("", (x2 + 0.6, y2), (x2 + 0.6, y1), arrowprops={"arrowstyle": "<->"})
    ax.text(x2 + 0.8, cy, "h", va="center")
    ax.text(10.6, 1.0, "xyxy:    (x1, y1, x2, y2)\nxywh:    (x1, y1, w, h)   COCO\ncxcywh: (cx, cy, w, h)  "
            "regressed\n\nx to the right, y down,\nin pixels (or / image size)", fontsize=9, va="top",
            family="monospace")
    ax.text(0.1, -0.3, "(0, 0)", fontsize=8)
    ax.set_xlim(-0.5, 18)
    ax.set_ylim(-0.8, 7.8)
    ax.invert_yaxis()
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


@figure("iou_examples")
def iou_examples() -> Figure:
    from ..detection import pairwise_iou

    fig = Figure(figsize=(8.4, 2.6))
    axes = fig.subplots(1, 3)
    a = np.array([[2.0, 2, 8, 8]])
    for ax, shift in zip(axes, (4.6, 2.0, 0.4)):
        b = a + [shift, shift * 0.5, shift, shift * 0.5]
        iou = pairwise_iou(a, b)[0, 0]
        ix1, iy1 = np.maximum(a[0, :2], b[0, :2])
        ix2, iy2 = np.minimum(a[0, 2:], b[0, 2:])
        for box, colour in ((a[0], BLUE), (b[0], RED)):
            ax.add_patch(Rectangle(box[:2], *(box[2:] - box[:2]), facecolor=colour, alpha=0.25, edgecolor=colour, lw=2))
        ax.add_patch(Rectangle((ix1, iy1), ix2 - ix1, iy2 - iy1, facecolor=ORANGE, alpha=0.8))
        ax.set_title(f"IoU = {iou:.2f}", fontsize=10)
        ax.set_xlim(0, 14)
        ax.set_ylim(0, 12)
        ax.invert_yaxis()
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle("IoU = area of overlap (orange) / area of union; 0.5 is the usual 'correct' threshold", fontsize=9)
    return fig


def _box(ax, x, y, w, h, text, colour=GREY, fontsize=8):
    ax.add_patch(Rectangle((x, y), w, h, facecolor=colour, edgecolor="#444", lw=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, x0, y0, x1, y1):
    ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=10, color="#333"))


@figure("region_based_detectors")
def region_based_detectors() -> Figure:
    fig = Figure(figsize=(9.0, 7.2))
    ax = fig.add_subplot()
    rows = [
        ("R-CNN", [("image", GREY), ("~2000 proposals\n(selective search)", GREY),
                   ("warp each region,\nrun the CNN 2000x", RED), ("SVM class +\nbox regression", GREEN)]),
        ("Fast R-CNN", [("image", GREY), ("CNN once:\nfeature map", BLUE),
                        ("RoI pooling of each\nproposal (still external)", ORANGE), ("FC: class +\nbox, one net", GREEN)]),
        ("Faster R-CNN", [("image", GREY), ("CNN once:\nfeature map", BLUE),
                          ("Region Proposal Net on\nanchors: object? + offsets", PURPLE),
                          ("RoI pooling ->\nclass + box", GREEN)]),
        ("R-FCN", [("image", GREY), ("fully conv.\nfeature map", BLUE),
                   ("k x k position-sensitive\nscore maps per class", ORANGE),
                   ("pool each RoI cell from\nits own map, vote", GREEN)]),
    ]
    for r, (name, stages) in enumerate(rows):
        y = 6.0 - r * 1.9
        ax.text(-0.2, y + 0.5, name, ha="right", va="center", fontsize=10, weight="bold")
        for k, (text, colour) in enumerate(stages):
            _box(ax, k * 2.9, y, 2.5, 1.0, text, colour, fontsize=7.5)
            if k:
                _arrow(ax, k * 2.9 - 0.4, y + 0.5, k * 2.9, y + 0.5)
    ax.text(5.6, -1.7, "propose regions first, then classify each one: accurate, slower (two stages)\n"
            "each step shares more computation: R-CNN ~ 50 s/image -> Faster R-CNN ~ 0.2 s -> R-FCN faster still",
            ha="center", fontsize=9)
    ax.set_xlim(-2.2, 11.4)
    ax.set_ylim(-2.1, 7.3)
    ax.axis("off")
    return fig


@figure("single_shot_detectors")
def single_shot_detectors() -> Figure:
    from ..detection.anchors import make_anchors

    fig = Figure(figsize=(9.0, 3.6))
    left, mid, right = fig.subplots(1, 3)
    scene = _scene(11)
    S = 4
    left.imshow(scene["image"], extent=(0, 64, 64, 0))
    for k in range(1, S):
        left.axhline(k * 64 / S, color="w", lw=0.8)
        left.axvline(k * 64 / S, color="w", lw=0.8)
    for box in scene["boxes"]:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        r, c = int(cy // 16), int(cx // 16)
        left.add_patch(Rectangle((c * 16, r * 16), 16, 16, facecolor="yellow", alpha=0.35))
        left.add_patch(Rectangle(box[:2], box[2] - box[0], box[3] - box[1], fill=False, edgecolor="yellow", lw=1.5))
        left.plot(cx, cy, "o", color="yellow", ms=4)
    left.set_title("YOLO: S x S grid; the cell holding a centre\npredicts (obj, x, y, w, h, classes)", fontsize=9)
    left.axis("off")
    for ax, fsize, scales, title in ((mid, 8, (0.15,), "SSD: fine 8x8 map, small anchors"),
                                     (right, 4, (0.4,), "coarse 4x4 map, large anchors")):
        ax.imshow(scene["image"], extent=(0, 64, 64, 0), alpha=0.6)
        anchors = make_anchors(fsize, 64, scales=scales, aspect_ratios=(1.0, 2.0, 0.5)).numpy()
        cell = fsize // 2 * fsize + fsize // 2 - (1 if fsize == 8 else 0)
        for k, colour in zip(range(3), (ORANGE, RED, GREEN)):
            a = anchors[cell * 3 + k]
            ax.add_patch(Rectangle(a[:2], a[2] - a[0], a[3] - a[1], fill=False, edgecolor=colour, lw=1.8))
        for k in range(1, fsize):
            ax.axhline(k * 64 / fsize, color="w", lw=0.4)
            ax.axvline(k * 64 / fsize, color="w", lw=0.4)
        ax.set_xlim(0, 64)
        ax.set_ylim(64, 0)
        ax.set_title(title + "\n(aspect ratios 1, 2, 1/2 at every cell)", fontsize=9)
        ax.axis("off")
    return fig


@figure("segmentation_types")
def segmentation_types() -> Figure:
    scene = _scene(21)
    fig = Figure(figsize=(8.4, 3.0))
    axes = fig.subplots(1, 3)
    axes[0].imshow(scene["image"])
    axes[0].set_title("image", fontsize=10)
    semantic = np.full((64, 64), -1)
    instance = np.full((64, 64), -1)
    for k, (mask, label) in enumerate(zip(scene["masks"], scene["labels"])):
        semantic[mask] = label
        instance[mask] = k
    palette = np.array([[0.9, 0.3, 0.3], [0.3, 0.8, 0.3], [0.3, 0.5, 0.95], [0.95, 0.85, 0.2], [0.8, 0.4, 0.9]])
    for ax, labels, title in ((axes[1], semantic, "semantic: a class per pixel\n(same class = same colour)"),
                              (axes[2], instance, "instance: which object each pixel\nbelongs to")):
        rgb = np.where(labels[..., None] >= 0, palette[np.maximum(labels, 0) % len(palette)], 0.15)
        ax.imshow(rgb)
        ax.set_title(title, fontsize=9)
    for ax in axes:
        ax.axis("off")
    return fig
