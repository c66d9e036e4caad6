"""Losses and training loops for the detection models (CPU-friendly, progress bars via tqdm.auto).

* :func:`grid_loss` – the YOLO-style loss: objectness (binary cross-entropy on every cell, empty
  cells down-weighted), box regression (squared error on offsets and sqrt-sizes, responsible
  cells only, weighted up) and classification (cross-entropy, responsible cells only);
* :func:`localization_loss` – cross-entropy for the class plus squared error on the four box numbers;
* :func:`train_detector`, :func:`train_localizer`, :func:`train_classifier` – small loops over
  in-memory tensors (no DataLoader: the synthetic sets fit in memory) with Adam and a cosine
  learning-rate schedule; each returns a list of per-epoch loss dicts;
* :func:`detect_dataset`, :func:`evaluate_detector`, :func:`localizer_mean_iou` – evaluation.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..devices import device as default_device
from .grid import encode_grid
from .iou import box_iou
from .metrics import evaluate_detections

__all__ = ["detect_dataset", "evaluate_detector", "grid_loss", "grid_targets", "localization_loss",
           "localizer_mean_iou", "train_classifier", "train_detector", "train_localizer"]


def grid_targets(targets: Sequence[dict], image_size: int, grid_size: int, num_classes: int) -> torch.Tensor:
    """Stack ``encode_grid`` of every image: ``(N, S, S, 5 + C)`` float32."""
    return torch.stack([encode_grid(t["boxes"].float(), t["labels"], image_size, grid_size, num_classes)
                        for t in targets])


def grid_loss(raw: torch.Tensor, target: torch.Tensor, lambda_coord: float = 5.0,
              lambda_noobj: float = 0.5) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of raw detector outputs ``(B, 5 + C, S, S)`` against encoded grids ``(B, S, S, 5 + C)``."""
    pred = raw.permute(0, 2, 3, 1)
    obj = target[..., 0]
    pos = obj > 0.5
    bce = F.binary_cross_entropy_with_logits(pred[..., 0], obj, reduction="none")
    obj_loss = (bce * torch.where(pos, 1.0, lambda_noobj)).sum() / raw.shape[0]
    if pos.any():
        box_loss = F.mse_loss(torch.sigmoid(pred[..., 1:5][pos]), target[..., 1:5][pos], reduction="sum")
        cls_loss = F.cross_entropy(pred[..., 5:][pos], target[..., 5:][pos].argmax(-1), reduction="sum")
    else:
        box_loss = cls_loss = pred.sum() * 0
    box_loss, cls_loss = box_loss / raw.shape[0], cls_loss / raw.shape[0]
    loss = obj_loss + lambda_coord * box_loss + cls_loss
    return loss, {"loss": loss.item(), "obj": obj_loss.item(), "box": box_loss.item(), "cls": cls_loss.item()}


def localization_loss(logits: torch.Tensor, box: torch.Tensor, labels: torch.Tensor, target_box: torch.Tensor,
                      box_weight: float = 5.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Cross-entropy on the class plus ``box_weight`` times the MSE on normalised ``(cx, cy, w, h)``."""
    cls = F.cross_entropy(logits, labels)
    reg = F.mse_loss(box, target_box)
    loss = cls + box_weight * reg
    return loss, {"loss": loss.item(), "cls": cls.item(), "box": reg.item()}


def _flip_grids(images: torch.Tensor, grids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror images left-right and their grids to match (the shapes are left-right symmetric)."""
    grids = grids.flip(2).clone()
    pos = grids[..., 0] > 0.5
    grids[..., 1] = torch.where(pos, 1 - grids[..., 1], grids[..., 1])
    return images.flip(-1), grids


def _loop(model: nn.Module, tensors: Sequence[torch.Tensor], step: Callable, epochs: int, batch_size: int,
          lr: float, device: torch.device | None, seed: int, progress: bool, desc: str) -> list[dict]:
    dev = default_device() if device is None else torch.device(device)
    model.to(dev).train()
    data = [t.to(dev) for t in tensors]
    n = data[0].shape[0]
    steps_per_epoch = math.ceil(n / batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.15)
    gen = torch.Generator().manual_seed(seed)
    history = []
    bar = tqdm(range(epochs), desc=desc, disable=not progress)
    for epoch in bar:
        order = torch.randperm(n, generator=gen).to(dev)
        totals: dict[str, float] = {}
        for k in range(steps_per_epoch):
            idx = order[k * batch_size:(k + 1) * batch_size]
            loss, parts = step(model, [t[idx] for t in data], gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            for key, v in parts.items():
                totals[key] = totals.get(key, 0.0) + v * len(idx) / n
        history.append({"epoch": epoch + 1, **totals})
        bar.set_postfix(loss=f"{totals['loss']:.3f}")
    model.eval()
    return history


def train_detector(model: nn.Module, images: torch.Tensor, grids: torch.Tensor, epochs: int = 12,
                   batch_size: int = 32, lr: float = 3e-3, device: torch.device | str | None = None,
                   seed: int = 0, progress: bool = True, flip: bool = True) -> list[dict]:
    """Train a :class:`GridDetector` on images ``(N, 3, H, W)`` and grids from :func:`grid_targets`."""
    if images.shape[0] != grids.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {grids.shape[0]} target grids; expected one grid per image")

    def step(model, batch, gen):
        x, g = batch
        if flip and torch.rand((), generator=gen) < 0.5:
            x, g = _flip_grids(x, g)
        return grid_loss(model(x), g)

    return _loop(model, [images, grids], step, epochs, batch_size, lr, device, seed, progress, "detector")


def train_localizer(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, boxes: torch.Tensor,
                    epochs: int = 10, batch_size: int = 32, lr: float = 3e-3,
                    device: torch.device | str | None = None, seed: int = 0, progress: bool = True) -> list[dict]:
    """Train a :class:`ShapeLocalizer`; ``boxes`` are xyxy in pixels (one per image)."""
    H, W = images.shape[-2:]
    scale = torch.tensor([W, H, W, H], dtype=torch.float32)
    cxcywh = torch.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2,
                          boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], dim=1) / scale

    def step(model, batch, gen):
        x, y, b = batch
        logits, box = model(x)
        return localization_loss(logits, box, y, b)

    return _loop(model, [images, labels, cxcywh], step, epochs, batch_size, lr, device, seed, progress, "localizer")


def train_classifier(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epochs: int = 5,
                     batch_size: int = 64, lr: float = 3e-3, device: torch.device | str | None = None,
                     seed: int = 0, progress: bool = True) -> list[dict]:
    """Train an image classifier with cross-entropy."""
    def step(model, batch, gen):
        x, y = batch
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        return loss, {"loss": loss.item(), "accuracy": (logits.argmax(1) == y).float().mean().item()}

    return _loop(model, [images, labels], step, epochs, batch_size, lr, device, seed, progress, "classifier")


@torch.no_grad()
def detect_dataset(model: nn.Module, images: torch.Tensor, batch_size: int = 128, score_threshold: float = 0.05,
                   iou_threshold: float = 0.5) -> list[dict[str, torch.Tensor]]:
    """Run ``model.detect`` over all images in batches; results on the CPU."""
    dev = next(model.parameters()).device
    out = []
    for k in range(0, images.shape[0], batch_size):
        for d in model.detect(images[k:k + batch_size].to(dev), score_threshold, iou_threshold):
            out.append({key: v.cpu() for key, v in d.items()})
    return out


def evaluate_detector(model: nn.Module, images: torch.Tensor, targets: Sequence[dict], **detect_kwargs) -> dict:
    """``{"map_50": VOC mAP@0.5, "coco_map": COCO mAP@[.5:.95], "coco_map_50": ...}`` on a data set."""
    predictions = detect_dataset(model, images, **detect_kwargs)
    voc = evaluate_detections(predictions, targets, "voc")
    coco = evaluate_detections(predictions, targets, "coco")
    return {"map_50": voc["map"], "per_class_50": voc["per_class"], "coco_map": coco["map"],
            "coco_map_50": coco.get("map_50", float("nan"))}


@torch.no_grad()
def localizer_mean_iou(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                       boxes: torch.Tensor) -> dict[str, float]:
    """Mean IoU of predicted and true boxes, and classification accuracy, for a localizer."""
    model.eval()
    dev = next(model.parameters()).device
    pred_labels, pred_boxes = model.predict(images.to(dev))
    ious = box_iou(pred_boxes.cpu().double(), boxes.double()).diagonal()
    return {"mean_iou": float(ious.mean()), "accuracy": float((pred_labels.cpu() == labels).float().mean())}
