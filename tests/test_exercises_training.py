"""Self-checks of the training-loop, batch-norm and residual sections: right answers pass, mistakes are named."""
from __future__ import annotations

import pytest
import torch

from cnnlab import exercises as ex
from cnnlab.checks import GradingError


def _accuracy(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(dim=1) == y).sum().item()
    return correct / len(loader.dataset)


def _accuracy_train_mode(model, loader):
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(dim=1) == y).sum().item()
    return correct / len(loader.dataset)


def test_right_answers_pass(capsys):
    assert ex.check_accuracy_function(_accuracy)
    assert ex.check_batchnorm_counts(128, 128)
    assert ex.check_residual_shapes(True, 64 * 128 + 256)
    assert ex.check_seed_spread_reading("(c)")
    assert capsys.readouterr().out.count("✓ Correct") == 4


@pytest.mark.parametrize("call,message", [
    (lambda: ex.check_accuracy_function(_accuracy_train_mode), r"model\.eval\(\)"),
    (lambda: ex.check_accuracy_function(lambda m, l: 100 * _accuracy(m, l)), "percentage"),
    (lambda: ex.check_accuracy_function(lambda m, l: 1 / 0), "ZeroDivisionError"),
    (lambda: ex.check_accuracy_function(0.5), "function itself"),
    (lambda: ex.check_batchnorm_counts(64, 128), "scale γ and a shift β"),
    (lambda: ex.check_batchnorm_counts(256, 128), "not trained"),
    (lambda: ex.check_batchnorm_counts(128, 64), "running"),
    (lambda: ex.check_residual_shapes(False, 8448), "same shape"),
    (lambda: ex.check_residual_shapes(True, 8192), "add the batch norm"),
    (lambda: ex.check_residual_shapes(True, 8192 + 128 + 256), "no bias"),
    (lambda: ex.check_seed_spread_reading("a"), "one seed"),
    (lambda: ex.check_seed_spread_reading("b"), "more consistent"),
    (lambda: ex.check_seed_spread_reading(3), "'a', 'b' or 'c'"),
])
def test_mistakes_get_a_precise_message(call, message, monkeypatch):
    monkeypatch.setenv(ex.STRICT_ENV, "1")
    with pytest.raises(GradingError, match=message):
        call()
