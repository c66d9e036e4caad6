"""Plots for the architectures lecture: parameters vs multiply-adds, and ILSVRC's top-5 error by year."""
from __future__ import annotations

from ..models.zoo import ILSVRC_HISTORY

__all__ = ["plot_zoo", "plot_ilsvrc_history"]


def plot_zoo(rows: list[dict]):
    """Scatter of parameters (millions) against multiply-adds (billions), one labelled point per network."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in rows:
        ax.scatter(r["macs"] / 1e9, r["params"] / 1e6, s=40, color="tab:blue" if r["top5_error"] is None else "tab:red")
        ax.annotate(r["name"], (r["macs"] / 1e9, r["params"] / 1e6), textcoords="offset points", xytext=(4, 3),
                    fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("multiply-adds per image (billions, log scale)")
    ax.set_ylabel("parameters (millions, log scale)")
    ax.set_title("Cost of the architectures (red: ILSVRC entries)")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
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
