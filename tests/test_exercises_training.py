"""Self-checks of the training-loop, batch-norm and residual sections: right answers pass, mistakes are named,
and no wrong-answer message states the expected value."""
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


def _accuracy_per_batch(model, loader):
    model.eval()
    with torch.no_grad():
        correct = sum((model(x).argmax(dim=1) == y).sum().item() for x, y in loader)
    return correct / len(loader)


def _conv_bn():
    return torch.nn.Sequential(torch.nn.Conv2d(32, 64, 3, bias=False), torch.nn.BatchNorm2d(64))


def test_right_answers_pass(capsys):
    layers = _conv_bn()
    trainable = sum(p.numel() for p in layers.parameters())
    stored = sum(t.numel() for t in layers.state_dict().values())
    assert (trainable, stored) == (18_560, 18_689)  # 3·3·32·64 + 2·64; + running mean, var, counter
    shortcut = torch.nn.Sequential(torch.nn.Conv2d(128, 256, 1, stride=2, bias=False), torch.nn.BatchNorm2d(256))
    assert ex.check_accuracy_function(_accuracy)
    assert ex.check_conv_bn_counts(trainable, stored)
    assert ex.check_residual_shapes(False, sum(p.numel() for p in shortcut.parameters()))
    assert ex.check_seed_spread_reading("(c)")
    assert capsys.readouterr().out.count("✓ Correct") == 4


@pytest.mark.parametrize("call,message", [
    (lambda: ex.check_accuracy_function(_accuracy_train_mode), r"model\.eval\(\)"),
    (lambda: ex.check_accuracy_function(lambda m, l: 100 * _accuracy(m, l)), "percentage"),
    (lambda: ex.check_accuracy_function(_accuracy_per_batch), "number of batches"),
    (lambda: ex.check_accuracy_function(lambda m, l: 1 / 0), "ZeroDivisionError"),
    (lambda: ex.check_accuracy_function(0.5), "function itself"),
    (lambda: ex.check_conv_bn_counts(18_432 + 64, 18_689), "scale γ and a shift β"),
    (lambda: ex.check_conv_bn_counts(18_432 + 64 + 128, 18_689), "bias=False"),
    (lambda: ex.check_conv_bn_counts(18_432 + 256, 18_689), "not trained"),
    (lambda: ex.check_conv_bn_counts(128, 18_689), "convolution's weights"),
    (lambda: ex.check_conv_bn_counts(18_560, 18_560), "buffers"),
    (lambda: ex.check_conv_bn_counts(18_560, 18_688), "counter"),
    (lambda: ex.check_conv_bn_counts(18_560, 5), "stored"),
    (lambda: ex.check_residual_shapes(True, 33_280), "half the height"),
    (lambda: ex.check_residual_shapes(False, 32_768), "add the batch norm"),
    (lambda: ex.check_residual_shapes(False, 32_768 + 256 + 512), "no bias"),
    (lambda: ex.check_residual_shapes(False, 9 * 32_768 + 512), "1×1"),
    (lambda: ex.check_residual_shapes("no", 33_280), "True or False"),
    (lambda: ex.check_seed_spread_reading("a"), "one seed"),
    (lambda: ex.check_seed_spread_reading("b"), "more consistent"),
    (lambda: ex.check_seed_spread_reading(3), "'a', 'b' or 'c'"),
])
def test_mistakes_get_a_precise_message(call, message, monkeypatch):
    monkeypatch.setenv(ex.STRICT_ENV, "1")
    with pytest.raises(GradingError, match=message):
        call()


@pytest.mark.parametrize("call,hidden", [
    (lambda: ex.check_accuracy_function(_accuracy_train_mode), None),
    (lambda: ex.check_accuracy_function(lambda m, l: 0.123), None),
    (lambda: ex.check_conv_bn_counts(18_000, 18_689), ["18,560", "18560"]),
    (lambda: ex.check_conv_bn_counts(18_560, 19_000), ["18,689", "18689"]),
    (lambda: ex.check_residual_shapes(False, 30_000), ["33,280", "33280"]),
])
def test_wrong_answers_never_state_the_expected_value(call, hidden, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    if hidden is None:  # the fixture's accuracy, in the forms a message could print it
        from cnnlab.exercises.training_and_normalization import _fixture, _reference_accuracy

        want = _reference_accuracy(*_fixture())
        hidden = [f"{want:.4f}", f"{want:.3f}", f"{want:.2f}", f"{want:.1%}"]
    assert call() is False
    out = capsys.readouterr().out
    assert "✗ Not yet" in out
    assert not any(h in out for h in hidden), out
