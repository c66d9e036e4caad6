"""cnnlab.exercises: right answers pass quietly, typical mistakes get a precise hint."""
from __future__ import annotations

import functools
import pydoc

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


def _by_taps(x, k):  # the loop order the exercise asks for, independent of _correlate's
    kh, kw = k.shape
    h, w = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.zeros((h, w))
    for u in range(kh):
        for v in range(kw):
            out += k[u, v] * x[u:u + h, v:v + w]
    return out


def _dilate(k, d):
    out = np.zeros(((k.shape[0] - 1) * d + 1, (k.shape[1] - 1) * d + 1))
    for (u, v), value in np.ndenumerate(k):
        out[u * d, v * d] = value
    return out


def _strided_heights():
    """(same, valid) output heights of a 3x3 kernel at stride 3 on 128 pixels, by brute force."""
    import torch
    import torch.nn.functional as F
    valid = F.conv2d(torch.zeros(1, 1, 128, 128), torch.zeros(1, 1, 3, 3), stride=3).shape[-1]
    total = max((-(-128 // 3) - 1) * 3 + 3 - 128, 0)
    same = F.conv2d(torch.zeros(1, 1, 128 + total, 128 + total), torch.zeros(1, 1, 3, 3), stride=3).shape[-1]
    return same, valid


def _avg_shift_counts():
    from cnnlab.data.samples import stripes_for_pooling
    img = stripes_for_pooling(8)

    def pool(a):
        return a.reshape(4, 2, 4, 2).mean(axis=(1, 3))
    counts = []
    for dx in (1, 2):
        moved = np.concatenate([np.zeros((8, dx)), img[:, :-dx]], axis=1)
        counts.append(int((np.abs(pool(moved) - pool(img)) > 1e-12).sum()))
    return tuple(counts)


@functools.lru_cache(maxsize=1)
def _brightness_measured():
    from cnnlab.data.photos import load_photo
    photo = load_photo("china", size=160, gray=True)
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1.0]])
    base = np.abs(_by_taps(photo, sobel)).max()
    return np.abs(_by_taps(photo + 0.3, sobel)).max() / base, np.abs(_by_taps(2 * photo, sobel)).max() / base


def test_right_answers_pass(capsys):
    top = np.zeros((6, 6))
    top[:3] = 10
    assert ex.check_pixel_count(2352)
    assert ex.check_to_chw(lambda im: np.moveaxis(im, -1, 0))
    assert ex.check_predict_tensor_memory((4, 8), (4.0, 8.0))
    assert ex.check_dense_vs_conv(64 * 64 * 3 * 50 + 50, 2432)
    assert ex.check_horizontal_edges(_correlate(top, np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1.0]])))
    assert ex.check_correlate2d(_by_taps)
    assert ex.check_correlate2d(_correlate)
    assert ex.check_conv_layer_shape((16, 28, 28))
    assert ex.check_predict_brightness((1, 2), _brightness_measured())
    assert ex.check_output_sizes([5, 3, 3, 55])
    assert ex.check_same_padding((1, 2))
    assert ex.check_padding_modes((4, 8, 12))
    assert ex.check_dilated_output(7)
    assert ex.check_dilate_kernel(_dilate)
    assert _strided_heights() == (43, 42)
    assert ex.check_predict_strided_size((43, 42), _strided_heights())
    assert ex.check_max_pool_2x2(_max_pool)
    assert ex.check_pool_output_shape((8, 96, 27, 27))
    assert ex.check_channel_pool_shape((1, 3, 10, 10))
    assert _avg_shift_counts() == (0, 16)
    assert ex.check_predict_average_pool_shift((0, 16), _avg_shift_counts())
    assert capsys.readouterr().out.count("✓ Correct") == 19


@pytest.mark.parametrize("call,message", [
    (lambda: ex.check_pixel_count(784), "one channel"),
    (lambda: ex.check_pixel_count(3136), "four channels"),
    (lambda: ex.check_to_chw(lambda im: im.reshape(im.shape[2], im.shape[0], im.shape[1])), "scrambled"),
    (lambda: ex.check_to_chw(lambda im: im.transpose(2, 1, 0)), "height and width swapped"),
    (lambda: ex.check_predict_tensor_memory((32, 64), (4.0, 8.0)), "counts bits"),
    (lambda: ex.check_predict_tensor_memory((4, 4), (4.0, 8.0)), "float64 .* is off: the measurement is larger"),
    (lambda: ex.check_predict_tensor_memory((4, 8), (4.0, 4.0)), "does not match"),
    (lambda: ex.check_dense_vs_conv(64 * 64 * 3 * 50, 2432), "add one bias per output unit"),
    (lambda: ex.check_dense_vs_conv(64 * 64 * 50 + 50, 2432), "3 colour channels"),
    (lambda: ex.check_dense_vs_conv(614_450, 5 * 5 * 32 + 32), "as deep as the input"),
    (lambda: ex.check_dense_vs_conv(614_450, 5 * 5 * 3 * 32), "one bias per filter"),
    (lambda: ex.check_dense_vs_conv(614_450, 76 * 32 * 64), "image size does not enter"),
    (lambda: ex.check_correlate2d(lambda x, k: _correlate(x, k[::-1, ::-1])), "do not flip the kernel"),
    (lambda: ex.check_correlate2d(lambda x, k: x), "has shape"),
    (lambda: ex.check_correlate2d(lambda x, k: 1 / 0), "raised ZeroDivisionError"),
    (lambda: ex.check_correlate2d(_correlate(np.ones((3, 3)), np.ones((2, 2)))), "pass the function itself"),
    (lambda: ex.check_conv_layer_shape((16, 3, 28, 28)), "no separate axis"),
    (lambda: ex.check_conv_layer_shape((3, 28, 28)), "number of filters"),
    (lambda: ex.check_conv_layer_shape((16, 32, 32)), "the map shrinks"),
    (lambda: ex.check_conv_layer_shape((16, 27, 27)), "shifts"),
    (lambda: ex.check_predict_brightness((1.3, 2), _brightness_measured()), "photo \\+ 0.3 .*smaller.*add up to"),
    (lambda: ex.check_predict_brightness((1, 4), _brightness_measured()), "linear"),
    (lambda: ex.check_predict_brightness((1, 2), (1.0, 3.0)), "does not match"),
    (lambda: ex.check_output_sizes([(n + 2 * p - f) / s + 1 for n, f, p, s in ex.OUTPUT_SIZE_CASES]), "round down"),
    (lambda: ex.check_output_sizes([(n + 2 * p - f) // s for n, f, p, s in ex.OUTPUT_SIZE_CASES]), "forget the \\+ 1"),
    (lambda: ex.check_output_sizes([(n + p - f) // s + 1 for n, f, p, s in ex.OUTPUT_SIZE_CASES]), "both sides"),
    (lambda: ex.check_output_sizes([n + 2 * p - f + 1 for n, f, p, s in ex.OUTPUT_SIZE_CASES]), "divide by the stride"),
    (lambda: ex.check_output_sizes([4, 3]), "give 4 numbers"),
    (lambda: ex.check_output_sizes([5, 3, 3, 56]), "n=227, f=11, p=0, s=4 your width 56 is not it"),
    (lambda: ex.check_same_padding((2, 1)), "bottom/right"),
    (lambda: ex.check_same_padding((2, 2)), "stride 1"),
    (lambda: ex.check_same_padding((0, 1)), "ceil\\(n/s\\)"),
    (lambda: ex.check_same_padding("x"), "pair"),
    (lambda: ex.check_padding_modes((4, 8, 10)), "EACH side"),
    (lambda: ex.check_padding_modes((4, 6, 12)), "same:"),
    (lambda: ex.check_dilated_output(11), "without dilation"),
    (lambda: ex.check_dilated_output(6), "not d·f"),
    (lambda: ex.check_dilate_kernel(lambda k, d: np.kron(k, np.eye(d)[0][None])), "shape"),
    (lambda: ex.check_dilate_kernel(lambda k, d: _dilate(k, d).T.copy() if k.shape == (3, 3) else _dilate(k, d)),
     "transpose"),
    (lambda: ex.check_predict_strided_size((128, 42), _strided_heights()), "'same' at a stride above 1"),
    (lambda: ex.check_predict_strided_size((43, 43), _strided_heights()), "'valid' .*smaller.*round down"),
    (lambda: ex.check_max_pool_2x2(lambda x: x[: x.shape[0] // 2 * 2, : x.shape[1] // 2 * 2]
                                   .reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2).mean(axis=(1, 3))),
     "average pooling"),
    (lambda: ex.check_max_pool_2x2(lambda x: None), "not attempted yet — your function returns None"),
    (lambda: ex.check_pool_output_shape((8, 96, 28, 28)), "round down"),
    (lambda: ex.check_pool_output_shape((8, 96, 26, 26)), "add 1"),
    (lambda: ex.check_pool_output_shape((8, 96, 18, 18)), "overlap"),
    (lambda: ex.check_pool_output_shape((8, 48, 27, 27)), "channels do not change"),
    (lambda: ex.check_channel_pool_shape((1, 12, 5, 5)), "pools over space"),
    (lambda: ex.check_channel_pool_shape((1, 4, 10, 10)), "group size"),
    (lambda: ex.check_predict_average_pool_shift((16, 16), _avg_shift_counts()), "shift \\+1 .*smaller"),
    (lambda: ex.check_predict_average_pool_shift((0, 8), _avg_shift_counts()), "shift \\+2 .*larger"),
])
def test_mistakes_get_a_specific_hint(call, message):
    with pytest.raises(GradingError, match=message):
        call()


# (a wrong answer, the expected value it must not reveal) for checks whose expected value is a number or shape
_NO_REVEAL = [
    (lambda: ex.check_pixel_count(2000), ["2352", "2,352"]),
    (lambda: ex.check_dense_vs_conv(600_000, 2432), ["614450", "614,450", "12288", "12,288"]),
    (lambda: ex.check_dense_vs_conv(614_450, 2000), ["2432", "2,432"]),
    (lambda: ex.check_conv_layer_shape((16, 30, 30)), ["28"]),
    (lambda: ex.check_conv_layer_shape((16, 32, 32)), ["28"]),
    (lambda: ex.check_output_sizes([5, 3, 3, 54]), ["55"]),
    (lambda: ex.check_same_padding((0, 3)), ["(1, 2)", "1, 2"]),
    (lambda: ex.check_padding_modes((5, 8, 12)), ["4"]),
    (lambda: ex.check_padding_modes((4, 7, 12)), ["8"]),
    (lambda: ex.check_padding_modes((4, 8, 13)), ["12"]),
    (lambda: ex.check_dilated_output(5), ["7", "9"]),
    (lambda: ex.check_pool_output_shape((8, 96, 25, 25)), ["27"]),
    (lambda: ex.check_channel_pool_shape((1, 6, 10, 10)), ["(1, 3", " 3,"]),
    (lambda: ex.check_predict_tensor_memory((2, 8), (4.0, 8.0)), ["4 MB", "(4", " 4 "]),
    (lambda: ex.check_predict_strided_size((40, 42), (43, 42)), ["43"]),
    (lambda: ex.check_horizontal_edges(np.zeros((4, 4))), ["30"]),
    (lambda: ex.check_horizontal_edges(np.zeros((6, 6))), ["(4, 4)", "30"]),
]


@pytest.mark.parametrize("call,hidden", _NO_REVEAL)
def test_wrong_answers_never_print_the_expected_value(call, hidden, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert call() is False
    out = capsys.readouterr().out
    assert out.startswith("✗ Not yet: ")
    assert "Type exercises.hint('" in out
    message = out.splitlines()[0]
    for value in hidden:
        assert value not in message, f"{message!r} reveals {value!r}"


def test_every_check_of_lectures_00_03_has_a_ladder():
    from cnnlab.exercises import _core, learning_convolutions, lectures_00_03
    for module in (lectures_00_03, learning_convolutions):
        for name in module.__all__:
            if name.startswith("check_"):
                ladder = _core._LADDERS[name.removeprefix("check_")]
                assert 2 <= len(ladder.hints) <= 3 and ladder.answer, name


@pytest.mark.parametrize("check", [ex.check_pixel_count, ex.check_correlate2d, ex.check_padding_modes,
                                   ex.check_channel_pool_shape])
def test_none_is_not_attempted(check, capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert check(None) is False
    assert "not attempted yet" in capsys.readouterr().out
    monkeypatch.setenv(ex.STRICT_ENV, "1")
    with pytest.raises(ex.NotAttempted):
        check(None)


def test_predictions_left_none_are_not_attempted(capsys, monkeypatch):
    monkeypatch.delenv(ex.STRICT_ENV, raising=False)
    assert ex.check_predict_average_pool_shift(None, _avg_shift_counts()) is False
    assert "not attempted yet" in capsys.readouterr().out


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
    """The demo's question: which number is it?"""
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
    shown = pydoc.render_doc(check_ladder_demo, renderer=pydoc.plaintext)  # help(...) or check_...? in a notebook
    assert "The demo's question" in shown and str(_SECRET) not in shown


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


@pytest.mark.parametrize("name,hidden", [
    ("pixel_count", ["2352"]), ("dense_vs_conv", ["614", "2432", "2,432"]), ("conv_layer_shape", ["28"]),
    ("output_sizes", ["55"]), ("same_padding", ["(1, 2)"]), ("dilated_output", ["7 "]),
    ("pool_output_shape", ["27"]), ("channel_pool_shape", ["(1, 3"]), ("predict_tensor_memory", ["4 MB", "8 MB"]),
    ("predict_strided_size", ["43", "42"]), ("predict_average_pool_shift", ["(0, 16)"]),
    ("receptive_field_sizes", ["14", "29"]), ("im2col_shapes", ["6272"]),
])
def test_hints_never_state_the_value_but_the_answer_does(name, hidden):
    ladder = _core._LADDERS[name]
    for text in ladder.hints:
        for value in hidden:
            assert value not in text, f"a hint of {name} states {value!r}: {text!r}"
    assert any(value.strip() in ladder.answer for value in hidden)
