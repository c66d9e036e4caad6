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


# ----------------------------------------------------------------- the hint ladder
from cnnlab.checks import check_array  # noqa: E402
from cnnlab.exercises import _core  # noqa: E402
from cnnlab.exercises._core import ok, self_check  # noqa: E402

_SECRET = 4817  # a value that appears in no hint and no message


@self_check(hints=("think about the first step", "now the second step", "almost there: combine them"),
            answer=f"the worked answer is {_SECRET}")
def check_ladder_demo(answer):
    check_array(float(answer), float(_SECRET), what="your number", reveal=False)
    ok("that is the number.")


@self_check
def check_bare_demo(answer):
    if answer != 3:
        raise GradingError("not three")
    ok("three.")


@pytest.fixture
def student(monkeypatch):
    """A student's kernel: strict mode off, no hint or answer seen yet."""
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    _core.reset_progress()
    yield
    _core.reset_progress()


def test_wrong_answer_prints_the_message_and_how_to_get_a_hint(student, capsys):
    assert check_ladder_demo(12) is False
    out = capsys.readouterr().out
    assert out.startswith("✗ Not yet: your number = 12 is not right")
    assert "Type exercises.hint('ladder_demo') for a hint." in out
    assert str(_SECRET) not in out


def test_hints_come_in_order_and_count_down(student, capsys):
    ex.hint("ladder_demo")
    out = capsys.readouterr().out
    assert "Hint 1 of 3 for 'ladder_demo': think about the first step" in out and "(2 more:" in out
    ex.hint("ladder_demo")
    assert "Hint 2 of 3" in (out := capsys.readouterr().out) and "now the second step" in out and "(1 more:" in out
    ex.hint("check_ladder_demo")  # the check's full name works too
    out = capsys.readouterr().out
    assert "Hint 3 of 3" in out and "last hint" in out and "show_answer('ladder_demo')" in out
    ex.hint("ladder_demo")
    assert "seen all 3 hints" in capsys.readouterr().out
    ex.hint("ladder_demo", 1)  # an earlier hint again, by number
    assert "Hint 1 of 3 for 'ladder_demo': think about the first step" in capsys.readouterr().out
    assert str(_SECRET) not in "".join(check_ladder_demo.__wrapped__.__doc__ or "")


def test_hint_n_jumps_and_bad_n_is_explained(student, capsys):
    ex.hint("ladder_demo", 2)
    assert "Hint 2 of 3" in capsys.readouterr().out
    ex.hint("ladder_demo")  # the next one after the furthest seen
    assert "Hint 3 of 3" in capsys.readouterr().out
    for bad in (0, 4, "2", True):
        with pytest.raises(ValueError, match="has hints 1 to 3"):
            ex.hint("ladder_demo", bad)


def test_show_answer_then_a_right_answer_says_so(student, capsys):
    assert check_ladder_demo(_SECRET) is True
    assert capsys.readouterr().out == "✓ Correct: that is the number.\n"
    ex.show_answer("ladder_demo")
    assert capsys.readouterr().out == f"Answer for 'ladder_demo': the worked answer is {_SECRET}\n"
    assert check_ladder_demo(_SECRET) is True
    assert capsys.readouterr().out == "✓ Correct (you viewed the answer): that is the number.\n"
    _core.reset_progress()
    check_ladder_demo(_SECRET)
    assert "(you viewed the answer)" not in capsys.readouterr().out


def test_unknown_names_get_a_kind_error_listing_the_known_ones(student):
    with pytest.raises(ValueError, match="no exercise named 'pixel_cout'") as err:
        ex.hint("pixel_cout")
    assert "ladder_demo" in str(err.value) and "pixel_count" in str(err.value)
    with pytest.raises(ValueError, match="no exercise named"):
        ex.show_answer("nonsense")
    with pytest.raises(TypeError, match="as a string"):
        ex.hint(42)


def test_the_check_function_itself_names_its_exercise(student, capsys):
    ex.hint(check_ladder_demo)
    assert "Hint 1 of 3 for 'ladder_demo'" in capsys.readouterr().out


def test_bare_self_check_still_works(student, capsys):
    assert check_bare_demo(3) is True and check_bare_demo(2) is False
    out = capsys.readouterr().out
    assert out == "✓ Correct: three.\n✗ Not yet: not three\n"  # no hint line when there are no hints
    ex.hint("bare_demo")
    assert "has no hints" in capsys.readouterr().out
    ex.show_answer("bare_demo")
    assert "no written answer" in capsys.readouterr().out


def test_strict_mode_raises_as_before(monkeypatch, capsys):
    monkeypatch.setenv(ex.STRICT_ENV, "1")
    with pytest.raises(GradingError, match="is not right"):
        check_ladder_demo(12)
    with pytest.raises(ex.NotAttempted):
        check_ladder_demo(None)
    assert check_ladder_demo(_SECRET) is True
    assert "hint" not in capsys.readouterr().out


def test_ladder_definitions_are_checked():
    with pytest.raises(TypeError, match="tuple of strings"):
        self_check(hints="one long hint")(lambda a: None)
    with pytest.raises(TypeError, match="non-empty string"):
        self_check(hints=("fine", ""))(lambda a: None)

    def check_pixel_count(answer):  # the same name as lecture 00's check, from another module
        return None
    with pytest.raises(ValueError, match="two self-checks are named 'check_pixel_count'"):
        self_check(hints=("a",))(check_pixel_count)


# ----------------------------------------------------------------- check_array(reveal=False)
@pytest.mark.parametrize("got,expected,words", [
    (12.0, 4817.0, "your answer = 12 is not right; the error is large"),
    (4817.5, 4817.0, "is not right; the error is tiny"),
    ("4817", 4817.0, "expected a number"),
    ([1.0, 2.0], np.array([4817.0, 9634.0]), "expected a numpy array"),
    (np.zeros((2, 2)), np.full((3, 3), 4817.0), "has shape (2, 2), which is not the expected shape"),
    (np.array([[1.0, 4817.0], [4817.0, 4817.0]]), np.full((2, 2), 4817.0), "wrong at 1 of 4 elements (at (0, 0))"),
    (-np.arange(1.0, 5).reshape(2, 2) * 4817, np.arange(1.0, 5).reshape(2, 2) * 4817, "opposite sign"),
    (np.arange(1.0, 5).reshape(2, 2).T * 4817, np.arange(1.0, 5).reshape(2, 2) * 4817, "transpose"),
    (np.arange(1.0, 10).reshape(3, 3)[::-1, ::-1] * 4817, np.arange(1.0, 10).reshape(3, 3) * 4817, "180°"),
    (np.arange(1.0, 5) * 4817 / 4, np.arange(1.0, 5) * 4817, "same factor"),
    (np.arange(1.0, 5) * 4817 + 1, np.arange(1.0, 5) * 4817, "same amount"),
    (np.array([1, 0, 1], dtype=bool), np.array([4817.0, 0, 4817.0]), "True/False"),
])
def test_check_array_can_keep_the_expected_values_hidden(got, expected, words):
    with pytest.raises(GradingError) as err:
        check_array(got, expected, what="your answer", reveal=False)
    text = str(err.value)
    assert words in text
    for hidden in ("4817", "9634", "4,817", "4.817", "(3, 3)"):
        assert hidden not in text.replace("4817.5", ""), text


def test_check_array_reveals_by_default():
    with pytest.raises(GradingError, match="got 1, expected 4817"):
        check_array(np.array([1.0, 4817.0]), np.array([4817.0, 4817.0]))
    with pytest.raises(GradingError, match="expected \\(3, 3\\)"):
        check_array(np.zeros((2, 2)), np.zeros((3, 3)))
