"""cnnlab.gradcheck: finite differences on known functions, rel_error, torch autograd checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab.gradcheck import check_torch_gradients, numerical_gradient, rel_error


def test_gradient_of_scalar_functions():
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(numerical_gradient(lambda z: np.sum(z**2), x), 2 * x, rtol=1e-8)
    np.testing.assert_allclose(numerical_gradient(lambda z: np.sum(np.sin(z)), x), np.cos(x), rtol=1e-8)
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    # d/dm log(det m) = inv(m)^T
    grad = numerical_gradient(lambda z: np.log(abs(np.linalg.det(z))), m)
    np.testing.assert_allclose(grad, np.linalg.inv(m).T, rtol=1e-7)


def test_array_valued_function_with_and_without_upstream_gradient():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    x = rng.standard_normal(4)
    df = rng.standard_normal(3)
    # f(x) = a @ x: gradient of sum(f * df) is a^T df; without df it is a^T 1
    np.testing.assert_allclose(numerical_gradient(lambda z: a @ z, x, df), a.T @ df, rtol=1e-7)
    np.testing.assert_allclose(numerical_gradient(lambda z: a @ z, x), a.sum(axis=0), rtol=1e-7)
    with pytest.raises(ValueError, match=r"df has shape \(2,\) but f\(x\) has shape \(3,\)"):
        numerical_gradient(lambda z: a @ z, x, np.ones(2))


def test_x_is_perturbed_in_place_and_restored():
    x = np.array([1.0, 2.0])
    before = x.copy()
    # the cs231n idiom: f ignores its argument and reads x through the closure
    grad = numerical_gradient(lambda _: np.sum(x**3), x)
    np.testing.assert_allclose(grad, 3 * before**2, rtol=1e-7)
    np.testing.assert_array_equal(x, before)


def test_integer_input_is_accepted_as_float():
    np.testing.assert_allclose(numerical_gradient(lambda z: np.sum(z**2), [1, 2]), [2.0, 4.0], rtol=1e-8)


def test_rel_error_semantics():
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0  # no 0/0
    assert rel_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)
    # the maximum over elements of |a-b| / (|a|+|b|)
    a, b = np.array([1.0, 100.0]), np.array([1.1, 100.0])
    assert rel_error(a, b) == pytest.approx(0.1 / 2.1)
    # tiny absolute values are compared against the 1e-8 floor
    assert rel_error(np.array([1e-12]), np.array([0.0])) == pytest.approx(1e-4)
    assert rel_error(torch.tensor([1.0, 2.0]), [1.0, 2.0]) == 0.0
    with pytest.raises(ValueError, match=r"same shape, got \(3,\) and \(3, 1\)"):
        rel_error(np.ones(3), np.ones((3, 1)))


def test_catches_a_deliberately_wrong_numpy_gradient():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(5)
    right = 1 / (1 + np.exp(-x))
    wrong = right * (1 - right)  # the sigmoid's derivative, not softplus's
    numeric = numerical_gradient(lambda z: np.sum(np.log1p(np.exp(z))), x)
    assert rel_error(right, numeric) < 1e-8
    assert rel_error(wrong, numeric) > 1e-2


def test_check_torch_gradients_on_a_module_and_a_function():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(2, 3, 3, padding=1).float()
    errors = check_torch_gradients(conv, torch.randn(1, 2, 4, 4))
    assert set(errors) == {"input0", "weight", "bias"}
    assert max(errors.values()) < 1e-6
    assert conv.weight.dtype == torch.float32  # the module itself is untouched
    # inputs away from 0, so no gradient entry is so small that round-off dominates
    rng = np.random.default_rng(0)
    a, b = torch.tensor(rng.uniform(0.5, 1.5, 4)), rng.uniform(0.5, 1.5, 4)
    errors = check_torch_gradients(lambda a, b, k: torch.tanh(a * b) ** k, a, b, 2)
    assert set(errors) == {"input0", "input1"} and max(errors.values()) < 1e-6


class _WrongSquare(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # should be 2 * x


def test_check_torch_gradients_catches_a_wrong_backward():
    errors = check_torch_gradients(_WrongSquare.apply, torch.randn(5))
    assert errors["input0"] > 0.1


def test_check_torch_gradients_needs_something_to_check():
    with pytest.raises(ValueError, match="nothing to check"):
        check_torch_gradients(lambda n: torch.ones(n), 3)
