"""Figures for lecture 08 (beyond detection): the transposed convolution, the U-Net layout and the
triplet loss's idea."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

from . import figure

BLUE, ORANGE, GREEN, GREY, RED = "#6ea0dc", "#eb7814", "#78be78", "#dddddd", "#dc5050"


@figure("transposed_conv_overlaps")
def transposed_conv_overlaps() -> Figure:
    """How many kernel copies overlap on each output pixel: uneven at kernel 3 stride 2 (checkerboard), even at 4."""
    from ..beyond.segmentation import checkerboard_overlap

    fig = Figure(figsize=(10.0, 3.4))
    axes = fig.subplots(1, 3)
    ax = axes[0]
    x = np.array([[1, 2], [3, 4]])
    k = 3
    for (i, j), v in np.ndenumerate(x):
        ax.add_patch(Rectangle((j * 2 + 0.05, i * 2 + 0.05), k - 0.1, k - 0.1, fill=False,
                               edgecolor=[BLUE, ORANGE, GREEN, RED][i * 2 + j], lw=2.5))
        ax.text(j * 2 + 1.5, i * 2 + 1.5, f"{v}·K", ha="center", va="center", fontsize=10)
    ax.set_xlim(-0.2, 5.2)
    ax.set_ylim(5.2, -0.2)
    ax.set_aspect("equal")
    ax.set_xticks(range(6))
    ax.set_yticks(range(6))
    ax.grid(True, color=GREY)
    ax.set_title("2x2 input, 3x3 kernel K, stride 2:\neach input pixel stamps v·K; output 5x5", fontsize=9)
    for ax, kernel in zip(axes[1:], (3, 4)):
        counts = checkerboard_overlap(4, kernel, 2)
        ax.imshow(counts, cmap="magma", vmin=0, vmax=4)
        for (i, j), v in np.ndenumerate(counts):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7, color="white" if v < 2.5 else "k")
        ax.set_xticks([])
        ax.set_yticks([])
        even = "even in the middle" if kernel % 2 == 0 else "uneven: checkerboard"
        ax.set_title(f"copies overlapping per pixel\nkernel {kernel}, stride 2 ({even})", fontsize=9)
    return fig


@figure("unet_layout")
def unet_layout() -> Figure:
    """The encoder halves the size, the decoder doubles it back; skips carry the fine detail across.

    The channel counts are those of the U-Net lecture 08 trains (``train_segmenter``'s default width)."""
    import inspect

    from ..beyond.segmentation import train_segmenter

    w = inspect.signature(train_segmenter).parameters["width"].default
    fig = Figure(figsize=(8.6, 3.6))
    ax = fig.add_subplot()
    # (x, center y, height, color, label) of each block of maps
    boxes = {"e0": (0.0, 3.2, 2.6, BLUE, f"32x32, {w} ch"), "e1": (1.6, 2.0, 1.3, BLUE, f"16x16, {2 * w} ch"),
             "mid": (3.6, 0.9, 0.65, BLUE, f"8x8, {4 * w} ch"), "d1": (5.6, 2.0, 1.3, GREEN, f"16x16, {2 * w} ch"),
             "d0": (7.2, 3.2, 2.6, GREEN, f"32x32, {w} ch")}
    for x, y, h, color, text in boxes.values():
        ax.add_patch(Rectangle((x, y - h / 2), 0.9, h, facecolor=color, edgecolor="k"))
        ax.text(x + 0.45, y - h / 2 - 0.12, text, ha="center", fontsize=8, va="top")

    def arrow(a, b, color, dashed=False, across=False):
        xa, ya, ha = boxes[a][:3]
        xb, yb, hb = boxes[b][:3]
        start = (xa + 0.9, ya) if across else (xa + 0.9, ya - ha / 2 if yb < ya else ya + ha / 2)
        end = (xb, yb) if across else (xb, yb + hb / 2 if yb < ya else yb - hb / 2)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="->", mutation_scale=12, color=color,
                                     linestyle="--" if dashed else "-"))

    arrow("e0", "e1", ORANGE)
    arrow("e1", "mid", ORANGE)
    arrow("mid", "d1", RED)
    arrow("d1", "d0", RED)
    arrow("e0", "d0", "grey", dashed=True, across=True)
    arrow("e1", "d1", "grey", dashed=True, across=True)
    ax.text(4.1, 3.3, "skip: concatenate", ha="center", fontsize=8, color="grey")
    ax.text(4.1, 2.1, "skip: concatenate", ha="center", fontsize=8, color="grey")
    ax.text(1.2, 0.3, "max-pool 2x2 (halve)", color=ORANGE, fontsize=9, ha="center")
    ax.text(6.9, 0.3, "transposed conv k2 s2 (double)", color=RED, fontsize=9, ha="center")
    ax.text(8.3, 3.2, "1x1 conv:\n5 class scores\nper pixel", fontsize=8, va="center")
    ax.text(-0.1, 3.2, "image\n3 ch", fontsize=8, va="center", ha="right")
    ax.set_xlim(-1.0, 9.8)
    ax.set_ylim(0.0, 4.7)
    ax.axis("off")
    ax.set_title("A small U-Net: encoder (blue), decoder (green), skip connections", fontsize=10)
    return fig


@figure("triplet_idea")
def triplet_idea() -> Figure:
    """Before and after: the anchor pulls its positive in and pushes the negative past the margin."""
    margin = 2.0   # in the figure's units of squared distance
    fig = Figure(figsize=(7.6, 3.2))
    axes = fig.subplots(1, 2)
    for ax, (p, n), title in zip(axes, (((2.2, 1.2), (1.2, -0.6)), ((0.7, 0.3), (2.6, -1.2))),
                                 ("before training: negative closer", "after: positive close, negative beyond margin")):
        ax.plot(0, 0, "o", ms=12, color=BLUE)
        ax.text(0, 0.35, "anchor", ha="center", fontsize=9)
        ax.plot(*p, "o", ms=12, color=GREEN)
        ax.text(p[0], p[1] + 0.35, "positive\n(same person)", ha="center", fontsize=8)
        ax.plot(*n, "o", ms=12, color=RED)
        ax.text(n[0], n[1] - 0.55, "negative (other person)", ha="center", fontsize=8)
        for q, c in ((p, GREEN), (n, RED)):
            ax.plot([0, q[0]], [0, q[1]], color=c, lw=1.5)
        r = float(np.hypot(*p))   # the loss is 0 once d(a,n)² >= d(a,p)² + margin
        ax.add_patch(Circle((0, 0), np.sqrt(r ** 2 + margin), fill=False, ls=":", color="grey"))
        ax.set_xlim(-3.2, 3.6)
        ax.set_ylim(-3.2, 3.2)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(title, fontsize=9)
    fig.text(0.5, 0.02, "loss = max(0, d(a,p)² - d(a,n)² + margin); the loss is 0 once the negative is outside "
             "the dotted circle, radius √(d(a,p)² + margin)", ha="center", fontsize=8.5)
    return fig
