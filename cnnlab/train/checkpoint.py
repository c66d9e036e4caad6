"""Saving and loading checkpoints: model weights, optimizer state and training history in one file."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .loop import History

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint"]

FORMAT = "cnnlab-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint file is unreadable or does not fit the model it is loaded into."""


def save_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    history: History | None = None, **extra) -> Path:
    """Write a checkpoint; ``extra`` keys (plain numbers/strings/lists) are stored alongside."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "model_class": type(model).__name__,
        "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "history": history.as_dict() if history is not None else None,
        "extra": extra,
    }
    torch.save(payload, path)
    return path


def _read(path: Path) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}: check the path, or train and save_checkpoint() first")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated/garbage files
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupted or truncated?): {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} was not written by cnnlab.train.save_checkpoint (format {FORMAT} expected)")
    return payload


def load_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> dict:
    """Load weights (and optimizer state) into ``model``; return ``{"history", "extra", "model_class"}``.

    A checkpoint from a different architecture raises ``CheckpointError`` naming the
    missing, unexpected and mis-shaped tensors instead of half-loading.
    """
    path = Path(path)
    payload = _read(path)
    state, own = payload["model_state"], model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing in file: {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"not in model: {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
        if shapes:
            parts.append("shape mismatch: " + "; ".join(shapes[:5]))
        raise CheckpointError(
            f"{path} holds a {payload['model_class']} whose weights do not fit this {type(model).__name__} "
            f"({', '.join(parts)}): build the same architecture (and num_classes) before loading")
    model.load_state_dict(state)
    if optimizer is not None:
        if payload["optimizer_state"] is None:
            raise CheckpointError(f"{path} has no optimizer state to load")
        optimizer.load_state_dict(payload["optimizer_state"])
    history = History.from_dict(payload["history"]) if payload["history"] is not None else None
    return {"history": history, "extra": payload["extra"], "model_class": payload["model_class"]}
