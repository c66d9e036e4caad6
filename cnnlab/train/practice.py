"""Training practice, measured: initialisation, activation statistics, a learning-rate range test.

* :func:`tiny_cnn` — the small CNN the experiments train on 8×8 digits (1,898 parameters at width 8).
* :func:`init_weights` — every conv/dense weight drawn with a given std, or He (Kaiming) init.
* :func:`activation_stats` — per layer, the mean and std of the activations and the share of dead units.
* :func:`lr_schedule` — the learning rate a ``torch.optim.lr_scheduler`` gives at every step.
* :func:`lr_range_test` / :func:`suggested_lr` — loss against an exponentially growing learning rate.
* :func:`seed_runs` — train one recipe per seed with ``fit``, then measure the model on the training
  and validation data in evaluation mode (the generalisation gap).
* :func:`run_stats` — a :class:`~cnnlab.train.experiments.RunStats` of any list of numbers.

Every training step goes through :func:`cnnlab.train.fit`.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from .experiments import RunStats, fit_per_seed
from .loop import evaluate, fit

__all__ = ["tiny_cnn", "init_weights", "activation_stats", "lr_schedule", "lr_range_test", "suggested_lr", "seed_runs",
           "run_stats"]

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def tiny_cnn(width: int = 8, num_classes: int = 10) -> nn.Module:
    """conv 3×3 (``width``) → ReLU → max-pool 2 → conv 3×3 (2·``width``) → ReLU → max-pool 2 → dense.

    Made for (N, 1, 8, 8) digits: the last maps are 2×2, so the dense layer reads 8·``width`` numbers.
    """
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive int, got {width!r}")
    return nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * width, num_classes))


def init_weights(model: nn.Module, std: float | str = "he") -> nn.Module:
    """Redraw every conv and dense weight from N(0, std²) (biases to 0); returns ``model``.

    Args:
        model (nn.Module): changed in place.
        std (float or "he"): a fixed standard deviation, or ``"he"`` for Kaiming's
            ``sqrt(2 / fan_in)`` (fan_in = input channels × kernel area), made for ReLU.
    """
    if isinstance(std, str):
        if std != "he":
            raise ValueError(f"std must be a positive number or 'he', got {std!r}")
    elif not (isinstance(std, (int, float)) and std > 0):
        raise ValueError(f"std must be a positive number or 'he', got {std!r}")
    layers = [m for m in model.modules() if isinstance(m, _WEIGHTED)]
    if not layers:
        raise ValueError("the model has no Conv or Linear layer whose weights could be initialised")
    with torch.no_grad():
        for layer in layers:
            if std == "he":
                nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
            else:
                layer.weight.normal_(0.0, float(std))
            if layer.bias is not None:
                layer.bias.zero_()
    return model


def activation_stats(model: nn.Module, x: torch.Tensor, layer_type: type | tuple = nn.ReLU) -> list[dict]:
    """Statistics of the output of every ``layer_type`` module for the batch ``x``, in forward order.

    Args:
        model (nn.Module): run once on ``x`` without gradients (its train/eval mode is kept).
        x (Tensor[N, ...]): a batch of at least two examples.
        layer_type: the modules to watch (ReLU by default).

    Returns:
        one dict per call of a watched module: ``name``, ``mean``, ``std`` (over every element of the
        output), ``zero`` (share of elements that are exactly 0) and ``dead`` (share of units — an output
        position of one channel — that are 0 for every example in the batch).
    """
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or x.shape[0] < 2:
        raise ValueError(f"x must be a batch tensor (N, ...) with N >= 2, got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    names = {m: name for name, m in model.named_modules()}
    found: list[dict] = []

    def record(module, _inputs, out):
        out = out.detach().double()
        found.append({"name": names.get(module, type(module).__name__), "mean": float(out.mean()),
                      "std": float(out.std(unbiased=False)), "zero": float((out == 0).double().mean()),
                      "dead": float((out == 0).all(dim=0).double().mean())})

    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, layer_type)]
    if not hooks:
        raise ValueError(f"the model has no {layer_type} module to watch")
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return found


def lr_schedule(make_scheduler: Callable[[torch.optim.Optimizer], object], steps: int, lr: float = 1.0) -> np.ndarray:
    """The learning rate at each of ``steps`` optimizer steps under ``make_scheduler(optimizer)``.

    The scheduler is stepped once per step (as ``fit(..., scheduler_interval="step")`` does); the
    optimizer starts at ``lr`` and holds one dummy parameter.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(lrs)


class _Diverged(Exception):
    pass


def lr_range_test(model: nn.Module, loader, *, lr_min: float = 1e-5, lr_max: float = 10.0, steps: int = 100,
                  optimizer: str | Callable[[list], torch.optim.Optimizer] = "sgd", stop_factor: float | None = 4.0,
                  smooth: float = 0.9, seed: int = 0, device: torch.device | str | None = None) -> dict:
    """Train ``model`` for up to ``steps`` batches while the learning rate grows geometrically.

    Step ``i`` uses ``lr_min · (lr_max / lr_min) ** (i / (steps - 1))``. The run stops early once the
    smoothed loss exceeds ``stop_factor`` times its lowest value (the loss has diverged). ``model`` is
    trained in place: give it a fresh model and throw it away afterwards.

    Args:
        loader: batches ``(x, y)``; cycled if it has fewer than ``steps``.
        optimizer: ``"sgd"`` (momentum 0.9), ``"adam"``, or a factory ``params -> Optimizer``
            (its learning rate is replaced by the schedule).
        smooth: the exponential moving average's factor for ``smoothed`` (bias-corrected).

    Returns:
        ``{"lrs", "losses", "smoothed"}``: numpy arrays, one entry per step taken.
    """
    if not 0 < lr_min < lr_max:
        raise ValueError(f"need 0 < lr_min < lr_max, got lr_min={lr_min!r}, lr_max={lr_max!r}")
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an int >= 2, got {steps!r}")
    if not 0 <= smooth < 1:
        raise ValueError(f"smooth must be in [0, 1), got {smooth!r}")
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=lr_min, momentum=0.9)
    elif optimizer == "adam":
        opt = torch.optim.Adam(params, lr=lr_min)
    elif callable(optimizer):
        opt = optimizer(params)
    else:
        raise ValueError(f"optimizer must be 'sgd', 'adam' or a factory params -> Optimizer, got {optimizer!r}")
    for group in opt.param_groups:
        group["lr"] = lr_min
    ratio = lr_max / lr_min
    batches = list(itertools.islice(itertools.cycle(loader), steps))
    lrs, losses, smoothed = [], [], []
    average, best = 0.0, math.inf
    loss_fn = nn.CrossEntropyLoss()

    def recording_loss(output, y):
        nonlocal average, best
        loss = loss_fn(output, y)
        value = loss.item()
        lrs.append(opt.param_groups[0]["lr"])
        losses.append(value)
        average = smooth * average + (1 - smooth) * value
        smoothed.append(average / (1 - smooth ** len(losses)))
        best = min(best, smoothed[-1])
        if stop_factor is not None and (not math.isfinite(value) or smoothed[-1] > stop_factor * best):
            raise _Diverged
        return loss

    def schedule(opt_: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
        return torch.optim.lr_scheduler.LambdaLR(opt_, lambda i: ratio ** (min(i, steps - 1) / (steps - 1)))

    try:
        fit(model, batches, epochs=1, optimizer=opt, loss_fn=recording_loss, scheduler=schedule,
            scheduler_interval="step", seed=seed, device=device, progress=False)
    except _Diverged:
        pass
    return {"lrs": np.array(lrs), "losses": np.array(losses), "smoothed": np.array(smoothed)}


def suggested_lr(result: dict, divide_by: float = 10.0) -> float:
    """The learning rate of the lowest smoothed loss in a :func:`lr_range_test`, divided by ``divide_by``.

    The lowest point is already close to where training becomes unstable; a value about ten times
    smaller is a common, safe pick.
    """
    smoothed = np.asarray(result["smoothed"], dtype=float)
    if smoothed.size == 0 or not np.isfinite(smoothed).any():
        raise ValueError("the range test recorded no finite loss")
    return float(np.asarray(result["lrs"])[np.nanargmin(np.where(np.isfinite(smoothed), smoothed, np.nan))]
                 / divide_by)


def seed_runs(make_model: Callable[[], nn.Module], train_loader, val_loader, *, seeds: Iterable[int] = (0, 1, 2),
              **fit_kwargs) -> list[dict]:
    """``fit`` a fresh ``make_model()`` per seed, then evaluate it on both splits in evaluation mode.

    The training loss ``fit`` records is averaged over an epoch while the weights change, and with
    dropout switched on; measuring both splits afterwards, the same way, gives a fair gap.

    Returns:
        one dict per seed: ``history`` and the final ``train_loss``, ``train_acc``, ``val_loss``,
        ``val_acc`` and ``gap`` (training minus validation accuracy).
    """
    runs = []
    for model, history in fit_per_seed(make_model, train_loader, val_loader, seeds=seeds, **fit_kwargs):
        on_train, on_val = evaluate(model, train_loader), evaluate(model, val_loader)
        runs.append({"history": history, "train_loss": on_train["loss"], "train_acc": on_train["accuracy"],
                     "val_loss": on_val["loss"], "val_acc": on_val["accuracy"],
                     "gap": on_train["accuracy"] - on_val["accuracy"]})
    return runs


def run_stats(values: Sequence[float]) -> RunStats:
    """Mean, sample std (0 for one value), min, max and count of ``values`` (e.g. one number per seed)."""
    v = np.asarray([float(x) for x in values], dtype=float)
    if v.size == 0:
        raise ValueError("no values to summarise")
    return RunStats(float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0, float(v.min()), float(v.max()),
                    int(v.size))
