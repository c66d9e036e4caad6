"""Lecture 05b's self-checks: right answers pass, typical mistakes get their hint, no message gives the answer."""
from __future__ import annotations

import pytest
import torch

from cnnlab import exercises as ex
from cnnlab.checks import GradingError
from cnnlab.exercises import what_networks_learn as wnl


@pytest.fixture(autouse=True)
def _strict(monkeypatch):
    monkeypatch.setenv(ex.STRICT_ENV, "1")


def grad_cam_from(activations, gradients):  # the worked answer, written independently of the check's reference
    n, k, h, w = activations.shape
    out = torch.zeros(n, h, w, dtype=activations.dtype)
    for i in range(n):
        for c in range(k):
            out[i] += gradients[i, c].sum() / (h * w) * activations[i, c]
    return out.clamp_min(0)


def score_slope(model, x, target, i, j, h=1e-4):
    up, down = x.clone(), x.clone()
    up[0, 0, i, j] += h
    down[0, 0, i, j] -= h
    with torch.no_grad():
        return float((model(up)[0, target] - model(down)[0, target]) / (2 * h))


def test_right_answers_pass(capsys):
    assert ex.check_occlusion_passes(37) is True
    assert ex.check_grad_cam_function(grad_cam_from) is True
    assert ex.check_score_slope(score_slope) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong,hint", [
    (36, "without a patch"), (26, "one position per side too few"), (64, "ignores the patch size"),
    (121, "stride 1"), (6, "as well as across"), (40, "your count = 40 is not right"),
])
def test_occlusion_count_mistakes(wrong, hint):
    with pytest.raises(GradingError, match=hint) as info:
        ex.check_occlusion_passes(wrong)
    assert "37" not in str(info.value)


@pytest.mark.parametrize("fn,hint", [
    (lambda a, g: (g.mean((2, 3))[:, :, None, None] * a).sum(1), "negative"),
    (lambda a, g: torch.relu((g.sum((2, 3))[:, :, None, None] * a).sum(1)), "15 times"),
    (lambda a, g: torch.relu((g * a).sum(1)), "each position by its own gradient"),
    (lambda a, g: torch.relu((g.mean(1, keepdim=True) * a).sum(1)), "over the channels"),
    (lambda a, g: torch.relu((g.mean((2, 3))[:, :, None, None] * a)), "shape|axis|dimension"),
    (lambda a, g: (g.mean((2, 3))[:, :, None, None] * a).sum(1).numpy(), "torch tensor"),
])
def test_grad_cam_mistakes(fn, hint):
    with pytest.raises(GradingError, match=hint):
        ex.check_grad_cam_function(fn)


def test_score_slope_mistakes():
    with pytest.raises(GradingError, match="other class"):
        ex.check_score_slope(lambda m, x, t, i, j: score_slope(m, x, 1 - t, i, j))
    with pytest.raises(GradingError, match="half the right one"):
        ex.check_score_slope(lambda m, x, t, i, j: score_slope(m, x, t, i, j) / 2)
    with pytest.raises(GradingError, match="sign is flipped"):
        ex.check_score_slope(lambda m, x, t, i, j: -score_slope(m, x, t, i, j))

    def in_place(m, x, t, i, j):
        x[0, 0, i, j] += 1e-4
        return 0.0
    with pytest.raises(GradingError, match="changed the image"):
        ex.check_score_slope(in_place)


@pytest.mark.slow
def test_noise_prediction_is_checked_against_the_measurement(capsys, one_thread):
    random, fgsm = wnl.noise_accuracies()
    assert random > 0.9 > fgsm  # the lecture's claim; "above" is right
    assert ex.check_noise_prediction("above") is True
    out = capsys.readouterr().out
    assert f"{random:.1%}" in out and f"{fgsm:.1%}" in out
    with pytest.raises(GradingError, match="direction") as info:
        ex.check_noise_prediction("below")
    assert f"{random:.1%}" not in str(info.value)
    with pytest.raises(GradingError, match="'above', 'below'"):
        ex.check_noise_prediction("maybe")


def test_unanswered_is_not_attempted_and_the_ladder_is_there(monkeypatch, capsys):
    monkeypatch.delenv(ex.STRICT_ENV)
    assert ex.check_grad_cam_function(None) is False
    assert ex.check_score_slope(lambda *a: None) is False
    assert capsys.readouterr().out.count("not attempted") == 2
    assert ex.check_occlusion_passes(36) is False
    assert "exercises.hint('occlusion_passes')" in capsys.readouterr().out
    ex.hint("occlusion_passes")
    ex.show_answer("occlusion_passes")
    assert "37" in capsys.readouterr().out
    assert ex.check_occlusion_passes(37) is True
    assert "you viewed the answer" in capsys.readouterr().out
    ex._core.reset_progress()
