"""Self-checks for lecture 04b (training practice): He init, a learning-rate prediction, reading bug
symptoms, and batch normalization's forward and backward pass written with numpy.

The batch-norm checks compare the student's functions with PyTorch (``F.batch_norm`` and autograd) and
with centred finite differences (``cnnlab.gradcheck``); no reference implementation is shipped.
"""
from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from cnnlab.checks import GradingError, check_array
from cnnlab.gradcheck import numerical_gradient, rel_error

from ._core import NotAttempted, call_answer, number, self_check
from ._core import ok as _ok

__all__ = ["BUG_SYMPTOMS", "BUG_CAUSES", "check_he_std", "check_lr_tenfold", "check_bug_causes",
           "check_batchnorm_forward", "check_batchnorm_backward"]

BUG_SYMPTOMS = (
    "1. One batch, 100 steps: the loss hardly falls, then climbs far above where it started.",
    "2. One batch: the loss reaches 0.001. All the data: the training loss stays at 2.30 and the validation "
    "accuracy at 10%.",
    "3. From the very first step, on one batch too, the loss sits at 2.303 and the first layer's weight gradient "
    "is about 1e-12.",
    "4. Training accuracy 100%, validation accuracy 89%; the validation loss has been rising for 30 epochs.",
)
BUG_CAUSES = {
    "a": "the network overfits: regularise it or stop earlier",
    "b": "the weights were initialised far too small",
    "c": "optimizer.zero_grad() is missing",
    "d": "the images and the labels are out of step",
}
_BUG_ANSWER = ("c", "d", "b", "a")


# ---------------------------------------------------------------------------------------------- He init

@self_check(
    hints=("He initialisation draws each weight with standard deviation sqrt(2 / fan_in).",
           "fan_in is the number of inputs one output value reads: for a convolution that is the input channels "
           "times the kernel's height times its width.",
           "Here fan_in = 32 · 3 · 3; take the square root at the end (the formula gives a variance inside)."),
    answer="fan_in = 32·3·3 = 288, so std = sqrt(2 / 288) = 1/12 ≈ 0.0833 "
           "(torch: nn.init.kaiming_normal_(w, nonlinearity='relu')).",
)
def check_he_std(std: Any) -> None:
    """The He (Kaiming) standard deviation of the weights of ``nn.Conv2d(32, 64, 3)`` followed by ReLU."""
    import torch

    got = number(std, "your standard deviation")
    weight = torch.empty(64, 32, 3, 3)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(weight)
    want = torch.nn.init.calculate_gain("relu") / math.sqrt(fan_in)

    def near(value: float) -> bool:
        return abs(got - value) <= 1e-3 * abs(value)

    if near(math.sqrt(2 / 32)):
        raise GradingError("that uses only the input channels: every output reads a 3×3 window of each of them")
    if near(math.sqrt(2 / fan_out)) or near(math.sqrt(1 / fan_in)):  # equal here: fan_out = 2 · fan_in
        raise GradingError("that is either sqrt(2 / fan_out), counting the outputs where He's rule counts the "
                           "inputs, or sqrt(1 / fan_in), without the factor 2 that makes up for ReLU zeroing "
                           "about half of the values")
    if near(2 / fan_in):
        raise GradingError("that is the variance; the question asks for the standard deviation")
    check_array(got, want, what="your standard deviation", rtol=1e-3, reveal=False)
    _ok(f"fan_in = {fan_in}, std = sqrt(2/{fan_in}) = {want:.4f}.")


# ------------------------------------------------------------------------------ learning rate × 10

_LR_CHOICES = {
    "a": "the loss falls faster and ends lower (ten times larger steps)",
    "b": "about the same final loss",
    "c": "the loss stays near its starting value, ln 10 ≈ 2.3 (training breaks down)",
}


@functools.lru_cache(maxsize=4)  # a second try reuses the measurement
def _lr_runs(lr: float, epochs: int = 3) -> tuple[float, ...]:
    import torch

    from cnnlab.data import digits
    from cnnlab.train import practice
    from cnnlab.train.experiments import repeat_runs

    train_loader, _, _ = digits.digits_loaders(batch_size=32, size=8)
    runs = repeat_runs(practice.tiny_cnn, train_loader, None, seeds=[0, 1, 2], epochs=epochs, device="cpu",
                       optimizer=lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9))
    return tuple(h.train_loss[-1] for h in runs)


@self_check(
    hints=("Look at the range test's curves: does 0.5 sit before or after their lowest points?",
           "Past the lowest point the steps overshoot. What did the range test's huge steps do to the ReLU units, "
           "and what does a network whose ReLUs all output 0 predict?"),
    answer="(c): 0.5 lies past the range test's lowest points, ten times the learning rate it suggests. The large "
           "steps push the ReLUs of the tiny CNN to zero for every input; the network then predicts the same for "
           "every image and the loss stays at about ln 10.",
)
def check_lr_tenfold(prediction: Any) -> None:
    """Predict, then measure: tiny CNN, SGD + momentum, 3 epochs, learning rate 0.05 vs 0.5 (three seeds)."""
    from cnnlab.train.experiments import describe
    from cnnlab.train.practice import run_stats

    choice = str(prediction).strip().lower().strip("()")
    if choice not in _LR_CHOICES:
        raise GradingError(f"answer 'a', 'b' or 'c', got {prediction!r}", kind="type")
    base, tenfold = _lr_runs(0.05), _lr_runs(0.5)
    print(f"measured, final training loss after 3 epochs: lr 0.05 → {describe(run_stats(base))}; "
          f"lr 0.5 → {describe(run_stats(tenfold))}")
    if min(tenfold) > 2.0 and max(base) < 1.0:
        measured = "c"
    elif max(tenfold) < min(base):
        measured = "a"
    else:
        measured = "b"
    if choice != measured:
        raise GradingError(f"you predicted ({choice}) {_LR_CHOICES[choice]}; compare with the measurement "
                           "above and think about why it went the other way")
    _ok(f"({measured}) {_LR_CHOICES[measured]}.")


# ------------------------------------------------------------------------------------- bug symptoms

@self_check(
    hints=("Which bug lets the network memorise one batch but not the whole data set? On one batch any labelling, "
           "even a wrong one, can be memorised.",
           "Gradients that are never cleared add up, so every step is larger than the last.",
           "ln 10 ≈ 2.303 is the loss of a network that gives every class the same score."),
    answer="('c', 'd', 'b', 'a'): growing steps = gradients never cleared; one batch fine but nothing "
           "learned overall = labels out of step; a constant ln 10 with vanishing gradients = weights far "
           "too small; a rising validation loss with perfect training accuracy = overfitting.",
)
def check_bug_causes(causes: Any) -> None:
    """Match each of ``BUG_SYMPTOMS`` (in order) with a letter of ``BUG_CAUSES``."""
    if isinstance(causes, str) or not hasattr(causes, "__len__") or len(causes) != len(BUG_SYMPTOMS):
        raise GradingError(f"give a tuple of {len(BUG_SYMPTOMS)} letters, one per symptom in order, e.g. "
                           "('a', 'b', 'c', 'd')", kind="type")
    letters = tuple(str(c).strip().lower() for c in causes)
    unknown = [c for c in letters if c not in BUG_CAUSES]
    if unknown:
        raise GradingError(f"{unknown[0]!r} is not one of the causes {sorted(BUG_CAUSES)}", kind="type")
    wrong = [i + 1 for i, (got, want) in enumerate(zip(letters, _BUG_ANSWER)) if got != want]
    if wrong:
        which = ", ".join(str(i) for i in wrong)
        raise GradingError(f"symptom{'s' if len(wrong) > 1 else ''} {which} {'do' if len(wrong) > 1 else 'does'} "
                           "not match the cause you gave")
    _ok("each symptom points at its cause; the one-batch test catches the first, the validation data the "
        "second and fourth, the activation and gradient statistics the third.")


# ------------------------------------------------------------------------------ batch normalization

def _bn_case(seed: int = 0, n: int = 16, d: int = 5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d) + rng.normal(size=d) * 2
    gamma = rng.uniform(0.5, 2.0, size=d)
    beta = rng.normal(size=d)
    return x, gamma, beta


def _torch_bn(x, gamma, beta, running_mean, running_var, training: bool, eps: float = 1e-5,
              momentum: float = 0.1):
    """PyTorch's batch norm on float64 copies; returns out and the (updated) running statistics."""
    import torch
    import torch.nn.functional as F

    rm, rv = torch.tensor(running_mean, dtype=torch.float64), torch.tensor(running_var, dtype=torch.float64)
    out = F.batch_norm(torch.tensor(x), rm, rv, torch.tensor(gamma), torch.tensor(beta), training=training,
                       momentum=momentum, eps=eps)
    return out.numpy(), rm.numpy(), rv.numpy()


def _unpack_forward(result: Any, what: str):
    if not isinstance(result, tuple) or len(result) != 2:
        raise GradingError(f"{what} should return the pair (out, cache), got {type(result).__name__}", kind="type")
    return result


def _check_forward(forward: Any) -> None:
    x, gamma, beta = _bn_case(0)
    d = x.shape[1]
    bn_param = {"mode": "train", "running_mean": np.zeros(d), "running_var": np.ones(d)}
    out, _ = _unpack_forward(call_answer(forward, x.copy(), gamma, beta, bn_param,
                                         what="x of shape (16, 5) in training mode"), "batchnorm_forward")
    want, want_mean, want_var = _torch_bn(x, gamma, beta, np.zeros(d), np.ones(d), training=True)
    out_np = np.asarray(out, dtype=float) if isinstance(out, np.ndarray) else out
    if isinstance(out_np, np.ndarray) and out_np.shape == want.shape:
        unbiased = (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + 1e-5) * gamma + beta
        if np.allclose(out_np, unbiased, rtol=1e-9, atol=1e-12):
            raise GradingError("training mode: normalise with the biased variance (divide by N, np.var's default); "
                               "the unbiased one (N - 1) is only for the running variance")
        no_affine = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
        if np.allclose(out_np, no_affine, rtol=1e-9, atol=1e-12):
            raise GradingError("training mode: the normalised x̂ must still be scaled by gamma and shifted by beta")
        whole = (x - x.mean()) / np.sqrt(x.var() + 1e-5) * gamma + beta
        if np.allclose(out_np, whole, rtol=1e-9, atol=1e-12):
            raise GradingError("training mode: take the mean and variance of each feature over the batch "
                               "(axis=0), not of the whole array")
    check_array(out, want, what="the training-mode output", rtol=1e-7, atol=1e-9, reveal=False)
    for key, ref in (("running_mean", want_mean), ("running_var", want_var)):
        if key not in bn_param:
            raise GradingError(f"training mode must update bn_param['{key}']")
    if np.allclose(bn_param["running_var"], 0.9 + 0.1 * x.var(0), rtol=1e-9):
        raise GradingError("running_var: PyTorch updates it with the unbiased batch variance (N / (N - 1) times "
                           "the biased one)")
    check_array(np.asarray(bn_param["running_mean"], dtype=float), want_mean, what="bn_param['running_mean']",
                rtol=1e-7, atol=1e-9, reveal=False, hint="running = (1 - momentum) · running + momentum · batch")
    check_array(np.asarray(bn_param["running_var"], dtype=float), want_var, what="bn_param['running_var']",
                rtol=1e-7, atol=1e-9, reveal=False, hint="running = (1 - momentum) · running + momentum · batch")
    x_test, _, _ = _bn_case(1)
    test_param = {"mode": "test", "running_mean": want_mean.copy(), "running_var": want_var.copy()}
    out_test, _ = _unpack_forward(call_answer(forward, x_test.copy(), gamma, beta, test_param,
                                              what="x of shape (16, 5) in test mode"), "batchnorm_forward")
    ref_test, _, _ = _torch_bn(x_test, gamma, beta, want_mean, want_var, training=False)
    check_array(out_test, ref_test, what="the test-mode output", rtol=1e-7, atol=1e-9, reveal=False,
                hint="in test mode use bn_param's running mean and variance, not the batch's")


@self_check(
    hints=("Training mode: mean and biased variance of each column (axis=0), x̂ = (x - mean) / sqrt(var + eps), "
           "out = gamma · x̂ + beta.",
           "Update bn_param['running_mean'] and ['running_var'] as (1 - momentum)·old + momentum·batch, with the "
           "unbiased variance (ddof=1) for the running one, as PyTorch does.",
           "Test mode: the same formula with the running statistics; the cache can be None there."),
    answer="mu, var = x.mean(0), x.var(0); std = np.sqrt(var + eps); xhat = (x - mu) / std; "
           "out = gamma * xhat + beta; running_mean = (1-m)*running_mean + m*mu; "
           "running_var = (1-m)*running_var + m*x.var(0, ddof=1); cache = (xhat, gamma, std).",
)
def check_batchnorm_forward(forward: Any) -> None:
    """``forward(x, gamma, beta, bn_param) -> (out, cache)`` for x (N, D), against PyTorch's batch norm."""
    _check_forward(forward)
    _ok("training and test mode match torch.nn.functional.batch_norm, running statistics included.")


def _naive_dx(x, gamma, dout, eps=1e-5):
    return dout * gamma / np.sqrt(x.var(0) + eps)


def _mean_only_dx(x, gamma, dout, eps=1e-5):
    dxhat = dout * gamma
    return (dxhat - dxhat.mean(0)) / np.sqrt(x.var(0) + eps)


@self_check(
    hints=("dbeta and dgamma: each output column is gamma·x̂ + beta, so sum dout (and dout·x̂) over the batch.",
           "x reaches the output three ways: directly, through the mean and through the variance; the gradient "
           "is the sum of the three.",
           "With dx̂ = dout·gamma: dx = (dx̂ - mean(dx̂) - x̂ · mean(dx̂ · x̂)) / sqrt(var + eps), means over "
           "axis 0."),
    answer="xhat, gamma, std = cache; dbeta = dout.sum(0); dgamma = (dout * xhat).sum(0); dxhat = dout * gamma; "
           "dx = (dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0)) / std.",
)
def check_batchnorm_backward(forward: Any, backward: Any) -> None:
    """``backward(dout, cache) -> (dx, dgamma, dbeta)``: finite differences and PyTorch's autograd."""
    import torch
    import torch.nn.functional as F

    try:
        _check_forward(forward)
    except NotAttempted:
        raise
    except GradingError as exc:
        raise GradingError(f"first make batchnorm_forward right (its check above says: {exc})") from None
    x, gamma, beta = _bn_case(2, n=8, d=4)
    dout = np.random.default_rng(3).normal(size=x.shape)
    _, cache = _unpack_forward(call_answer(forward, x.copy(), gamma, beta, {"mode": "train"},
                                           what="x of shape (8, 4) in training mode"), "batchnorm_forward")
    grads = call_answer(backward, dout, cache, what="dout of shape (8, 4) and your cache")
    if not isinstance(grads, tuple) or len(grads) != 3:
        raise GradingError(f"batchnorm_backward should return (dx, dgamma, dbeta), got {type(grads).__name__}",
                           kind="type")
    dx, dgamma, dbeta = grads

    def out(_: np.ndarray) -> np.ndarray:  # reads x, gamma and beta, which numerical_gradient perturbs in place
        return forward(x, gamma, beta, {"mode": "train"})[0]

    numeric = {"dx": numerical_gradient(out, x, dout), "dgamma": numerical_gradient(out, gamma, dout),
               "dbeta": numerical_gradient(out, beta, dout)}
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    F.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-5).backward(torch.tensor(dout))
    autograd = {"dx": tx.grad.numpy(), "dgamma": tg.grad.numpy(), "dbeta": tb.grad.numpy()}
    yours = {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}
    for name in ("dbeta", "dgamma", "dx"):
        got = yours[name]
        arr = np.asarray(got, dtype=float) if isinstance(got, np.ndarray) else got
        if name == "dx" and isinstance(arr, np.ndarray) and arr.shape == x.shape:
            if rel_error(arr, _naive_dx(x, gamma, dout)) < 1e-6:
                raise GradingError("dx treats the batch mean and variance as constants; they depend on every x "
                                   "too, so add their paths")
            if rel_error(arr, _mean_only_dx(x, gamma, dout)) < 1e-6:
                raise GradingError("dx has the path through the mean but not the one through the variance")
        check_array(got, autograd[name], what=name, rtol=1e-6, atol=1e-9, reveal=False,
                    hint="sum over the batch axis (axis=0)" if name != "dx" else None)
    errors = {name: (rel_error(yours[name], numeric[name]), rel_error(yours[name], autograd[name]))
              for name in ("dx", "dgamma", "dbeta")}
    print("relative errors (vs finite differences, vs torch autograd): "
          + "; ".join(f"{k} {a:.1e}, {b:.1e}" for k, (a, b) in errors.items()))
    _ok("dx, dgamma and dbeta agree with finite differences and with PyTorch's autograd.")
