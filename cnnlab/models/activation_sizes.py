"""What a forward pass leaves in memory: the output shape of every layer, for activation memory.

Training keeps the layers' outputs until the backward pass has used them, so for a batch of
N images the activations take about N · (values per image, summed over the layers) · bytes
per value: with large images and batches this, not the parameters, fills a GPU.
``layer_output_shapes`` lists those outputs; a lecture multiplies them out itself.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .summaries import _as_shape

__all__ = ["layer_output_shapes"]


def _in_place(module: nn.Module) -> bool:
    return bool(getattr(module, "inplace", False))


def layer_output_shapes(model: nn.Module, input_size: int | Sequence[int] = (1, 3, 224, 224)) -> list[dict]:
    """The output of every leaf layer of one forward pass, in execution order.

    Args:
        model (nn.Module): any network; on the "meta" device nothing is allocated or computed.
        input_size (int or (C, H, W) or (N, C, H, W)): the input; an int means a square RGB image.

    Returns:
        list[dict]: one row per call of a leaf layer (a layer with no sub-layers) with ``name``,
        ``layer`` (its class name) and ``shape`` (the output's shape, batch dimension included).
        In-place layers (``ReLU(inplace=True)`` and the like) are left out: they overwrite
        their input instead of storing a new tensor. Layers called twice appear twice.
    """
    first = next(iter(model.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None else torch.float32
    in_ch = next((m.in_channels for m in model.modules() if isinstance(m, nn.Conv2d)), 3)
    shape = _as_shape(input_size, in_ch)
    rows: list[dict] = []
    hooks = []
    for name, module in model.named_modules():
        if next(module.children(), None) is None and not _in_place(module) and module is not model:
            hooks.append(module.register_forward_hook(
                lambda mod, inp, out, name=name: rows.append(
                    {"name": name, "layer": type(mod).__name__, "shape": tuple(out.shape)})
                if isinstance(out, torch.Tensor) else None))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(shape, device=device, dtype=dtype))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return rows
