"""Receptive fields of stacked convolutions and poolings: by formula, and measured with autograd.

A layer is described by its kernel size ``k``, stride ``s`` and dilation ``d`` (pooling is a
layer with d = 1). Going up the stack, two numbers change:

* the **jump** ``j`` (distance in input pixels between two neighboring units): ``j_l = j_{l-1} * s_l``;
* the **receptive field** ``r`` (input pixels one unit sees): ``r_l = r_{l-1} + (k_l - 1) * d_l * j_{l-1}``,

starting from ``r_0 = j_0 = 1`` (one input pixel). :func:`receptive_field` applies the recursion;
:func:`measured_receptive_field` finds the same number independently, by back-propagating a
gradient of one from a single output unit of real ``torch.nn`` layers and measuring how many
input pixels receive a non-zero gradient.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LayerSpec", "RFStep", "as_layers", "centred_input_size", "gradient_support", "measured_receptive_field",
           "receptive_field", "torch_stack"]


@dataclass(frozen=True)
class LayerSpec:
    """One convolution or pooling layer, seen along one spatial axis."""

    kernel: int
    stride: int = 1
    dilation: int = 1
    kind: str = "conv"  # "conv" or "pool": only how the layer is built for the measurement

    def __post_init__(self) -> None:
        for name in ("kernel", "stride", "dilation"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.kind not in ("conv", "pool"):
            raise ValueError(f"kind must be 'conv' or 'pool', got {self.kind!r}")
        if self.kind == "pool" and self.dilation != 1:
            raise ValueError("a pooling layer here has dilation 1")


@dataclass(frozen=True)
class RFStep:
    """Receptive field ``size`` and ``jump`` (input pixels between neighboring units) after one layer."""

    layer: LayerSpec | None
    size: int
    jump: int


def as_layers(layers: Iterable[LayerSpec | int | Sequence[int]]) -> list[LayerSpec]:
    """Accept LayerSpec objects, bare kernel sizes, or (kernel, stride[, dilation]) tuples."""
    out = []
    for item in layers:
        if isinstance(item, LayerSpec):
            out.append(item)
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            out.append(LayerSpec(int(item)))
        elif isinstance(item, (tuple, list)) and 1 <= len(item) <= 3:
            out.append(LayerSpec(*[int(v) for v in item]))
        else:
            raise ValueError(f"a layer is a LayerSpec, a kernel size or a (kernel, stride[, dilation]) tuple; got {item!r}")
    return out


def receptive_field(layers: Iterable[LayerSpec | int | Sequence[int]]) -> list[RFStep]:
    """The receptive field after each layer: ``[input, after layer 1, ...]``; the last entry is the stack's."""
    steps = [RFStep(None, 1, 1)]
    for layer in as_layers(layers):
        prev = steps[-1]
        size = prev.size + (layer.kernel - 1) * layer.dilation * prev.jump
        steps.append(RFStep(layer, size, prev.jump * layer.stride))
    return steps


def centred_input_size(layers: Iterable[LayerSpec | int | Sequence[int]], margin: int | None = None) -> int:
    """An input size whose centre output unit sees a field centred in the input, ``margin`` pixels (at least)
    from each border (default: half the field). It is R + 2·J·m: the output then has 2m + 1 units."""
    last = receptive_field(layers)[-1]
    margin = last.size // 2 if margin is None else margin
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    m = -(-margin // last.jump)  # ceil(margin / jump)
    return last.size + 2 * last.jump * m


def torch_stack(layers: Iterable[LayerSpec | int | Sequence[int]]):
    """A 1-channel ``torch.nn.Sequential`` of the layers (no padding, all conv weights one, pooling = average)."""
    import torch

    modules = []
    for layer in as_layers(layers):
        if layer.kind == "pool":
            modules.append(torch.nn.AvgPool2d(layer.kernel, layer.stride))
        else:
            conv = torch.nn.Conv2d(1, 1, layer.kernel, stride=layer.stride, dilation=layer.dilation, bias=False)
            torch.nn.init.ones_(conv.weight)
            modules.append(conv)
    return torch.nn.Sequential(*modules).double()


def gradient_support(layers: Iterable[LayerSpec | int | Sequence[int]], input_size: int | None = None) -> np.ndarray:
    """|d out[centre] / d input| for the centre output unit of :func:`torch_stack` (an input_size² array).

    The non-zero entries are the unit's receptive field; their values show how often each
    input pixel is reached (the "effective" receptive field is peaked in the middle).
    """
    import torch

    layers = as_layers(layers)
    needed = receptive_field(layers)[-1].size
    if input_size is None:
        input_size = centred_input_size(layers)
    if input_size < needed:
        raise ValueError(f"input_size={input_size} is too small for these layers (their receptive field is {needed})")
    net = torch_stack(layers)
    x = torch.zeros(1, 1, input_size, input_size, dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        out = net(x)
        h, w = out.shape[-2:]
        out[0, 0, h // 2, w // 2].backward()
    return x.grad[0, 0].abs().numpy()


def measured_receptive_field(layers: Iterable[LayerSpec | int | Sequence[int]], input_size: int | None = None) -> int:
    """Width of the input region that receives gradient from one output unit (independent of the formula)."""
    support = gradient_support(layers, input_size)
    cols = np.flatnonzero(support.sum(axis=0) > 0)
    rows = np.flatnonzero(support.sum(axis=1) > 0)
    if cols.size == 0:
        return 0
    width, height = cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1
    if width != height:  # square kernels give square fields
        raise AssertionError(f"non-square support {height}x{width}")
    return int(width)
