"""Gradient checking: compare analytic gradients with centred finite differences.

The derivative of f at x is approximated by (f(x + h) - f(x - h)) / 2h, one
entry of x at a time. It is slow (two evaluations of f per entry) and only
trustworthy in float64, but it needs nothing except f itself, which makes it
the independent reference for every backward pass in the course.

* :func:`numerical_gradient` — the finite-difference gradient of a numpy function.
* :func:`rel_error` — the error measure to compare two gradients with.
* :func:`check_torch_gradients` — torch autograd vs finite differences, in float64.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np


def numerical_gradient(
    f: Callable[[np.ndarray], Any], x: np.ndarray, df: np.ndarray | None = None, h: float = 1e-5
) -> np.ndarray:
    """Centred-difference gradient of ``f`` at ``x``.

    ``f`` maps an array to a scalar or to an array. Without ``df`` the result is
    the gradient of ``sum(f(x))`` (for a scalar f: its gradient); with ``df``
    (the upstream gradient, shaped like f(x)) it is the gradient of
    ``sum(f(x) * df)`` — what a layer's backward pass must return for x.

    ``x`` is perturbed **in place** and restored afterwards, so ``f`` may either
    use its argument or read a variable that refers to the same array (the
    cs231n idiom ``lambda _: layer_forward(x, w, b)[0]``). Pass a float64 array.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        x = np.array(x, dtype=np.float64)
    if not h > 0:
        raise ValueError(f"h must be a positive step, got {h!r}")
    grad = np.zeros_like(x, dtype=np.float64)
    weights = None if df is None else np.asarray(df, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        try:
            x[ix] = old + h
            f_plus = np.array(f(x), dtype=np.float64)  # copy: f may return a view
            x[ix] = old - h
            f_minus = np.array(f(x), dtype=np.float64)
        finally:
            x[ix] = old
        diff = f_plus - f_minus
        if weights is not None:
            if weights.shape != diff.shape:
                raise ValueError(f"df has shape {weights.shape} but f(x) has shape {diff.shape}")
            diff = diff * weights
        grad[ix] = np.sum(diff) / (2 * h)
        it.iternext()
    return grad


def rel_error(a: Any, b: Any) -> float:
    """Largest element-wise relative error ``|a - b| / max(1e-8, |a| + |b|)``.

    Around 1e-7 or less in float64 means the gradients agree; 1e-2 or more
    means something is wrong. Shapes must match exactly (no broadcasting).
    """
    a = _to_numpy(a).astype(np.float64)
    b = _to_numpy(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs arrays of the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def check_torch_gradients(
    fn: Callable[..., Any], *inputs: Any, h: float = 1e-5, seed: int = 0
) -> dict[str, float]:
    """Compare torch autograd's gradients of ``fn(*inputs)`` with numerical ones, in float64.

    ``fn`` is a function of tensors or an ``nn.Module`` (a float64 copy of it is
    checked; the original is not touched). Every floating input and every
    parameter of a module is checked. The output (a tensor, or a tuple/list of
    tensors) is reduced with a fixed random upstream gradient. ``fn`` must be
    deterministic (put dropout layers in eval mode) and inputs small: the check
    evaluates ``fn`` twice per input entry.

    Returns:
        ``{"input0": err, ..., "<param name>": err}`` — the :func:`rel_error` of
        each gradient.
    """
    import torch

    params: dict[str, torch.Tensor] = {}
    if isinstance(fn, torch.nn.Module):
        fn = copy.deepcopy(fn).to(device="cpu", dtype=torch.float64)
        params = {name: p for name, p in fn.named_parameters() if p.requires_grad}
    checked: dict[str, torch.Tensor] = {}
    args: list[Any] = []
    for i, value in enumerate(inputs):
        if isinstance(value, (np.ndarray, torch.Tensor)) and torch.as_tensor(value).is_floating_point():
            t = torch.as_tensor(value).detach().to(device="cpu", dtype=torch.float64).clone()
            checked[f"input{i}"] = t.requires_grad_(True)
            args.append(t)
        else:
            args.append(value)
    checked.update(params)  # inputs first, in order, then the module's parameters
    if not checked:
        raise ValueError("nothing to check: no floating-point input and no trainable parameter")

    def outputs() -> list[torch.Tensor]:
        out = fn(*args)
        return list(out) if isinstance(out, (tuple, list)) else [out]

    generator = torch.Generator().manual_seed(seed)
    outs = outputs()
    douts = [torch.randn(o.shape, generator=generator, dtype=torch.float64) for o in outs]
    order, leaves = list(checked), list(checked.values())
    analytic = torch.autograd.grad(outs, leaves, douts, allow_unused=True)

    def objective(_: np.ndarray) -> float:
        with torch.no_grad():
            return float(sum((o * d).sum() for o, d in zip(outputs(), douts)))

    errors = {}
    for key, leaf, grad in zip(order, leaves, analytic):
        data = leaf.detach().numpy()  # shares memory: perturbing it perturbs the leaf
        numeric = numerical_gradient(objective, data, h=h)
        grad_np = np.zeros_like(numeric) if grad is None else grad.numpy()
        errors[key] = rel_error(grad_np, numeric)
    return errors
