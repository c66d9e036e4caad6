"""Lecture 08's self-checks: right answers pass, typical mistakes get their precise hint, and no wrong
answer is told the expected value. Expected values are recomputed with PyTorch where possible."""
from __future__ import annotations

import math

import pytest
import torch

from cnnlab import exercises as ex
from cnnlab.checks import GradingError


@pytest.fixture(autouse=True)
def _strict(monkeypatch):
    monkeypatch.setenv(ex.STRICT_ENV, "1")


def _gram(features):
    c, h, w = features.shape
    f = features.reshape(c, h * w)
    return f @ f.T / (c * h * w)


def _transposed_size():
    layer = torch.nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1)
    return layer(torch.zeros(1, 1, 7, 7)).shape[-1]


def _triplet():
    from torch.nn.functional import triplet_margin_loss  # plain distances: squared by hand below

    a, p, n = torch.tensor([[0.0, 0.0]]), torch.tensor([[2.0, 0.0]]), torch.tensor([[1.0, 1.0]])
    assert triplet_margin_loss(a, p, n, margin=0.5).item() == pytest.approx(2 - math.sqrt(2) + 0.5, abs=1e-5)
    return max(0.0, float(((a - p) ** 2).sum() - ((a - n) ** 2).sum()) + 0.5)


def _bce_balance():
    half = torch.tensor([0.5])
    bce = torch.nn.functional.binary_cross_entropy
    return float(bce(half, torch.ones(1)) + bce(half, torch.zeros(1)))


@pytest.mark.parametrize("check,right", [
    (ex.check_transposed_output_size, (_transposed_size(),)), (ex.check_triplet_by_hand, (_triplet(),)),
    (ex.check_gram_function, (_gram,)), (ex.check_discriminator_balance, (_bce_balance(),)),
    (ex.check_pck_by_hand, (0.8,)), (ex.check_modified_precision, (2 / 7,)),
    (ex.check_threshold_prediction, ("lower or equal",)),
])
def test_right_answers_pass(check, right, capsys):
    assert check(*right) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("check,wrong,hint", [
    (ex.check_transposed_output_size, 4, "ordinary convolution"),
    (ex.check_transposed_output_size, 13, "output_padding adds"),
    (ex.check_transposed_output_size, 15, "EACH side"),
    (ex.check_transposed_output_size, 20, "is not right"),
    (ex.check_triplet_by_hand, 2 - math.sqrt(2) + 0.5, "squared"),
    (ex.check_triplet_by_hand, 0, "closer"),
    (ex.check_triplet_by_hand, -1.5, "which distance is subtracted"),
    (ex.check_gram_function, lambda f: f.reshape(f.shape[0], -1).T @ f.reshape(f.shape[0], -1), "channels"),
    (ex.check_gram_function, lambda f: f.reshape(f.shape[0], -1) @ f.reshape(f.shape[0], -1).T, "normalise"),
    (ex.check_gram_function, lambda f: _gram(f) / f.numel(), "divide by C·H·W = the number"),
    (ex.check_gram_function, lambda f: 1 / 0, "raised ZeroDivisionError"),
    (ex.check_discriminator_balance, math.log(2), "adds the real and the fake"),
    (ex.check_discriminator_balance, 2 * math.log10(2), "natural logarithm"),
    (ex.check_threshold_prediction, "higher", "best one for exactly those pairs"),
    (ex.check_threshold_prediction, "the same", "one of"),
    (ex.check_pck_by_hand, 0.6, "equal to the threshold counts"),
    (ex.check_pck_by_hand, 4, "fraction"),
    (ex.check_modified_precision, 1, "clips"),
    (ex.check_modified_precision, 1 / 7, "how many times 'the' appears"),
])
def test_typical_mistakes_get_their_hint(check, wrong, hint):
    with pytest.raises(GradingError, match=hint):
        check(wrong)


@pytest.mark.parametrize("check,wrong,hidden", [
    (ex.check_transposed_output_size, [4, 13, 15, 20, 28], ["14"]),
    (ex.check_triplet_by_hand, [2 - math.sqrt(2) + 0.5, 0, -1.5, 3.0], ["2.5", "4 - 2"]),
    (ex.check_discriminator_balance, [math.log(2), 1.0, 0.0], ["1.386", "2·ln 2", "log(0.5)"]),
    (ex.check_pck_by_hand, [0.6, 4, 0.2], ["0.8", "3 pixels"]),
    (ex.check_modified_precision, [1, 1 / 7, 0.5], ["2/7", "0.286", "0.2857", "twice"]),  # 0.285714 as %g prints it
])
def test_wrong_answers_never_state_the_expected_value(check, wrong, hidden, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV)
    for answer in wrong:
        assert check(answer) is False
        out = capsys.readouterr().out
        assert "✗ Not yet" in out and "exercises.hint(" in out
        assert not any(h in out for h in hidden), out


def test_every_08_exercise_has_a_hint_ladder(capsys, monkeypatch):
    from cnnlab.exercises._core import reset_progress

    monkeypatch.delenv(ex.STRICT_ENV)
    reset_progress()
    for name in ("transposed_output_size", "triplet_by_hand", "gram_function", "discriminator_balance",
                 "threshold_prediction", "pck_by_hand", "modified_precision"):
        ex.hint(name)
        ex.hint(name)
        ex.show_answer(name)
        out = capsys.readouterr().out
        assert f"Hint 2 of 2 for '{name}'" in out and f"Answer for '{name}'" in out
    assert ex.check_pck_by_hand(0.8)
    assert "(you viewed the answer)" in capsys.readouterr().out
    reset_progress()


def test_unanswered_is_not_attempted(monkeypatch, capsys):
    monkeypatch.delenv(ex.STRICT_ENV)
    assert ex.check_threshold_prediction(None) is False
    assert ex.check_gram_function(lambda f: None) is False
    assert capsys.readouterr().out.count("not attempted") == 2
