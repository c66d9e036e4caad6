"""Pose estimation as keypoint heatmaps: a U-Net scores every pixel for every keypoint; a softmax
over the pixels turns each keypoint's scores into a heatmap, trained towards a small Gaussian
around the true joint; the prediction is the heatmap's peak."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.train.inference import infer

from .segmentation import TinyUNet

if TYPE_CHECKING:
    from cnnlab.train import History

__all__ = ["HeatmapLoss", "PoseNet", "gaussian_heatmaps", "heatmap_peaks", "keypoint_targets",
           "predict_keypoints", "train_pose"]


def keypoint_targets(keypoints: torch.Tensor, image_size: int) -> torch.Tensor:
    """(N, K) flat pixel index (row * W + column) of each keypoint, the form ``fit`` feeds the loss."""
    xy = keypoints.floor().long().clamp(0, image_size - 1)
    return xy[..., 1] * image_size + xy[..., 0]


def gaussian_heatmaps(index: torch.Tensor, image_size: int, sigma: float = 1.0) -> torch.Tensor:
    """(N, H*W, K) Gaussian target maps, normalized to sum 1 over the pixels, centerd on each index."""
    ys = torch.arange(image_size, device=index.device).repeat_interleave(image_size).float()
    xs = torch.arange(image_size, device=index.device).repeat(image_size).float()
    cy, cx = (index // image_size).float(), (index % image_size).float()
    d2 = (ys[None, :, None] - cy[:, None, :]) ** 2 + (xs[None, :, None] - cx[:, None, :]) ** 2
    g = torch.exp(-d2 / (2 * sigma ** 2))
    return g / g.sum(1, keepdim=True)


class HeatmapLoss(nn.Module):
    """Cross-entropy between each keypoint's pixel softmax and its Gaussian target heatmap."""

    def __init__(self, image_size: int, sigma: float = 1.0):
        super().__init__()
        self.image_size, self.sigma = image_size, sigma

    def forward(self, scores: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(scores, gaussian_heatmaps(index, self.image_size, self.sigma))


class PoseNet(nn.Module):
    """A ``TinyUNet`` with one output map per keypoint; ``forward`` returns scores (N, H*W, K):
    for each keypoint, one score per pixel (the layout ``nn.CrossEntropyLoss`` expects)."""

    def __init__(self, num_keypoints: int = 11, width: int = 16):
        super().__init__()
        self.net = TinyUNet(3, num_keypoints, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten(2).transpose(1, 2)

    def heatmaps(self, x: torch.Tensor) -> torch.Tensor:
        """(N, K, H, W) probabilities: where the network believes each keypoint is."""
        return torch.softmax(self.forward(x), dim=1).transpose(1, 2).reshape(x.shape[0], -1, *x.shape[-2:])


def heatmap_peaks(heatmaps: torch.Tensor) -> torch.Tensor:
    """(N, K, 2) pixel-center (x, y) of each (N, K, H, W) heatmap's maximum."""
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w).argmax(-1)
    return torch.stack([flat % w, flat // w], -1).float() + 0.5


def predict_keypoints(model: PoseNet, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """(N, K, 2) predicted keypoints in pixels (x, y)."""
    return infer(model, images, lambda m, x: heatmap_peaks(m.heatmaps(x)), batch_size)


def train_pose(images: torch.Tensor, keypoints: torch.Tensor, epochs: int = 4, width: int = 12, lr: float = 5e-3,
               sigma: float = 1.0, batch_size: int = 32, seed: int = 0,
               device: torch.device | str | None = None) -> tuple[PoseNet, History]:
    """Train a ``PoseNet`` on heatmap targets (``cnnlab.train.fit``); return (model, history).

    The learning rate follows a one-cycle schedule (warm up to ``lr``, then anneal, stepped per batch):
    on lecture 08's 1000 figures, 4 epochs reach the PCK that 8 epochs at a constant 3e-3 did.
    """
    from torch.utils.data import DataLoader, TensorDataset

    from cnnlab.train import fit, one_cycle

    size = images.shape[-1]
    torch.manual_seed(seed)
    model = PoseNet(keypoints.shape[1], width)
    loader = DataLoader(TensorDataset(images, keypoint_targets(keypoints, size)), batch_size=batch_size,
                        shuffle=True, generator=torch.Generator().manual_seed(seed))
    history = fit(model, loader, epochs=epochs, lr=lr, loss_fn=HeatmapLoss(size, sigma), seed=seed, device=device,
                  progress=False, scheduler_interval="step",
                  scheduler=one_cycle(lr, epochs * len(loader)))
    return model, history
