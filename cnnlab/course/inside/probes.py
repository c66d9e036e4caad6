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
from cnnlab.models import blocks as student_blocks

# Captured at import (the worker imports this module before the student's cells run): a
# student's code may rebind the names in cnnlab.models.blocks.
_REFUSED_CLASSES: list[type] = [student_blocks.BasicBlock, student_blocks.SqueezeExcite,
                                student_blocks.DepthwiseSeparableConv, student_blocks.Bottleneck]


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


def probe_model(model: nn.Module, images: torch.Tensor) -> tuple:
    """(number of parameters, predicted labels) of a trained model on ``images``, which the
    grader chose and sent (the test split in a secret order: the model cannot know which
    image comes when)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model should be an nn.Module, got {type(model).__name__}")
    if not isinstance(images, torch.Tensor):
        raise TypeError("the grader sends the test images as a tensor")
    model = model.cpu().float().eval()
    with torch.no_grad():
        logits = model(images.cpu().float())
    n_params = sum(p.numel() for p in model.parameters())
    return n_params, logits.argmax(dim=1).numpy()
