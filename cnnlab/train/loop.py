"""The training loop: seeded, device-aware, with early stopping and a plain history object."""
from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..devices import device as default_device
from .inference import eval_mode

__all__ = ["History", "fit", "evaluate", "predict"]


@dataclass
class History:
    """What happened during ``fit``, one entry per epoch (plain lists, easy to plot or save)."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int | None = None  # 0-based index of the best validation loss
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> History:
        return cls(**data)

    def extend(self, other: History) -> History:
        """Append another run (e.g. fine-tuning after training the head); returns self."""
        for name in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"):
            getattr(self, name).extend(getattr(other, name))
        if other.best_epoch is not None:
            self.best_epoch = self.epochs - other.epochs + other.best_epoch
        return self


@contextmanager
def cpu_threads_limited(dev: torch.device, threads: int | None) -> Iterator[None]:
    """Run the body with ``threads`` torch threads when ``dev`` is the CPU, then restore the setting."""
    previous = torch.get_num_threads()
    if threads is not None and dev.type == "cpu":
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def one_cycle(max_lr: float, total_steps: int, pct_start: float = 0.3
              ) -> Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler]:
    """``fit``'s ``scheduler`` for a one-cycle learning rate (warm up to ``max_lr``, then anneal) over
    ``total_steps`` batches: pass it with ``scheduler_interval="step"``."""
    def make(opt: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler:
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start)

    return make


def _make_optimizer(model: nn.Module, optimizer, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters: did you freeze everything, including the new head?")
    if callable(optimizer):  # a factory, e.g. lambda params: torch.optim.SGD(params, lr=0.1): fresh per run
        made = optimizer(params)
        if not isinstance(made, torch.optim.Optimizer):
            raise ValueError(f"the optimizer factory must return a torch.optim.Optimizer, got {type(made).__name__}")
        return made
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be 'adam', 'sgd', a torch.optim.Optimizer or a factory params -> Optimizer, "
                     f"got {optimizer!r}")


def _check_loader(loader, name: str) -> None:
    if loader is not None and not isinstance(loader, (DataLoader, list, tuple)):
        raise ValueError(f"{name} must be a DataLoader (or a list of (x, y) batches), got {type(loader).__name__}")


def evaluate(model: nn.Module, loader, loss_fn: Callable | None = None, device: torch.device | str | None = None,
             cpu_threads: int | None = 1) -> dict:
    """Mean loss and accuracy of ``model`` over ``loader`` (eval mode, no gradients)."""
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    with cpu_threads_limited(dev, cpu_threads), torch.no_grad():
        return _evaluate(model, loader, loss_fn, dev)


def _evaluate(model: nn.Module, loader, loss_fn: Callable | None, dev: torch.device) -> dict:
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    total, correct, loss_sum = 0, 0, 0.0
    with eval_mode(model):
        for x, y in loader:
            x, y = x.to(dev), y.to(dev)
            logits = model(x)
            loss_sum += loss_fn(logits, y).item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            total += len(y)
    if total == 0:
        raise ValueError("the loader yielded no examples to evaluate")
    return {"loss": loss_sum / total, "accuracy": correct / total}


def predict(model: nn.Module, loader, device: torch.device | str | None = None,
            cpu_threads: int | None = 1) -> dict[str, np.ndarray]:
    """Inputs, true labels, predicted labels and softmax probabilities over ``loader`` (numpy, CPU)."""
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    with cpu_threads_limited(dev, cpu_threads), torch.no_grad():
        return _predict(model, loader, dev)


def _predict(model: nn.Module, loader, dev: torch.device) -> dict[str, np.ndarray]:
    xs, ys, probs = [], [], []
    with eval_mode(model):
        for x, y in loader:
            probs.append(torch.softmax(model(x.to(dev)), dim=1).cpu())
            xs.append(x.cpu())
            ys.append(y.cpu())
    prob = torch.cat(probs).numpy()
    return {"images": torch.cat(xs).numpy(), "y_true": torch.cat(ys).numpy(), "y_pred": prob.argmax(1), "probs": prob}


def fit(
    model: nn.Module,
    train_loader,
    val_loader=None,
    *,
    epochs: int = 10,
    optimizer: str | torch.optim.Optimizer | Callable[[list], torch.optim.Optimizer] = "adam",
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    loss_fn: Callable | None = None,
    device: torch.device | str | None = None,
    seed: int | None = 0,
    patience: int | None = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
    scheduler: Callable[[torch.optim.Optimizer], object] | None = None,
    scheduler_interval: str = "epoch",
    transform_batch: Callable[[Any, Any], tuple[Any, Any]] | None = None,
    progress: bool = True,
    cpu_threads: int | None = 1,
    desc: str = "epochs",
) -> History:
    """Train ``model`` for ``epochs`` epochs and return its ``History``.

    * ``device``: defaults to ``cnnlab.device()``; the model is moved there.
    * ``seed``: seeds torch (and the loader's generator, if it has one) so that a run on
      the CPU repeats exactly; ``None`` leaves the generators alone.
    * ``patience``: stop when the validation loss has not improved by ``min_delta`` for
      that many epochs; with ``restore_best`` the best weights are put back.
    * ``augment``: a function applied to each training batch on the device (see
      ``cnnlab.augment``).
    * ``optimizer``: ``"adam"``, ``"sgd"`` (momentum 0.9), an optimizer, or a factory called with the
      trainable parameters (``lr`` and ``weight_decay`` then go into the factory, not here).
    * ``scheduler``: e.g. ``lambda opt: torch.optim.lr_scheduler.StepLR(opt, 5)``; stepped once per
      epoch, or after every batch with ``scheduler_interval="step"`` (``OneCycleLR``).
    * ``loss_fn``: ``loss_fn(output, y)``, cross-entropy by default. The model's output and the
      targets ``y`` may be tuples (a localizer returns class logits and a box, its targets are
      labels and boxes); accuracy is recorded only when the output is ``(B, classes)`` logits
      and ``y`` integer labels, otherwise ``train_acc`` holds NaN.
    * ``transform_batch``: ``(x, y) -> (x, y)`` on the device, for augmentations that must move
      the targets too (flipping an image flips its boxes).
    * ``cpu_threads``: torch threads while training on the CPU (restored afterwards). The course's
      small networks train fastest on one thread: on a shared or busy machine two threads were
      measured 3-5x slower. ``None`` keeps torch's setting.
    * ``desc``: the progress bar's label.
    """

    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if patience is not None and val_loader is None:
        raise ValueError("early stopping (patience=...) watches the validation loss: pass a val_loader")
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(f"scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}")
    _check_loader(train_loader, "train_loader")
    _check_loader(val_loader, "val_loader")
    dev = torch.device(device) if device is not None else default_device()
    with cpu_threads_limited(dev, cpu_threads):
        return _fit(model, train_loader, val_loader, dev, epochs, optimizer, lr, weight_decay, loss_fn, seed,
                    patience, min_delta, restore_best, augment, scheduler, scheduler_interval, transform_batch,
                    progress, desc)


def _to(value: Any, dev: torch.device) -> Any:
    """A tensor, or a tuple/list of them, moved to ``dev``."""
    if isinstance(value, (tuple, list)):
        return type(value)(_to(v, dev) for v in value)
    return value.to(dev, non_blocking=True)


def _correct(output: Any, y: Any) -> int | None:
    """How many of the batch's predictions are right, or None when the task is not classification."""
    if (isinstance(output, torch.Tensor) and output.ndim == 2 and isinstance(y, torch.Tensor) and y.ndim == 1
            and not y.is_floating_point()):
        return int((output.argmax(1) == y).sum().item())
    return None


def _fit(model, train_loader, val_loader, dev, epochs, optimizer, lr, weight_decay, loss_fn, seed, patience,
         min_delta, restore_best, augment, scheduler, scheduler_interval, transform_batch, progress,
         desc) -> History:
    from tqdm.auto import tqdm

    if seed is not None:
        torch.manual_seed(seed)
        gen = getattr(train_loader, "generator", None)
        if gen is not None:
            gen.manual_seed(seed)
    model.to(dev)
    opt = _make_optimizer(model, optimizer, lr, weight_decay)
    sched = scheduler(opt) if scheduler is not None else None
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    history = History()
    best_loss, best_state, waited = float("inf"), None, 0
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=True)
    for epoch in bar:
        start = time.perf_counter()
        model.train()
        total, correct, loss_sum = 0, 0, 0.0
        for x, y in train_loader:
            x, y = _to(x, dev), _to(y, dev)
            if augment is not None:
                x = augment(x)
            if transform_batch is not None:
                x, y = transform_batch(x, y)
            opt.zero_grad(set_to_none=True)
            output = model(x)
            loss = loss_fn(output, y)
            loss.backward()
            opt.step()
            if sched is not None and scheduler_interval == "step":
                sched.step()
            n = x.shape[0]
            loss_sum += loss.item() * n
            right = _correct(output, y)
            correct = None if right is None or correct is None else correct + right
            total += n
        history.train_loss.append(loss_sum / total)
        history.train_acc.append(float("nan") if correct is None else correct / total)
        history.lr.append(opt.param_groups[0]["lr"])
        if sched is not None and scheduler_interval == "epoch":
            sched.step()
        postfix = {"loss": f"{history.train_loss[-1]:.3f}", "acc": f"{history.train_acc[-1]:.3f}"}
        if val_loader is not None:
            with torch.no_grad():
                metrics = _evaluate(model, val_loader, loss_fn, dev)
            history.val_loss.append(metrics["loss"])
            history.val_acc.append(metrics["accuracy"])
            postfix.update(val_loss=f"{metrics['loss']:.3f}", val_acc=f"{metrics['accuracy']:.3f}")
            if metrics["loss"] < best_loss - min_delta:
                best_loss, waited, history.best_epoch = metrics["loss"], 0, epoch
                if restore_best and patience is not None:
                    best_state = copy.deepcopy(model.state_dict())
            else:
                waited += 1
        history.seconds.append(time.perf_counter() - start)
        bar.set_postfix(postfix)
        if patience is not None and waited >= patience:
            history.stopped_early = True
            break
    bar.close()
    if best_state is not None and history.best_epoch != history.epochs - 1:
        model.load_state_dict(best_state)
    return history
