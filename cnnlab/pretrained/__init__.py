"""Small pretrained networks shipped with the course (trained by ``python -m cnnlab.pretrained.build``).

``load("digits04_resnet")`` returns a narrow ResNet-18 (width 16) trained on the digits 0–4 (16×16),
the source task for the transfer-learning lecture: its features are reused to learn
the digits 5–9 from a handful of labels. The weights are stored in float16 (≈ 1.4 MB).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

__all__ = ["PRETRAINED", "PretrainedSpec", "load", "weights_path"]

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class PretrainedSpec:
    architecture: str  # a name for cnnlab.models.create
    kwargs: dict = field(default_factory=dict)
    classes: tuple[int, ...] = ()  # digits it was trained on, in label order
    input_size: int = 16
    epochs: int = 12
    description: str = ""


PRETRAINED = {
    "digits04_resnet": PretrainedSpec(
        "resnet18", {"num_classes": 5, "in_channels": 1, "small": True, "width": 16}, (0, 1, 2, 3, 4), 16, 8,
        "ResNet-18 layout at width 16, trained on digits 0-4 (16x16) with shift/rotation augmentation"),
}


def weights_path(name: str) -> Path:
    return HERE / f"{name}.pt"


def build_model(name: str) -> nn.Module:
    """The architecture of a pretrained network, randomly initialised."""
    from cnnlab.models import create

    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained network {name!r}; available: {sorted(PRETRAINED)}")
    spec = PRETRAINED[name]
    kw = dict(spec.kwargs)
    return create(spec.architecture, kw.pop("num_classes"), kw.pop("in_channels"), kw.pop("small"), **kw)


def load(name: str = "digits04_resnet", device: torch.device | str | None = None) -> nn.Module:
    """A shipped pretrained network in eval mode, weights in float32, on ``device`` (default CPU)."""
    model = build_model(name)
    path = weights_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"weights {path.name} are missing: run `python -m cnnlab.pretrained.build {name}`")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.to(device or "cpu").eval()
