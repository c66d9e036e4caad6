"""What a question forbids is absent from its sandbox: one cheating mechanism per case scores 0 or
needs review, and the honest variants (magics, shell lines, %%capture, functools.partial, a helper
module beside the notebook) keep full marks without review.

Each notebook is assignment 1's source with some answer cells replaced (by grade_id), graded by
the trusted grader itself (``grade_notebook``: the sandbox of the assignment's grading
environment, every verdict decided outside it).
"""
from __future__ import annotations

import copy
from pathlib import Path
import pickle
import time

import nbformat
import numpy as np
import pytest

from cnnlab.course.grader.recheck import grade_notebook

from _course import SOURCES

A1 = "a1_conv_from_scratch"
pytestmark = pytest.mark.slow


def _source():
    return nbformat.read(str(SOURCES / A1 / f"{A1}.ipynb"), as_version=4)


def _notebook(**answers: str):
    """Assignment 1's source (reference answers) with the cells of ``answers`` (grade_id -> code) replaced."""
    nb = copy.deepcopy(_source())
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


def _grade(nb, folder):
    return grade_notebook(A1, _source(), nb, cell_timeout=60, submission_dir=folder)


def _cell_text(run, nb, grade_id):
    index = next(i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)
    return " ".join(str(o.get("evalue", "")) + str(o.get("text", "")) + " ".join(o.get("traceback", []))
                    for o in run.outputs.get(index, []))


# One mechanism per question (issue 21): each would have scored full marks when rules were read from the code.
CHEATS = {
    # the locked set-up cell's `cnnlab`, never imported by the student
    "output_size": "def output_size(n, f, p=0, s=1):\n    return cnnlab.ops.conv_output_size(n, f, p, s)\n",
    # a magic's statement (IPython execs it)
    "same_padding": "%time from cnnlab.ops import resolve_padding\n"
                    "def same_padding(n, f, s=1):\n    return resolve_padding('same', f, s, input_size=n)[:2]\n",
    # the set-up cell's `np`: numpy is allowed, np.correlate is not (a review note on a passing answer)
    "conv_forward": "def conv_forward(x, w, b, stride=1, padding=0):\n"
                    "    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))\n"
                    "    n, c, h, wd = xp.shape\n    k, _, kh, kw = w.shape\n"
                    "    ho, wo = (h - kh) // stride + 1, (wd - kw) // stride + 1\n"
                    "    out = np.zeros((n, k, ho, wo))\n"
                    "    for i in range(n):\n        for j in range(k):\n            for ch in range(c):\n"
                    "                for r in range(ho):\n                    for q in range(kh):\n"
                    "                        row = xp[i, ch, r * stride + q]\n"
                    "                        out[i, j, r] += np.correlate(row, w[j, ch, q], 'valid')[::stride][:wo]\n"
                    "            out[i, j] += b[j]\n    return out\n",
    # an import hidden inside try (and a walrus)
    "max_pool_forward": "try:\n    import torch.nn.functional as F\nexcept Exception:\n    pass\n"
                        "def max_pool_forward(x, size, stride=None):\n"
                        "    return (t := F.max_pool2d)(__import__('torch').from_numpy(x), size, stride).numpy()\n",
    # a re-export through another part of the package
    "avg_pool_forward": "from cnnlab.widgets.convolution import ops as _o\n"
                        "def avg_pool_forward(x, size, stride=None):\n    return _o.avg_pool2d(x, size, stride)\n",
    # torch.autograd answers the backward question
    "conv_backward": "import torch\n"
                     "def conv_backward(dout, x, w, b, stride=1, padding=0):\n"
                     "    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))\n"
                     "    out = torch.nn.functional.conv2d(xt, wt, bt, stride, padding)\n"
                     "    out.backward(torch.tensor(dout))\n"
                     "    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()\n",
    # a pickled reference loaded from the submission folder
    "max_pool_backward": "max_pool_backward = np.load('ref.npy', allow_pickle=True)[0]\n",
    # a helper module beside the notebook that imports the answer key
    "conv_forward_fast": "from mylib import conv_forward_fast\n",
}


@pytest.fixture(scope="module")
def cheat_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cheat")
    (folder / "mylib.py").write_text("from cnnlab.ops import conv2d\n\n"
                                     "def conv_forward_fast(x, w, b, stride=1, padding=0):\n"
                                     "    return conv2d(x, w, b, stride=stride, padding=padding)\n")
    import cnnlab.course.reference as ref

    with open(folder / "ref.npy", "wb") as fh:  # what np.save(allow_pickle=True) writes for an object array
        np.save(fh, np.array([ref.max_pool_backward], dtype=object), allow_pickle=True)
    assert pickle.loads(pickle.dumps(ref.max_pool_backward)) is ref.max_pool_backward  # a reference by name
    nb = _notebook(**CHEATS)
    return nb, _grade(nb, folder)


@pytest.mark.parametrize("grade_id", sorted(CHEATS))
def test_each_cheat_scores_zero_or_needs_review(cheat_run, grade_id):
    _, run = cheat_run
    verdict = run.verdicts[f"test_{grade_id}"]
    assert not verdict.passed or verdict.needs_review, (grade_id, verdict)


def test_the_library_call_through_np_passes_only_as_a_review_case_with_line_and_reason(cheat_run):
    _, run = cheat_run
    verdict = run.verdicts["test_conv_forward"]
    assert verdict.passed and verdict.needs_review
    assert any("numpy.correlate" in note and "line" in note for note in verdict.notes)


@pytest.mark.parametrize("grade_id, rule", [
    ("conv_backward", "assignment 1 is written with numpy alone: PyTorch"),
    ("avg_pool_forward", "No module named 'cnnlab.widgets'"),
    ("same_padding", "cnnlab.ops holds the answer key of assignment 1"),
])
def test_a_missing_module_names_the_rule_it_broke(cheat_run, grade_id, rule):
    nb, run = cheat_run
    assert rule in _cell_text(run, nb, grade_id)


def _solution(grade_id: str) -> str:
    """The source's answer for ``grade_id`` (without nbgrader's solution markers)."""
    cell = next(c for c in _source().cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)
    return "\n".join(line for line in cell.source.splitlines() if "### " not in line) + "\n"


# Honest variants: the reference answers written the ways a JupyterLab user writes code.
HONEST = {
    "same_padding": "%%capture log\nprint('hidden')\n" + _solution("same_padding"),
    "output_size": "%time x = 1\n!echo shell lines run too\nfiles = !ls\n%config InlineBackend.figure_format = 'png'\n"
                   + _solution("output_size"),
    "conv_forward": "from conv_utils import pad_images\n"
                    "def conv_forward(x, w, b, stride=1, padding=0):\n"
                    "    xp = pad_images(x, padding)\n    n, c, h, wd = xp.shape\n    k, _, kh, kw = w.shape\n"
                    "    ho, wo = (h - kh) // stride + 1, (wd - kw) // stride + 1\n"
                    "    out = np.zeros((n, k, ho, wo))\n"
                    "    for i in range(ho):\n        for j in range(wo):\n"
                    "            win = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]\n"
                    "            out[:, :, i, j] = np.tensordot(win, w, axes=([1, 2, 3], [1, 2, 3]))\n"
                    "    return out + b[None, :, None, None]\n",
    "conv_forward_fast": "import functools\n" + _solution("conv_forward_fast").replace("def conv_forward_fast(",
                                                                                          "def _conv_fast(")
                         + "conv_forward_fast = functools.partial(_conv_fast)\n",
}


def _summary(run):
    return {gid: (v.passed, v.needs_review) for gid, v in run.verdicts.items()}


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """The source notebook itself (the reference answers), graded the same way."""
    return _grade(_source(), tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="module")
def honest_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("honest")
    (folder / "conv_utils.py").write_text("import numpy as np\n\n"
                                          "def pad_images(x, p):\n"
                                          "    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))\n")
    return folder


def test_honest_variants_keep_full_marks_without_review(reference_run, honest_folder):
    """Magics, shell lines, %%capture, functools.partial and a helper module beside the notebook score
    exactly what the reference answers score, with nothing to review."""
    run = _grade(_notebook(**HONEST), honest_folder)
    assert _summary(run) == _summary(reference_run)
    assert not any(v.needs_review for v in run.verdicts.values())
    assert all(run.verdicts[f"test_{gid}"].passed for gid in ("conv_forward", "conv_forward_fast", "max_pool_forward"))


def test_the_a1_sandbox_holds_exactly_its_environment_and_no_other_package_folder():
    """Only the declared distributions (with their requirements) are in site-packages; every other
    site- or dist-packages folder (the base interpreter's has SciPy here) is empty; /opt (a wheel
    mirror) is absent; the cached list is what the sandbox shows."""
    import json
    import subprocess
    import sys

    from cnnlab.course.grader import environments
    from cnnlab.course.grader.sandbox import sandbox_command

    env = environments.for_assignment(A1)
    entries = environments.site_entries(env.packages)
    assert "numpy" in entries and "matplotlib" in entries and "IPython" in entries
    assert not any(e.split("-")[0].lower() in ("torch", "scipy", "sklearn") for e in entries)
    others = [str(p) for p in environments.other_site_dirs()]
    code = ("import importlib, json, os, sys\n"
            f"sys.path += {others!r} + ['/opt']\n"
            "found = {}\n"
            "for name in ('torch', 'scipy', 'sklearn', 'cnnlab.ops', 'cnnlab.models', 'numpy', 'cnnlab.checks'):\n"
            "    try:\n        importlib.import_module(name); found[name] = True\n"
            "    except ImportError:\n        found[name] = False\n"
            f"print(json.dumps({{'found': found, 'site': sorted(os.listdir({str(environments.site_packages())!r})),\n"
            f"                   'others': [os.listdir(p) for p in {others!r}], 'opt': os.path.exists('/opt')}}))\n")
    cmd, sandbox_env = sandbox_command([sys.executable, "-I", "-c", code], workdir=None, chdir="/tmp/work",
                                       environment=env)
    out = subprocess.run(cmd, env=sandbox_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["found"] == {"torch": False, "scipy": False, "sklearn": False, "cnnlab.ops": False,
                             "cnnlab.models": False, "numpy": True, "cnnlab.checks": True}
    assert seen["site"] == sorted(entries)
    assert all(listing == [] for listing in seen["others"]) and seen["opt"] is False


HOG = ("import os, time\n"
       "for _ in range(6):  # CPU burners, detached from the worker\n"
       "    if os.fork() == 0:\n        os.setsid()\n        while True:\n            pass\n"
       "kids = 0\n"
       "try:  # then a fork burner, up to the sandbox's process cap\n"
       "    while kids < 5000:\n        if os.fork() == 0:\n            time.sleep(600)\n            os._exit(0)\n"
       "        kids += 1\n"
       "except OSError:\n    pass\n")


def test_a_classmate_beside_a_cpu_hog_and_a_fork_burner_scores_as_alone(reference_run, honest_folder):
    """The hog's sandbox is one control group with a CPU quota of one core and a process cap: an honest
    notebook graded beside it (speed question included, timed in CPU time) gets the same verdicts."""
    import threading

    from cnnlab.course.grader.student_process import StudentProcess

    alone = _grade(_notebook(**HONEST), honest_folder)
    hog = StudentProcess([HOG, "import time\ntime.sleep(600)\n"], None, cell_timeout=900, with_torch=False,
                         assignment=A1)
    started = threading.Thread(target=lambda: _swallow(hog.start), daemon=True)
    hog.launch()
    started.start()
    try:
        group = hog.cgroup
        deadline = time.monotonic() + 60  # the forks share the hog's one core with its burners
        while group is not None and len(group.pids()) <= 20 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert group is not None and len(group.pids()) > 20  # the burners and the forks are running
        cpu_before, t0 = group.cpu_seconds(), time.monotonic()
        beside = _grade(_notebook(**HONEST), honest_folder)
        rate = (group.cpu_seconds() - cpu_before) / (time.monotonic() - t0)
        assert len(group.pids()) <= 512  # the sandbox's process cap
    finally:
        hog.close()
    assert rate < 1.15, rate  # the hog never had more than its one core
    assert _summary(beside) == _summary(alone) == _summary(reference_run)
    assert beside.verdicts["test_conv_forward_fast"].passed  # the speed question too


def _swallow(fn):
    try:
        fn()
    except Exception:  # noqa: BLE001 - the hog is killed while it still runs
        pass


def test_stock_nbgraders_sandboxed_kernel_has_the_assignments_environment_and_a_control_group(tmp_path, monkeypatch):
    """The kernelspec plain ``nbgrader autograde`` uses (cnnlab-sandbox) starts in autograded/<student>/<assignment>:
    it gets that assignment's grading environment, the helper-module path and its own control group."""
    from jupyter_client import KernelManager

    from cnnlab.course.grader import sandbox_kernel

    monkeypatch.setenv("CNNLAB_COURSE_CONFIG", str(SOURCES.parents[1] / "course_config.py"))
    sandbox_kernel.install_kernelspec()
    work = tmp_path / A1
    work.mkdir()
    (work / "helper_mod.py").write_text("VALUE = 41\n")
    km = KernelManager(kernel_name=sandbox_kernel.KERNEL_NAME, transport="ipc",
                       ip=str(sandbox_kernel.ipc_dir() / "kernel"))
    km.start_kernel(cwd=str(work))
    try:
        client = km.client()
        client.start_channels()
        client.wait_for_ready(timeout=120)
        code = ("import helper_mod, os\nprint(helper_mod.VALUE + 1)\n"
                "try:\n    import torch\nexcept ImportError as exc:\n    print(exc)\n")
        lines = []
        client.execute_interactive(code, timeout=60, output_hook=lambda msg: lines.append(
            msg["content"].get("text", "") + str(msg["content"].get("evalue", ""))))
        text = "".join(lines)
        assert text.splitlines()[0] == "42"
        groups = Path(f"/proc/{km.provisioner.pid}/cgroup").read_text()  # read from outside the sandbox
        assert groups.count("/cnnlab/kernel-") >= 3  # memory, pids, cpu... groups of this kernel's sandbox
        assert "assignment 1 is written with numpy alone: PyTorch" in text
        client.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
