"""Counting what a network costs: parameters, multiply-adds, and a Keras-style summary (torchinfo)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["summary", "count_parameters", "count_macs", "layer_macs"]


def count_parameters(model: nn.Module, trainable_only: bool = False, include_buffers: bool = False) -> int:
    """Number of parameters; ``include_buffers`` adds batch-norm running statistics, which is
    what Keras reports as "non-trainable params" (``num_batches_tracked`` is not counted)."""
    total = sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
    if include_buffers:
        total += sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked"))
    return total


def layer_macs(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-accumulate operations of one Conv2d or Linear layer for the given output.

    Conv: every output value needs ``(in/groups)·kh·kw`` products; Linear: ``in_features``.
    Biases, activations, pooling and batch norm are not counted (the usual convention).
    """
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return output.numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return 0


def _as_shape(input_size: int | Sequence[int], in_channels: int = 3) -> tuple[int, ...]:
    if isinstance(input_size, int):
        return (1, in_channels, input_size, input_size)
    shape = tuple(int(s) for s in input_size)
    if len(shape) == 3:
        shape = (1, *shape)
    if len(shape) != 4:
        raise ValueError(f"input_size must be an int, (C, H, W) or (N, C, H, W), got {input_size!r}")
    return shape


def count_macs(model: nn.Module, input_size: int | Sequence[int] = (1, 3, 224, 224), per_layer: bool = False):
    """Multiply-adds of one forward pass through Conv2d and Linear layers (forward hooks).

    Runs on the "meta" device when the model lives there (no memory, no compute);
    otherwise runs a zero input on the model's device in eval mode. ``input_size`` may
    be an int (square, 3 channels), (C, H, W) or (N, C, H, W). With ``per_layer`` also
    returns a dict {layer name: MACs}.
    """
    first = next(iter(model.parameters()), None)
    dev = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None else torch.float32
    in_ch = 3
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            in_ch = m.in_channels
            break
    shape = _as_shape(input_size, in_ch)
    counts: dict[str, int] = {}
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            hooks.append(m.register_forward_hook(lambda mod, inp, out, name=name: counts.__setitem__(
                name, counts.get(name, 0) + layer_macs(mod, out))))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(shape, device=dev, dtype=dtype))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    total = sum(counts.values())
    return (total, counts) if per_layer else total


def summary(model: nn.Module, input_size: int | Sequence[int] = (1, 3, 32, 32), depth: int = 3, verbose: int = 0, **kwargs):
    """A Keras-style table (layer, output shape, parameters, totals) from torchinfo.

    Returns torchinfo's ``ModelStatistics``; in a notebook its repr prints the table,
    and ``.total_params`` / ``.trainable_params`` hold the totals.
    """
    from torchinfo import summary as _summary

    shape = _as_shape(input_size)
    kwargs.setdefault("col_names", ("output_size", "num_params"))
    kwargs.setdefault("row_settings", ("var_names",))
    first = next(iter(model.parameters()), None)
    kwargs.setdefault("device", first.device if first is not None else "cpu")
    return _summary(model, input_size=shape, depth=depth, verbose=verbose, **kwargs)
