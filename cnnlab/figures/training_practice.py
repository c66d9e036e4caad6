"""Figure for lecture 04b: batch normalisation's computational graph and the three paths from x to x̂."""
from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from . import figure
from .basics import BLUE, GREEN, GREY, ORANGE

PURPLE = "#9b59b6"

# node: (x, y, label, formula)
_NODES = {
    "x": (0.0, 1.0, "$x$", "(N, D)"),
    "mu": (2.2, 2.2, r"$\mu$", r"$\frac{1}{N}\sum_i x_i$"),
    "var": (4.4, 2.2, r"$\sigma^2$", r"$\frac{1}{N}\sum_i (x_i-\mu)^2$"),
    "xhat": (6.6, 1.0, r"$\hat x$", r"$\frac{x-\mu}{\sqrt{\sigma^2+\varepsilon}}$"),
    "y": (8.8, 1.0, r"$y$", r"$\gamma\,\hat x+\beta$"),
    "gamma": (8.8, 2.4, r"$\gamma,\ \beta$", "(D,)"),
}
# (from, to, colour, bend): the colour says which path from x to x̂ the edge belongs to
_EDGES = [
    ("x", "xhat", BLUE, 0.0),
    ("x", "mu", ORANGE, 0.0),
    ("mu", "xhat", ORANGE, 0.3),
    ("x", "var", PURPLE, -0.5),
    ("mu", "var", PURPLE, 0.0),
    ("var", "xhat", PURPLE, 0.0),
    ("xhat", "y", "k", 0.0),
    ("gamma", "y", "k", 0.0),
]


@figure("batchnorm_graph")
def batchnorm_graph() -> Figure:
    """x reaches x̂ directly, through the batch mean and through the batch variance (which uses the mean too);
    the backward pass adds the three contributions."""
    fig = Figure(figsize=(9.6, 3.3))
    ax = fig.add_subplot(1, 1, 1)
    for a, b, colour, bend in _EDGES:
        (x0, y0, *_), (x1, y1, *_) = _NODES[a], _NODES[b]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", lw=2.2, color=colour, shrinkA=24, shrinkB=24,
                                    connectionstyle=f"arc3,rad={bend}"))
    for name, (x, y, label, formula) in _NODES.items():
        face = GREEN if name in ("x", "y") else GREY
        ax.add_patch(FancyBboxPatch((x - 0.55, y - 0.32), 1.1, 0.64, boxstyle="round,pad=0.05", facecolor=face,
                                    edgecolor="k", lw=1))
        ax.text(x, y, label, ha="center", va="center", fontsize=14)
        if name == "gamma":
            ax.text(x + 0.7, y, formula, ha="left", va="center", fontsize=9)
        else:
            ax.text(x, y - 0.62, formula, ha="center", va="center", fontsize=9)
    legend = [(BLUE, "direct: x → x̂"), (ORANGE, "through the mean μ"), (PURPLE, "through the variance σ²")]
    for k, (colour, text) in enumerate(legend):
        ax.plot([0.4 + 3.2 * k, 0.9 + 3.2 * k], [-0.55, -0.55], color=colour, lw=3)
        ax.text(1.0 + 3.2 * k, -0.55, text, va="center", fontsize=9)
    ax.set_xlim(-0.8, 10.0)
    ax.set_ylim(-0.85, 3.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("Batch norm, training mode: dL/dx is the sum over the three coloured paths", fontsize=10)
    return fig
