"""Self-checks of lecture 04b: right answers pass, typical mistakes get a specific message, no wrong-answer
message states the expected value, and the batch-norm checks agree with PyTorch's batch norm."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cnnlab import exercises as ex
from cnnlab.checks import GradingError
from cnnlab.exercises._core import NotAttempted

# ---------------------------------------------------------------- a batch norm written for the tests


def _forward(x, gamma, beta, bn_param, *, running_ddof=1, norm_ddof=0, affine=True, per_column=True,
             test_uses_batch=False):
    eps, m = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.1)
    rm = bn_param.get("running_mean", np.zeros(x.shape[1]))
    rv = bn_param.get("running_var", np.ones(x.shape[1]))
    if bn_param["mode"] == "train" or test_uses_batch:
        axis = 0 if per_column else None
        mu, var = x.mean(axis=axis), x.var(axis=axis, ddof=norm_ddof)
        std = np.sqrt(var + eps)
        x_hat = (x - mu) / std
        if bn_param["mode"] == "train":
            bn_param["running_mean"] = (1 - m) * rm + m * x.mean(0)
            bn_param["running_var"] = (1 - m) * rv + m * x.var(0, ddof=running_ddof)
        cache = (x_hat, gamma, std)
    else:
        x_hat, cache = (x - rm) / np.sqrt(rv + eps), None
    return (gamma * x_hat + beta if affine else x_hat), cache


def _backward(dout, cache):
    x_hat, gamma, std = cache
    dxh = dout * gamma
    return (dxh - dxh.mean(0) - x_hat * (dxh * x_hat).mean(0)) / std, (dout * x_hat).sum(0), dout.sum(0)


def _backward_naive(dout, cache):  # treats the batch mean and variance as constants
    x_hat, gamma, std = cache
    return dout * gamma / std, (dout * x_hat).sum(0), dout.sum(0)


def _backward_mean_only(dout, cache):
    x_hat, gamma, std = cache
    dxh = dout * gamma
    return (dxh - dxh.mean(0)) / std, (dout * x_hat).sum(0), dout.sum(0)


def _backward_unsummed(dout, cache):
    dx, _, dbeta = _backward(dout, cache)
    x_hat, _, _ = cache
    return dx, dout * x_hat, dbeta


# ------------------------------------------------------------------------------ the test batch norm is right

def test_the_test_batch_norm_agrees_with_torch():
    """The helper above is what the right-answer tests feed the checks: compare it with torch directly."""
    rng = np.random.default_rng(5)
    x, gamma, beta = rng.normal(size=(10, 3)) * 2 + 1, rng.uniform(0.5, 2, 3), rng.normal(size=3)
    bn = torch.nn.BatchNorm1d(3, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
    tx = torch.tensor(x, requires_grad=True)
    out_t = bn(tx)
    dout = rng.normal(size=x.shape)
    out_t.backward(torch.tensor(dout))
    param = {"mode": "train"}
    out, cache = _forward(x, gamma, beta, param)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(param["running_var"], bn.running_var.numpy(), rtol=1e-10)
    dx, dgamma, dbeta = _backward(dout, cache)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(dgamma, bn.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(dbeta, bn.bias.grad.numpy(), rtol=1e-10)


# ------------------------------------------------------------------------------------------- right answers

def test_right_answers_pass(capsys):
    assert ex.check_he_std(math.sqrt(2 / (32 * 3 * 3)))
    assert ex.check_bug_causes(("c", "d", "b", "a"))
    assert ex.check_bug_causes(["C", "D", "B", "A"])
    assert ex.check_batchnorm_forward(_forward)
    assert ex.check_batchnorm_backward(_forward, _backward)
    out = capsys.readouterr().out
    assert out.count("✓ Correct") == 5
    errors = [float(e) for e in __import__("re").findall(r"(\d\.\de[-+]\d\d)", out)]  # an exact 0 prints 0.0e+00
    assert len(errors) == 6 and max(errors) < 1e-7  # dx, dgamma, dbeta against finite differences and autograd


def test_symptoms_and_causes_are_printable():
    assert len(ex.BUG_SYMPTOMS) == 4 and sorted(ex.BUG_CAUSES) == ["a", "b", "c", "d"]


# ------------------------------------------------------------------------------------------------ mistakes

@pytest.mark.parametrize("call,message", [
    (lambda: ex.check_he_std(math.sqrt(2 / 32)), "only the input channels"),
    (lambda: ex.check_he_std(math.sqrt(2 / (64 * 9))), "counting the outputs"),
    (lambda: ex.check_he_std(math.sqrt(1 / 288)), "without the factor 2"),
    (lambda: ex.check_he_std(2 / 288), "variance"),
    (lambda: ex.check_he_std(0.1), "not right"),
    (lambda: ex.check_he_std("big"), "should be a number"),
    (lambda: ex.check_lr_tenfold("d"), "'a', 'b' or 'c'"),
    (lambda: ex.check_bug_causes(("c", "d", "a", "b")), "symptoms 3, 4 do not match"),
    (lambda: ex.check_bug_causes(("b", "d", "b", "a")), "symptom 1 does not match"),
    (lambda: ex.check_bug_causes("cdba"), "tuple of 4 letters"),
    (lambda: ex.check_bug_causes(("c", "d", "b")), "tuple of 4 letters"),
    (lambda: ex.check_bug_causes(("c", "d", "b", "e")), "'e' is not one of the causes"),
    (lambda: ex.check_batchnorm_forward(lambda x, g, b, p: _forward(x, g, b, p, norm_ddof=1)), "biased variance"),
    (lambda: ex.check_batchnorm_forward(lambda x, g, b, p: _forward(x, g, b, p, affine=False)), "gamma"),
    (lambda: ex.check_batchnorm_forward(lambda x, g, b, p: _forward(x, g, b, p, per_column=False)), "axis=0"),
    (lambda: ex.check_batchnorm_forward(lambda x, g, b, p: _forward(x, g, b, p, running_ddof=0)), "unbiased"),
    (lambda: ex.check_batchnorm_forward(lambda x, g, b, p: _forward(x, g, b, p, test_uses_batch=True)),
     "running mean and variance"),
    (lambda: ex.check_batchnorm_forward(lambda x, g, b, p: _forward(x, g, b, p)[0]), r"pair \(out, cache\)"),
    (lambda: ex.check_batchnorm_forward(lambda x, g, b, p: 1 / 0), "ZeroDivisionError"),
    (lambda: ex.check_batchnorm_backward(_forward, _backward_naive), "constants"),
    (lambda: ex.check_batchnorm_backward(_forward, _backward_mean_only), "through the variance"),
    (lambda: ex.check_batchnorm_backward(_forward, _backward_unsummed), "dgamma"),
    (lambda: ex.check_batchnorm_backward(_forward, lambda d, c: _backward(d, c)[:2]), r"\(dx, dgamma, dbeta\)"),
    (lambda: ex.check_batchnorm_backward(lambda x, g, b, p: _forward(x, g, b, p, affine=False), _backward),
     "first make batchnorm_forward right"),
])
def test_mistakes_get_a_precise_message(call, message, monkeypatch):
    monkeypatch.setenv(ex.STRICT_ENV, "1")
    with pytest.raises(GradingError, match=message):
        call()


def test_gradients_slightly_off_are_rejected(monkeypatch):
    def off(dout, cache):
        dx, dgamma, dbeta = _backward(dout, cache)
        return dx * (1 + 1e-4), dgamma, dbeta

    monkeypatch.setenv(ex.STRICT_ENV, "1")
    with pytest.raises(GradingError, match="dx"):
        ex.check_batchnorm_backward(_forward, off)


def test_stubs_count_as_not_attempted(monkeypatch, capsys):
    monkeypatch.setenv(ex.STRICT_ENV, "1")
    with pytest.raises(NotAttempted):
        ex.check_batchnorm_forward(lambda x, g, b, p: None)
    with pytest.raises(NotAttempted):  # forward still a stub: the backward check says not attempted, too
        ex.check_batchnorm_backward(lambda x, g, b, p: None, lambda d, c: None)
    with pytest.raises(NotAttempted):
        ex.check_batchnorm_backward(_forward, lambda d, c: None)
    monkeypatch.delenv(ex.STRICT_ENV)
    assert ex.check_lr_tenfold(None) is False  # nothing is trained before a prediction is made
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize("call,hidden", [
    (lambda: ex.check_he_std(0.1), ["0.083", "0.0833", "1/12", "288"]),
    (lambda: ex.check_he_std(math.sqrt(2 / 32)), ["0.083", "288"]),
    (lambda: ex.check_bug_causes(("a", "b", "c", "d")), ["'c', 'd'", "c, d, b, a"]),
])
def test_wrong_answers_never_state_the_expected_value(call, hidden, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert call() is False
    out = capsys.readouterr().out
    assert "✗ Not yet" in out and "exercises.hint(" in out
    assert not any(h in out for h in hidden), out


def test_wrong_batch_norm_output_does_not_print_the_reference(capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert ex.check_batchnorm_forward(lambda x, g, b, p: (_forward(x, g, b, p)[0] + 0.5, None)) is False
    out = capsys.readouterr().out
    assert "✗ Not yet" in out
    from cnnlab.exercises.training_practice import _bn_case, _torch_bn

    x, gamma, beta = _bn_case(0)
    want, _, _ = _torch_bn(x, gamma, beta, np.zeros(5), np.ones(5), training=True)
    assert not any(f"{v:.4f}" in out for v in want.ravel()[:10]), out


def test_hints_and_answer_are_registered(capsys):
    for name in ("he_std", "lr_tenfold", "bug_causes", "batchnorm_forward", "batchnorm_backward"):
        ex.hint(name, 1)
    ex.show_answer("batchnorm_backward")
    out = capsys.readouterr().out
    assert out.count("Hint 1 of") == 5
    assert "dxhat.mean(0)" in out


@pytest.mark.slow
def test_lr_prediction_is_compared_with_a_measurement(capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert ex.check_lr_tenfold("c")
    assert ex.check_lr_tenfold("(a)") is False
    out = capsys.readouterr().out
    assert out.count("measured, final training loss after 3 epochs: lr 0.05 →") == 2
    assert "✓ Correct" in out and "✗ Not yet: you predicted (a)" in out
