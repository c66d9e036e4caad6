"""Figures for the localization and detection lecture (07): tasks, box formats, IoU, detector families,
anchor offsets, a feature pyramid and the focal loss."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from ..plots.detection import CLASS_COLOURS
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
                          ("Region Proposal Net:\nanchors, object? + offsets", PURPLE),
                          ("RoI pooling ->\nclass + box", GREEN)]),
        ("R-FCN", [("image", GREY), ("fully conv.\nfeature map", BLUE),
                   ("RPN proposals +\nk x k position-sensitive\nscore maps per class", PURPLE),
                   ("pool each RoI cell from\nits own map, vote", GREEN)]),
    ]
    for r, (name, stages) in enumerate(rows):
        y = 6.0 - r * 1.9
        ax.text(-0.2, y + 0.5, name, ha="right", va="center", fontsize=10, weight="bold")
        for k, (text, colour) in enumerate(stages):
            _box(ax, k * 2.9, y, 2.5, 1.0, text, colour, fontsize=7.5)
            if k:
                _arrow(ax, k * 2.9 - 0.4, y + 0.5, k * 2.9, y + 0.5)
    ax.text(5.6, -1.7, "propose regions first (Faster R-CNN and R-FCN: with an RPN on the shared features), then "
            "classify each one\neach step shares more computation: R-CNN ~ 50 s/image -> Faster R-CNN ~ 0.2 s -> "
            "R-FCN faster still", ha="center", fontsize=9)
    ax.set_xlim(-2.2, 11.4)
    ax.set_ylim(-2.1, 7.3)
    ax.axis("off")
    return fig


@figure("single_shot_detectors")
def single_shot_detectors() -> Figure:
    from ..detection.anchors import make_anchors

    fig = Figure(figsize=(10.0, 3.9))
    left, mid, right = fig.subplots(1, 3)
    fig.subplots_adjust(wspace=0.25, top=0.84, bottom=0.1)
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
    left.set_title("YOLO: S x S grid; the cell with\nthe centre predicts obj, box, class", fontsize=9)
    left.axis("off")
    for ax, fsize, scales, title in ((mid, 8, (0.15,), "SSD: fine 8x8 map,\nsmall anchors"),
                                     (right, 4, (0.4,), "SSD: coarse 4x4 map,\nlarge anchors")):
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
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.text(0.5, 0.03, "anchors of aspect ratio 1, 2 and 1/2 (orange, red, green) at every cell; one cell drawn",
             ha="center", fontsize=9)
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
    palette = np.array(CLASS_COLOURS) / 255
    for ax, labels, title in ((axes[1], semantic, "semantic: a class per pixel\n(same class = same colour)"),
                              (axes[2], instance, "instance: which object each pixel\nbelongs to")):
        rgb = np.where(labels[..., None] >= 0, palette[np.maximum(labels, 0) % len(palette)], 0.15)
        ax.imshow(rgb)
        ax.set_title(title, fontsize=9)
    for ax in axes:
        ax.axis("off")
    return fig


@figure("anchor_offsets")
def anchor_offsets() -> Figure:
    """One anchor, one true box and the four offsets a detector regresses from the anchor to the box."""
    from ..detection.anchors import encode_offsets

    anchor, box = np.array([16.0, 20.0, 40.0, 36.0]), np.array([22.0, 14.0, 50.0, 44.0])
    t = encode_offsets(anchor, box)
    fig = Figure(figsize=(8.6, 3.8))
    ax = fig.add_subplot()
    for b, colour, style, text, y in ((anchor, BLUE, "--", "anchor (cx_a, cy_a, w_a, h_a)", anchor[3] + 3.5),
                                      (box, RED, "-", "true box (cx, cy, w, h)", box[1] - 1.2)):
        ax.add_patch(Rectangle(b[:2], b[2] - b[0], b[3] - b[1], fill=False, edgecolor=colour, lw=2, ls=style))
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        ax.plot(cx, cy, "o", color=colour)
        ax.text(b[0], y, text, color=colour, fontsize=9)
    ca, cb = (anchor[:2] + anchor[2:]) / 2, (box[:2] + box[2:]) / 2
    ax.add_patch(FancyArrowPatch(tuple(ca), tuple(cb), arrowstyle="-|>", mutation_scale=12, color="#333"))
    ax.set_xlim(0, 64)
    ax.set_ylim(56, 0)
    ax.set_aspect("equal")
    ax.set_xticks(range(0, 65, 16))
    ax.set_yticks(range(0, 57, 16))
    ax.grid(True, color=GREY)
    ax.text(68, 6, "the network predicts offsets, not corners:\n\n"
            f"t_x = (cx - cx_a) / w_a = {t[0]:+.2f}\n"
            f"t_y = (cy - cy_a) / h_a = {t[1]:+.2f}\n"
            f"t_w = log(w / w_a)      = {t[2]:+.2f}\n"
            f"t_h = log(h / h_a)      = {t[3]:+.2f}\n\n"
            "decode: cx = cx_a + t_x w_a,\n        w  = w_a exp(t_w)\n\n"
            "all four are 0 when the anchor\nalready fits; they stay small and\nscale-free for any anchor size",
            fontsize=9, family="monospace", va="top")
    fig.subplots_adjust(left=0.05, right=0.55)
    return fig


@figure("feature_pyramid")
def feature_pyramid() -> Figure:
    """FPN: a bottom-up backbone, a top-down path with lateral 1x1 connections, a detection head per level."""
    fig = Figure(figsize=(8.6, 4.2))
    ax = fig.add_subplot()
    levels = [("1/8 of the image:\nfine, shallow", 2.4), ("1/16", 1.7), ("1/32:\ncoarse, deep", 1.1)]
    for k, (text, size) in enumerate(levels):
        y = 0.6 + 1.7 * k
        _box(ax, 1.0 - size / 2 + 0.6, y, size, 1.0, f"C{k + 3}", BLUE, fontsize=9)
        ax.text(1.6 - size / 2 - 0.15, y + 0.5, text, ha="right", va="center", fontsize=7.5)
        _box(ax, 5.2 - size / 2 + 0.6, y, size, 1.0, f"P{k + 3}", GREEN, fontsize=9)
        _box(ax, 8.2, y + 0.15, 2.3, 0.7, "shared head: class\n+ box per anchor", ORANGE, fontsize=7)
        _arrow(ax, 1.6 + size / 2, y + 0.5, 5.8 - size / 2, y + 0.5)
        ax.text(3.7, y + 0.6, "1x1 conv (lateral)", ha="center", fontsize=7.5)
        _arrow(ax, 5.8 + size / 2, y + 0.5, 8.2, y + 0.5)
        if k:
            _arrow(ax, 1.6, y - 0.7, 1.6, y)
            _arrow(ax, 5.8, y, 5.8, y - 0.7)
            ax.text(5.95, y - 0.4, "upsample x2, add", fontsize=7.5)
    ax.text(1.6, 0.1, "bottom-up: the backbone", ha="center", fontsize=9)
    ax.text(5.8, 0.1, "top-down pathway", ha="center", fontsize=9)
    ax.text(9.35, 0.1, "small objects: P3, large: P5", ha="center", fontsize=9)
    ax.set_xlim(-1.4, 10.8)
    ax.set_ylim(-0.2, 5.1)
    ax.axis("off")
    ax.set_title("Feature pyramid network (Lin et al., 2017): every level gets the deep layers' meaning "
                 "and keeps its resolution", fontsize=9)
    return fig


@figure("focal_loss")
def focal_loss() -> Figure:
    """Cross-entropy against the focal loss -(1 - p_t)^gamma log p_t: easy examples count far less."""
    p = np.linspace(0.01, 1.0, 300)
    fig = Figure(figsize=(7.6, 3.4))
    left, right = fig.subplots(1, 2)
    for gamma, colour in ((0, "k"), (1, BLUE), (2, ORANGE), (5, RED)):
        loss = -((1 - p) ** gamma) * np.log(p)
        label = "cross-entropy (gamma = 0)" if gamma == 0 else f"gamma = {gamma}"
        left.plot(p, loss, color=colour, label=label)
        right.semilogy(p[:-1], (-((1 - p) ** gamma) * np.log(p))[:-1] / -np.log(p[:-1]), color=colour)
    left.set_xlabel("p_t: probability given to the right class")
    left.set_ylabel("loss")
    left.set_ylim(0, 4)
    left.legend(fontsize=8)
    left.set_title("focal loss -(1 - p_t)^gamma log p_t", fontsize=9)
    right.set_xlabel("p_t")
    right.set_ylabel("focal / cross-entropy")
    right.set_title("an easy background anchor (p_t = 0.9) counts\n100x less at gamma = 2", fontsize=9)
    right.axvline(0.9, color="grey", ls=":")
    right.set_ylim(1e-5, 2)
    fig.tight_layout()
    return fig
