"""Every pretrained network the course ships, in one registry with one loader.

``load(name)`` returns the network in eval mode with float32 weights; ``PRETRAINED`` describes
each one, and ``python -m cnnlab.pretrained.build [name ...]`` retrains it from the recipe in
``recipes.py`` (all from embedded or generated data, nothing is downloaded). Weights are stored
in float16 next to this file as ``<name>.pt``.

* ``digits04_resnet`` – narrow ResNet-18 (width 16) trained on the digits 0–4 (16×16): the
  source task of the transfer-learning lecture;
* ``localizer`` – :class:`~cnnlab.detection.models.ShapeLocalizer`, one shape per image (class + box);
* ``window_classifier`` – crop classifier for sliding windows (4 shapes + background, last class);
* ``grid_detector`` – YOLO-style :class:`~cnnlab.detection.models.GridDetector` on the synthetic shapes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnnlab.data.shapes import SHAPE_CLASSES

__all__ = ["PRETRAINED", "PretrainedSpec", "build_model", "load", "weights_path"]

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class PretrainedSpec:
    """How to build a shipped network's architecture, and what it was trained on."""

    build: Callable[[], nn.Module]  # the architecture, randomly initialised
    description: str
    classes: tuple = ()  # the labels it predicts, in output order
    input_size: int = 16  # side of the square inputs it was trained on


def _digits_resnet() -> nn.Module:
    from cnnlab.models import create

    return create("resnet18", num_classes=5, in_channels=1, small=True, width=16)


def _localizer() -> nn.Module:
    from cnnlab.detection.models import ShapeLocalizer

    return ShapeLocalizer(len(SHAPE_CLASSES))


def _window_classifier() -> nn.Module:
    from cnnlab.detection.models import ShapeClassifier

    return ShapeClassifier(len(SHAPE_CLASSES) + 1)


def _grid_detector() -> nn.Module:
    from cnnlab.detection.models import GridDetector

    return GridDetector(len(SHAPE_CLASSES))


PRETRAINED: dict[str, PretrainedSpec] = {
    "digits04_resnet": PretrainedSpec(
        _digits_resnet, "ResNet-18 layout at width 16, trained on digits 0-4 (16x16) with shift/rotation "
        "augmentation", (0, 1, 2, 3, 4), 16),
    "localizer": PretrainedSpec(
        _localizer, "one-object localizer (class + box) on 64x64 synthetic shapes",
        tuple(SHAPE_CLASSES), 64),
    "window_classifier": PretrainedSpec(
        _window_classifier, "crop classifier for sliding windows: 4 shapes + background (last class)",
        (*SHAPE_CLASSES, "background"), 32),
    "grid_detector": PretrainedSpec(
        _grid_detector, "YOLO-style grid detector (8x8 cells) on 64x64 synthetic shapes",
        tuple(SHAPE_CLASSES), 64),
}


def _spec(name: str) -> PretrainedSpec:
    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained network {name!r}; available: {sorted(PRETRAINED)}")
    return PRETRAINED[name]


def weights_path(name: str) -> Path:
    """Where the shipped weights of ``name`` live."""
    _spec(name)
    return HERE / f"{name}.pt"


def build_model(name: str) -> nn.Module:
    """The architecture of a shipped network, randomly initialised."""
    return _spec(name).build()


def load(name: str = "digits04_resnet", device: torch.device | str | None = None) -> nn.Module:
    """A shipped pretrained network in eval mode, weights in float32, on ``device`` (default CPU)."""
    model = build_model(name)
    path = weights_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"weights {path.name} are missing: run `python -m cnnlab.pretrained.build {name}`")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.to(device or "cpu").eval()
