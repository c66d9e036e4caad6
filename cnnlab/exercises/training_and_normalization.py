"""Self-checks for the training-loop and batch-normalization sections of lecture 04 and residuals in 05."""
from __future__ import annotations

from typing import Any

import numpy as np

from cnnlab.checks import GradingError, check_array

from ._core import ok as _ok
from ._core import call_answer, self_check

__all__ = ["check_accuracy_function", "check_batchnorm_counts", "check_residual_shapes", "check_seed_spread_reading"]


def _fixture():
    """A small fixed classifier with dropout and batch norm (their train/eval modes differ) and a loader."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    g = torch.Generator().manual_seed(0)
    x = torch.randn(90, 6, generator=g)
    y = (x[:, :3].sum(dim=1) > 0).long() + (x[:, 3] > 1).long()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
                                torch.nn.Dropout(0.5), torch.nn.Linear(16, 3))
    with torch.no_grad():  # give the running statistics something to hold
        model.train()
        for _ in range(5):
            model(x * 1.5 + 0.3)
    return model, DataLoader(TensorDataset(x, y), batch_size=32)


def _reference_accuracy(model, loader) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in loader:
            correct += int((model(xb).argmax(dim=1) == yb).sum())
    return correct / len(loader.dataset)


@self_check
def check_accuracy_function(accuracy: Any) -> None:
    """``accuracy(model, loader)``: the share of correctly classified examples, in evaluation mode, no gradients."""
    import torch

    model, loader = _fixture()
    want = _reference_accuracy(model, loader)
    model.train()
    with torch.enable_grad():
        got = call_answer(accuracy, model, loader, what="a small model and a data loader")
    try:
        got = float(got)
    except (TypeError, ValueError):
        raise GradingError(f"accuracy should return a number between 0 and 1, got {got!r}", kind="type") from None
    if 1 < got <= 100 and abs(got / 100 - want) < 1e-9:
        raise GradingError("that is a percentage; return the fraction (between 0 and 1)")
    if abs(got - want) > 1e-9 and model.training:
        raise GradingError(f"got {got:.4f}, expected {want:.4f}: the model was still in training mode — call "
                           "model.eval() first (dropout and batch norm behave differently when evaluating)")
    check_array(got, want, what="accuracy", hint="correct predictions / len(loader.dataset)")
    _ok(f"accuracy {want:.3f}, measured in evaluation mode.")


@self_check
def check_batchnorm_counts(trainable: Any, running: Any) -> None:
    """For ``nn.BatchNorm2d(64)``: trainable parameters, and numbers of running statistics (mean and variance)."""
    import torch

    bn = torch.nn.BatchNorm2d(64)
    want_params = sum(p.numel() for p in bn.parameters())
    want_running = bn.running_mean.numel() + bn.running_var.numel()
    for value, what in ((trainable, "trainable"), (running, "running")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)):
            raise GradingError(f"{what} should be a number, got {value!r}", kind="type")
    if trainable == 64:
        raise GradingError("trainable: each channel has two learned numbers, a scale γ and a shift β")
    if trainable == 4 * 64:
        raise GradingError("trainable: the running mean and variance are not trained (no gradient reaches them); "
                           "only γ and β are")
    check_array(float(trainable), float(want_params), what="trainable", hint="γ and β, one each per channel")
    check_array(float(running), float(want_running), what="running", hint="a mean and a variance per channel")
    _ok(f"{want_params} parameters (γ, β) and {want_running} running statistics, stored in the state dict "
        "as buffers and used in evaluation mode.")


@self_check
def check_residual_shapes(identity_ok: Any, projection_params: Any) -> None:
    """Can a 64→64 stride-1 unit use the identity shortcut (bool)? Parameters of a 64→128 stride-2 1x1 shortcut with BN."""
    if not isinstance(identity_ok, (bool, np.bool_)):
        raise GradingError("identity_ok should be True or False", kind="type")
    if not identity_ok:
        raise GradingError("identity_ok: with the same number of channels and stride 1 the input and the output "
                           "have the same shape, so x can be added as it is")
    conv = 64 * 128  # 1x1, no bias (the batch norm after it has its own shift)
    bn = 2 * 128
    if projection_params == conv:
        raise GradingError("projection_params: add the batch norm after the 1x1 conv (γ and β per output channel)")
    if projection_params == conv + 128 + bn:
        raise GradingError("projection_params: a conv followed by batch norm has no bias (β plays its role)")
    check_array(float(projection_params), float(conv + bn), what="projection_params",
                hint="1x1 conv 64→128 without bias, plus γ and β for 128 channels")
    _ok(f"identity when the shapes match; the projection costs {conv + bn:,} parameters.")


@self_check
def check_seed_spread_reading(answer: Any) -> None:
    """Recipe P scored 77.1, 75.6, 78.3 and recipe S 87.8, 77.2, 78.9 (three seeds each): which reading holds?"""
    p = np.array([77.1, 75.6, 78.3])
    s = np.array([87.8, 77.2, 78.9])
    choice = str(answer).strip().lower().strip("()")
    if choice not in ("a", "b", "c"):
        raise GradingError(f"answer 'a', 'b' or 'c', got {answer!r}", kind="type")
    if choice == "a":
        raise GradingError(f"S's mean is higher ({s.mean():.1f} vs {p.mean():.1f}), but one seed (87.8) carries it: "
                           f"S's other two runs are within two points of P's. Three seeds cannot settle that")
    if choice == "b":
        raise GradingError("P is the more consistent recipe, not the better one: its mean is lower than S's")
    _ok(f"means {s.mean():.1f} vs {p.mean():.1f}, spreads {s.std(ddof=1):.1f} vs {p.std(ddof=1):.1f} points: "
        "S is higher on average but much less predictable; more seeds (or a paired comparison) are needed "
        "before calling either better.")
