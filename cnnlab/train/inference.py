"""Eval-mode inference: one context manager and one batched helper that every predictor uses."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

__all__ = ["eval_mode", "infer"]


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run the body with ``model`` in eval mode and without gradients; restore its previous mode after,
    even when the body raises."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def infer(model: nn.Module, inputs: torch.Tensor, forward: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
          batch_size: int = 256) -> torch.Tensor:
    """``forward(model, batch)`` (default ``model(batch)``) over ``inputs`` in batches, in eval mode.

    Each batch goes to the model's device; the results are concatenated on the CPU. The model's
    train/eval mode is restored afterwards.

    Args:
        model (nn.Module): the network (its first parameter or buffer tells the device).
        inputs (Tensor[N, ...]): the examples, batched along the first dimension.
        forward (callable, optional): what to compute per batch, e.g. ``lambda m, x: m(x).argmax(1)``.
        batch_size (int): examples per forward pass.

    Returns:
        Tensor[N, ...]: the per-batch results concatenated along the first dimension.
    """
    if not isinstance(inputs, torch.Tensor) or inputs.dim() == 0:
        raise ValueError(f"inputs must be a tensor batched along its first dimension, got {type(inputs).__name__}")
    if len(inputs) == 0:
        raise ValueError("inputs is empty: nothing to run the model on")
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    tensors = [*model.parameters(), *model.buffers()]
    dev = tensors[0].device if tensors else inputs.device
    forward = forward or (lambda m, x: m(x))
    with eval_mode(model):
        outs = [forward(model, inputs[i:i + batch_size].to(dev)).cpu() for i in range(0, len(inputs), batch_size)]
    return torch.cat(outs)
