"""Plots of a training run and of what a trained network learned (matplotlib Figures)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ..train.loop import History

__all__ = ["plot_history", "plot_confusion_matrix", "plot_misclassified", "plot_filters", "plot_feature_maps",
           "plot_runs"]


def _plt():
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: History | dict, title: str = ""):
    """Learning curves: loss and accuracy per epoch, training vs validation."""
    h = history.as_dict() if isinstance(history, History) else history
    plt = _plt()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
    epochs = np.arange(1, len(h["train_loss"]) + 1)
    for ax, key, label in ((ax_loss, "loss", "cross-entropy loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(epochs, h[f"train_{key}"], "o-", label="training")
        if h[f"val_{key}"]:
            ax.plot(epochs[: len(h[f"val_{key}"])], h[f"val_{key}"], "s-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    if h.get("best_epoch") is not None:
        ax_loss.axvline(h["best_epoch"] + 1, color="gray", ls="--", lw=1, label="best")
    ax_loss.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(y_true, y_pred, class_names: Sequence[str] | None = None, normalize: bool = False):
    """Confusion matrix (rows: true class, columns: predicted) with the counts written in."""
    from sklearn.metrics import confusion_matrix

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = int(max(y_true.max(), y_pred.max())) + 1 if class_names is None else len(class_names)
    cm = confusion_matrix(y_true, y_pred, labels=np.arange(n))
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    plt = _plt()
    fig, ax = plt.subplots(figsize=(0.45 * n + 2, 0.45 * n + 1.5))
    ax.imshow(shown, cmap="Blues")
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                txt = f"{shown[i, j]:.2f}" if normalize else str(cm[i, j])
                ax.text(j, i, txt, ha="center", va="center", fontsize=8,
                        color="white" if shown[i, j] > shown.max() / 2 else "black")
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"accuracy {np.trace(cm) / cm.sum():.1%} on {cm.sum()} images")
    fig.tight_layout()
    return fig


def _show(ax, img: np.ndarray) -> None:
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[0] in (1, 3):
        img = img.transpose(1, 2, 0)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_misclassified(images, y_true, y_pred, n: int = 16, class_names: Sequence[str] | None = None,
                       probs: np.ndarray | None = None):
    """The first ``n`` misclassified images, titled "true → predicted" (and the confidence) on two lines,
    in panels wide enough that neighbouring titles do not run into each other."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong = np.flatnonzero(y_true != y_pred)[:n]
    plt = _plt()
    cols = min(8, max(1, len(wrong)))
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(1.55 * cols, 1.95 * rows + 0.3), squeeze=False)
    name = (lambda c: class_names[c]) if class_names is not None else str
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), wrong):
        ax.axis("on")
        _show(ax, np.asarray(images[i]))
        conf = f"\n{probs[i, y_pred[i]]:.0%} sure" if probs is not None else ""
        ax.set_title(f"{name(y_true[i])} → {name(y_pred[i])}{conf}", fontsize=8, color="crimson")
    if len(wrong) == 0:
        axes[0, 0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    fig.suptitle(f"{int((y_true != y_pred).sum())} misclassified of {len(y_true)}", fontsize=10)
    fig.tight_layout()
    return fig


def _first_conv(model: nn.Module) -> nn.Conv2d:
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            return m
    raise ValueError(f"{type(model).__name__} has no Conv2d layer to show")


def plot_filters(model_or_layer: nn.Module, max_filters: int = 32):
    """The learned kernels of the first convolution (one tile per filter; RGB if 3 input channels)."""
    conv = model_or_layer if isinstance(model_or_layer, nn.Conv2d) else _first_conv(model_or_layer)
    w = conv.weight.detach().cpu().float()[:max_filters]
    plt = _plt()
    cols = min(8, len(w))
    rows = int(np.ceil(len(w) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols, 1.1 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for k, ax in enumerate(axes.ravel()[: len(w)]):
        f = w[k]
        f = (f - f.min()) / (f.max() - f.min() + 1e-12)
        img = f[0].numpy() if f.shape[0] != 3 else f.permute(1, 2, 0).numpy()
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
        ax.set_title(str(k), fontsize=7)
    fig.suptitle(f"first-layer filters {tuple(conv.weight.shape)}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_feature_maps(model: nn.Module, image: torch.Tensor, layer: nn.Module | None = None, max_maps: int = 16):
    """Feature maps that ``layer`` (default: the first conv) produces for one image (C, H, W)."""
    layer = layer if layer is not None else _first_conv(model)
    dev = next(model.parameters()).device
    maps = {}
    handle = layer.register_forward_hook(lambda m, i, o: maps.__setitem__("out", o.detach().cpu()))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(image.unsqueeze(0).to(dev))
    finally:
        handle.remove()
        model.train(was_training)
    out = maps["out"][0][:max_maps]
    plt = _plt()
    cols = min(8, len(out) + 1)
    rows = int(np.ceil((len(out) + 1) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.3 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    _show(axes[0, 0], image.cpu().numpy())
    axes[0, 0].axis("on")
    axes[0, 0].set_title("input", fontsize=8)
    for k, ax in enumerate(axes.ravel()[1: len(out) + 1]):
        ax.imshow(out[k].numpy(), cmap="viridis")
        ax.set_title(f"map {k}", fontsize=7)
    fig.suptitle(f"{type(layer).__name__} output {tuple(maps['out'].shape[1:])}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_runs(groups: Mapping[str, Sequence[History]], metric: str = "train_loss", ax=None, log: bool = False):
    """Each group's mean curve of ``metric`` with a shaded min–max band over its runs; returns the axes."""
    from ..train.experiments import curves

    if ax is None:
        _, ax = _plt().subplots(figsize=(5.5, 3.4))
    for name, histories in groups.items():
        values = curves(histories, metric)
        epochs = np.arange(1, values.shape[1] + 1)
        line, = ax.plot(epochs, values.mean(axis=0), label=f"{name} (mean of {len(values)})")
        ax.fill_between(epochs, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.2)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("_", " "))
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    return ax
