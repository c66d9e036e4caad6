"""Losses and training loops for the detection models (CPU-friendly, progress bars via tqdm.auto).

* :func:`grid_loss` – the YOLO-style loss: objectness (binary cross-entropy on every cell, empty
  cells down-weighted), box regression (squared error on offsets and sqrt-sizes, responsible
  cells only, weighted up) and classification (cross-entropy, responsible cells only);
* :func:`localization_loss` – cross-entropy for the class plus squared error on the four box numbers;
* :func:`train_detector`, :func:`train_localizer`, :func:`train_classifier` – train on in-memory
  tensors through ``cnnlab.train.fit`` (the course's one training loop) with Adam and a one-cycle
  learning-rate schedule; each returns fit's ``History`` (``history.train_loss`` per epoch);
* :func:`detect_dataset`, :func:`evaluate_detector`, :func:`localizer_mean_iou` – evaluation.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..train.inference import eval_mode
from ..train.loop import History, fit, one_cycle
from .boxes import box_convert
from .grid import encode_grid
from .iou import pairwise_iou
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


class _InMemory(Dataset):
    """``dataset[i] -> (inputs[i], target[i])``, or ``(inputs[i], (t1[i], t2[i], ...))`` for several targets."""

    def __init__(self, inputs: torch.Tensor, *targets: torch.Tensor):
        for t in targets:
            if t.shape[0] != inputs.shape[0]:
                raise ValueError(f"{inputs.shape[0]} images but {t.shape[0]} targets; expected one target per image")
        self.inputs, self.targets = inputs, targets

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def __getitem__(self, i: int):
        if len(self.targets) == 1:
            return self.inputs[i], self.targets[0][i]
        return self.inputs[i], tuple(t[i] for t in self.targets)


def _train(model: nn.Module, tensors: Sequence[torch.Tensor], loss_fn: Callable, epochs: int, batch_size: int,
           lr: float, device: torch.device | str | None, seed: int, progress: bool, desc: str,
           transform_batch: Callable | None = None) -> History:
    """``cnnlab.train.fit`` over in-memory tensors with Adam and a one-cycle learning-rate schedule."""
    loader = DataLoader(_InMemory(*tensors), batch_size=batch_size, shuffle=True, generator=torch.Generator())
    history = fit(model, loader, epochs=epochs, lr=lr, loss_fn=loss_fn, device=device, seed=seed,
                  scheduler=one_cycle(lr, epochs * len(loader), pct_start=0.15), scheduler_interval="step",
                  transform_batch=transform_batch,
                  progress=progress, cpu_threads=None, desc=desc)
    model.eval()
    return history


def train_detector(model: nn.Module, images: torch.Tensor, grids: torch.Tensor, epochs: int = 12,
                   batch_size: int = 32, lr: float = 3e-3, device: torch.device | str | None = None,
                   seed: int = 0, progress: bool = True, flip: bool = True) -> History:
    """Train a :class:`GridDetector` on images ``(N, 3, H, W)`` and grids from :func:`grid_targets`."""
    if images.shape[0] != grids.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {grids.shape[0]} target grids; expected one grid per image")

    def random_flip(x: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return _flip_grids(x, g) if torch.rand(()) < 0.5 else (x, g)

    return _train(model, [images, grids], lambda raw, g: grid_loss(raw, g)[0], epochs, batch_size, lr, device,
                  seed, progress, "detector", random_flip if flip else None)


def train_localizer(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, boxes: torch.Tensor,
                    epochs: int = 10, batch_size: int = 32, lr: float = 3e-3,
                    device: torch.device | str | None = None, seed: int = 0, progress: bool = True) -> History:
    """Train a :class:`ShapeLocalizer`; ``boxes`` are xyxy in pixels (one per image)."""
    H, W = images.shape[-2:]
    scale = torch.tensor([W, H, W, H], dtype=torch.float32)
    cxcywh = box_convert(boxes.float(), "xyxy", "cxcywh") / scale

    def loss_fn(output, target):
        (logits, box), (y, b) = output, target
        return localization_loss(logits, box, y, b)[0]

    return _train(model, [images, labels, cxcywh], loss_fn, epochs, batch_size, lr, device, seed, progress,
                  "localizer")


def train_classifier(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, epochs: int = 5,
                     batch_size: int = 64, lr: float = 3e-3, device: torch.device | str | None = None,
                     seed: int = 0, progress: bool = True) -> History:
    """Train an image classifier with cross-entropy."""
    return _train(model, [images, labels], F.cross_entropy, epochs, batch_size, lr, device, seed, progress,
                  "classifier")


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
    dev = next(model.parameters()).device
    with eval_mode(model):
        pred_labels, pred_boxes = model.predict(images.to(dev))
    ious = pairwise_iou(pred_boxes.cpu().double(), boxes.double()).diagonal()
    return {"mean_iou": float(ious.mean()), "accuracy": float((pred_labels.cpu() == labels).float().mean())}
