"""Lecture 08's self-checks: right answers pass, typical mistakes get their precise hint."""
from __future__ import annotations

import math

import pytest

from cnnlab import exercises as ex
from cnnlab.checks import GradingError


@pytest.fixture(autouse=True)
def _strict(monkeypatch):
    monkeypatch.setenv(ex.STRICT_ENV, "1")


@pytest.mark.parametrize("check,right", [
    (ex.check_transposed_output_size, (32,)), (ex.check_triplet_by_hand, (2.5,)), (ex.check_gram_shape, ((64, 64),)),
    (ex.check_discriminator_balance, (2 * math.log(2),)), (ex.check_pck_by_hand, (0.8,)),
    (ex.check_modified_precision, (2 / 7,)),
])
def test_right_answers_pass(check, right, capsys):
    assert check(*right) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("check,wrong,hint", [
    (ex.check_transposed_output_size, 7, "ordinary convolution"),
    (ex.check_transposed_output_size, 34, "subtract 2p"),
    (ex.check_triplet_by_hand, 2 - math.sqrt(2) + 0.5, "squared"),
    (ex.check_triplet_by_hand, 0, "closer"),
    (ex.check_gram_shape, (1024, 1024), "channels"),
    (ex.check_gram_shape, "sixty-four", "tuple"),
    (ex.check_discriminator_balance, math.log(2), "adds the real and the fake"),
    (ex.check_pck_by_hand, 0.6, "equal to it counts"),
    (ex.check_pck_by_hand, 4, "fraction"),
    (ex.check_modified_precision, 1, "clips"),
])
def test_typical_mistakes_get_their_hint(check, wrong, hint):
    with pytest.raises(GradingError, match=hint):
        check(wrong)


def test_unanswered_is_not_attempted(monkeypatch, capsys):
    monkeypatch.delenv(ex.STRICT_ENV)
    assert ex.check_gram_shape(None) is False
    assert "not attempted" in capsys.readouterr().out
