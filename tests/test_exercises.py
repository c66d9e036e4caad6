"""cnnlab.exercises: right answers pass quietly, typical mistakes get a precise hint."""
from __future__ import annotations

import numpy as np
import pytest

from cnnlab import exercises as ex
from cnnlab.checks import GradingError


def _correlate(x, k):
    kh, kw = k.shape
    return np.array([[np.sum(x[i:i + kh, j:j + kw] * k) for j in range(x.shape[1] - kw + 1)]
                     for i in range(x.shape[0] - kh + 1)])


def _max_pool(x):
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    return x[:h, :w].reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))


def test_right_answers_pass(capsys):
    top = np.zeros((6, 6))
    top[:3] = 10
    ex.check_pixel_count(2352)
    ex.check_dense_vs_conv(307_300, 448)
    ex.check_horizontal_edges(_correlate(top, np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1.0]])))
    ex.check_correlate2d(_correlate)
    ex.check_torch_to_tf_weights(lambda w: w.transpose(2, 3, 1, 0))
    ex.check_output_sizes([(n + 2 * p - f) // s + 1 for n, f, p, s in ex.OUTPUT_SIZE_CASES])
    ex.check_same_padding((0, 1))
    ex.check_max_pool_2x2(_max_pool)
    ex.check_pool_output_shape((8, 64, 27, 27))
    ex.check_conv_layer_shape((16, 28, 28))
    ex.check_padding_modes((4, 8, 12))
    ex.check_dilated_output(6)
    ex.check_global_pool_shape((8, 512))
    ex.check_global_pool_shape((8, 512, 1, 1))
    ex.check_channel_pool_shape((1, 3, 10, 10))
    assert capsys.readouterr().out.count("✓ Correct") == 15


@pytest.mark.parametrize("call,message", [
    (lambda: ex.check_pixel_count(784), "3 channels"),
    (lambda: ex.check_dense_vs_conv(307_200, 448), "add one bias per output unit"),
    (lambda: ex.check_dense_vs_conv(307_300, 160), "as deep as the 3 input channels"),
    (lambda: ex.check_correlate2d(lambda x, k: _correlate(x, k[::-1, ::-1])), "do not flip the kernel"),
    (lambda: ex.check_correlate2d(lambda x, k: x), "has shape"),
    (lambda: ex.check_correlate2d(lambda x, k: 1 / 0), "raised ZeroDivisionError"),
    (lambda: ex.check_correlate2d(_correlate(np.ones((3, 3)), np.ones((2, 2)))), "pass the function itself"),
    (lambda: ex.check_torch_to_tf_weights(lambda w: w.transpose(3, 2, 1, 0)), "transpose"),
    (lambda: ex.check_output_sizes([(n + 2 * p - f) / s + 1 for n, f, p, s in ex.OUTPUT_SIZE_CASES]), "round down"),
    (lambda: ex.check_output_sizes([(n + 2 * p - f) // s for n, f, p, s in ex.OUTPUT_SIZE_CASES]), "forget the \\+ 1"),
    (lambda: ex.check_output_sizes([(n + p - f) // s + 1 for n, f, p, s in ex.OUTPUT_SIZE_CASES]), "both sides"),
    (lambda: ex.check_output_sizes([n + 2 * p - f + 1 for n, f, p, s in ex.OUTPUT_SIZE_CASES]), "divide by the stride"),
    (lambda: ex.check_output_sizes([4, 3]), "give 4 numbers"),
    (lambda: ex.check_output_sizes([4, 3, 3, 113]), "n=224, f=7, p=3, s=2 you gave 113, expected 112"),
    (lambda: ex.check_same_padding((1, 0)), "bottom/right"),
    (lambda: ex.check_same_padding((1, 1)), "stride 1"),
    (lambda: ex.check_same_padding("x"), "pair"),
    (lambda: ex.check_max_pool_2x2(lambda x: x[: x.shape[0] // 2 * 2, : x.shape[1] // 2 * 2]
                                   .reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2).mean(axis=(1, 3))),
     "average pooling"),
    (lambda: ex.check_max_pool_2x2(lambda x: None), "not attempted yet — your function returns None"),
    (lambda: ex.check_torch_to_tf_weights(lambda w: w.transpose(2, 3, 0, 1)), "input channels before the output"),
    (lambda: ex.check_conv_layer_shape((16, 3, 28, 28)), "16 maps, not 16 × 3"),
    (lambda: ex.check_conv_layer_shape((3, 28, 28)), "number of filters"),
    (lambda: ex.check_conv_layer_shape((16, 32, 32)), "32 - 5 \\+ 1 = 28"),
    (lambda: ex.check_conv_layer_shape((16, 27, 27)), "add 1"),
    (lambda: ex.check_padding_modes((4, 8, 10)), "EACH side"),
    (lambda: ex.check_padding_modes((4, 6, 12)), "same:"),
    (lambda: ex.check_dilated_output(10), "without dilation"),
    (lambda: ex.check_dilated_output(4), "not d·f"),
    (lambda: ex.check_global_pool_shape((8, 7, 7)), "not over the channels"),
    (lambda: ex.check_global_pool_shape((512,)), "batch dimension"),
    (lambda: ex.check_channel_pool_shape((1, 12, 5, 5)), "pools over space"),
    (lambda: ex.check_channel_pool_shape((1, 4, 10, 10)), "group size"),
    (lambda: ex.check_pool_output_shape((8, 64, 28, 28)), "rounded down"),
    (lambda: ex.check_pool_output_shape((8, 32, 27, 27)), "channels stays 64"),
])
def test_mistakes_get_a_specific_hint(call, message):
    with pytest.raises(GradingError, match=message):
        call()


@pytest.mark.parametrize("check", [ex.check_pixel_count, ex.check_correlate2d, ex.check_padding_modes,
                                   ex.check_channel_pool_shape])
def test_none_is_not_attempted(check, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert check(None) is False
    assert "not attempted yet" in capsys.readouterr().out
    monkeypatch.setenv(ex.STRICT_ENV, "1")
    with pytest.raises(ex.NotAttempted):
        check(None)


def test_stub_returning_none_is_not_attempted(capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert ex.check_correlate2d(lambda image, kern: None) is False
    assert "correlate2d: not attempted yet" in capsys.readouterr().out


def test_horizontal_edges_sign_error_is_named():
    top = np.zeros((6, 6))
    top[:3] = 10
    with pytest.raises(AssertionError, match="opposite sign"):
        ex.check_horizontal_edges(-_correlate(top, np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1.0]])))
