"""Plots of what a network learned: attribution maps next to their images, accuracy under attack,
adversarial examples and feature visualisations (matplotlib Figures)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

__all__ = ["plot_accuracy_vs_epsilon", "plot_adversarial_example", "plot_explanations", "plot_feature_visualizations"]


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _np(a) -> np.ndarray:
    return a.detach().cpu().float().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=np.float64)


def _image(ax, img) -> None:
    """One image [C, H, W] (C = 1 or 3) or [H, W], gray or RGB, without ticks."""
    a = _np(img)
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    ax.imshow(np.clip(a, 0, 1), cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])


def _heat(ax, values, image=None, signed: bool = False) -> None:
    """A map drawn with its own scale: in 'inferno' from 0, or (``signed``) red/blue around 0;
    over the image in gray when it is given."""
    m = _np(values)
    if image is not None:
        base = _np(image)
        base = base.mean(0) if base.ndim == 3 else base
        ax.imshow(base, cmap="gray", vmin=0, vmax=1)
    top = float(np.abs(m).max()) or 1.0
    if signed:
        ax.imshow(m, cmap="RdBu_r", vmin=-top, vmax=top, alpha=0.75 if image is not None else 1.0)
    else:
        ax.imshow(m, cmap="inferno", vmin=0, vmax=top, alpha=0.6 if image is not None else 1.0)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_explanations(images: torch.Tensor, maps: Mapping[str, torch.Tensor], titles: Sequence[str] | None = None,
                      overlay: bool = False):
    """One row per image: the image, then each method's map (each panel on its own colour scale).

    Args:
        images (Tensor[N, C, H, W]): the images explained.
        maps (mapping of str to Tensor[N, h, w]): method name → maps; a method with any negative value
            (occlusion) is drawn red (positive) / blue (negative) around 0, the others from 0 (black) to
            their maximum (yellow).
        titles (sequence of str, optional): one line per image, shown above its picture.
        overlay (bool): draw the maps over the gray image.
    """
    n = images.shape[0]
    names = list(maps)
    plt = _plt()
    fig, axes = plt.subplots(n, 1 + len(names), figsize=(1.7 * (1 + len(names)), 1.75 * n + 0.4), squeeze=False)
    signed = {name: bool((_np(maps[name]) < 0).any()) for name in names}
    for i in range(n):
        _image(axes[i, 0], images[i])
        if titles is not None:
            axes[i, 0].set_title(titles[i], fontsize=8)
        for j, name in enumerate(names):
            _heat(axes[i, j + 1], maps[name][i], images[i] if overlay else None, signed[name])
            if i == 0:
                axes[i, j + 1].set_title(name, fontsize=9)
    fig.tight_layout()
    return fig


def plot_accuracy_vs_epsilon(epsilons: Sequence[float], curves: Mapping[str, Sequence[float]],
                             chance: float | None = None, ax=None):
    """Accuracy against the perturbation size, one line per attack (e.g. FGSM vs random signs); returns the axes."""
    if ax is None:
        _, ax = _plt().subplots(figsize=(5.5, 3.4))
    for name, acc in curves.items():
        ax.plot(list(epsilons), list(acc), "o-", label=name)
    if chance is not None:
        ax.axhline(chance, color="gray", ls="--", lw=1, label=f"chance ({chance:.0%})")
    ax.set_xlabel("ε (change of every pixel; pixels are in [0, 1])")
    ax.set_ylabel("accuracy on the test images")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_adversarial_example(x: torch.Tensor, x_adv: torch.Tensor, before: str, after: str):
    """The clean image, the perturbation (x_adv − x, red +, blue −) and the adversarial image, with their captions.

    Args:
        x (Tensor[C, H, W]): the clean image.
        x_adv (Tensor[C, H, W]): the attacked image.
        before (str): what the network says about ``x``.
        after (str): what it says about ``x_adv``.
    """
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(6.6, 2.6))
    _image(axes[0], x)
    axes[0].set_title(before, fontsize=9)
    delta = _np(x_adv) - _np(x)
    delta = delta.mean(0) if delta.ndim == 3 else delta
    top = float(np.abs(delta).max()) or 1.0
    axes[1].imshow(delta, cmap="RdBu_r", vmin=-top, vmax=top)
    axes[1].set_xticks([])
    axes[1].set_yticks([])
    axes[1].set_title(f"perturbation (±{top:.2f})", fontsize=9)
    _image(axes[2], x_adv)
    axes[2].set_title(after, fontsize=9)
    fig.tight_layout()
    return fig


def plot_feature_visualizations(images: Sequence[torch.Tensor | None], titles: Sequence[str], rows: int = 1):
    """Images found by gradient ascent (each [1, C, H, W] or [C, H, W]; None leaves its panel empty), in a
    grid of ``rows`` rows filled row by row."""
    plt = _plt()
    cols = int(np.ceil(len(images) / rows))
    fig, axes = plt.subplots(rows, cols, figsize=(1.5 * cols, 1.65 * rows + 0.2), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, title in zip(axes.ravel(), images, titles):
        if img is None:
            continue
        ax.axis("on")
        _image(ax, img[0] if img.ndim == 4 else img)
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig
