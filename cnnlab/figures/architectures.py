"""Diagrams for the architecture lectures: the typical CNN stack, an inception module,
a residual unit with its projection shortcut, and a depthwise separable convolution."""
from __future__ import annotations

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from . import figure

CONV, POOL, DENSE, MERGE, INPUT = "#9ecae1", "#fdd49e", "#c7e9c0", "#dadaeb", "#eeeeee"


def _new(width: float, height: float):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    return fig, ax


def _box(ax, x, y, w, h, text, color, fontsize=9):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03,rounding_size=0.08",
                                fc=color, ec="#444", lw=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, **kw):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, color="#333", lw=1, **kw))


@figure("cnn_stack")
def cnn_stack():
    """[conv → ReLU] × k → pool, repeated: maps shrink, depth grows; then flatten → dense → softmax."""
    fig, ax = _new(12.5, 3.2)
    ax.text(0.5, 3.0, "The typical CNN: feature maps shrink spatially and grow in depth", fontsize=11, weight="bold")
    stages = [("input\n32×32×3", INPUT, 1.5, 0.9), ("conv+ReLU\n32×32×32", CONV, 1.5, 1.6),
              ("pool\n16×16×32", POOL, 1.05, 1.6), ("conv+ReLU\n16×16×64", CONV, 1.05, 2.3),
              ("pool\n8×8×64", POOL, 0.75, 2.3), ("conv+ReLU\n8×8×128", CONV, 0.75, 2.9),
              ("GAP / flatten", POOL, 0.3, 2.0), ("dense\n+ReLU", DENSE, 0.3, 1.2), ("softmax\n10", DENSE, 0.3, 0.6)]
    x = 0.6
    centres = []
    for label, color, h, w in stages:
        w = 0.55 + 0.2 * w
        _box(ax, x + w / 2, 1.4, w, h + 0.3, "", color)
        ax.text(x + w / 2, 1.4 - (h + 0.3) / 2 - 0.3, label, ha="center", va="top", fontsize=8)
        centres.append((x, x + w))
        x += w + 0.35
    for (a0, a1), (b0, _) in zip(centres, centres[1:]):
        _arrow(ax, (a1 + 0.02, 1.4), (b0 - 0.02, 1.4))
    ax.text(0.6, 2.55, "height/width ↓", color="#555", fontsize=9)
    ax.text(5.2, 2.55, "depth (number of feature maps) ↑", color="#555", fontsize=9)
    return fig


@figure("inception_module")
def inception_module():
    """Four parallel branches, concatenated along depth; 1×1 bottlenecks make the 3×3/5×5 convs cheap."""
    fig, ax = _new(9, 4.2)
    _box(ax, 4.5, 0.45, 2.4, 0.5, "previous layer (28×28×192)", INPUT)
    branches = [[("1×1 conv, 64", CONV)],
                [("1×1 conv, 96", CONV), ("3×3 conv, 128", CONV)],
                [("1×1 conv, 16", CONV), ("5×5 conv, 32", CONV)],
                [("3×3 max-pool, s1", POOL), ("1×1 conv, 32", CONV)]]
    for i, branch in enumerate(branches):
        x = 1.3 + 2.15 * i
        ys = [1.5, 2.5] if len(branch) == 2 else [2.0]
        _arrow(ax, (4.5, 0.72), (x, ys[0] - 0.27))
        for (label, color), y in zip(branch, ys):
            _box(ax, x, y, 1.9, 0.5, label, color)
        if len(ys) == 2:
            _arrow(ax, (x, ys[0] + 0.27), (x, ys[1] - 0.27))
        _arrow(ax, (x, ys[-1] + 0.27), (4.5, 3.3))
    _box(ax, 4.5, 3.55, 4.2, 0.5, "depth concatenation → 28×28×256", MERGE)
    ax.text(0.1, 4.0, "Inception module (GoogLeNet 3a)", fontsize=11, weight="bold")
    return fig


@figure("residual_unit")
def residual_unit():
    """A residual unit: output = ReLU(F(x) + shortcut(x)); the shortcut is a 1×1 stride-2 conv + BN when the shape changes."""
    fig, ax = _new(9, 4.4)
    for x0, title, proj in ((2.2, "identity shortcut (same shape)", False), (6.8, "projection shortcut (stride 2)", True)):
        ax.text(x0, 4.2, title, ha="center", fontsize=10, weight="bold")
        _box(ax, x0, 0.35, 1.8, 0.4, "x: 56×56×64" if not proj else "x: 56×56×64", INPUT)
        layers = ["3×3 conv, 64" if not proj else "3×3 conv, 128, stride 2", "BN + ReLU",
                  "3×3 conv, 64" if not proj else "3×3 conv, 128", "BN"]
        for k, label in enumerate(layers):
            _box(ax, x0 - 0.6, 1.0 + 0.6 * k, 2.1, 0.38, label, CONV if "conv" in label else MERGE, 8)
            if k:
                _arrow(ax, (x0 - 0.6, 0.6 * k + 0.59), (x0 - 0.6, 0.6 * k + 0.81))
        _arrow(ax, (x0, 0.56), (x0 - 0.6, 0.8))
        _box(ax, x0, 3.5, 0.5, 0.4, "+", MERGE, 12)
        _arrow(ax, (x0 - 0.6, 2.99), (x0 - 0.1, 3.3))
        if proj:
            _box(ax, x0 + 1.2, 1.6, 1.3, 0.5, "1×1 conv,\n128, stride 2", CONV, 8)
            _box(ax, x0 + 1.2, 2.35, 1.3, 0.38, "BN", MERGE, 8)
            _arrow(ax, (x0 + 0.5, 0.45), (x0 + 1.2, 1.33))
            _arrow(ax, (x0 + 1.2, 1.87), (x0 + 1.2, 2.15))
            _arrow(ax, (x0 + 1.2, 2.55), (x0 + 0.15, 3.32))
        else:
            _arrow(ax, (x0 + 0.6, 0.45), (x0 + 0.15, 3.32), connectionstyle="arc3,rad=0.35")
            ax.text(x0 + 0.95, 1.9, "identity", fontsize=8, color="#555")
        ax.text(x0, 3.9, "ReLU → output", ha="center", fontsize=8)
    return fig


@figure("depthwise_separable")
def depthwise_separable():
    """Regular conv vs depthwise (one k×k filter per channel) then pointwise (1×1 across channels), with counts."""
    fig, ax = _new(9, 3.4)
    cin, cout, k = 32, 64, 3
    ax.text(0.1, 3.15, f"{cin} → {cout} maps with {k}×{k} kernels", fontsize=11, weight="bold")
    _box(ax, 1.2, 1.7, 1.6, 0.9, f"regular conv\n{cout} filters\nof {k}×{k}×{cin}", CONV)
    ax.text(1.2, 0.8, f"{k * k * cin * cout:,} weights", ha="center", fontsize=9)
    _box(ax, 4.3, 1.7, 1.9, 0.9, f"depthwise\n{cin} filters of {k}×{k}×1\n(one per channel)", CONV)
    _arrow(ax, (5.3, 1.7), (5.9, 1.7))
    _box(ax, 7.0, 1.7, 1.9, 0.9, f"pointwise\n{cout} filters\nof 1×1×{cin}", DENSE)
    sep = k * k * cin + cin * cout
    ax.text(5.65, 0.8, f"{k * k * cin} + {cin * cout:,} = {sep:,} weights  (×{k * k * cin * cout / sep:.1f} fewer)",
            ha="center", fontsize=9)
    ax.text(5.65, 0.35, "cost ratio = 1/C_out + 1/k²", ha="center", fontsize=9, color="#555")
    return fig
