"""Probes that run inside the sandbox, next to the student's code (assignment 2).

The grader asks the sandboxed worker to call ``probe(student_object, *args)`` (see
:func:`cnnlab.course.questions.spec.via`) and compares what comes back itself. This module is
bound into the sandbox, so it imports only the student package (``cnnlab.models``,
``cnnlab.data``, ``cnnlab.checks``), never the instructor's references or grading code.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from cnnlab.checks.errors import ReferenceUsedError

try:
    from cnnlab.models import blocks as student_blocks
except ImportError:  # assignment 2's grading environment has no cnnlab.models: nothing to refuse here
    student_blocks = None

# Captured at import (the worker imports this module before the student's cells run): a
# student's code may rebind the names in cnnlab.models.blocks.
_REFUSED_CLASSES: list[type] = [] if student_blocks is None else [
    student_blocks.BasicBlock, student_blocks.SqueezeExcite, student_blocks.DepthwiseSeparableConv,
    student_blocks.Bottleneck]


def refuse(*classes: type) -> None:
    """Also refuse these classes inside a student's block (the grader adds its references; the sandbox has none)."""
    for cls in classes:
        if cls not in _REFUSED_CLASSES:
            _REFUSED_CLASSES.append(cls)


def _fill_by_name(module: nn.Module) -> None:
    """Give every parameter and buffer values that depend only on its name and shape."""
    with torch.no_grad():
        for name, tensor in list(module.named_parameters()) + list(module.named_buffers()):
            if not tensor.is_floating_point():
                continue
            rng = np.random.default_rng(zlib.crc32(name.encode()))
            values = rng.normal(0.0, 0.3, tuple(tensor.shape))
            if name.endswith("running_var"):
                values = np.abs(values) + 0.5
            tensor.copy_(torch.from_numpy(values))


def _uses_reference(module: nn.Module) -> str | None:
    refused = tuple(_REFUSED_CLASSES)
    for sub in module.modules():
        if isinstance(sub, refused):
            return type(sub).__name__
    return None


def probe_block(cls: Callable[..., nn.Module], args: tuple, x: torch.Tensor) -> tuple:
    """Build ``cls(*args)`` in float64 with name-seeded weights; return (output in eval mode, parameter names/shapes)."""
    torch.manual_seed(0)
    module = cls(*args)
    if not isinstance(module, nn.Module):
        raise TypeError(f"{getattr(cls, '__name__', cls)}(...) should build an nn.Module, got {type(module).__name__}")
    used = _uses_reference(module) if cls not in _REFUSED_CLASSES else None
    if used:
        raise ReferenceUsedError(f"your module contains cnnlab.models.blocks.{used}, the block you are asked to write")
    module = module.to(x.device).double().eval()
    _fill_by_name(module)
    with torch.no_grad():
        out = module(x.double())
    names = sorted(f"{n}{tuple(p.shape)}" for n, p in module.named_parameters())
    return out, "; ".join(names)


def _held_tensors(model: nn.Module) -> dict[str, np.ndarray]:
    """Every array the model holds, by dotted name: each submodule's parameters and buffers (the
    state dict), read from the modules' own dictionaries with ``object.__getattribute__`` rather
    than through ``parameters()``, ``state_dict()`` or ``modules()`` (which a student's class may
    override), plus tensors, numpy arrays and layers kept as plain attributes or in lists, tuples
    and dicts of a submodule (where a stored table or an unregistered layer would hide)."""
    held: dict[str, np.ndarray] = {}
    seen: set[int] = set()

    def add(name: str, value: object) -> None:
        if isinstance(value, nn.Module):  # a layer kept outside _modules (in a list, a dict, an attribute)
            walk(value, f"{name}.")
        elif isinstance(value, torch.Tensor):
            held[name] = value.detach().cpu().numpy() if not value.is_complex() else value.detach().cpu().real.numpy()
        elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            held[name] = value
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value[:10_000]):
                add(f"{name}.{i}", item)
        elif isinstance(value, dict):
            for i, (key, item) in enumerate(list(value.items())[:10_000]):
                add(f"{name}.{key if isinstance(key, str) else i}", item)

    def walk(module: object, prefix: str) -> None:
        if id(module) in seen:
            return
        seen.add(id(module))
        attributes = object.__getattribute__(module, "__dict__")
        for group in ("_parameters", "_buffers"):
            for key, tensor in dict(attributes.get(group) or {}).items():
                if tensor is not None and f"{prefix}{key}" not in held:
                    add(f"{prefix}{key}", tensor)
        for key, sub in dict(attributes.get("_modules") or {}).items():
            if sub is not None:
                walk(sub, f"{prefix}{key}.")
        for key, value in attributes.items():  # tensors, arrays and layers kept as plain attributes
            if key not in ("_parameters", "_buffers", "_modules"):
                add(f"{prefix}{key}", value)

    walk(model, "")
    return held


def probe_model(model: nn.Module, images: torch.Tensor) -> tuple:
    """(every array the model holds, by name; predicted labels) of a trained model on ``images``,
    which the grader generated at grading time and sent (held-out digits under a secret
    augmentation: the model cannot have seen them). The grader counts the numbers it receives;
    what ``model.parameters()`` says is never asked."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model should be an nn.Module, got {type(model).__name__}")
    if not isinstance(images, torch.Tensor):
        raise TypeError("the grader sends the test images as a tensor")
    held = _held_tensors(model)
    model = model.cpu().float().eval()
    with torch.no_grad():
        logits = model(images.cpu().float())
    return held, logits.argmax(dim=1).numpy()
