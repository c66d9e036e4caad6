"""Lecture 03b's self-checks: right answers (computed here with numpy loops) pass, typical mistakes get a hint."""
from __future__ import annotations

import functools

import numpy as np
import pytest

from cnnlab import exercises as ex
from cnnlab.checks import GradingError

X = np.array([[2, 0, 1, 3], [1, 4, 0, 2], [0, 1, 3, 1], [2, 2, 1, 0]], dtype=float)
DOUT = np.array([[1.0, 0.0], [2.0, -1.0]])
SOBEL_X = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
POOL_X = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]], dtype=float)
OVERLAP_X = np.array([[1, 2, 0, 1, 3], [0, 5, 1, 2, 1], [2, 1, 4, 7, 0], [1, 3, 0, 1, 2], [0, 2, 6, 1, 1]], float)
POOL_DOUT = np.array([[1.0, 2], [3, 4]])


def _correlate(x, k):
    """Valid cross-correlation, one slice per kernel tap (numpy only)."""
    kh, kw = k.shape
    h, w = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    return sum(k[u, v] * x[u:u + h, v:v + w] for u in range(kh) for v in range(kw))


def _dx(w, dout, shape):
    dx = np.zeros(shape)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            dx[i:i + 3, j:j + 3] += dout[i, j] * w
    return dx


def _dw(x, dout):
    return np.array([[np.sum(x[u:u + 2, v:v + 2] * dout) for v in range(3)] for u in range(3)])


def _max_pool_dx(x, dout, size=2, stride=2, accumulate=True):
    dx = np.zeros_like(x)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            win = x[stride * i:stride * i + size, stride * j:stride * j + size]
            r, c = np.unravel_index(win.argmax(), win.shape)
            if accumulate:
                dx[stride * i + r, stride * j + c] += dout[i, j]
            else:
                dx[stride * i + r, stride * j + c] = dout[i, j]
    return dx


def _learn(images, targets, lr=0.2, steps=60, bias=True):
    w, b, history = np.zeros((3, 3)), 0.0, []
    for _ in range(steps):
        gw, gb, loss = np.zeros((3, 3)), 0.0, 0.0
        for x, y in zip(images, targets):
            err = _correlate(x, w) + b - y
            loss += np.mean(err**2) / len(images)
            d = 2 * err / err.size / len(images)
            gw, gb = gw + _correlate(x, d), gb + d.sum()
        w, b = w - lr * gw, (b - lr * gb if bias else b)
        history.append((loss, w.copy()))
    return w, b, history


@functools.lru_cache(maxsize=1)
def _lr_ratios():
    noise = list(np.random.default_rng(1).normal(size=(2, 20, 20)))
    targets = [_correlate(im, SOBEL_X) for im in noise]
    out = []
    for lr in ex.learning_convolutions.LEARNING_RATES:
        _, _, hist = _learn(noise, targets, lr=lr, steps=ex.learning_convolutions.LR_STEPS, bias=False)
        out.append(hist[-1][0] / hist[0][0])
    return tuple(out)


@pytest.fixture(scope="module")
def mystery():
    images, targets = ex.mystery_filter_data()
    return images, targets, _learn(images, targets)


def test_the_exercise_data_is_not_degenerate():
    dw = _dw(X, DOUT)
    for slip in (dw[::-1, ::-1], _dw(X, DOUT[::-1, ::-1]), dw.T):
        assert np.abs(slip - dw).max() > 1  # every usual slip gives another answer
    assert len(set(dw.ravel())) > 3


def test_right_answers_pass(capsys, mystery):
    assert ex.check_conv_input_gradient(_dx(SOBEL_X, DOUT, (4, 4)))
    assert ex.check_conv_kernel_gradient(_dw(X, DOUT))
    assert ex.check_max_pool_gradient(_max_pool_dx(POOL_X, POOL_DOUT))
    assert ex.check_overlapping_pool_gradient(_max_pool_dx(OVERLAP_X, POOL_DOUT, 3, 2))
    w, b, history = mystery[2]
    assert ex.check_learned_kernel(w, b, history)
    assert ex.check_predict_kernel_learning_rate(("shrinks", "grows"), _lr_ratios())
    assert ex.check_im2col_shapes((6272, 75), (75, 16))
    assert ex.check_im2col_shapes((75, 6272), (16, 75))
    assert ex.check_receptive_field_sizes(14, 29)
    assert capsys.readouterr().out.count("✓ Correct") == 9


def test_a_flipped_kernel_gradient_fails():
    with pytest.raises(GradingError, match="turned by 180°"):
        ex.check_conv_kernel_gradient(_dw(X, DOUT)[::-1, ::-1])
    with pytest.raises(GradingError, match="flipped dout"):
        ex.check_conv_kernel_gradient(_dw(X, DOUT[::-1, ::-1]))
    with pytest.raises(GradingError, match="transpose"):
        ex.check_conv_kernel_gradient(_dw(X, DOUT).T)


def test_learning_needs_evidence(mystery):
    images, targets, (w, b, history) = mystery
    sobel_y = SOBEL_X.T
    with pytest.raises(GradingError, match="textbook 'Sobel y'"):
        ex.check_learned_kernel(sobel_y, 0.7, history)
    secret, secret_b = ex.learning_convolutions._mystery()
    with pytest.raises(GradingError, match="history has 1 entries"):
        ex.check_learned_kernel(secret, secret_b, [(0.0, secret)])
    fake = [(10.0 / (s + 1) ** 4, secret) for s in range(60)]  # a history that did not start from zero
    with pytest.raises(GradingError, match="zero kernel"):
        ex.check_learned_kernel(secret, secret_b, fake)
    w0, b0, hist0 = _learn(images, targets, bias=False)  # the weights alone: the loss stalls, the bias stays 0
    with pytest.raises(GradingError, match="bias"):
        ex.check_learned_kernel(w0, b0, hist0)
    w5, b5, hist5 = _learn(images, targets, steps=10, lr=0.05)
    with pytest.raises(GradingError, match="factor of 1000|within 0.05"):
        ex.check_learned_kernel(w5, b5, hist5)


@pytest.mark.parametrize("call,message", [
    (lambda: ex.check_conv_input_gradient(_dx(SOBEL_X[::-1, ::-1], DOUT, (4, 4))), "wrong way round"),
    (lambda: ex.check_conv_input_gradient(np.zeros((2, 2))), "input's shape"),
    (lambda: ex.check_conv_kernel_gradient(np.zeros((3, 3))), "dw"),
    (lambda: ex.check_conv_kernel_gradient("abc"), "array of numbers"),
    (lambda: ex.check_max_pool_gradient(np.kron(POOL_DOUT, np.ones((2, 2))) / 4), "average pooling"),
    (lambda: ex.check_overlapping_pool_gradient(_max_pool_dx(OVERLAP_X, POOL_DOUT, 3, 2, accumulate=False)),
     "add them"),
    (lambda: ex.check_overlapping_pool_gradient(np.zeros((2, 2))), "input's shape"),
    (lambda: ex.check_predict_kernel_learning_rate(("grows", "grows"), _lr_ratios()), "lr = 0.6"),
    (lambda: ex.check_predict_kernel_learning_rate(("shrinks", "shrinks"), _lr_ratios()), "lr = 1.0"),
    (lambda: ex.check_predict_kernel_learning_rate(("shrinks", "maybe"), _lr_ratios()), "not one of"),
    (lambda: ex.check_predict_kernel_learning_rate("shrinks", _lr_ratios()), "two words"),
    (lambda: ex.check_predict_kernel_learning_rate(("shrinks", "grows"), (0.5, 2.0)), "does not match"),
    (lambda: ex.check_im2col_shapes((784, 75), (75, 16)), "batch size"),
    (lambda: ex.check_im2col_shapes((6272, 25), (75, 16)), "C·kh·kw"),
    (lambda: ex.check_im2col_shapes(6272, (75, 16)), "tuple"),
    (lambda: ex.check_learned_kernel(np.zeros((2, 2)), 0.0, [0.0] * 20), "3x3"),
    (lambda: ex.check_receptive_field_sizes(9, 29), "2 input pixels apart"),
    (lambda: ex.check_receptive_field_sizes(14, 13), "adds 4d"),
    (lambda: ex.check_receptive_field_sizes("14", 29), "number"),
])
def test_mistakes_get_a_precise_message(call, message, monkeypatch):
    monkeypatch.setenv(ex.STRICT_ENV, "1")
    with pytest.raises(GradingError, match=message):
        call()


@pytest.mark.parametrize("call,hidden", [
    (lambda: ex.check_conv_kernel_gradient(np.ones((3, 3))), ["8", "-1", "5"]),
    (lambda: ex.check_max_pool_gradient(np.zeros((4, 4))), ["got 0, expected"]),
    (lambda: ex.check_overlapping_pool_gradient(np.zeros((5, 5))), ["6"]),
    (lambda: ex.check_im2col_shapes((6000, 75), (75, 16)), ["6272"]),
    (lambda: ex.check_receptive_field_sizes(12, 29), ["14"]),
    (lambda: ex.check_receptive_field_sizes(14, 27), ["29"]),
])
def test_wrong_answers_never_print_the_expected_value(call, hidden, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert call() is False
    out = capsys.readouterr().out
    message = out.splitlines()[0]
    assert "Type exercises.hint('" in out
    for value in hidden:
        assert value not in message, f"{message!r} reveals {value!r}"


def test_not_strict_prints_instead_of_raising(monkeypatch, capsys):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert ex.check_receptive_field_sizes(None, None) is False
    assert ex.check_conv_kernel_gradient(np.zeros((3, 3))) is False
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "Not yet" in out
