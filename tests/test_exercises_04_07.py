"""Self-checks of lectures 04-05 (06-07: test_exercises_06_07.py): right answers pass, typical mistakes get their specific message.

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


def _c3_sparse_params():
    """The 1998 C3 built as 16 separate convolutions, each over only the S2 maps of its row of the table."""
    return sum(_count(nn.Conv2d(len(maps), 1, 5)) for maps in ex.LENET_C3_TABLE)


class _TwoConvNet(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.a = nn.Conv2d(1, width, 3, padding=1)
        self.b = nn.Conv2d(width, width, 3, padding=1)
        self.c = nn.Linear(width, 10)

    def forward(self, x):
        return self.c(torch.relu(self.b(torch.relu(self.a(x)))).mean(dim=(2, 3)))


class _ListNet(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.layers = [nn.Conv2d(1, width, 3, padding=1), nn.Conv2d(width, width, 3, padding=1), nn.Linear(width, 10)]

    def forward(self, x):
        a, b, c = self.layers
        return c(torch.relu(b(torch.relu(a(x)))).mean(dim=(2, 3)))


class _NoSecondRelu(_TwoConvNet):
    def forward(self, x):
        return self.c(self.b(torch.relu(self.a(x))).mean(dim=(2, 3)))


class _LayersInForward(_TwoConvNet):
    def forward(self, x):
        h = torch.relu(self.b(torch.relu(self.a(x)))).mean(dim=(2, 3))
        return nn.Linear(h.shape[1], 10)(h)   # a new, randomly initialised layer on every call


class _NoPadding(_TwoConvNet):
    def __init__(self, width):
        super().__init__(width)
        self.a = nn.Conv2d(1, width, 3)
        self.b = nn.Conv2d(width, width, 3)


def test_right_answers_pass_04_05(capsys):
    net = nn.Sequential(nn.Conv2d(1, 32, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten())
    vgg_block = nn.Sequential(nn.Conv2d(128, 256, 3, padding=1), nn.Conv2d(256, 256, 3, padding=1), nn.MaxPool2d(2))
    separable = nn.Sequential(nn.Conv2d(64, 64, 3, groups=64, bias=False), nn.Conv2d(64, 128, 1, bias=False))
    cm = ex.CONFUSION_EXAMPLE.copy()
    np.fill_diagonal(cm, -1)
    most = np.unravel_index(np.argmax(cm), cm.shape)
    assert _c3_sparse_params() == 1516  # the paper's count for its C3
    assert ex.check_lenet_c3_original(_c3_sparse_params())
    assert ex.check_flatten_size(net(torch.zeros(1, 1, 28, 28)).shape[1])
    assert ex.check_most_confused(tuple(int(v) for v in most))
    assert ex.check_best_epoch(int(np.argmin(ex.BEST_EPOCH_HISTORY["val_loss"])) + 1)
    assert ex.check_module_subclass(_TwoConvNet)
    assert ex.check_train_loss_prediction("lower")
    assert ex.check_vgg_block_params(_count(vgg_block))
    assert ex.check_receptive_field(_receptive_field_brute)
    assert ex.check_separable_weights(_count(separable))
    bottleneck = nn.Sequential(nn.Conv2d(192, 96, 1, bias=False), nn.Conv2d(96, 128, 3, bias=False))
    assert ex.check_bottleneck_weights(_count(bottleneck))
    assert ex.check_activation_growth((4, 1))
    assert capsys.readouterr().out.count("✓ Correct") == 11


# (check, wrong answers, the expected value as a wrong-answer message must NOT show it)
_NO_REVEAL = [
    (ex.check_lenet_c3_original, [2416, 1500, 1560, 60, 1517, 0], ["1,516", "1516"]),
    (ex.check_flatten_size, [1600, 3136, 16, 512, 3072, 1000], ["1,024", "1024"]),
    (ex.check_vgg_block_params, [884_736, 590_336, 590_080, 5120, 7], ["885,248", "885248"]),
    (ex.check_separable_weights, [73_728, 9344, 8192, 576, 8000], ["8,768", "8768"]),
    (ex.check_bottleneck_weights, [221_184, 110_592, 239_616, 276_480, 1000], ["129,024", "129024"]),
    (ex.check_receptive_field, [lambda layers: 1 + sum(k - 1 for k, _ in layers), lambda layers: 3], ["expected"]),
]


@pytest.mark.parametrize("check,wrong,hidden", _NO_REVEAL, ids=[c.__name__ for c, _, _ in _NO_REVEAL])
def test_wrong_answers_never_state_the_expected_value(check, wrong, hidden, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    for answer in wrong:
        assert check(answer) is False
        out = capsys.readouterr().out
        assert "✗ Not yet" in out and "exercises.hint(" in out
        assert not any(h in out for h in hidden), out


def test_hint_ladder_of_04_05_gives_hints_then_the_answer(capsys):
    from cnnlab.exercises._core import reset_progress

    reset_progress()
    ex.hint("module_subclass")
    assert "super().__init__()" in capsys.readouterr().out
    ex.show_answer("flatten_size")
    assert "1,024" in capsys.readouterr().out
    assert ex.check_flatten_size(1024)
    assert "(you viewed the answer)" in capsys.readouterr().out
    reset_progress()


@pytest.mark.parametrize("call,message", [
    (lambda: ex.check_lenet_c3_original(2416), "fully connected C3"),
    (lambda: ex.check_lenet_c3_original(1500), "each of the 16 maps also has one bias"),
    (lambda: ex.check_lenet_c3_original(60), "number of connections"),
    (lambda: ex.check_lenet_c3_original(1517), "count the kernels"),
    (lambda: ex.check_lenet_c3_original(2.5), "whole number"),
    (lambda: ex.check_module_subclass(_ListNet), "no parameters"),
    (lambda: ex.check_module_subclass(_NoSecondRelu), "apply ReLU after each convolution"),
    (lambda: ex.check_module_subclass(_LayersInForward), "different outputs"),
    (lambda: ex.check_module_subclass(_NoPadding), "padding"),
    (lambda: ex.check_module_subclass(_TwoConvNet(4)), "class itself"),
    (lambda: ex.check_train_loss_prediction("higher"), "harder inputs"),
    (lambda: ex.check_train_loss_prediction("about the same"), "both push the same way"),
    (lambda: ex.check_train_loss_prediction("much lower"), "one of"),
    (lambda: ex.check_activation_growth((2, 1)), "height AND the width"),
    (lambda: ex.check_activation_growth((4, 4)), "depend on how large the image is"),
    (lambda: ex.check_activation_growth((8, 1)), "number of channels stays the same"),
    (lambda: ex.check_activation_growth((6, 1)), "how many more values"),
    (lambda: ex.check_activation_growth(4), "two numbers"),
    (lambda: ex.check_flatten_size(1600), "32×32 input"),
    (lambda: ex.check_flatten_size(3136), "'valid' convolutions shrink"),
    (lambda: ex.check_flatten_size(16), "size of one map"),
    (lambda: ex.check_most_confused((4, 3)), "rows are the true digits"),
    (lambda: ex.check_most_confused((2, 2)), "diagonal"),
    (lambda: ex.check_most_confused((1, 4)), "happened 4 times"),
    (lambda: ex.check_most_confused("3-4"), "pair of ints"),
    (lambda: ex.check_best_epoch(10), "judge by the validation loss"),
    (lambda: ex.check_best_epoch(4), "count from 1"),
    (lambda: ex.check_best_epoch(7), "is it the smallest"),
    (lambda: ex.check_vgg_block_params(884_736), "add one bias"),
    (lambda: ex.check_vgg_block_params(2 * 295_168), "sees the 256 maps"),
    (lambda: ex.check_vgg_block_params(590_080), "two convolutions"),
    (lambda: ex.check_receptive_field(lambda layers: 1 + sum(k - 1 for k, _ in layers)), "strides BELOW"),
    (lambda: ex.check_receptive_field(lambda layers: sum(k for k, _ in layers)), "overlap"),
    (lambda: ex.check_receptive_field(lambda layers: 1 / 0), "raised ZeroDivisionError"),
    (lambda: ex.check_separable_weights(73_728), "regular 3×3"),
    (lambda: ex.check_separable_weights(128 * 9 + 64 * 128), "INPUT channel"),
    (lambda: ex.check_separable_weights(8192), "count both steps"),
    (lambda: ex.check_bottleneck_weights(9 * 192 * 128), "without the bottleneck"),
    (lambda: ex.check_bottleneck_weights(9 * 96 * 128), "count the 1×1"),
    (lambda: ex.check_bottleneck_weights(192 * 96 + 9 * 192 * 128), "only 96 maps"),
    (lambda: ex.check_bottleneck_weights(9 * 192 * 96 + 9 * 96 * 128), "no 3×3"),
    (lambda: ex.check_bottleneck_weights(1000), "1×1 layer and the 3×3 layer"),
])
def test_mistakes_get_a_specific_hint(call, message):
    with pytest.raises(GradingError, match=message):
        call()


@pytest.mark.parametrize("check", [ex.check_lenet_c3_original, ex.check_flatten_size, ex.check_most_confused,
                                   ex.check_best_epoch, ex.check_vgg_block_params, ex.check_receptive_field,
                                   ex.check_separable_weights, ex.check_bottleneck_weights, ex.check_module_subclass,
                                   ex.check_train_loss_prediction, ex.check_activation_growth])
def test_none_is_not_attempted(check, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert check(None) is False
    assert "not attempted yet" in capsys.readouterr().out
    monkeypatch.setenv(ex.STRICT_ENV, "1")
    with pytest.raises(ex.NotAttempted):
        check(None)


@pytest.mark.parametrize("check", [ex.check_receptive_field])
def test_stub_returning_none_is_not_attempted(check, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert check(lambda *args: None) is False
    assert "not attempted yet" in capsys.readouterr().out
