"""Small CNNs for the detection lecture: a crop classifier, a one-object localizer and a grid detector.

All three share :func:`backbone`, a stack of 3x3 convolutions with stride 2, batch norm and ReLU. They are sized to train on a laptop CPU in seconds to a couple of minutes on
``cnnlab.data.shapes``.

* ``ShapeClassifier`` – image -> class logits (used to slide a classifier over an image);
* ``ShapeLocalizer`` – image -> (class logits, box); the box is ``(cx, cy, w, h)`` divided by the
  image size, squashed by a sigmoid into [0, 1] (four numbers: centre, width and height);
* ``GridDetector`` – image -> an ``S x S`` grid of ``5 + C`` numbers per cell (YOLO-style, see
  ``cnnlab.detection.grid``), decoded and cleaned by class-aware NMS in :meth:`GridDetector.detect`.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..train.inference import eval_mode
from .grid import grid_to_boxes
from .suppression import batched_nms

__all__ = ["GridDetector", "ShapeClassifier", "ShapeLocalizer", "backbone"]


def _conv(cin: int, cout: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def backbone(widths: Sequence[int] = (16, 32, 64), in_channels: int = 3) -> nn.Sequential:
    """Conv-BN-ReLU stages with stride 2 (cheaper than conv + pooling on a CPU): stride ``2 ** len(widths)``."""
    layers: list[nn.Module] = []
    cin = in_channels
    for w in widths:
        layers += _conv(cin, w, stride=2)
        cin = w
    return nn.Sequential(*layers)


class ShapeClassifier(nn.Module):
    """A small classifier of fixed-size crops (32x32 by default)."""

    def __init__(self, num_classes: int = 5, widths: Sequence[int] = (16, 32, 64)):
        super().__init__()
        self.features = backbone(widths)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(widths[-1], num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ShapeLocalizer(nn.Module):
    """Classification plus box regression for images holding exactly one object.

    ``forward`` returns ``(class_logits (B, C), box (B, 4))`` with the box as normalised
    ``(cx, cy, w, h)`` in [0, 1]; :meth:`predict` converts to pixels, xyxy.
    """

    def __init__(self, num_classes: int = 4, widths: Sequence[int] = (16, 32, 64, 64)):
        super().__init__()
        self.features = backbone(widths)
        # what: averaged over positions (any place looks the same); where: a coarse 4x4 map kept in order
        self.classify = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(widths[-1], num_classes))
        self.regress = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(16 * widths[-1], 4))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.features(x)
        return self.classify(z), torch.sigmoid(self.regress(z))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Labels ``(B,)`` and xyxy boxes ``(B, 4)`` in pixels."""
        logits, box = self(x)
        H, W = x.shape[-2:]
        cx, cy, w, h = (box * torch.tensor([W, H, W, H], device=box.device, dtype=box.dtype)).unbind(-1)
        return logits.argmax(1), torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)


class GridDetector(nn.Module):
    """Single-shot detector: one prediction per grid cell (YOLOv1 with one box per cell).

    With the default widths a 64x64 image gives an 8x8 grid. Two extra 3x3 convolutions at
    the last stride widen the receptive field so that a cell sees the whole object around it.
    ``forward`` returns raw outputs ``(B, 5 + C, S, S)``; :meth:`probabilities` applies
    sigmoid to objectness, offsets and sizes and softmax to classes, channels last.
    """

    def __init__(self, num_classes: int = 4, widths: Sequence[int] = (16, 32, 64), head_width: int = 64):
        super().__init__()
        self.num_classes = num_classes
        self.features = backbone(widths)
        self.neck = nn.Sequential(*_conv(widths[-1], head_width), *_conv(head_width, head_width))
        self.head = nn.Conv2d(head_width, 5 + num_classes, 1)
        self.stride = 2 ** len(widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.neck(self.features(x)))

    def probabilities(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw ``(B, 5 + C, S, S)`` -> ``(B, S, S, 5 + C)`` in the layout ``grid_to_boxes`` reads."""
        box = torch.sigmoid(raw[:, :5])
        cls = torch.softmax(raw[:, 5:], dim=1)
        return torch.cat([box, cls], dim=1).permute(0, 2, 3, 1)

    @torch.no_grad()
    def detect(self, images: torch.Tensor, score_threshold: float = 0.05,
               iou_threshold: float = 0.5) -> list[dict[str, torch.Tensor]]:
        """Boxes, scores and labels per image after class-aware NMS (eval mode for the call)."""
        with eval_mode(self):
            grids = self.probabilities(self(images))
        out = []
        for g in grids:
            boxes, scores, labels = grid_to_boxes(g, tuple(images.shape[-2:]), score_threshold)
            keep = batched_nms(boxes, scores, labels, iou_threshold)
            out.append({"boxes": boxes[keep], "scores": scores[keep], "labels": labels[keep]})
        return out
