"""Self-checks for the training-loop and batch-normalization sections of lecture 04 and residuals in 05
(and the seed-spread reading of lecture 06). No wrong-answer message states the expected value."""
from __future__ import annotations

from typing import Any

import numpy as np

from cnnlab.checks import GradingError, check_array

from ._core import ok as _ok
from ._core import call_answer, self_check

__all__ = ["check_accuracy_function", "check_conv_bn_counts", "check_residual_shapes", "check_seed_spread_reading"]


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


@self_check(
    hints=("Switch the model to evaluation mode first (model.eval()) and turn gradients off (with torch.no_grad():).",
           "For each batch, the predicted class is the index of the largest output (outputs.argmax(dim=1)); count "
           "how many equal the labels.",
           "Divide the count by the number of examples (len(loader.dataset)), not by the number of batches."),
    answer="def accuracy(model, loader):\n    model.eval()\n    correct = 0\n    with torch.no_grad():\n"
           "        for x, y in loader:\n            correct += (model(x).argmax(dim=1) == y).sum().item()\n"
           "    return correct / len(loader.dataset)",
)
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
        raise GradingError("the model was still in training mode when it predicted — call model.eval() first "
                           "(dropout and batch norm behave differently when evaluating)")
    correct = round(want * len(loader.dataset))
    if abs(got - correct / len(loader)) < 1e-9:
        raise GradingError("you divided by the number of batches; divide by the number of examples")
    check_array(got, want, what="accuracy", reveal=False, hint="correct predictions / len(loader.dataset)")
    _ok(f"accuracy {want:.3f}, measured in evaluation mode.")


@self_check(
    hints=("Trainable: the convolution's weights (no bias: β does its job) plus the batch norm's γ and β, one "
           "each per channel.",
           "The state dict holds every parameter AND every buffer: the batch norm's running mean and running "
           "variance (one each per channel) and its counter num_batches_tracked (a single number)."),
    answer="trainable = 3·3·32·64 + 2·64 = 18,560; stored = 18,560 + 2·64 + 1 = 18,689 numbers.",
)
def check_conv_bn_counts(trainable: Any, stored: Any) -> None:
    """``Conv2d(32, 64, 3, bias=False)`` then ``BatchNorm2d(64)``: trainable parameters, and numbers in the state dict."""
    import torch

    layers = torch.nn.Sequential(torch.nn.Conv2d(32, 64, 3, bias=False), torch.nn.BatchNorm2d(64))
    want_params = sum(p.numel() for p in layers.parameters())
    want_stored = sum(t.numel() for t in layers.state_dict().values())
    conv = 3 * 3 * 32 * 64
    for value, what in ((trainable, "trainable"), (stored, "stored")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)):
            raise GradingError(f"{what} should be a number, got {value!r}", kind="type")
    if trainable == conv + 64:
        raise GradingError("trainable: each channel of a batch norm has two learned numbers, a scale γ and a shift β")
    if trainable == conv + 64 + 128:
        raise GradingError("trainable: the convolution here has bias=False")
    if trainable == conv + 4 * 64:
        raise GradingError("trainable: the running mean and variance are not trained (no gradient reaches them); "
                           "only γ and β are")
    if trainable == 2 * 64:
        raise GradingError("trainable: count the convolution's weights too")
    check_array(float(trainable), float(want_params), what="trainable", reveal=False,
                hint="3·3·C_in·C_out weights, plus γ and β per channel")
    if stored == want_params:
        raise GradingError("stored: the state dict also keeps the buffers (the running statistics)")
    if stored == want_stored - 1:
        raise GradingError("stored: almost — there is one more buffer, a counter of the batches seen")
    check_array(float(stored), float(want_stored), what="stored", reveal=False,
                hint="every parameter and every buffer, as print({k: v.shape for k, v in layers.state_dict().items()}) "
                     "would list them")
    _ok(f"{want_params:,} trainable numbers; the state dict stores {want_stored:,}: also the running mean and "
        "variance (used in evaluation mode) and num_batches_tracked.")


@self_check(
    hints=("x can be added to F(x) only when both have the same shape: the same number of channels AND the same "
           "height and width.",
           "The projection is a 1×1 convolution without bias from 128 to 256 channels (stride 2), then a batch "
           "norm with γ and β per output channel."),
    answer="identity_ok = False (stride 2 halves the height and width); projection_params = 128·256 + 2·256 = 33,280.",
)
def check_residual_shapes(identity_ok: Any, projection_params: Any) -> None:
    """Can a 64→64 stride-2 unit use the identity shortcut (bool)? Parameters of a 128→256 stride-2 1x1 shortcut with BN."""
    if not isinstance(identity_ok, (bool, np.bool_)):
        raise GradingError("identity_ok should be True or False", kind="type")
    if identity_ok:
        raise GradingError("identity_ok: with stride 2 the unit's output has half the height and width of its "
                           "input; can x be added to it as it is?")
    conv = 128 * 256  # 1x1, no bias (the batch norm after it has its own shift)
    bn = 2 * 256
    if isinstance(projection_params, bool) or not isinstance(projection_params, (int, np.integer, float)):
        raise GradingError(f"projection_params should be a number, got {projection_params!r}", kind="type")
    if projection_params == conv:
        raise GradingError("projection_params: add the batch norm after the 1×1 conv (γ and β per output channel)")
    if projection_params == conv + 256 + bn:
        raise GradingError("projection_params: a conv followed by batch norm has no bias (β plays its role)")
    if projection_params == 9 * conv + bn:
        raise GradingError("projection_params: the shortcut's convolution is 1×1, not 3×3")
    check_array(float(projection_params), float(conv + bn), what="projection_params", reveal=False,
                hint="a 1×1 conv from 128 to 256 channels without bias, plus a batch norm on 256 channels")
    _ok(f"no identity when the shape changes; the projection costs {conv + bn:,} parameters.")


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
