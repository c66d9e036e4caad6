"""The course machinery without nbgrader: wire format, static reference detection, the sandbox, verification."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from cnnlab.course import wire
from cnnlab.course.remote import RemoteFunction, StudentProcess
from cnnlab.course.sandbox import sandbox_command
from cnnlab.course.verify import cells_to_run, verify_notebook
from cnnlab.course.grading import GradingError, a1

REPO = Path(__file__).resolve().parents[1]
A1_SOURCE = REPO / "notebooks" / "assignments" / "a1_conv_from_scratch" / "a1_conv_from_scratch.ipynb"
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


def test_wire_round_trip_without_pickle():
    value = {"x": np.arange(6.0).reshape(2, 3), "t": (1, 2.5, None, "s"), "l": [torch.ones(2, dtype=torch.float64)]}
    back = wire.decode(wire.encode(value), tensors=True)
    assert np.array_equal(back["x"], value["x"]) and back["t"] == (1, 2.5, None, "s")
    assert isinstance(back["l"][0], torch.Tensor)
    with pytest.raises(wire.WireError):
        wire.encode(np.array([object()], dtype=object))
    with pytest.raises(wire.WireError):
        wire.encode(object())


def test_cells_to_run_skips_tests_and_restores_locked_cells():
    source = nbformat.read(str(A1_SOURCE), as_version=4)
    submitted = nbformat.read(str(A1_SOURCE), as_version=4)
    submitted.cells[1].source = "import os; os.system('evil')"  # the locked set-up cell
    run, solutions = cells_to_run(submitted, source)
    assert "cnnlab.hello()" in run[0] and not any("evil" in r for r in run)
    assert not any("check_output_size(output_size, hidden=True)" in r for r in run)
    assert any("def conv_forward(" in s for s in solutions)


@needs_bwrap
def test_sandbox_hides_the_course_and_drops_privileges(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden tests")
    work = tmp_path / "work"
    work.mkdir()
    code = (f"import os; print(os.path.exists({str(secret)!r}), os.path.exists({str(REPO / 'notebooks')!r}), "
            "os.getuid() != 0); import cnnlab")
    cmd, env = sandbox_command([sys.executable, "-c", code], workdir=work)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "True"]


@needs_bwrap
def test_student_process_answers_calls_and_survives_a_hang(tmp_path):
    cells = ["import numpy as np\ndef double(x):\n    return 2 * x\n",
             "def hang(x):\n    while True:\n        pass\n", "raise ValueError('a failing cell')"]
    with StudentProcess(cells, None, cell_timeout=5) as proc:
        assert any("ValueError" in e for e in proc.cell_errors)
        double = RemoteFunction(proc, "double")
        assert np.array_equal(double(np.arange(3.0)), [0.0, 2.0, 4.0])
        assert np.array_equal(double.last_args_after[0][0], [0.0, 1.0, 2.0])
        with pytest.raises(Exception, match="took too long|timed out"):
            RemoteFunction(proc, "hang", timeout=1)(1)


@needs_bwrap
def test_verification_ignores_kernel_tricks(tmp_path):
    """Rebinding the checks inside the notebook cannot make a wrong answer pass out of band."""
    nb = nbformat.read(str(A1_SOURCE), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "output_size":
            cell.source = ("import numpy, cnnlab.course.grading\nnumpy.allclose = lambda *a, **k: True\n"
                           "cnnlab.course.grading.check_function = lambda *a, **k: 1\n"
                           "checks.check_output_size = lambda *a, **k: None\n"
                           "def output_size(n, f, p=0, s=1):\n    return (n - f) // s + 1\n")
    path = tmp_path / "sub.ipynb"
    nbformat.write(nb, str(path))
    verdicts = verify_notebook("a1_conv_from_scratch", A1_SOURCE, path, cell_timeout=60)
    assert not verdicts["test_output_size"].passed
    assert verdicts["test_same_padding"].passed and verdicts["test_conv_forward"].passed
