"""Figures for lectures 01-03: receptive field, sparse vs dense connections, padding, stride, pooling, volumes."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import figure

BLUE, ORANGE, GREEN, GREY = "#6ea0dc", "#eb7814", "#78be78", "#dddddd"


def _grid(ax, rows, cols, x0=0.0, y0=0.0, color=BLUE, values=None, pad=0, fmt="{:g}"):
    """Draw a rows x cols grid of unit cells with its top-left corner at (x0, y0); y grows downwards."""
    for r in range(rows):
        for c in range(cols):
            inside = pad <= r < rows - pad and pad <= c < cols - pad
            ax.add_patch(Rectangle((x0 + c, y0 + r), 1, 1, facecolor=color if inside else "white",
                                   edgecolor="#555", lw=0.8, ls="-" if inside else "--"))
            if values is not None:
                ax.text(x0 + c + 0.5, y0 + r + 0.5, fmt.format(values[r][c]), ha="center", va="center", fontsize=9)


def _finish(ax, title=""):
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.axis("off")
    ax.autoscale_view()
    if title:
        ax.set_title(title, fontsize=10)


@figure("receptive_field")
def receptive_field() -> Figure:
    fig = Figure(figsize=(6.4, 3.0))
    ax = fig.add_subplot()
    _grid(ax, 7, 7)
    ax.add_patch(Rectangle((2, 1), 3, 3, facecolor=ORANGE, alpha=0.6, edgecolor="k", lw=2))
    _grid(ax, 5, 5, x0=10, y0=1, color=GREEN)
    ax.add_patch(Rectangle((12, 2), 1, 1, facecolor=ORANGE, edgecolor="k", lw=2))
    for (x, y) in [(5, 1), (5, 4)]:
        ax.plot([x, 12], [y, 2 if y == 1 else 3], color="k", lw=0.8)
    ax.text(3.5, 7.6, "input 7×7: the 3×3 receptive field", ha="center", fontsize=9)
    ax.text(12.5, 6.6, "output 5×5: one unit", ha="center", fontsize=9)
    _finish(ax, "Each output unit sees only a small window of the input")
    return fig


@figure("sparse_vs_dense")
def sparse_vs_dense() -> Figure:
    fig = Figure(figsize=(7.0, 2.8))
    for k, (title, width) in enumerate([("dense: every output sees every input (25 weights)", None),
                                        ("convolution, kernel 3: 3 shared weights", 1)]):
        ax = fig.add_subplot(1, 2, k + 1)
        xs = np.arange(5)
        for i in xs:
            for j in xs:
                if width is None or abs(i - j) <= width:
                    colour = ["#c0392b", "#2874a6", "#229954"][j - i + 1] if width else "#888"
                    ax.plot([i, j], [0, 1], color=colour, lw=1.2)
        ax.scatter(xs, np.zeros(5), s=220, color=BLUE, zorder=3, edgecolor="k")
        ax.scatter(xs, np.ones(5), s=220, color=GREEN, zorder=3, edgecolor="k")
        for i in xs:
            ax.text(i, -0.02, f"x{i + 1}", ha="center", va="center", fontsize=7)
            ax.text(i, 1.02, f"s{i + 1}", ha="center", va="center", fontsize=7)
        ax.set_ylim(1.3, -0.3)
        ax.set_xlim(-0.6, 4.6)
        ax.axis("off")
        ax.set_title(title, fontsize=9)
    return fig


@figure("padding_modes")
def padding_modes() -> Figure:
    fig = Figure(figsize=(8.0, 3.0))
    for k, (name, p) in enumerate([("valid (p = 0)", 0), ("same (p = 1)", 1), ("full (p = 2)", 2)]):
        ax = fig.add_subplot(1, 3, k + 1)
        n = 5 + 2 * p
        _grid(ax, n, n, pad=p)
        ax.add_patch(Rectangle((0, 0), 3, 3, facecolor=ORANGE, alpha=0.55, edgecolor="k", lw=1.5))
        out = n - 3 + 1
        ax.text(n / 2, n + 0.9, f"5×5 input, 3×3 kernel → {out}×{out}", ha="center", fontsize=9)
        _finish(ax, name)
    return fig


@figure("stride_diagram")
def stride_diagram() -> Figure:
    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    for row, (s, label) in enumerate([(1, "stride 1: 5 positions"), (2, "stride 2: 3 positions"),
                                      (3, "stride 3: 2 positions,\nlast pixel never used (floor)")]):
        y0 = row * 3.4
        _grid(ax, 1, 7, y0=y0)
        n_out = (7 - 3) // s + 1
        for t in range(n_out):
            y = y0 + 1.35 + 0.38 * t
            ax.plot([t * s + 0.1, t * s + 2.9], [y, y], color=ORANGE, lw=3, solid_capstyle="butt")
        ax.text(7.5, y0 + 0.9, f"{label}\n⌊(7 − 3)/{s}⌋ + 1 = {n_out}", va="center", fontsize=9)
    _finish(ax, "A 3-wide window on 7 pixels with strides 1, 2, 3 (orange bars = window positions)")
    ax.set_xlim(-0.2, 14)
    return fig


@figure("pooling_diagram")
def pooling_diagram() -> Figure:
    x = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]])
    colours = ["#f5b7b1", "#aed6f1", "#abebc6", "#f9e79f"]
    fig = Figure(figsize=(7.2, 2.6))
    ax = fig.add_subplot()
    _grid(ax, 4, 4, color="white", values=x)
    for q, (r, c) in enumerate([(0, 0), (0, 2), (2, 0), (2, 2)]):
        ax.add_patch(Rectangle((c, r), 2, 2, facecolor=colours[q], alpha=0.6, edgecolor="k", lw=1.5))
    mx = x.reshape(2, 2, 2, 2).max(axis=(1, 3))
    av = x.reshape(2, 2, 2, 2).mean(axis=(1, 3))
    for x0, vals, name in [(6, mx, "max pool 2×2, s 2"), (10, av, "average pool 2×2, s 2")]:
        _grid(ax, 2, 2, x0=x0, y0=1, color="white", values=vals)
        for q, (r, c) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
            ax.add_patch(Rectangle((x0 + c, 1 + r), 1, 1, facecolor=colours[q], alpha=0.6, edgecolor="k"))
        ax.text(x0 + 1, 3.7, name, ha="center", fontsize=9)
    ax.text(2, 4.6, "4×4 input", ha="center", fontsize=9)
    _finish(ax, "Pooling: no weights, one number per window")
    return fig


@figure("conv_volume")
def conv_volume() -> Figure:
    fig = Figure(figsize=(7.6, 3.0))
    ax = fig.add_subplot()
    colours = ["#e74c3c", "#27ae60", "#2e86c1"]
    for k in range(3):  # input volume 6x6x3 drawn as shifted sheets
        _grid(ax, 6, 6, x0=2 - 0.6 * k, y0=0.6 * k, color=colours[2 - k])
    for k in range(3):  # kernel 3x3x3
        _grid(ax, 3, 3, x0=9.4 - 0.4 * k, y0=1.5 + 0.4 * k, color=colours[2 - k])
    _grid(ax, 4, 4, x0=15, y0=1.2, color=GREEN)
    ax.text(3.6, 8.2, "input 6×6×3 (R, G, B)", ha="center", fontsize=9)
    ax.text(10.2, 6.2, "one filter 3×3×3", ha="center", fontsize=9)
    ax.text(17, 6.2, "one feature map 4×4", ha="center", fontsize=9)
    ax.text(13.3, 3.3, "→", fontsize=22, ha="center", va="center")
    ax.text(8.2, 3.3, "∗", fontsize=22, ha="center", va="center")
    _finish(ax, "Convolution over a volume: the kernel is as deep as the input; 27 products + bias per output")
    return fig
