"""Assignment 1 end to end with the real nbgrader: a simulated class graded by the parallel grader.

One course per module: generate, then twelve submissions graded in one ``python -m cnnlab.course
grade --jobs 2`` run: the reference and an honest variant (magics, display, plots, prints, helpers in
extra cells, unseeded randomness) get full marks; the untouched release, realistic mistakes, answers
that call the answer key, one attack per question, kernel cheats, broken, escaping and hostile
notebooks score 0 on what they attack (or are flagged), fail closed ("needs review", exit status 1)
and leave the others' scores alone. Then validate, report, the exchange round trip.
"""
from __future__ import annotations

import csv
import os
import sqlite3

import nbformat
import pytest

from _a1_mistakes import CONV_NO_STRIDE, MISTAKES
from _course import Course, total, verification
from _helpers import answer_key_lines

A = "a1_conv_from_scratch"
FULL = {"test_output_size": 2, "test_same_padding": 2, "test_conv_forward": 4, "test_max_pool_forward": 3,
        "test_avg_pool_forward": 2, "test_conv_backward": 3, "test_max_pool_backward": 2,
        "test_conv_forward_fast": 2}

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


BACKWARD_INPLACE = """
def conv_backward(dout, x, w, b, stride=1, padding=0):
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i * stride, i * stride + kh), slice(j * stride, j * stride + kw)
            g = dout[:, :, i, j]
            dw += np.tensordot(g, xp[:, :, rows, cols], axes=([0], [0]))
            dxp[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
    dout[...] = 0.0  # consumes its input in place
    return dxp[:, :, padding:padding + h, padding:padding + wd], dw, db
"""


# --- attacks: one per question, so one submission covers many (each must score 0 or be flagged) -------------
ATTACKS = {
    # the answer key in a subprocess: cannot be analysed -> flagged
    "output_size": "import subprocess, sys\ndef output_size(n, f, p=0, s=1):\n"
                   "    out = subprocess.run([sys.executable, '-c', f'import cnnlab.ops as o; "
                   "print(o.conv_output_size({n}, {f}, {p}, {s}))'], capture_output=True, text=True).stdout\n"
                   "    return int(out)\n",
    # a computed attribute name on the answer key -> flagged
    "same_padding": "import cnnlab\ndef same_padding(n, f, s=1):\n"
                    "    fn = getattr(cnnlab, 'o' + 'ps').resolve_padding\n"
                    "    top, bottom, _, _ = fn('same', (f, 1), (s, 1), input_size=(n, 1))\n    return top, bottom\n",
    # scipy through a module-level alias and a lambda -> 0
    "conv_forward": "import scipy.ndimage as nd\n_corr = nd.correlate\n_c = lambda a, k: _corr(a, k, mode='constant')\n"
                    + CONV_NO_STRIDE.replace("def conv_forward", "_unused = _c\ndef conv_forward").replace(
                        "out = np.zeros", "_c(x[0, 0], w[0, 0])\n    out = np.zeros"),
    # torch.ops.aten -> 0
    "max_pool_forward": "import torch\ndef max_pool_forward(x, size, stride=None):\n"
                        "    return torch.ops.aten.max_pool2d(torch.from_numpy(x), [size, size], "
                        "[stride or size, stride or size]).numpy()\n",
    # torch through module-level aliases -> 0
    "avg_pool_forward": "import torch\nF = torch.nn.functional\n_pool = F.avg_pool2d\n"
                        "def avg_pool_forward(x, size, stride=None):\n"
                        "    return _pool(torch.from_numpy(x), size, stride or size).numpy()\n",
    # right gradients but the input is modified in place -> 0 (checked by the grader, not the kernel)
    "conv_backward": BACKWARD_INPLACE,
    # importlib with a literal -> 0
    "max_pool_backward": "import importlib\ndef max_pool_backward(dout, x, size, stride=None):\n"
                         "    ops = importlib.import_module('cnnlab.ops')\n"
                         "    return ops.max_pool_backward(dout, ops.max_pool_forward(x, {'size': size, "
                         "'stride': stride or size})[1])\n",
    # a naive loop: too slow, timed by the grader -> 0
    "conv_forward_fast": "def conv_forward_fast(x, w, b, stride=1, padding=0):\n"
                         "    k, _, kh, kw = w.shape\n"
                         "    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))\n"
                         "    ho = (xp.shape[2] - kh) // stride + 1\n    wo = (xp.shape[3] - kw) // stride + 1\n"
                         "    out = np.zeros((x.shape[0], k, ho, wo))\n"
                         "    for n in range(x.shape[0]):\n        for f in range(k):\n"
                         "            for i in range(ho):\n                for j in range(wo):\n"
                         "                    out[n, f, i, j] = (xp[n, :, i*stride:i*stride+kh, j*stride:j*stride+kw]"
                         " * w[f]).sum() + b[f]\n"
                         "    return out\n",
}
DEEP = "x = " + "-" * 3000 + "1\n"
NBGRADER_ERROR = "import os\nos.write(2, b'There was an error processing assignment\\n')\n"
# answers the grader's call with deeply nested JSON on the reply pipe (the worker's second argument)
NESTED_REPLY = """
import os, struct, sys
def avg_pool_forward(x, size, stride=None):
    try:
        data = b'[' * 200000 + b']' * 200000
        os.write(int(sys.argv[2]), struct.pack('<QQ', len(data), 0) + data)
    except Exception:
        pass
    return x
"""
BROKEN["avg_pool_forward"] = NESTED_REPLY
# a module-level copy of the answer key made with types.FunctionType (flagged: it runs for every question)
FUNCTION_COPY = ("import types\nfrom cnnlab.ops import conv2d as _ref\n"
                 "conv_forward = types.FunctionType(_ref.__code__, _ref.__globals__)\n")
# rebinds the speed probe, the forbid hook and the worker's reply where it finds them (flagged)
REBIND = ("import cnnlab.course.questions.a1 as _a1, cnnlab.course.inside.worker as _w\n"
          "_a1.speed_ratio = lambda *a, **k: 1.0\n_a1.SPEED_MAX_RATIO = 1e9\n_w.reseed = lambda: None\n")
TRANSFORMER = "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n"
HONEST_EXTRA = """%matplotlib inline
%load_ext autoreload
%autoreload 2
import matplotlib.pyplot as plt

def _window_sums(xp, w, i, j, stride, kh, kw):
    return np.tensordot(xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw], w,
                        axes=([1, 2, 3], [1, 2, 3]))
"""
HONEST_CONV = """%%time
noise = np.random.rand(3)  # unseeded randomness
display(noise.shape)
print("checking my conv")
plt.plot(noise); plt.show()

def conv_forward(x, w, b, stride=1, padding=0):
    n, c, h, wd = x.shape
    k, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    out = np.zeros((n, k, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = _window_sums(xp, w, i, j, stride, kh, kw) + b
    return out
"""
HOSTILE = """
import os, signal, time
pids = []
try:
    for _ in range(2000):  # a process bomb: stops at its own uid's limit
        pid = os.fork()
        if pid == 0:
            time.sleep(20)
            os._exit(0)
        pids.append(pid)
except OSError:
    pass
try:
    with open('/tmp/fill', 'wb') as fh:  # fills its own size-capped tmpfs, nothing else
        for _ in range(4096):
            fh.write(b'x' * (1 << 20))
except OSError:
    pass
for sig_target in (-1, 1):
    try:
        os.kill(sig_target, signal.SIGKILL)
    except OSError:
        pass
"""


def _with_cells(nb, before_gid: str, *sources: str):
    """Insert extra student cells before the cell ``before_gid`` (a student's own helper cells)."""
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == before_gid)
    for offset, source in enumerate(sources):
        nb.cells.insert(index + offset, nbformat.v4.new_code_cell(source))
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    c = Course(tmp_path_factory.mktemp("a1course"), cell_timeout=15)
    c.env["CNNLAB_SANDBOX_TMPFS"] = str(64 * 1024**2)
    c.course("init")
    c.nbgrader("generate_assignment", A)
    root = str(c.root)
    c.submit(A, "ref", c.answered(A))
    c.submit(A, "blank", c.release(A))
    c.submit(A, "mistakes", c.answered(A, **MISTAKES))
    c.submit(A, "lazy", c.answered(A, **LAZY))
    c.submit(A, "attacks", c.answered(A, **ATTACKS))
    # a blank notebook + an input-transformer cheat, a FunctionType copy of the answer key, a syntax tree
    # too deep to analyse and nbgrader's error message on stderr
    c.submit(A, "cheat", _with_cells(c.release(A), "output_size", NBGRADER_ERROR, FUNCTION_COPY, REBIND,
                                                DEEP, TRANSFORMER))
    c.submit(A, "broken", c.answered(A, **BROKEN))
    escape = c.submit(A, "escape", c.answered(A, output_size=escape_attempts(root)))
    (escape.parent / "solution.ipynb").symlink_to(c.root / "source" / A / f"{A}.ipynb")
    (escape.parent / "gradebook.db").symlink_to(c.root / "gradebook.db")
    honest = c.answered(A, conv_forward=HONEST_CONV)
    c.submit(A, "honest", _with_cells(honest, "conv_forward", HONEST_EXTRA))
    c.submit(A, "hostile", _with_cells(c.answered(A), "output_size", HOSTILE))
    c.submit(A, "corrupt", raw='{"cells": [ this is not json')
    c.submit(A, "missing")
    c.graded = c.course("grade", A, "--jobs", "2", check=False)
    return c


def test_generate_release_holds_no_line_of_the_answer_key(course):
    text = "\n".join(cell.source for cell in course.release(A).cells)
    key = answer_key_lines(A)  # read from the source, so the list follows the solutions as they change
    assert len(key) >= 40 and any("nchwij,kcij->nkhw" in line for line in key), key
    assert [line for line in key if line in text] == []
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert "raise NotImplementedError()" in text


def test_reference_and_honest_variants_get_full_marks(course):
    scores = course.scores(A)
    for student in ("ref", "honest"):
        assert scores[student] == pytest.approx({**FULL, "written_pooling_shift": 0.0}), student
        assert verification(course, A, student)["status"] == "ok"
    assert total(scores["blank"]) == 0
    assert verification(course, A, "blank")["status"] == "ok"  # wrong answers are not a reason for review


def test_realistic_mistakes_lose_exactly_their_points(course):
    got = course.scores(A)["mistakes"]
    wrong = {"test_output_size", "test_same_padding", "test_conv_forward", "test_max_pool_forward",
             "test_avg_pool_forward"}
    for gid, points in FULL.items():
        assert got[gid] == (0 if gid in wrong else points), gid
    messages = verification(course, A, "mistakes")["verdicts"][A]
    assert "did you apply the stride" in messages["test_conv_forward"]["message"]


def test_calling_the_reference_scores_nothing_for_that_question(course):
    got = course.scores(A)["lazy"]
    for gid, points in FULL.items():
        lazy = gid in {"test_conv_forward", "test_conv_forward_fast", "test_max_pool_forward"}
        assert got[gid] == (0 if lazy else points), gid
    notes = verification(course, A, "lazy")["verdicts"][A]["test_conv_forward"]["notes"]
    assert any("cnnlab.ops.conv2d" in note for note in notes)


def test_every_attack_scores_zero_or_is_flagged(course):
    """What the attacks reach (cnnlab.ops, scipy, torch) is not in assignment 1's sandbox: each answer
    fails when it runs; the static analysis's notes still show the reviewer where and why."""
    got = course.scores(A)["attacks"]
    verdicts = verification(course, A, "attacks")["verdicts"][A]
    assert total(got) == 0, got
    assert {gid: v["status"] for gid, v in verdicts.items()} == {gid: "failed" for gid in FULL}
    notes = {gid: " ".join(v["notes"]) for gid, v in verdicts.items()}
    assert "subprocess" in notes["test_output_size"]
    assert "scipy.ndimage.correlate" in notes["test_conv_forward"]
    assert "torch.ops.aten.max_pool2d" in notes["test_max_pool_forward"]
    assert "torch.nn.functional.avg_pool2d" in notes["test_avg_pool_forward"]
    assert "in place" in verdicts["test_conv_backward"]["message"]
    assert "cnnlab.ops" in notes["test_max_pool_backward"]
    assert "slower" in verdicts["test_conv_forward_fast"]["message"]


def test_kernel_cheats_fail_closed_and_need_review(course):
    """The kernel tricks change nothing outside the sandbox (0 everywhere); the notes name each one."""
    got = course.scores(A)["cheat"]
    assert total(got) == 0, got
    report = verification(course, A, "cheat")
    reasons = " ".join(n for v in report["verdicts"][A].values() for n in v["notes"])
    assert "types.FunctionType" in reasons and "RecursionError" in reasons and "get_ipython" in reasons
    assert "cnnlab.course.questions.a1.speed_ratio" in reasons


def test_fail_closed_paths_give_non_zero_exit_and_a_summary(course):
    assert course.graded.returncode == 1, course.graded.stdout[-3000:] + course.graded.stderr[-3000:]
    out = course.graded.stdout
    assert "12 submissions graded" in out
    summary = out.split("Needs review")[1]
    # (hostile may finish clean: its process bomb stops at its sandbox's process cap and kill(-1) reaches
    # only its own sandbox; test_hostile_neighbour_does_not_change_honest_scores checks it)
    for student in ("broken", "corrupt", "missing", "escape"):
        assert student in summary, student
    for student in ("ref", "honest", "blank", "mistakes"):
        assert f"  {student}:" not in summary, student
    scores = course.scores(A)
    assert total(scores.get("corrupt", {})) == 0 and total(scores.get("missing", {})) == 0


def test_timeouts_crashes_and_wire_bombs_cost_only_their_questions(course):
    got = course.scores(A)["broken"]
    verdicts = verification(course, A, "broken")["verdicts"][A]
    for gid, points in FULL.items():
        bad = gid in {"test_output_size", "test_same_padding", "test_max_pool_forward", "test_avg_pool_forward"}
        assert got[gid] == (0 if bad else points), gid
    assert verdicts["test_output_size"]["status"] == "error"  # a timeout: the grader could not decide
    assert verdicts["test_avg_pool_forward"]["status"] == "error"  # nested JSON on the pipe


def test_escape_attempts_and_symlinks_reach_nothing(course):
    root = course.root
    assert (root / "gradebook.db").exists() and (root / "source" / A / f"{A}.ipynb").exists()
    assert not (root / "PWNED").exists() and not (root.parent / "PWNED").exists()
    with sqlite3.connect(root / "gradebook.db") as db:
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    report = verification(course, A, "escape")
    assert any("symbolic link" in r for r in report["needs_review"])
    autograded = root / "autograded" / "escape" / A
    assert not (autograded / "solution.ipynb").exists() and not (autograded / "gradebook.db").exists()
    feedback = (autograded / f"{A}.ipynb").read_text() if (autograded / f"{A}.ipynb").exists() else ""
    assert "### BEGIN SOLUTION" not in feedback and "BEGIN HIDDEN" not in feedback  # nothing of source/ leaked
    submitted = nbformat.read(str(root / "submitted" / "ref" / A / f"{A}.ipynb"), as_version=4)
    assert len(submitted.cells) > 5  # another student's files were not reachable


def test_hostile_neighbour_does_not_change_honest_scores(course):
    scores = course.scores(A)
    assert scores["ref"] == pytest.approx({**FULL, "written_pooling_shift": 0.0})
    assert scores["honest"] == pytest.approx({**FULL, "written_pooling_shift": 0.0})
    assert verification(course, A, "hostile")["status"] == "needs review" or total(scores["hostile"]) > 0


def test_feedback_notebook_shows_the_trusted_verdict(course):
    def shown(student):
        nb = nbformat.read(str(course.root / "autograded" / student / A / f"{A}.ipynb"), as_version=4)
        return {c.metadata["nbgrader"]["grade_id"]: "".join(o.get("text", "") + o.get("evalue", "") for o in c.outputs)
                for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade", False) and c.cell_type == "code"}

    attacks = shown("attacks")
    assert "Trusted grader: failed" in attacks["test_output_size"]
    assert "Trusted grader: failed" in attacks["test_conv_forward"]
    assert all("Trusted grader: passed" in text for text in shown("ref").values())
    honest = nbformat.read(str(course.root / "autograded" / "honest" / A / f"{A}.ipynb"), as_version=4)
    outputs = [o for c in honest.cells for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the student's plot is in the feedback
    assert any("checking my conv" in o.get("text", "") for o in outputs)
    with sqlite3.connect(course.root / "gradebook.db") as db:  # cells the grader could not decide wait for an instructor
        undecided = db.execute("select count(*) from grade g join submitted_notebook n on g.notebook_id = n.id "
                               "join submitted_assignment s on n.assignment_id = s.id where s.student_id = 'broken' "
                               "and g.needs_manual_grade = 1").fetchone()[0]
    assert undecided >= 2


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


def test_grade_refuses_without_bubblewrap(course, tmp_path):
    env = {"PATH": os.path.dirname(os.sys.executable)}  # no /usr/bin: no bwrap
    proc = course.run(os.sys.executable, "-m", "cnnlab.course", "grade", A, "--student", "ref", check=False, env=env)
    assert proc.returncode == 2
    assert "bubblewrap" in proc.stderr and "apt-get install bubblewrap" in proc.stderr


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
    for inbound in (c.exchange / "cnnlab" / "inbound").glob(f"ex_ref+{A}+*"):  # links are never followed
        (inbound / "leak.db").symlink_to(c.root / "gradebook.db")
    c.nbgrader("collect", A)
    assert (c.root / "submitted" / "ex_ref" / A / f"{A}.ipynb").exists()
    assert not (c.root / "submitted" / "ex_ref" / A / "leak.db").exists()
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
