"""cnnlab.course.questions: check_array's verdicts and messages, check_function, and reference detection."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab.course.questions import Case, GradingError, ReferenceUsedError, check_array, check_function, random_cases


def _error(got, expected, **kw) -> GradingError:
    with pytest.raises(GradingError) as info:
        check_array(got, expected, **kw)
    assert isinstance(info.value, AssertionError)
    return info.value


def test_equal_arrays_pass_and_tolerance_is_relative_plus_absolute():
    x = np.linspace(-3, 3, 24).reshape(2, 3, 4)
    check_array(x.copy(), x)
    check_array(x * (1 + 5e-7), x)
    check_array(torch.from_numpy(x), x)
    check_array(3, 3.0)
    assert _error(x * (1 + 5e-6), x).kind == "values"


def test_none_names_the_missing_return():
    err = _error(None, np.zeros(3))
    assert err.kind == "none" and "returned None" in str(err) and "return out" in str(err)


@pytest.mark.parametrize(
    "got, expected, words",
    [
        ((1, 4, 4), (1, 3, 3), "did you apply the stride"),
        ((2, 3, 2, 2), (2, 3, 4, 4), "did you pad"),
        ((3, 3), (1, 3, 3), "batch dimension"),
        ((2, 3, 5, 4), (2, 3, 4, 5), "only square inputs"),
        ((2, 1, 4, 4), (2, 3, 2, 2), "channel axis"),
        ((2, 8, 4, 4), (2, 3, 4, 4), "one channel per filter"),
        ((2, 4, 4, 3), (2, 3, 4, 4), "wrong order"),
    ],
)
def test_shape_mismatch_message_and_hint(got, expected, words):
    err = _error(np.zeros(got), np.zeros(expected))
    assert err.kind == "shape"
    assert str(err).startswith(f"your output has shape {got}, expected {expected}")
    assert words in str(err)


def test_custom_hint_replaces_the_guess():
    err = _error(np.zeros((1, 4, 4)), np.zeros((1, 3, 3)), hint="use the formula", what="pooled")
    assert str(err) == "pooled has shape (1, 4, 4), expected (1, 3, 3): use the formula"


def test_value_mismatch_reports_largest_error_index_and_count():
    expected = np.zeros((2, 3))
    got = expected.copy()
    got[0, 1] = 0.5
    got[1, 2] = -2.0
    msg = str(_error(got, expected))
    assert "2 of 6 elements" in msg and "index (1, 2)" in msg and "got -2, expected 0" in msg


def test_nan_and_inf_are_reported_as_such():
    assert "NaN" in str(_error(np.array([0.0, np.nan]), np.zeros(2)))
    err = _error(np.array([np.inf, 0.0]), np.zeros(2))
    assert err.kind == "nonfinite" and "inf" in str(err)


def test_wrong_types_are_explained():
    assert _error([1.0, 2.0], np.zeros(2)).kind == "type"
    assert _error("3", 3).kind == "type"
    assert _error(np.zeros(2), 3.0).kind == "shape"


def test_rebinding_numpy_allclose_does_not_change_the_verdict(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "isclose", lambda a, b, **k: np.ones(np.shape(a), bool))
    monkeypatch.setattr(np, "abs", lambda a: a * 0)
    for name in ("absolute", "subtract", "less_equal"):
        monkeypatch.setattr(np, name, lambda *a, **k: np.zeros(np.shape(a[0]), bool))
    with pytest.raises(GradingError):
        check_array(np.ones(3), np.zeros(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_close_float_arrays_pass_and_anything_else_gets_the_full_check(dtype):
    """Float answers within tolerance take a short path; a NaN, an inf or one element out of
    tolerance among many still fails with the full explanation."""
    expected = np.random.default_rng(0).standard_normal((4, 3, 8, 8))
    check_array((expected * (1 + 1e-7)).astype(dtype), expected, rtol=1e-6 if dtype == np.float64 else 1e-5)
    same_inf = expected.copy()
    same_inf[0, 0, 0, 0] = np.inf
    check_array(same_inf.copy(), same_inf)  # an expected inf matched by an inf
    for bad_value, kind in ((np.nan, "nonfinite"), (np.inf, "nonfinite"), (1e3, "values")):
        got = expected.astype(dtype)
        got[3, 2, 7, 7] = bad_value
        err = _error(got, expected, rtol=1e-5)
        assert err.kind == kind and "(3, 2, 7, 7)" in str(err)


# --- check_function -------------------------------------------------------------------------

def reference_pool(x, size):
    n, c, h, w = x.shape
    ho, wo = h // size, w // size
    return x[:, :, : ho * size, : wo * size].reshape(n, c, ho, size, wo, size).max(axis=(3, 5))


def _cases(n=6):
    def gen(rng):
        return (rng.standard_normal((int(rng.integers(1, 3)), 2, int(rng.integers(4, 9)), int(rng.integers(4, 9)))),
                int(rng.integers(1, 4)))

    return random_cases(gen, n, seed=1)


def test_a_correct_answer_passes_every_case():
    assert check_function(lambda x, size: reference_pool(x.copy(), size), reference_pool, _cases()) == 6


def test_a_wrong_answer_fails_with_the_case_and_shapes():
    def pools_channels(x, size):
        return reference_pool(x.transpose(0, 2, 1, 3), size)

    with pytest.raises(GradingError, match=r"case 1 of 6 \(x shape \(\d, 2, \d, \d\), size=\d\): your output has shape"):
        check_function(pools_channels, reference_pool, _cases())


def test_only_square_inputs_fail_on_rectangular_case():
    def square_only(x, size):
        n, c, h, _ = x.shape
        return reference_pool(x[:, :, :, :h], size) if x.shape[3] >= h else reference_pool(x, size)[..., :0]

    cases = [Case((np.ones((1, 1, 4, 4)), 2)), Case((np.ones((1, 1, 4, 6)), 2))]
    with pytest.raises(GradingError, match="case 2 of 2"):
        check_function(square_only, reference_pool, cases)


def test_crash_not_implemented_and_inplace_are_reported():
    with pytest.raises(GradingError, match="not implemented yet"):
        check_function(lambda x, size: (_ for _ in ()).throw(NotImplementedError()), reference_pool, _cases(1))
    with pytest.raises(GradingError, match="raised ZeroDivisionError"):
        check_function(lambda x, size: 1 / 0, reference_pool, _cases(1))

    def inplace(x, size):
        x[...] = 0
        return reference_pool(x, size)

    with pytest.raises(GradingError, match="in place"):
        check_function(inplace, reference_pool, _cases(1))


def test_calling_the_reference_is_caught_statically_and_at_run_time():
    def lazy(x, size):
        return reference_pool(x, size)

    with pytest.raises(ReferenceUsedError, match="reference_pool"):
        check_function(lazy, reference_pool, _cases(1), forbidden=[reference_pool])

    hidden = {"f": reference_pool}

    def sneaky(x, size):  # the static check cannot see through the dict; the code swap can
        return hidden["f"](x, size)

    with pytest.raises(ReferenceUsedError, match="calls .*reference_pool"):
        check_function(sneaky, reference_pool, _cases(1), forbidden=[reference_pool])
    # and the reference is restored afterwards
    assert reference_pool(np.ones((1, 1, 2, 2)), 2).shape == (1, 1, 1, 1)


def test_calling_torch_operator_is_caught():
    def via_torch(x, size):
        return torch.nn.functional.max_pool2d(torch.from_numpy(x), size).numpy()

    with pytest.raises(ReferenceUsedError, match="max_pool2d"):
        check_function(via_torch, reference_pool, _cases(1), forbidden=["torch.nn.functional.max_pool2d"])


def test_tuple_outputs_are_compared_one_by_one():
    def ref(x):
        return x.sum(), x.max()

    check_function(lambda x: (x.sum(), x.max()), ref, [Case((np.arange(4.0),))])
    with pytest.raises(GradingError, match="should return 2 values"):
        check_function(lambda x: x.sum(), ref, [Case((np.arange(4.0),))])
    with pytest.raises(GradingError, match="maximum = 2 is not right") as err:
        check_function(lambda x: (x.sum(), x[2]), ref, [Case((np.arange(4.0),))], output_names=["sum", "maximum"])
    assert "3" not in err.value.message  # the expected maximum of a (possibly hidden) case is never shown


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_torch_cases_also_run_on_cuda():
    seen = []

    def student(t):
        seen.append(t.device.type)
        return t * 2

    check_function(student, lambda t: t * 2, [Case((torch.ones(3, dtype=torch.float64),))])
    assert seen == ["cpu", "cuda"]


def test_the_recorded_seed_reproduces_the_hidden_cases(monkeypatch):
    """The hidden cases of a grading run come from one seed: the same in every call of grade's own
    process (its fallback verification), handed to the nbgrader processes, recorded per student,
    and a new process given the recorded value draws exactly the same cases."""
    import json
    import os
    import subprocess
    import sys

    from cnnlab.course.grader import grade
    from cnnlab.course.questions.functions import SEED_ENV, random_cases

    monkeypatch.delenv(SEED_ENV, raising=False)
    code = ("import json; from cnnlab.course.questions.functions import random_cases\n"
            "cases = random_cases(lambda rng: (rng.standard_normal((2, 3)), int(rng.integers(1, 9))), 4)\n"
            "print(json.dumps([[c.args[0].tolist(), c.args[1]] for c in cases]))")

    def drawn(cases):
        return [[c.args[0].tolist(), c.args[1]] for c in cases]

    first = drawn(random_cases(lambda rng: (rng.standard_normal((2, 3)), int(rng.integers(1, 9))), 4))
    again = drawn(random_cases(lambda rng: (rng.standard_normal((2, 3)), int(rng.integers(1, 9))), 4))
    assert first == again  # one seed per grading process, not one per call
    recorded = grade._trusted_env("a1_conv_from_scratch")[SEED_ENV]
    assert recorded == os.environ[SEED_ENV]
    env = {**os.environ, SEED_ENV: recorded}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == first
    env[SEED_ENV] = str(int(recorded) + 1)
    other = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(other.stdout) != first
