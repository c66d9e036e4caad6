"""Pictures for lecture 08: masks, checkerboards, ROC and embeddings, style transfer, GAN
samples, skeletons and captions. Each function returns its matplotlib Figure."""
from __future__ import annotations

import numpy as np
import torch

from cnnlab.plots.detection import CLASS_COLOURS

__all__ = ["plot_captions", "plot_checkerboard", "plot_class_balance", "plot_embeddings", "plot_gan", "plot_image_grid",
           "plot_instances", "plot_pose", "plot_roc", "plot_segmentation", "plot_style"]

# mask value 0 is background (black); value k >= 1 gets the course's colour of class k - 1, so a
# segmented circle has the colour lecture 07 gives a circle's box
_MASK_PALETTE = np.array([(0, 0, 0), *CLASS_COLOURS]) / 255


def _hwc(image: torch.Tensor) -> np.ndarray:
    x = image.detach().cpu()
    return (x.permute(1, 2, 0) if x.shape[0] == 3 else x[0]).numpy().clip(0, 1)


def _grid(rows: int, cols: int, size: float = 1.6):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, cols, figsize=(cols * size, rows * size), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def _color_mask(mask: torch.Tensor) -> np.ndarray:
    return _MASK_PALETTE[np.asarray(mask) % len(_MASK_PALETTE)]


def plot_segmentation(images: torch.Tensor, masks: torch.Tensor, pred: torch.Tensor, n: int = 6,
                      classes: tuple[str, ...] = ("background", "square", "circle", "triangle", "cross")):
    """Images, true masks and predicted masks (color = class), ``n`` columns."""
    from matplotlib.patches import Patch

    n = min(n, len(images))
    fig, axes = _grid(3, n)
    for j in range(n):
        axes[0, j].imshow(_hwc(images[j]))
        axes[1, j].imshow(_color_mask(masks[j]))
        axes[2, j].imshow(_color_mask(pred[j]))
    for ax, text in zip(axes[:, 0], ("image", "true mask", "predicted")):
        ax.set_ylabel(text)
    fig.legend(handles=[Patch(color=_MASK_PALETTE[i], label=c) for i, c in enumerate(classes)],
               loc="lower center", ncol=len(classes), fontsize=8, frameon=False)
    fig.subplots_adjust(bottom=0.1)
    return fig


def plot_instances(image: torch.Tensor, semantic: torch.Tensor, instances: torch.Tensor):
    """One image, its semantic mask (one color per class) and its instance mask (one color per object)."""
    fig, axes = _grid(1, 3, 2.4)
    for ax, pic, title in zip(axes[0], (_hwc(image), _color_mask(semantic), _color_mask(instances)),
                              ("image", "semantic: a class per pixel", "instance: an object per pixel")):
        ax.imshow(pic)
        ax.set_title(title, fontsize=9)
    return fig


def plot_checkerboard(counts: np.ndarray, kernel: int, stride: int):
    """How many kernel copies overlap on each output pixel of a transposed convolution."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.4, 3.4))
    im = ax.imshow(counts, cmap="magma", vmin=0)
    for (i, j), v in np.ndenumerate(counts):
        ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7, color="white" if v < counts.max() / 2 else "k")
    ax.set_title(f"overlaps, kernel {kernel}, stride {stride}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(im, ax=ax, shrink=0.7)
    return fig


def plot_roc(fpr: np.ndarray, tpr: np.ndarray, accuracy: float | None = None, baseline: tuple | None = None):
    """ROC curve of a verification system (and optionally a baseline's, e.g. an untrained network)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.8, 3.6))
    ax.plot(fpr, tpr, label="trained" + (f" (best accuracy {accuracy:.2f})" if accuracy is not None else ""))
    if baseline is not None:
        ax.plot(baseline[0], baseline[1], "--", label="untrained")
    ax.plot([0, 1], [0, 1], ":", color="grey", label="chance")
    ax.set_xlabel("false accept rate (different people called 'same')")
    ax.set_ylabel("true accept rate")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def plot_embeddings(embeddings: torch.Tensor, labels: torch.Tensor, images: torch.Tensor | None = None):
    """The embeddings projected on their two principal axes, one color per identity."""
    import matplotlib.pyplot as plt

    e = np.asarray(embeddings, dtype=float)
    e = e - e.mean(0)
    xy = e @ np.linalg.svd(e, full_matrices=False)[2][:2].T
    lab = np.asarray(labels)
    fig, ax = plt.subplots(figsize=(5, 4.4))
    ax.scatter(xy[:, 0], xy[:, 1], c=lab, cmap="tab20", s=14)
    if images is not None:
        from matplotlib.offsetbox import AnnotationBbox, OffsetImage

        for c in np.unique(lab):
            i = int(np.flatnonzero(lab == c)[0])
            ax.add_artist(AnnotationBbox(OffsetImage(_hwc(images[i]), zoom=0.8), xy[i], frameon=False))
    ax.set_title("embeddings of unseen people (2 principal axes)", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def plot_style(content: torch.Tensor, style: torch.Tensor, result):
    """Content, style and result images, then both losses per step (log scale)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(12, 3), gridspec_kw={"width_ratios": [1, 1, 1, 1.6]})
    for ax, im, title in zip(axes, (content, style, result.image), ("content", "style", "result")):
        ax.imshow(_hwc(im))
        ax.set_title(title)
        ax.axis("off")
    axes[3].semilogy(result.content_loss, label="content loss")
    axes[3].semilogy(result.style_loss, label="style loss")
    axes[3].set_xlabel("optimization step")
    axes[3].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_gan(result, per_row: int = 10):
    """Samples of fixed noise at each snapshot epoch (one row each), then the two losses."""
    import matplotlib.pyplot as plt

    epochs = sorted(result.snapshots)
    fig = plt.figure(figsize=(per_row * 0.8 + 4.5, max(len(epochs), 3) * 0.85))
    grid = fig.add_gridspec(len(epochs), per_row + 6)
    for r, ep in enumerate(epochs):
        for c in range(per_row):
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(result.snapshots[ep][c, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(f"epoch {ep}", fontsize=8)
    ax = fig.add_subplot(grid[:, per_row + 1:])
    k = max(len(result.g_loss) // 100, 1)
    smooth = lambda v: np.convolve(v, np.ones(k) / k, mode="valid")  # noqa: E731
    ax.plot(smooth(result.g_loss), label="generator")
    ax.plot(smooth(result.d_loss), label="discriminator")
    ax.set_xlabel("step")
    ax.legend(fontsize=8)
    return fig


def plot_pose(images: torch.Tensor, pred: torch.Tensor, true: torch.Tensor | None = None,
              heatmaps: torch.Tensor | None = None, n: int = 6):
    """Predicted skeletons (and true keypoints as dots) over the images; optionally a row of
    summed heatmaps."""
    from cnnlab.data.stick_figures import SKELETON

    n = min(n, len(images))
    pred = np.asarray(torch.as_tensor(pred).cpu())
    true = None if true is None else np.asarray(torch.as_tensor(true).cpu())
    heatmaps = None if heatmaps is None else np.asarray(torch.as_tensor(heatmaps).cpu())
    fig, axes = _grid(2 if heatmaps is not None else 1, n, 2.0)
    for j in range(n):
        ax = axes[0, j]
        size = images.shape[-1]
        ax.imshow(_hwc(images[j]), extent=(0, size, size, 0))
        for a, b in SKELETON:
            ax.plot(*pred[j, [a, b]].T, color="yellow", lw=1.5)
        if true is not None:
            ax.scatter(*true[j].T, s=8, color="lime", zorder=3)
        if heatmaps is not None:
            axes[1, j].imshow(heatmaps[j].sum(0), cmap="inferno")
    axes[0, 0].set_ylabel("yellow: predicted\ngreen: true", fontsize=8)
    if heatmaps is not None:
        axes[1, 0].set_ylabel("heatmaps", fontsize=8)
    return fig


def plot_captions(images: torch.Tensor, predicted: list[str], true: list[str] | None = None, n: int = 6):
    """Images with the predicted caption (green when it equals the true one, red otherwise)."""
    n = min(n, len(images))
    fig, axes = _grid(1, n, 2.4)
    for j in range(n):
        ax = axes[0, j]
        ax.imshow(_hwc(images[j]))
        right = true is None or predicted[j] == true[j]
        words = predicted[j].split()
        text = " ".join(words[:4]) + "\n" + " ".join(words[4:])
        ax.set_title(text, fontsize=7, color="green" if right else "red")
    return fig


def plot_image_grid(images: torch.Tensor, rows: int, cols: int, titles: list[str] | None = None, size: float = 1.2):
    """The first ``rows x cols`` images in a grid (row by row), with optional small titles."""
    fig, axes = _grid(rows, cols, size)
    for k, ax in enumerate(axes.flat):
        if k < len(images):
            ax.imshow(_hwc(images[k]), cmap="gray", vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(titles[k], fontsize=7)
    return fig


def plot_class_balance(counts: dict[str, np.ndarray], title: str = "which digit the classifier sees"):
    """Grouped bars: the share of each class (0-9) in each named set of images, e.g. real against generated."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 2.8))
    width = 0.8 / len(counts)
    for k, (name, c) in enumerate(counts.items()):
        c = np.asarray(c, dtype=float)
        ax.bar(np.arange(len(c)) + (k - (len(counts) - 1) / 2) * width, 100 * c / c.sum(), width, label=name)
    ax.axhline(10, color="grey", ls=":", lw=1)
    ax.set_xticks(range(len(c)))
    ax.set_xlabel("class")
    ax.set_ylabel("% of the images")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
