"""Assignment 1 end to end with the real nbgrader: a simulated class graded by the parallel grader.

One course per module: generate, then eleven submissions (reference, untouched release, realistic
mistakes, answers that call the reference, and hostile or broken notebooks) graded in one
``python -m cnnlab.course grade --jobs 2`` run; then the exchange round trip, validate, report.
"""
from __future__ import annotations

import csv
import os
import sqlite3

import nbformat
import pytest

from _course import Course, total, verification

A = "a1_conv_from_scratch"
FULL = {"test_output_size": 2, "test_same_padding": 2, "test_conv_forward": 4, "test_max_pool_forward": 3,
        "test_avg_pool_forward": 2, "test_conv_backward": 3, "test_max_pool_backward": 2,
        "test_conv_forward_fast": 2}

CONV_NO_STRIDE = '''
def conv_forward(x, w, b, stride=1, padding=0):
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = h + 2 * padding - kh + 1, wd + 2 * padding - kw + 1
    out = np.zeros((n, k, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = np.tensordot(xp[:, :, i:i + kh, j:j + kw], w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out
'''
MISTAKES = {
    # hard-codes the visible tests' answers
    "output_size": "def output_size(n, f, p=0, s=1):\n    return {(6, 3, 0, 1): 4, (7, 3, 1, 2): 4, (5, 5, 2, 1): 5}.get((n, f, p, s), 1)\n",
    # off by one: the extra padding goes before instead of after
    "same_padding": "def same_padding(n, f, s=1):\n    out = -(-n // s)\n    total = max((out - 1) * s + f - n, 0)\n"
                    "    return total - total // 2, total // 2\n",
    "conv_forward": CONV_NO_STRIDE,
    # only square inputs work: the height is used for both axes
    "max_pool_forward": '''
def max_pool_forward(x, size, stride=None):
    stride = stride or size
    n, c, h, _ = x.shape
    ho = (h - size) // stride + 1
    out = np.zeros((n, c, ho, ho))
    for i in range(ho):
        for j in range(ho):
            out[:, :, i, j] = x[:, :, i*stride:i*stride+size, j*stride:j*stride+size].max(axis=(2, 3))
    return out
''',
    # pools over the channel axis
    "avg_pool_forward": '''
def avg_pool_forward(x, size, stride=None):
    stride = stride or size
    n, c, h, w = x.shape
    co, ho = (c - size) // stride + 1, (h - size) // stride + 1
    out = np.zeros((n, co, ho, w))
    for i in range(co):
        for j in range(ho):
            out[:, i, j, :] = x[:, i*stride:i*stride+size, j*stride:j*stride+size, :].mean(axis=(1, 2))
    return out
''',
}
LAZY = {
    "conv_forward": "from cnnlab.ops import conv2d as my_conv\n\ndef conv_forward(x, w, b, stride=1, padding=0):\n"
                    "    return my_conv(x, w, b, stride=stride, padding=padding)\n",
    "conv_forward_fast": "import torch\nimport torch.nn.functional as F\n\ndef conv_forward_fast(x, w, b, stride=1, padding=0):\n"
                         "    return F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=stride,"
                         " padding=padding).numpy()\n",
    "max_pool_forward": "import cnnlab.ops as helper\n_pool = helper.max_pool2d\n\ndef max_pool_forward(x, size, stride=None):\n"
                        "    return _pool(x, size, stride)\n",
}
BROKEN = {
    "output_size": "def output_size(n, f, p=0, s=1):\n    while True:\n        pass\n",
    "same_padding": "def same_padding(n, f, s=1):\n    big = np.ones(10**11)\n    return 0, 0\n",
    "max_pool_forward": "def max_pool_forward(x, size, stride=None)\n    return x\n",
}


def escape_attempts(root: str) -> str:
    return f'''
import glob, os, shutil
attempts = {{}}
for target in ["../../../gradebook.db", "{root}/gradebook.db", "../../../source", "{root}/source"]:
    try:
        if os.path.isdir(target):
            shutil.rmtree(target)
        else:
            os.remove(target)
        attempts[target] = "deleted"
    except OSError as exc:
        attempts[target] = type(exc).__name__
for target in ["{root}/PWNED", "../../../PWNED", "/tmp/PWNED-cnnlab"]:
    try:
        open(target, "w").write("x")
    except OSError:
        pass
try:
    open("../../ref/{A}/{A}.ipynb", "w").write("{{}}")
except OSError:
    pass
''' + "\ndef output_size(n, f, p=0, s=1):\n    return (n + 2 * p - f) // s + 1\n"


TRANSFORMER = "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n" \
              "def output_size(n, f, p=0, s=1):\n    raise NotImplementedError()\n"
REBIND = ("import numpy\nimport cnnlab.course.grading\nnumpy.allclose = lambda *a, **k: True\n"
          "cnnlab.course.grading.check_function = lambda *a, **k: 1\ncnnlab.course.grading.check_array = lambda *a, **k: None\n"
          "checks.check_conv_forward = lambda *a, **k: None\n" + CONV_NO_STRIDE)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    c = Course(tmp_path_factory.mktemp("a1course"), cell_timeout=15)
    c.course("init")
    c.nbgrader("generate_assignment", A)
    root = str(c.root)
    c.submit(A, "ref", c.answered(A))
    c.submit(A, "blank", c.release(A))
    c.submit(A, "mistakes", c.answered(A, **MISTAKES))
    c.submit(A, "lazy", c.answered(A, **LAZY))
    c.submit(A, "broken", c.answered(A, **BROKEN))
    c.submit(A, "escape", c.answered(A, output_size=escape_attempts(root)))
    c.submit(A, "transformer", c.release(A))
    nb = c.release(A)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "output_size":
            cell.source = TRANSFORMER
    c.submit(A, "transformer", nb)
    c.submit(A, "rebind", c.answered(A, conv_forward=REBIND))
    tampered = c.answered(A, conv_forward=CONV_NO_STRIDE)
    for cell in tampered.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_conv_forward":
            cell.source = "pass  # nothing to see here"
    c.submit(A, "tamper", tampered)
    c.submit(A, "corrupt", raw='{"cells": [ this is not json')
    c.submit(A, "missing")
    c.graded = c.course("grade", A, "--jobs", "2")
    return c


def test_generate_release_has_no_solution_and_no_hidden_tests(course):
    text = (course.root / "release" / A / f"{A}.ipynb").read_text()
    for leak in ("BEGIN SOLUTION", "HIDDEN TESTS", "hidden=True", "return (n + 2 * p - f) // s + 1", "nchwij,kcij->nkhw"):
        assert leak not in text
    assert "raise NotImplementedError()" in text


def test_reference_full_marks_release_zero(course):
    scores = course.scores(A)
    assert scores["ref"] == pytest.approx({**FULL, "written_pooling_shift": 0.0})
    assert total(scores["blank"]) == 0
    assert verification(course, A, "ref")["changed"] == []  # nbgrader's own scores, untouched


def test_realistic_mistakes_lose_exactly_their_points(course):
    got = course.scores(A)["mistakes"]
    wrong = {"test_output_size", "test_same_padding", "test_conv_forward", "test_max_pool_forward",
             "test_avg_pool_forward"}
    for gid, points in FULL.items():
        assert got[gid] == (0 if gid in wrong else points), gid
    assert verification(course, A, "mistakes")["changed"] == []  # the kernel and the verifier agree
    messages = verification(course, A, "mistakes")["verdicts"][A]
    assert "did you apply the stride" in messages["test_conv_forward"]["message"]
    assert "only square inputs" in messages["test_max_pool_forward"]["message"] or "height" in \
        messages["test_max_pool_forward"]["message"]


def test_calling_the_reference_scores_nothing_for_that_question(course):
    got = course.scores(A)["lazy"]
    for gid, points in FULL.items():
        lazy = gid in {"test_conv_forward", "test_conv_forward_fast", "test_max_pool_forward"}
        assert got[gid] == (0 if lazy else points), gid
    message = verification(course, A, "lazy")["verdicts"][A]["test_conv_forward"]["message"]
    assert "cnnlab.ops.conv2d" in message


def test_broken_cells_cost_only_their_questions(course):
    got = course.scores(A)["broken"]
    for gid, points in FULL.items():
        bad = gid in {"test_output_size", "test_same_padding", "test_max_pool_forward"}
        assert got[gid] == (0 if bad else points), gid


def test_escape_attempts_fail_and_gradebook_survives(course):
    root = course.root
    assert (root / "gradebook.db").exists() and (root / "source" / A / f"{A}.ipynb").exists()
    assert not (root / "PWNED").exists() and not (root.parent / "PWNED").exists()
    with sqlite3.connect(root / "gradebook.db") as db:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    got = course.scores(A)
    assert got["escape"] == pytest.approx({**FULL, "written_pooling_shift": 0.0})
    submitted = nbformat.read(str(root / "submitted" / "ref" / A / f"{A}.ipynb"), as_version=4)
    assert len(submitted.cells) > 5  # another student's files were not reachable


def test_kernel_tricks_do_not_earn_points(course):
    got = course.scores(A)
    assert total(got["transformer"]) == 0
    rebind = got["rebind"]
    assert rebind["test_conv_forward"] == 0
    assert total(rebind) == sum(FULL.values()) - FULL["test_conv_forward"]
    assert any("test_conv_forward" in c for c in verification(course, A, "rebind")["changed"])


def test_edited_locked_test_cell_is_restored(course):
    assert course.scores(A)["tamper"]["test_conv_forward"] == 0


def test_unreadable_or_missing_notebooks_do_not_stop_the_run(course):
    out = course.graded.stdout
    assert "11 submissions graded" in out
    scores = course.scores(A)
    assert total(scores.get("corrupt", {})) == 0 and total(scores.get("missing", {})) == 0
    for student in ("ref", "mistakes", "lazy", "escape"):
        assert student in scores


def test_validate_passes_on_the_reference(course):
    path = course.root / "source" / A / f"{A}.ipynb"
    out = course.nbgrader("validate", str(path)).stdout
    assert "Success! Your notebook passes all the tests." in out


def test_report_writes_csv_and_png(course):
    out = course.course("report", A, "--out", str(course.base / "reports")).stdout
    rows = list(csv.reader(open(course.base / "reports" / f"{A}_scores.csv")))
    header = rows[0]
    assert header[0] == "student" and "test_conv_forward" in header and header[-1] == "total"
    by_student = {r[0]: r for r in rows[2:]}
    assert float(by_student["ref"][-1]) == sum(FULL.values())
    assert (course.base / "reports" / f"{A}_scores.png").stat().st_size > 5000
    assert "wrote" in out


def test_exchange_round_trip(course):
    """release → fetch → submit (two students) → collect → grade → feedback → fetch_feedback → export."""
    c = course
    c.nbgrader("release_assignment", A)
    student_args = [f"--Exchange.root={c.exchange}", "--CourseDirectory.course_id=cnnlab"]
    homes = {}
    for student in ("ex_ref", "ex_blank"):
        home = c.base / "homes" / student
        home.mkdir(parents=True)
        homes[student] = home
        env = {"HOME": str(home), "USER": student, "LOGNAME": student}
        c.run(str(os.path.join(os.path.dirname(os.sys.executable), "nbgrader")), "fetch_assignment", A,
              *student_args, cwd=home, env=env)
        nb_path = home / A / f"{A}.ipynb"
        assert nb_path.exists()
        if student == "ex_ref":
            nbformat.write(c.answered(A), str(nb_path))
        # nbgrader names the submission after the OS user unless --student is given
        c.run(str(os.path.join(os.path.dirname(os.sys.executable), "nbgrader")), "submit", A, *student_args,
              f"--student={student}", cwd=home, env=env)
    c.nbgrader("collect", A)
    assert (c.root / "submitted" / "ex_ref" / A / f"{A}.ipynb").exists()
    c.course("grade", A, "--jobs", "2", "--student", "ex_ref", "--student", "ex_blank")
    scores = c.scores(A)
    assert total(scores["ex_ref"]) == sum(FULL.values()) and total(scores["ex_blank"]) == 0
    c.nbgrader("generate_feedback", A, "--student", "ex_ref")
    c.nbgrader("release_feedback", A, "--student", "ex_ref")
    env = {"HOME": str(homes["ex_ref"]), "USER": "ex_ref", "LOGNAME": "ex_ref"}
    c.run(str(os.path.join(os.path.dirname(os.sys.executable), "nbgrader")), "fetch_feedback", A, *student_args,
          "--student=ex_ref", cwd=homes["ex_ref"], env=env)
    assert list((homes["ex_ref"] / A / "feedback").rglob("*.html"))
    c.nbgrader("export")
    rows = {r["student_id"]: r for r in csv.DictReader(open(c.root / "grades.csv")) if r["assignment"] == A}
    assert float(rows["ex_ref"]["raw_score"]) == sum(FULL.values())
    assert float(rows["ref"]["raw_score"]) == sum(FULL.values())
