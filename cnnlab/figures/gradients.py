"""Figures for lecture 03b: where the gradient of one output goes, im2col, dilation."""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import figure
from .basics import BLUE, GREEN, ORANGE, _finish, _grid

PATCH_COLOURS = ["#f5b7b1", "#aed6f1", "#abebc6", "#f9e79f"]
EDGE_COLOURS = ["#c0392b", "#2874a6", "#229954", "#b7950b"]


@figure("backprop_routes")
def backprop_routes() -> Figure:
    """One output cell's gradient: a convolution spreads it over its window (times the weights), max pooling
    sends it to the winner only, average pooling shares it equally."""
    fig = Figure(figsize=(9.6, 3.2))
    w = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    x = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]])
    panels = [
        ("convolution 3×3: dx = w in the window", np.pad(w, ((0, 1), (1, 0))).astype(float), (0, 1, 3), "{:g}"),
        ("max pool 2×2: all to the argmax", np.array([[0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]], float),
         (0, 2, 2), "{:g}"),
        ("average pool 2×2: ¼ to each", np.where(np.pad(np.ones((2, 2)), ((0, 2), (2, 0))) > 0, "¼", "0"),
         (0, 2, 2), "{}"),
    ]
    for k, (title, dx, (top, left, size), fmt) in enumerate(panels):
        ax = fig.add_subplot(1, 3, k + 1)
        _grid(ax, 4, 4, color="white", values=dx, fmt=fmt)
        ax.add_patch(Rectangle((left, top), size, size, facecolor=ORANGE, alpha=0.35, edgecolor="k", lw=2))
        if k == 1:
            for r in range(4):
                for c in range(4):
                    ax.text(c + 0.85, r + 0.2, str(x[r, c]), fontsize=6, color="#777", ha="center")
        _grid(ax, 2, 2, x0=5.2, y0=1, color="white", values=[[0, 1], [0, 0]])
        ax.add_patch(Rectangle((6.2, 1), 1, 1, facecolor=GREEN, alpha=0.6, edgecolor="k", lw=2))
        ax.annotate("", xy=(4.1, 1.5), xytext=(5.1, 1.5), arrowprops=dict(arrowstyle="->", lw=1.5))
        ax.text(6.2, 3.6, "dout", ha="center", fontsize=8)
        ax.text(2, 4.6, "dx (small grey: x)" if k == 1 else "dx", ha="center", fontsize=8)
        _finish(ax, title)
    fig.suptitle("Backward pass: the gradient of one output cell flows back only to its window", fontsize=10)
    return fig


@figure("im2col")
def im2col_diagram() -> Figure:
    """A 4×4 input, a 3×3 kernel: each of the 4 patches becomes one row of a 4×9 matrix; one matrix product
    with the 9×1 flattened kernel gives the 4 outputs, reshaped to 2×2."""
    fig = Figure(figsize=(10.0, 3.6))
    ax = fig.add_subplot()
    x = np.arange(1, 17).reshape(4, 4)
    _grid(ax, 4, 4, color="white", values=x)
    corners = [(0, 0), (0, 1), (1, 0), (1, 1)]
    for q, (r, c) in enumerate(corners):
        off = 0.06 * q
        ax.add_patch(Rectangle((c + off, r + off), 3 - 2 * off, 3 - 2 * off, fill=False,
                               edgecolor=EDGE_COLOURS[q], lw=2))
    ax.text(2, 4.7, "input 4×4 (one channel)", ha="center", fontsize=9)
    ax.annotate("", xy=(6.2, 2), xytext=(4.4, 2), arrowprops=dict(arrowstyle="->", lw=1.5))
    ax.text(5.3, 1.6, "im2col", ha="center", fontsize=9)
    rows = np.array([x[r:r + 3, c:c + 3].ravel() for r, c in corners])
    _grid(ax, 4, 9, x0=6.5, y0=0, color="white", values=rows)
    for q in range(4):
        ax.add_patch(Rectangle((6.5, q), 9, 1, facecolor=PATCH_COLOURS[q], alpha=0.6, edgecolor="k"))
    ax.text(11, 4.7, "patches: (positions = 4) × (C·kh·kw = 9)", ha="center", fontsize=9)
    ax.text(16.1, 2, "@", fontsize=16, ha="center", va="center")
    _grid(ax, 9, 1, x0=16.8, y0=-2.5, color=BLUE, values=[["w%d" % i] for i in range(9)], fmt="{}")
    ax.text(17.3, 7.3, "kernel 9×1", ha="center", fontsize=9)
    ax.text(18.5, 2, "=", fontsize=16, ha="center", va="center")
    _grid(ax, 4, 1, x0=19.2, y0=0, color=GREEN, values=[[f"o{i}"] for i in range(4)], fmt="{}")
    ax.annotate("", xy=(21.6, 2), xytext=(20.4, 2), arrowprops=dict(arrowstyle="->", lw=1.5))
    ax.text(21, 1.6, "reshape", ha="center", fontsize=8)
    _grid(ax, 2, 2, x0=21.9, y0=1, color=GREEN, values=[["o0", "o1"], ["o2", "o3"]], fmt="{}")
    ax.text(22.9, 4.7, "output 2×2", ha="center", fontsize=9)
    _finish(ax, "im2col: every patch becomes a row, the convolution becomes one matrix product "
                "(with F filters the kernel matrix is 9×F)")
    return fig


@figure("dilation")
def dilation() -> Figure:
    """A 3×3 kernel with dilation 1, 2 and 3: same 9 weights, spread over 3×3, 5×5 and 7×7 pixels."""
    fig = Figure(figsize=(8.4, 3.0))
    for k, d in enumerate([1, 2, 3]):
        ax = fig.add_subplot(1, 3, k + 1)
        _grid(ax, 7, 7, color="white")
        span = 2 * d + 1
        start = (7 - span) // 2
        for r in range(3):
            for c in range(3):
                ax.add_patch(Rectangle((start + c * d, start + r * d), 1, 1, facecolor=ORANGE, edgecolor="k"))
        ax.add_patch(Rectangle((start, start), span, span, fill=False, edgecolor="k", lw=1.5, ls="--"))
        _finish(ax, f"dilation {d}: 9 weights over {span}×{span}")
    return fig
