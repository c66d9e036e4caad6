"""Diagrams for lectures 03-07: classic stacks (LeNet-5, AlexNet, VGG-16), SE block, global average pooling,
a frozen base with a new head, and a transposed convolution."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import figure
from .architectures import CONV, DENSE, INPUT, MERGE, POOL, _arrow, _box, _new
from .basics import _finish, _grid

FROZEN = "#bdbdbd"


def _chain(ax, y, items, x0=0.2, gap=0.25, h=0.7):
    """Draw boxes left to right at height y; ``items`` are (label, colour, width); arrows between them."""
    x = x0
    ends = []
    for label, colour, w in items:
        _box(ax, x + w / 2, y, w, h, label, colour, 7)
        ends.append((x, x + w))
        x += w + gap
    for (_, a1), (b0, _) in zip(ends, ends[1:]):
        _arrow(ax, (a1 + 0.01, y), (b0 - 0.01, y))
    return x


@figure("classic_stacks")
def classic_stacks():
    """LeNet-5 (the modern variant), AlexNet (torchvision's one-GPU widths, the paper's noted) and VGG-16 as chains
    of blocks with their output shapes."""
    fig, ax = _new(13.5, 5.6)
    rows = [
        ("LeNet-5 (1998), modern variant: 61,706 parameters", [
            ("input\n32×32×1", INPUT, 0.9), ("conv 5×5\n6 → 28×28", CONV, 1.0), ("avg pool 2\n14×14", POOL, 0.9),
            ("conv 5×5\n16 → 10×10", CONV, 1.05), ("avg pool 2\n5×5", POOL, 0.9), ("conv 5×5\n120 → 1×1", CONV, 1.05),
            ("dense\n84", DENSE, 0.7), ("dense\n10", DENSE, 0.7)]),
        ("AlexNet (2012) as built here: torchvision's one-GPU variant, 61.1 million parameters "
         "(the 2012 paper: 96, 256, 384, 384, 256 filters, split over two GPUs)", [
            ("input\n224×224×3", INPUT, 0.95), ("conv 11×11/4\n64, ReLU, LRN", CONV, 1.15), ("max pool\n3/2", POOL, 0.75),
            ("conv 5×5\n192", CONV, 0.8), ("max pool\n3/2", POOL, 0.75), ("conv 3×3 384\nconv 3×3 256\nconv 3×3 256", CONV, 1.15),
            ("max pool\n3/2", POOL, 0.75), ("dense 4096\ndropout", DENSE, 0.95), ("dense 4096\ndropout", DENSE, 0.95),
            ("dense\n1000", DENSE, 0.7)]),
        ("VGG-16 (2014), 138 million parameters: only 3×3 convolutions", [
            ("input\n224×224×3", INPUT, 0.95), ("2× conv\n64", CONV, 0.75), ("pool", POOL, 0.5),
            ("2× conv\n128", CONV, 0.75), ("pool", POOL, 0.5), ("3× conv\n256", CONV, 0.75), ("pool", POOL, 0.5),
            ("3× conv\n512", CONV, 0.75), ("pool", POOL, 0.5), ("3× conv\n512", CONV, 0.75), ("pool", POOL, 0.5),
            ("dense\n4096", DENSE, 0.7), ("dense\n4096", DENSE, 0.7), ("dense\n1000", DENSE, 0.7)]),
    ]
    for k, (title, items) in enumerate(rows):
        y = 4.75 - 1.8 * k
        ax.text(0.2, y + 0.62, title, fontsize=10, weight="bold")
        _chain(ax, y, items, h=0.8 if k == 0 else 0.9)
    return fig


@figure("se_block")
def se_block():
    """Squeeze (global average pool) → dense C/r + ReLU → dense C + sigmoid (excite) → rescale the maps."""
    fig, ax = _new(12.5, 3.0)
    ax.text(0.2, 2.65, "Squeeze-and-excitation block (C maps, reduction r = 16)", fontsize=11, weight="bold")
    x = _chain(ax, 1.55, [("feature maps\nH×W×C", INPUT, 1.2), ("global average\npool → 1×1×C", POOL, 1.3),
                          ("dense C/r\n+ ReLU", DENSE, 1.05), ("dense C\n+ sigmoid", DENSE, 1.05),
                          ("weights s\nin (0, 1)", MERGE, 1.0)], gap=0.35)
    _box(ax, x + 0.35, 1.55, 0.5, 0.5, "×", MERGE, 12)
    _arrow(ax, (x - 0.34, 1.55), (x + 0.09, 1.55))
    _box(ax, x + 1.55, 1.55, 1.3, 0.7, "rescaled maps\nH×W×C", INPUT, 7)
    _arrow(ax, (x + 0.61, 1.55), (x + 0.89, 1.55))
    ax.annotate("", xy=(x + 0.35, 1.3), xytext=(0.8, 1.19),
                arrowprops=dict(arrowstyle="-|>", color="#333", connectionstyle="arc3,rad=0.18"))
    ax.text(4.0, 0.35, "the maps themselves (skip the squeeze), each multiplied by its own weight",
            fontsize=8, color="#555")
    ax.text(2.1, 2.15, "squeeze", fontsize=9, color="#555")
    ax.text(4.5, 2.15, "excite", fontsize=9, color="#555")
    return fig


@figure("global_average_pooling")
def global_average_pooling() -> Figure:
    """Each H×W map becomes its mean: C maps → a vector of C numbers, whatever H and W."""
    fig = Figure(figsize=(8.0, 3.0))
    ax = fig.add_subplot()
    rng = np.random.default_rng(0)
    colours = ["#e74c3c", "#27ae60", "#2e86c1"]
    for k in range(3):
        vals = rng.integers(0, 9, size=(4, 4))
        x0 = 5.0 * k
        _grid(ax, 4, 4, x0=x0, y0=0, color=colours[k], values=vals)
        ax.add_patch(Rectangle((x0 + 1.5, 5.2), 1, 1, facecolor=colours[k], edgecolor="k", alpha=0.7))
        ax.text(x0 + 2.0, 5.7, f"{vals.mean():.2f}", ha="center", va="center", fontsize=9)
        ax.annotate("", xy=(x0 + 2.0, 5.15), xytext=(x0 + 2.0, 4.1), arrowprops=dict(arrowstyle="-|>"))
        ax.text(x0 + 2.3, 4.7, "mean", fontsize=8, color="#444")
    ax.text(6.0, 7.0, "3 feature maps of 4×4 → a vector of 3 numbers (no parameters)", ha="center", fontsize=9)
    _finish(ax, "Global average pooling")
    return fig


@figure("frozen_base_new_head")
def frozen_base_new_head():
    """Transfer learning: the pretrained base is frozen (grey), the old head is replaced by GAP + a new dense layer."""
    fig, ax = _new(12.0, 3.4)
    ax.text(0.2, 3.05, "Transfer learning: keep the pretrained base, replace the head", fontsize=11, weight="bold")
    x = _chain(ax, 2.0, [("input", INPUT, 0.7), ("conv\nblock 1", FROZEN, 0.9), ("conv\nblock 2", FROZEN, 0.9),
                         ("conv\nblock 3", FROZEN, 0.9), ("conv\nblock 4", FROZEN, 0.9)], gap=0.3)
    ax.add_patch(Rectangle((1.05, 1.5), x - 1.3, 1.0, fill=False, ec="#555", ls="--"))
    ax.text(1.1, 1.2, "pretrained base: frozen first (no gradients),\nthen fine-tuned with a small learning rate",
            fontsize=8, color="#555", va="top")
    _box(ax, x + 0.95, 2.5, 1.9, 0.45, "old head: 1000 classes", "#f4cccc", 7)
    ax.plot([x, x + 1.9], [2.72, 2.28], color="#c0392b", lw=2)
    _box(ax, x + 0.75, 1.55, 1.5, 0.55, "global average pool", POOL, 7)
    _box(ax, x + 2.55, 1.55, 1.5, 0.55, "new dense + softmax\n(your classes)", DENSE, 7)
    _arrow(ax, (x - 0.28, 1.9), (x, 1.6))
    _arrow(ax, (x + 1.5, 1.55), (x + 1.8, 1.55))
    ax.text(x + 0.2, 0.75, "trained first, with a higher learning rate", fontsize=8, color="#2e7d32")
    return fig


@figure("transposed_convolution")
def transposed_convolution() -> Figure:
    """A 2×2 input, 3×3 kernel, stride 2: each input value stamps value × kernel onto the output; overlaps add."""
    fig = Figure(figsize=(9.0, 3.4))
    ax = fig.add_subplot()
    x = np.array([[1, 2], [3, 4]])
    k = np.array([[1, 1, 1], [1, 2, 1], [1, 1, 1]])
    out = np.zeros((5, 5), dtype=int)
    for (i, j), v in np.ndenumerate(x):
        out[2 * i:2 * i + 3, 2 * j:2 * j + 3] += v * k
    _grid(ax, 2, 2, x0=0, y0=1.5, color="white", values=x)
    ax.add_patch(Rectangle((0, 1.5), 1, 1, facecolor="#f5b7b1", alpha=0.7, edgecolor="k", lw=2))
    ax.text(1, 4.0, "input 2×2", ha="center", fontsize=9)
    ax.text(3.2, 2.5, "⊛ kernel 3×3\nstride 2", ha="center", fontsize=9)
    _grid(ax, 3, 3, x0=4.6, y0=1.0, color="white", values=k)
    ax.text(6.1, 4.5, "kernel", ha="center", fontsize=9)
    _grid(ax, 5, 5, x0=9, y0=0, color="white", values=out)
    ax.add_patch(Rectangle((9, 0), 3, 3, facecolor="#f5b7b1", alpha=0.5, edgecolor="#c0392b", lw=2))
    ax.text(11.5, 5.6, "output 5×5 = (2 − 1)·2 + 3", ha="center", fontsize=9)
    ax.annotate("", xy=(8.8, 2.5), xytext=(7.8, 2.5), arrowprops=dict(arrowstyle="-|>"))
    _finish(ax, "Transposed convolution: each input value stamps value × kernel (red: the 1); overlaps add up")
    return fig
