"""Lecture 03b's self-checks: right answers (computed here with numpy loops) pass, typical mistakes get a hint."""
from __future__ import annotations

import numpy as np
import pytest

from cnnlab import exercises as ex
from cnnlab.checks import GradingError

X = np.arange(16, dtype=float).reshape(4, 4)
DOUT = np.array([[1.0, 0.0], [0.0, -1.0]])
SOBEL_X = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]])
POOL_X = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]], dtype=float)


def _dx(w, dout, shape):
    dx = np.zeros(shape)
    for i in range(dout.shape[0]):
        for j in range(dout.shape[1]):
            dx[i:i + 3, j:j + 3] += dout[i, j] * w
    return dx


def _dw(x, dout):
    return np.array([[np.sum(x[u:u + 2, v:v + 2] * dout) for v in range(3)] for u in range(3)])


def _max_pool_dx(x, dout):
    dx = np.zeros_like(x)
    for i in range(2):
        for j in range(2):
            win = x[2 * i:2 * i + 2, 2 * j:2 * j + 2]
            r, c = np.unravel_index(win.argmax(), win.shape)
            dx[2 * i + r, 2 * j + c] = dout[i, j]
    return dx


def test_right_answers_pass(capsys):
    assert ex.check_conv_input_gradient(_dx(SOBEL_X, DOUT, (4, 4)))
    assert ex.check_conv_kernel_gradient(_dw(X, DOUT))
    assert ex.check_max_pool_gradient(_max_pool_dx(POOL_X, np.array([[1.0, 2], [3, 4]])))
    assert ex.check_im2col_shapes((6272, 75), (75, 16))
    assert ex.check_im2col_shapes((75, 6272), (16, 75))
    assert ex.check_learned_kernel(SOBEL_X.T + 0.01)
    assert ex.check_receptive_field_sizes(14, 15)
    assert capsys.readouterr().out.count("✓ Correct") == 7


@pytest.mark.parametrize("call,message", [
    (lambda: ex.check_conv_input_gradient(_dx(SOBEL_X[::-1, ::-1], DOUT, (4, 4))), "wrong way round"),
    (lambda: ex.check_conv_input_gradient(np.zeros((2, 2))), "input's shape"),
    (lambda: ex.check_conv_kernel_gradient(np.zeros((3, 3))), "dw"),
    (lambda: ex.check_conv_kernel_gradient("abc"), "array of numbers"),
    (lambda: ex.check_max_pool_gradient(np.kron([[1.0, 2], [3, 4]], np.ones((2, 2))) / 4), "average pooling"),
    (lambda: ex.check_im2col_shapes((784, 75), (75, 16)), "batch size"),
    (lambda: ex.check_im2col_shapes((6272, 25), (75, 16)), "C·kh·kw"),
    (lambda: ex.check_im2col_shapes(6272, (75, 16)), "tuple"),
    (lambda: ex.check_learned_kernel(SOBEL_X), "Sobel x"),
    (lambda: ex.check_learned_kernel(np.zeros((3, 3))), "train longer"),
    (lambda: ex.check_learned_kernel(np.zeros((2, 2))), "3x3"),
    (lambda: ex.check_receptive_field_sizes(9, 15), "2 input pixels apart"),
    (lambda: ex.check_receptive_field_sizes(14, 7), "spans 2d"),
    (lambda: ex.check_receptive_field_sizes("14", 15), "number"),
])
def test_mistakes_get_a_precise_message(call, message, monkeypatch):
    monkeypatch.setenv(ex.STRICT_ENV, "1")
    with pytest.raises(GradingError, match=message):
        call()


def test_not_strict_prints_instead_of_raising(monkeypatch, capsys):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert ex.check_receptive_field_sizes(None, None) is False
    assert ex.check_learned_kernel(np.zeros((3, 3))) is False
    out = capsys.readouterr().out
    assert "not attempted yet" in out and "Not yet" in out
