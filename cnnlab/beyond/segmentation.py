"""Semantic segmentation: a small U-Net with transposed convolutions, masks from the shapes data,
and the transposed convolution's output size and checkerboard overlap."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.train.inference import infer

from .metrics import mean_iou, pixel_accuracy

if TYPE_CHECKING:
    from cnnlab.train import History

__all__ = ["TinyUNet", "checkerboard_overlap", "connected_instances", "instance_maps", "segmentation_data",
           "segmentation_scores", "semantic_masks", "train_segmenter", "transposed_conv_output_size"]


def transposed_conv_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0,
                                output_padding: int = 0, dilation: int = 1) -> int:
    """Output length of a transposed convolution: (n - 1)·s - 2p + d·(k - 1) + output_padding + 1."""
    for name, v in {"n": n, "kernel": kernel, "stride": stride, "dilation": dilation}.items():
        if int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if padding < 0 or not 0 <= output_padding < max(stride, dilation):
        raise ValueError("padding must be >= 0 and 0 <= output_padding < max(stride, dilation)")
    return (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def checkerboard_overlap(n: int = 6, kernel: int = 3, stride: int = 2) -> np.ndarray:
    """How many kernel copies land on each output pixel of a transposed convolution (ones in, ones kernel).

    When ``kernel`` is not a multiple of ``stride`` the counts alternate: the checkerboard artifact.
    """
    layer = nn.ConvTranspose2d(1, 1, kernel, stride, bias=False)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        return layer(torch.ones(1, 1, n, n))[0, 0].numpy()


def semantic_masks(targets: list[dict], image_size: int) -> torch.Tensor:
    """(N, H, W) int64 class maps from detection targets: 0 is background, shape class c is c + 1."""
    out = torch.zeros(len(targets), image_size, image_size, dtype=torch.long)
    for i, t in enumerate(targets):
        for mask, label in zip(t["masks"], t["labels"]):
            out[i][mask] = int(label) + 1
    return out


def instance_maps(targets: list[dict], image_size: int) -> torch.Tensor:
    """(N, H, W) int64 instance ids: 0 is background, object k of an image is k + 1 (whatever its class)."""
    out = torch.zeros(len(targets), image_size, image_size, dtype=torch.long)
    for i, t in enumerate(targets):
        for k, mask in enumerate(t["masks"]):
            out[i][mask] = k + 1
    return out


def connected_instances(semantic: torch.Tensor) -> torch.Tensor:
    """Instances from a semantic mask without learning: each connected region of one class is one object.

    Pixels are connected to their 8 neighbours of the same class. Objects of one class that touch merge
    into one instance, the limit that Mask R-CNN's per-box masks remove.

    Args:
        semantic (Tensor[N, H, W] or Tensor[H, W]): class ids, 0 for background.

    Returns:
        Tensor of the same shape (int64): 0 for background, 1..k for the k regions of each image, numbered in
        the order of their first pixel (row by row).
    """
    if semantic.dim() not in (2, 3):
        raise ValueError(f"semantic must be (N, H, W) or (H, W) class ids, got shape {tuple(semantic.shape)}")
    single = semantic.dim() == 2
    sem = semantic[None] if single else semantic
    sem = sem.long()
    n, h, w = sem.shape
    # every foreground pixel starts with its own id; ids spread to same-class neighbours until nothing changes
    ids = torch.arange(1, h * w + 1, device=sem.device).reshape(1, h, w).expand(n, h, w).float()
    ids = torch.where(sem > 0, ids, torch.zeros_like(ids))
    while True:
        grown = torch.zeros_like(ids)
        for c in sem.unique().tolist():
            if c == 0:
                continue
            here = sem == c
            spread = F.max_pool2d(torch.where(here, ids, torch.zeros_like(ids))[:, None], 3, 1, 1)[:, 0]
            grown = torch.where(here, spread, grown)
        if torch.equal(grown, ids):
            break
        ids = grown
    out = torch.zeros_like(sem)
    for i in range(n):   # renumber each image's regions 1..k in the order of their first pixel
        labels = ids[i][ids[i] > 0]
        firsts = [int(v) for v in labels.unique()]
        firsts.sort(key=lambda v: int((ids[i].flatten() == v).nonzero()[0]))
        for k, v in enumerate(firsts, start=1):
            out[i][ids[i] == v] = k
    return out[0] if single else out


def segmentation_data(split: str = "train", size: int = 800, image_size: int = 32,
                      seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, list[dict]]:
    """Images (N, 3, H, W), semantic masks (N, H, W) and the raw targets of the shapes data."""
    from cnnlab.data.shapes import ShapesDetection

    data = ShapesDetection(split, size, image_size, seed, min_objects=1, max_objects=3,
                           min_size=image_size * 0.25, max_size=image_size * 0.5)
    return data.images, semantic_masks(data.targets, image_size), data.targets


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class TinyUNet(nn.Module):
    """A two-level U-Net: the encoder halves the size twice, transposed convolutions (k=2, s=2)
    double it back, and skip connections concatenate the encoder's maps of the same size.

    Input (N, in_channels, H, W) with H, W divisible by 4; output (N, out_channels, H, W) scores.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 5, width: int = 16):
        super().__init__()
        w = width
        self.enc1, self.enc2, self.mid = _double_conv(in_channels, w), _double_conv(w, 2 * w), _double_conv(2 * w, 4 * w)
        self.pool = nn.MaxPool2d(2)
        self.up2, self.dec2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2), _double_conv(4 * w, 2 * w)
        self.up1, self.dec1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2), _double_conv(2 * w, w)
        self.head = nn.Conv2d(w, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"TinyUNet needs height and width divisible by 4, got {tuple(x.shape[-2:])}")
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        m = self.mid(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up2(m), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)


def segmentation_scores(model: nn.Module, images: torch.Tensor, masks: torch.Tensor, num_classes: int = 5,
                        batch_size: int = 256) -> dict:
    """Predicted masks (N, H, W), mean IoU and pixel accuracy of ``model`` on ``images``."""
    pred = infer(model, images, lambda m, x: m(x).argmax(1), batch_size)
    return {"pred": pred, "miou": mean_iou(pred, masks, num_classes), "pixel_accuracy": pixel_accuracy(pred, masks)}


def train_segmenter(images: torch.Tensor, masks: torch.Tensor, num_classes: int = 5, epochs: int = 6, width: int = 12,
                    lr: float = 3e-3, batch_size: int = 32, seed: int = 0,
                    device: torch.device | str | None = None) -> tuple[TinyUNet, History]:
    """Train a ``TinyUNet`` with per-pixel cross-entropy (``cnnlab.train.fit``); return (model, history)."""
    from torch.utils.data import DataLoader, TensorDataset

    from cnnlab.train import fit

    torch.manual_seed(seed)
    model = TinyUNet(images.shape[1], num_classes, width)
    loader = DataLoader(TensorDataset(images, masks), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    history = fit(model, loader, epochs=epochs, lr=lr, seed=seed, device=device, progress=False)
    return model, history
