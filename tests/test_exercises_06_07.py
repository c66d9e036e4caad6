"""Self-checks of lectures 06-07: right answers pass, typical mistakes get their specific message, and no
wrong answer is told the expected value.

The expected values are recomputed here independently (PyTorch layers, brute force) where possible.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab import exercises as ex
from cnnlab.checks import GradingError


@pytest.fixture(autouse=True)
def _strict(monkeypatch):
    monkeypatch.setenv(ex.STRICT_ENV, "1")


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _freeze_base(net, head):
    for p in net.parameters():
        p.requires_grad = False
    for p in head.parameters():
        p.requires_grad = True
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def _freeze_everything(net, head):
    for p in net.parameters():
        p.requires_grad = False
    return 0


def _freeze_nothing(net, head):
    return sum(p.numel() for p in net.parameters())


def _box_iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _greedy_nms(boxes, scores, t):
    order, keep = list(np.argsort(-scores)), []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        order = [j for j in order if _box_iou(boxes[i], boxes[j]) <= t]
    return sorted(keep)


def _focal_torch(p, gamma):
    """Independent reference: PyTorch's binary cross-entropy on the true class, times (1 - p)^gamma."""
    p_t = torch.as_tensor(p)
    ce = nn.functional.binary_cross_entropy(p_t, torch.ones_like(p_t), reduction="none")
    return ((1 - p_t) ** gamma * ce).numpy()


def test_right_answers_pass(capsys):
    assert ex.check_digit_augmentations({"shift", "small_rotation", "zoom", "brightness", "noise"})
    assert ex.check_head_params(_count(nn.Linear(2048, 37)))
    assert ex.check_freeze_base(_freeze_base)
    assert ex.check_transfer_choice("a")
    assert ex.check_head_lr_prediction("lower")
    assert ex.check_iou_by_hand(_box_iou((1, 1, 5, 4), (3, 2, 7, 6)))
    assert ex.check_xywh_to_xyxy(np.array([12, 8, 12 + 20, 8 + 30]))
    boxes, scores = ex.NMS_EXAMPLE["boxes"], ex.NMS_EXAMPLE["scores"]
    good = [t for t in np.arange(0, 1.0, 0.05) if _greedy_nms(boxes, scores, t) == [0, 1]]
    assert good and all(ex.check_nms_threshold(float(t)) for t in good)
    assert ex.check_precision_recall((3 / 6, 3 / 5))
    assert ex.check_grid_cell((12 // 8, 37 // 8))
    assert ex.check_score_threshold_prediction("Lower")
    assert ex.check_focal_loss(_focal_torch)
    assert ex.check_focal_loss(lambda p, g: torch.as_tensor(_focal_torch(p, g)))   # a tensor answer is fine
    assert capsys.readouterr().out.count("✓ Correct") == 12 + len(good)


def test_nms_thresholds_outside_the_window_fail():
    boxes, scores = ex.NMS_EXAMPLE["boxes"], ex.NMS_EXAMPLE["scores"]
    for t in np.arange(0, 1.0, 0.05):
        if _greedy_nms(boxes, scores, t) != [0, 1]:
            with pytest.raises(GradingError, match="removes box 1|survives"):
                ex.check_nms_threshold(float(t))


@pytest.mark.parametrize("call,message", [
    (lambda: ex.check_digit_augmentations({"shift", "small_rotation", "zoom", "brightness", "flip"}), "mirrored"),
    (lambda: ex.check_digit_augmentations({"shift", "small_rotation", "zoom", "upside_down"}), "6 becomes a 9"),
    (lambda: ex.check_digit_augmentations({"shift", "zoom"}), "3 safe augmentation"),
    (lambda: ex.check_digit_augmentations({"rotation"}), "not among the choices"),
    (lambda: ex.check_head_params(2048 * 37), "one bias per class"),
    (lambda: ex.check_head_params(2049 * 1000), "replaced"),
    (lambda: ex.check_head_params(25_557_032), "base is frozen"),
    (lambda: ex.check_freeze_base(_freeze_everything), "head is frozen too"),
    (lambda: ex.check_freeze_base(_freeze_nothing), "still require gradients"),
    (lambda: ex.check_freeze_base(lambda net, head: (_freeze_base(net, head), 7)[1]), "you returned 7"),
    (lambda: ex.check_transfer_choice("B"), "more labels"),
    (lambda: ex.check_transfer_choice("C"), "less similar"),
    (lambda: ex.check_transfer_choice("D"), "one letter"),
    (lambda: ex.check_head_lr_prediction("higher"), "30 small steps"),
    (lambda: ex.check_head_lr_prediction("about the same"), "size of each step"),
    (lambda: ex.check_head_lr_prediction("much better"), "one of"),
    (lambda: ex.check_iou_by_hand(4 / 28), "counts the overlap twice"),
    (lambda: ex.check_iou_by_hand(4 / 12), "not by the area of one"),
    (lambda: ex.check_iou_by_hand(0.5), "area of the union"),
    (lambda: ex.check_xywh_to_xyxy((2, -7, 22, 23)), "top-left corner, not the centre"),
    (lambda: ex.check_xywh_to_xyxy((12, 8, 20, 30)), "width and height"),
    (lambda: ex.check_xywh_to_xyxy((12, 8, 32)), "4 numbers"),
    (lambda: ex.check_nms_threshold(0.3), "removes box 1"),
    (lambda: ex.check_nms_threshold(0.7), "duplicate"),
    (lambda: ex.check_nms_threshold(5), "between 0 and 1"),
    (lambda: ex.check_precision_recall((0.6, 0.5)), "swapped"),
    (lambda: ex.check_precision_recall((0.5, 0.5)), "number of objects"),
    (lambda: ex.check_precision_recall((0.75, 0.6)), "fraction of the detections"),
    (lambda: ex.check_grid_cell((4, 1)), "row comes from y"),
    (lambda: ex.check_grid_cell((2, 5)), "round DOWN"),
    (lambda: ex.check_score_threshold_prediction("higher"), "cannot change the order"),
    (lambda: ex.check_score_threshold_prediction("about the same"), "below 0.5"),
    (lambda: ex.check_focal_loss(lambda p, g: -_focal_torch(p, g)), "sign is flipped"),
    (lambda: ex.check_focal_loss(lambda p, g: -(p ** g) * np.log(p)), "EASY examples"),
    (lambda: ex.check_focal_loss(lambda p, g: -np.log(p)), "wrong at"),
    (lambda: ex.check_focal_loss(lambda p, g: 1 / 0), "raised ZeroDivisionError"),
])
def test_mistakes_get_a_specific_hint(call, message):
    with pytest.raises(GradingError, match=message):
        call()


def _focal_expected(gamma: float) -> list[str]:
    """The focal losses the check expects at ``gamma`` (its p_t values), as a message would print them."""
    p = np.array([0.05, 0.3, 0.5, 0.9, 0.99])
    return [f"{v:g}" for v in -((1 - p) ** gamma) * np.log(p)]


# (check, wrong answers, texts a wrong-answer message must NOT contain: the expected value)
_NO_REVEAL = [
    (ex.check_head_params, [2048 * 37, 2049 * 1000, 75_000, 1], ["75,813", "75813"]),
    (ex.check_iou_by_hand, [4 / 28, 4 / 12, 0.5, 0.2], ["0.167", "1/6", "4 / 24", "12 + 16 - 4"]),
    (ex.check_xywh_to_xyxy, [(2, -7, 22, 23), (12, 8, 20, 30), (12, 8, 33, 38)], ["(12, 8, 32, 38)", "32, 38"]),
    (ex.check_nms_threshold, [0.1, 0.3, 0.7, 0.9], ["0.43", "0.67"]),
    (ex.check_precision_recall, [(0.6, 0.5), (0.5, 0.5), (0.75, 0.6), (0.5, 0.4)], ["3/6", "3/5", "0.6"]),
    (ex.check_grid_cell, [(4, 1), (2, 5), (0, 0)], ["(1, 4)"]),
    (ex.check_freeze_base, [lambda net, head: (_freeze_base(net, head), 7)[1]], ["85", "16·5"]),
    # cross-entropy is right at gamma = 0 and wrong at 2; the other answer is already wrong at 0
    (ex.check_focal_loss, [lambda p, g: -np.log(p)], _focal_expected(2.0)),
    (ex.check_focal_loss, [lambda p, g: -(1 - p) * np.log(p)], _focal_expected(0.0)),
]


@pytest.mark.parametrize("check,wrong,hidden", _NO_REVEAL, ids=[c.__name__ for c, _, _ in _NO_REVEAL])
def test_wrong_answers_never_state_the_expected_value(check, wrong, hidden, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    for answer in wrong:
        assert check(answer) is False
        out = capsys.readouterr().out
        assert "✗ Not yet" in out and "exercises.hint(" in out
        assert not any(h in out for h in hidden), out


def test_hint_ladder_of_06_07_gives_hints_then_the_answer(capsys, monkeypatch):
    from cnnlab.exercises._core import reset_progress

    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    reset_progress()
    ex.hint("nms_threshold")
    first = capsys.readouterr().out
    assert "Hint 1 of 2" in first and "0.43" not in first
    ex.hint("nms_threshold")
    assert "ABOVE" in capsys.readouterr().out
    ex.show_answer("nms_threshold")
    assert "0.43" in capsys.readouterr().out
    assert ex.check_nms_threshold(0.5)
    assert "(you viewed the answer)" in capsys.readouterr().out
    for name in ("digit_augmentations", "head_params", "freeze_base", "transfer_choice", "head_lr_prediction",
                 "iou_by_hand", "xywh_to_xyxy", "precision_recall", "grid_cell", "score_threshold_prediction",
                 "focal_loss"):
        ex.hint(name)
        ex.show_answer(name)
        out = capsys.readouterr().out
        assert f"Hint 1 of 2 for '{name}'" in out and f"Answer for '{name}'" in out
    reset_progress()


@pytest.mark.parametrize("check", [ex.check_digit_augmentations, ex.check_head_params, ex.check_freeze_base,
                                   ex.check_transfer_choice, ex.check_head_lr_prediction, ex.check_iou_by_hand,
                                   ex.check_xywh_to_xyxy, ex.check_nms_threshold, ex.check_precision_recall,
                                   ex.check_grid_cell, ex.check_score_threshold_prediction, ex.check_focal_loss])
def test_none_is_not_attempted(check, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert check(None) is False
    assert "not attempted yet" in capsys.readouterr().out
    monkeypatch.setenv(ex.STRICT_ENV, "1")
    with pytest.raises(ex.NotAttempted):
        check(None)


@pytest.mark.parametrize("check", [ex.check_freeze_base, ex.check_focal_loss])
def test_stub_returning_none_is_not_attempted(check, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert check(lambda *args: None) is False
    assert "not attempted yet" in capsys.readouterr().out


def test_wrong_answer_prints_without_strict(capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert ex.check_grid_cell((4, 1)) is False
    assert "✗ Not yet: the row comes from y" in capsys.readouterr().out
