"""Self-checks of lectures 04-07: right answers pass, typical mistakes get their specific message.

The expected values are recomputed here independently (PyTorch layers, brute force) where possible.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab import exercises as ex
from cnnlab.checks import GradingError


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _receptive_field_brute(layers):
    """Receptive field by back-projecting one output pixel through the layers (an independent reference)."""
    lo, hi = 0, 0  # the output pixel's index range, projected down one layer at a time
    for k, s in reversed(layers):
        lo, hi = lo * s, hi * s + k - 1
    return hi - lo + 1


def _freeze_base(net, head):
    for p in net.parameters():
        p.requires_grad = False
    for p in head.parameters():
        p.requires_grad = True
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


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


def test_right_answers_pass(capsys):
    lenet_c3 = nn.Conv2d(6, 16, 5)
    net = nn.Sequential(nn.Conv2d(1, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten())
    vgg_block = nn.Sequential(nn.Conv2d(128, 256, 3, padding=1), nn.Conv2d(256, 256, 3, padding=1), nn.MaxPool2d(2))
    separable = nn.Sequential(nn.Conv2d(64, 64, 3, groups=64, bias=False), nn.Conv2d(64, 128, 1, bias=False))
    se = nn.Sequential(nn.Linear(256, 16), nn.Linear(16, 256))
    cm = ex.CONFUSION_EXAMPLE.copy()
    np.fill_diagonal(cm, -1)
    most = np.unravel_index(np.argmax(cm), cm.shape)
    assert ex.check_lenet_conv2_params(_count(lenet_c3))
    assert ex.check_flatten_size(net(torch.zeros(1, 1, 28, 28)).shape[1])
    assert ex.check_most_confused(tuple(int(v) for v in most))
    assert ex.check_best_epoch(int(np.argmin(ex.BEST_EPOCH_HISTORY["val_loss"])) + 1)
    assert ex.check_vgg_block_params(_count(vgg_block))
    assert ex.check_receptive_field(_receptive_field_brute)
    assert ex.check_separable_weights(_count(separable))
    bottleneck = nn.Sequential(nn.Conv2d(192, 96, 1, bias=False), nn.Conv2d(96, 128, 3, bias=False))
    assert ex.check_bottleneck_weights(_count(bottleneck))
    assert ex.check_se_block_params(_count(se))
    assert ex.check_digit_augmentations({"shift", "small_rotation", "zoom", "brightness"})
    assert ex.check_head_params(_count(nn.Linear(2048, 37)))
    assert ex.check_freeze_base(_freeze_base)
    assert ex.check_transfer_choice("a")
    assert ex.check_iou_by_hand(_box_iou((1, 1, 5, 4), (3, 2, 7, 6)))
    assert ex.check_xywh_to_xyxy(np.array([12, 8, 12 + 20, 8 + 30]))
    boxes, scores = ex.NMS_EXAMPLE["boxes"], ex.NMS_EXAMPLE["scores"]
    good = [t for t in np.arange(0, 1.0, 0.05) if _greedy_nms(boxes, scores, t) == [0, 1]]
    assert good and all(ex.check_nms_threshold(float(t)) for t in good)
    assert ex.check_precision_recall((3 / 6, 3 / 5))
    assert ex.check_grid_cell((12 // 8, 37 // 8))
    assert capsys.readouterr().out.count("✓ Correct") == 17 + len(good)


def test_nms_thresholds_outside_the_window_fail():
    boxes, scores = ex.NMS_EXAMPLE["boxes"], ex.NMS_EXAMPLE["scores"]
    for t in np.arange(0, 1.0, 0.05):
        if _greedy_nms(boxes, scores, t) != [0, 1]:
            with pytest.raises(GradingError, match="removes box 1|survives"):
                ex.check_nms_threshold(float(t))


def _freeze_everything(net, head):
    for p in net.parameters():
        p.requires_grad = False
    return 0


def _freeze_nothing(net, head):
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("call,message", [
    (lambda: ex.check_lenet_conv2_params(2400), "add one bias per filter"),
    (lambda: ex.check_lenet_conv2_params(416), "5x5x6"),
    (lambda: ex.check_lenet_conv2_params(906), "16 filters"),
    (lambda: ex.check_lenet_conv2_params(2.5), "whole number"),
    (lambda: ex.check_flatten_size(1600), "32x32 input"),
    (lambda: ex.check_flatten_size(3136), "'valid' convolutions shrink"),
    (lambda: ex.check_flatten_size(16), "all 64 maps"),
    (lambda: ex.check_most_confused((4, 3)), "rows are the true digits"),
    (lambda: ex.check_most_confused((2, 2)), "diagonal"),
    (lambda: ex.check_most_confused((1, 4)), "happened 4 times"),
    (lambda: ex.check_most_confused("3-4"), "pair of ints"),
    (lambda: ex.check_best_epoch(10), "judge by the validation loss"),
    (lambda: ex.check_best_epoch(4), "count from 1"),
    (lambda: ex.check_best_epoch(7), "find its minimum"),
    (lambda: ex.check_vgg_block_params(884_736), "add one bias"),
    (lambda: ex.check_vgg_block_params(2 * 295_168), "sees the 256 maps"),
    (lambda: ex.check_vgg_block_params(590_080), "two convolutions"),
    (lambda: ex.check_receptive_field(lambda layers: 1 + sum(k - 1 for k, _ in layers)), "strides BELOW"),
    (lambda: ex.check_receptive_field(lambda layers: sum(k for k, _ in layers)), "overlap"),
    (lambda: ex.check_receptive_field(lambda layers: 1 / 0), "raised ZeroDivisionError"),
    (lambda: ex.check_separable_weights(73_728), "regular 3x3"),
    (lambda: ex.check_separable_weights(128 * 9 + 64 * 128), "INPUT channel"),
    (lambda: ex.check_separable_weights(8192), "count both steps"),
    (lambda: ex.check_bottleneck_weights(9 * 192 * 128), "without the bottleneck"),
    (lambda: ex.check_bottleneck_weights(9 * 96 * 128), "count the 1x1"),
    (lambda: ex.check_bottleneck_weights(192 * 96 + 9 * 192 * 128), "only 96 maps"),
    (lambda: ex.check_bottleneck_weights(9 * 192 * 96 + 9 * 96 * 128), "no 3x3"),
    (lambda: ex.check_bottleneck_weights(1000), "3·3·96·128"),
    (lambda: ex.check_se_block_params(8192), "add the biases"),
    (lambda: ex.check_se_block_params(131_584), "squeezes 256 values"),
    (lambda: ex.check_digit_augmentations({"shift", "small_rotation", "zoom", "brightness", "flip"}), "mirrored"),
    (lambda: ex.check_digit_augmentations({"shift", "small_rotation", "zoom", "upside_down"}), "6 becomes a 9"),
    (lambda: ex.check_digit_augmentations({"shift", "noise"}), "white noise"),
    (lambda: ex.check_digit_augmentations({"shift", "zoom"}), "'brightness' is missing"),
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
    (lambda: ex.check_iou_by_hand(4 / 28), "counts the overlap twice"),
    (lambda: ex.check_iou_by_hand(4 / 12), "not by the area of one"),
    (lambda: ex.check_iou_by_hand(0.5), "union 12 \\+ 16 - 4"),
    (lambda: ex.check_xywh_to_xyxy((2, -7, 22, 23)), "top-left corner, not the centre"),
    (lambda: ex.check_xywh_to_xyxy((12, 8, 20, 30)), "width and height"),
    (lambda: ex.check_xywh_to_xyxy((12, 8, 32)), "4 numbers"),
    (lambda: ex.check_nms_threshold(0.3), "removes box 1"),
    (lambda: ex.check_nms_threshold(0.7), "duplicate"),
    (lambda: ex.check_nms_threshold(5), "between 0 and 1"),
    (lambda: ex.check_precision_recall((0.6, 0.5)), "swapped"),
    (lambda: ex.check_precision_recall((0.5, 0.5)), "number of objects"),
    (lambda: ex.check_precision_recall((0.75, 0.6)), "3 of the 6"),
    (lambda: ex.check_grid_cell((4, 1)), "row comes from y"),
    (lambda: ex.check_grid_cell((2, 5)), "round DOWN"),
])
def test_mistakes_get_a_specific_hint(call, message):
    with pytest.raises(GradingError, match=message):
        call()


@pytest.mark.parametrize("check", [ex.check_lenet_conv2_params, ex.check_flatten_size, ex.check_most_confused,
                                   ex.check_best_epoch, ex.check_vgg_block_params, ex.check_receptive_field,
                                   ex.check_separable_weights, ex.check_bottleneck_weights, ex.check_se_block_params,
                                   ex.check_digit_augmentations, ex.check_head_params, ex.check_freeze_base,
                                   ex.check_transfer_choice, ex.check_iou_by_hand, ex.check_xywh_to_xyxy,
                                   ex.check_nms_threshold, ex.check_precision_recall, ex.check_grid_cell])
def test_none_is_not_attempted(check, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert check(None) is False
    assert "not attempted yet" in capsys.readouterr().out
    monkeypatch.setenv(ex.STRICT_ENV, "1")
    with pytest.raises(ex.NotAttempted):
        check(None)


@pytest.mark.parametrize("check", [ex.check_receptive_field, ex.check_freeze_base])
def test_stub_returning_none_is_not_attempted(check, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert check(lambda *args: None) is False
    assert "not attempted yet" in capsys.readouterr().out


def test_wrong_answer_prints_without_strict(capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert ex.check_grid_cell((4, 1)) is False
    assert "✗ Not yet: the row comes from y" in capsys.readouterr().out
