"""Plots for the architectures lecture: parameters vs multiply-adds, and ILSVRC's top-5 error by year."""
from __future__ import annotations

from ..models.zoo import ILSVRC_HISTORY

__all__ = ["plot_zoo", "plot_ilsvrc_history"]


_OFFSETS = [(5, 4), (5, -11), (-5, 4), (-5, -11), (7, -3), (-7, -3), (0, 9), (0, -15), (12, 12), (12, -20),
            (-12, 12), (-12, -20), (20, 0), (-20, 0)]


def _place_labels(ax, points: list[tuple[float, float, str]]) -> None:
    """Label each point at the first offset whose text box overlaps no earlier label and no marker."""
    from matplotlib.text import Text

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    marker_boxes = []
    for x, y, _ in points:
        px, py = ax.transData.transform((x, y))
        marker_boxes.append((px - 4, py - 4, px + 4, py + 4))
    taken: list[tuple[float, float, float, float]] = []

    def free(box):
        x0, y0, x1, y1 = box
        return all(x1 < a0 or x0 > a1 or y1 < b0 or y0 > b1 for a0, b0, a1, b1 in taken + marker_boxes)

    for x, y, label in sorted(points, key=lambda p: -p[1]):
        for dx, dy in _OFFSETS:
            text = ax.annotate(label, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=8,
                               ha="left" if dx >= 0 else "right",
                               arrowprops=dict(arrowstyle="-", lw=0.4, color="#999", shrinkA=0, shrinkB=3))
            text.update_positions(renderer)
            bb = Text.get_window_extent(text, renderer)  # the text alone, without its leader line
            box = (bb.x0, bb.y0, bb.x1, bb.y1)
            if free(box) or (dx, dy) == _OFFSETS[-1]:
                taken.append(box)
                break
            text.remove()


def plot_zoo(rows: list[dict]):
    """Parameters (millions) against multiply-adds (billions), log scales, one labelled point per network.

    Red points are networks behind an ILSVRC competition entry. LeNet-5 (thousands of times
    smaller than the ImageNet networks) gets its own inset, so it does not stretch the main axes.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    big = [r for r in rows if r["input"] >= 100]
    tiny = [r for r in rows if r["input"] < 100]
    colour = lambda r: "tab:blue" if r["top5_error"] is None else "tab:red"  # noqa: E731
    for r in big:
        ax.scatter(r["macs"] / 1e9, r["params"] / 1e6, s=40, color=colour(r), zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    if big:
        xs = [r["macs"] / 1e9 for r in big]
        ys = [r["params"] / 1e6 for r in big]
        ax.set_xlim(min(xs) / 1.6, max(xs) * 2.2)
        ax.set_ylim(min(ys) / 1.6, max(ys) * 1.8)
    ax.set_xlabel("multiply-adds per image (billions, log scale)")
    ax.set_ylabel("parameters (millions, log scale)")
    ax.set_title("Cost of the architectures (red: behind an ILSVRC competition entry)")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    _place_labels(ax, [(r["macs"] / 1e9, r["params"] / 1e6, r["name"]) for r in big])
    if tiny:
        inset = ax.inset_axes([0.72, 0.06, 0.25, 0.25])
        for r in tiny:
            inset.scatter(r["macs"] / 1e6, r["params"] / 1e3, s=30, color=colour(r))
            inset.annotate(r["name"], (r["macs"] / 1e6, r["params"] / 1e3), textcoords="offset points",
                           xytext=(4, 3), fontsize=7)
        inset.set_xlabel("M multiply-adds", fontsize=7)
        inset.set_ylabel("k parameters", fontsize=7)
        inset.tick_params(labelsize=6)
        inset.set_title("32×32 input (other scale)", fontsize=7)
    return fig


def plot_ilsvrc_history(human: float = 5.1):
    """Winning top-5 error of the ILSVRC classification task per year, with the estimated human error."""
    import matplotlib.pyplot as plt

    years = [y for y, _, _ in ILSVRC_HISTORY]
    errors = [e for _, _, e in ILSVRC_HISTORY]
    fig, ax = plt.subplots(figsize=(8, 4))
    bars = ax.bar(years, errors, color=["#bbb" if y < 2012 else "tab:blue" for y in years])
    for bar, (_, name, err) in zip(bars, ILSVRC_HISTORY):
        ax.text(bar.get_x() + bar.get_width() / 2, err + 0.4, f"{err:g}%\n{name.split(' (')[0]}", ha="center",
                fontsize=7)
    ax.axhline(human, ls="--", color="tab:red", lw=1)
    ax.text(years[0] - 0.4, human + 0.4, f"human (one trained annotator) ≈ {human}%", color="tab:red", fontsize=8)
    ax.set_xlabel("year")
    ax.set_ylabel("top-5 error (%)")
    ax.set_ylim(0, max(errors) + 5)
    ax.set_title("ILSVRC classification: winning top-5 error (grey: before CNNs)")
    fig.tight_layout()
    return fig
