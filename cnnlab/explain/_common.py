"""What every explanation method shares: input checks, eval mode put back afterwards, class targets, layers."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
from torch import nn

__all__ = ["as_targets", "check_images", "class_scores", "eval_mode", "resolve_layer"]

SCORES = ("logit", "prob")


def check_images(model: nn.Module, x: torch.Tensor, what: str = "x") -> torch.Tensor:
    """``x`` as a floating [N, C, H, W] tensor on the model's device, or a clear error."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor of images [N, C, H, W], got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{what} must be a batch of images [N, C, H, W], got shape {tuple(x.shape)}"
                         + (" (add the batch axis with x[None])" if x.ndim == 3 else ""))
    if not x.is_floating_point():
        raise TypeError(f"{what} must hold floating-point pixels, got dtype {x.dtype}")
    param = next(iter(model.parameters()), None)
    if param is not None and param.device != x.device:
        raise ValueError(f"{what} is on {x.device} but the model is on {param.device}: move one of them "
                         f"(x.to(device) or model.to(device))")
    return x


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Switch ``model`` to eval mode; afterwards every submodule gets its own previous mode back.

    Unlike ``cnnlab.train.eval_mode`` it leaves gradients on (every method here needs them) and puts
    back mixed states exactly (a fine-tuned network whose frozen BatchNorm layers stay in eval mode).
    """
    previous = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, mode in previous:
            m.training = mode


def as_targets(target: int | Sequence[int] | torch.Tensor | None, logits: torch.Tensor) -> torch.Tensor:
    """One class index per image: ``None`` → the predicted class, an int → that class for all."""
    n, k = logits.shape
    if target is None:
        return logits.argmax(1)
    t = torch.as_tensor(target, device=logits.device).long().reshape(-1)
    if t.numel() == 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ValueError(f"give one target class per image ({n}), or one int for all, got {t.numel()}")
    if (t < 0).any() or (t >= k).any():
        raise ValueError(f"target classes must be in 0..{k - 1} (the model has {k} outputs), got {t.tolist()}")
    return t


def class_scores(logits: torch.Tensor, targets: torch.Tensor, score: str = "logit") -> torch.Tensor:
    """The score of each image's target class: its logit (before softmax) or its probability."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    if logits.ndim != 2:
        raise ValueError(f"the model must return class scores [N, classes], got shape {tuple(logits.shape)}")
    values = logits.softmax(1) if score == "prob" else logits
    return values.gather(1, targets[:, None])[:, 0]


def resolve_layer(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    """A submodule of ``model`` given itself or its dotted name (``"stages.2"``)."""
    if isinstance(layer, nn.Module):
        if not any(m is layer for m in model.modules()):
            raise ValueError("the layer given is not a submodule of this model")
        return layer
    try:
        return model.get_submodule(layer)
    except AttributeError:
        names = [n for n, _ in model.named_modules() if n and n.count(".") <= 1]
        raise ValueError(f"the model has no layer {layer!r}; some of its layers: {names[:12]}") from None
