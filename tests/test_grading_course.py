"""The course machinery without nbgrader: wire format, static reference detection, the sandbox, verification."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from cnnlab.course.inside import wire
from cnnlab.course.questions.static import analyse
from cnnlab.course.grader.student_process import RemoteCallError, RemoteFunction, StudentCrashed, StudentProcess
from cnnlab.course.grader.submission_files import copy_submission
from cnnlab.course.grader.sandbox import INSIDE_MOUNTS, sandbox_command
from cnnlab.course.grader.recheck import cells_to_run, verify_notebook
from cnnlab.course.questions import a1

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
    meta = [c.metadata.get("nbgrader", {}) for c in submitted.cells]
    setup = next(i for i, m in enumerate(meta) if m.get("grade_id") == "setup" and m.get("locked"))
    submitted.cells[setup].source = "import os; os.system('evil')"  # the locked set-up cell, edited
    # the test cells as the source has them (their asserts run in the trusted grader, never here)
    test_cells = [c.source for c, m in zip(source.cells, meta) if c.cell_type == "code" and m.get("grade")
                  and not m.get("solution")]
    assert len(test_cells) == 8 and "assert tuple(output_size((6, 6), 3)) == (4, 4)" in test_cells[0]
    run, solutions = cells_to_run(submitted, source)
    assert "cnnlab.hello(" in run[0] and not any("evil" in r for r in run)
    assert not [t for t in test_cells if t in run]
    assert any("def conv_forward(" in s for s in solutions)


@pytest.mark.course  # starts sandboxed processes: seconds each
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


@pytest.mark.course  # starts sandboxed processes: seconds each
@needs_bwrap
def test_sandbox_holds_the_student_package_not_the_references():
    """Inside the sandbox cnnlab is the student package: no references, checks or hidden cases."""
    import cnnlab

    course = Path(cnnlab.__file__).resolve().parent / "course"
    reference_files = [str(p) for p in (course / "reference").rglob("*") if p.is_file()]
    assert reference_files  # the instructor's install has them
    code = ("import importlib, json, os, sys\n"
            "import cnnlab, cnnlab.widgets, cnnlab.course.inside.wire, cnnlab.course.inside.worker, cnnlab.course.inside.probes\n"
            "failed = []\n"
            "for name in ('cnnlab.course.reference', 'cnnlab.course.questions', 'cnnlab.course.questions.a2'):\n"
            "    try:\n        importlib.import_module(name)\n"
            "    except ModuleNotFoundError:\n        failed.append(name)\n"
            "course = os.path.dirname(cnnlab.course.__file__)\n"
            f"visible = [p for p in {reference_files!r} if os.path.exists(p)]\n"
            "print(json.dumps({'failed': failed, 'visible': visible, 'listing': sorted(os.listdir(course))}))\n")
    cmd, env = sandbox_command([sys.executable, "-I", "-c", code], workdir=None, chdir="/tmp/work")
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["failed"] == ["cnnlab.course.reference", "cnnlab.course.questions", "cnnlab.course.questions.a2"]
    assert seen["visible"] == []
    assert seen["listing"] == sorted(INSIDE_MOUNTS)


@pytest.mark.course  # builds the kit's wheel and starts a sandbox
@needs_bwrap
def test_sandbox_package_is_the_kits_wheel_file_for_file(tmp_path):
    """Every file of cnnlab the sandbox shows (but the worker's in cnnlab/course) is a file of the
    student kit's wheel with the same bytes, and every file of the wheel is there: a module added
    to the checkout reaches the sandbox only by being in the kit."""
    import hashlib
    import zipfile

    import cnnlab
    from cnnlab.course.kit.build import build_wheel

    package = Path(cnnlab.__file__).resolve().parent
    wheel = build_wheel(package.parent, tmp_path / "wheel")
    with zipfile.ZipFile(wheel) as zf:
        shipped = {name[len("cnnlab/"):]: hashlib.sha256(zf.read(name)).hexdigest()
                   for name in zf.namelist() if name.startswith("cnnlab/") and not name.endswith("/")}
    code = ("import hashlib, json, os, cnnlab\n"
            "root = os.path.dirname(cnnlab.__file__)\n"
            "seen = {}\n"
            "for folder, dirs, files in os.walk(root):\n"
            "    dirs[:] = [d for d in dirs if d != '__pycache__']\n"
            "    for f in files:\n"
            "        path = os.path.join(folder, f)\n"
            "        seen[os.path.relpath(path, root)] = hashlib.sha256(open(path, 'rb').read()).hexdigest()\n"
            "print(json.dumps(seen))\n")
    cmd, env = sandbox_command([sys.executable, "-I", "-c", code], workdir=None, chdir="/tmp/work")
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    course = package / "course"
    worker = {str(p.relative_to(package)) for name in INSIDE_MOUNTS for p in [course / name, *(course / name).rglob("*.py")]
              if p.is_file()}
    assert set(seen) - worker == set(shipped)
    assert {name: digest for name, digest in seen.items() if name not in worker} == shipped


@pytest.mark.course  # starts sandboxed processes: seconds each
@needs_bwrap
def test_student_process_answers_calls_and_survives_a_hang(tmp_path):
    cells = ["import numpy as np\ndef double(x):\n    return 2 * x\n",
             "def hang(x):\n    while True:\n        pass\n", "raise ValueError('a failing cell')"]
    with StudentProcess(cells, None, cell_timeout=5) as proc:
        assert any("ValueError" in e for e in proc.cell_errors)
        double = RemoteFunction(proc, "double")
        assert np.array_equal(double(np.arange(3.0)), [0.0, 2.0, 4.0])
        assert np.array_equal(double.last_args_after[0][0], [0.0, 1.0, 2.0])
        with pytest.raises(StudentCrashed, match="^hang timed out"):
            RemoteFunction(proc, "hang", timeout=1)(1)


@pytest.mark.course  # starts sandboxed processes: seconds each
@needs_bwrap
def test_cells_run_as_in_a_jupyter_kernel_with_in_out_and_underscore():
    """Each cell is stored in the shell's history as a Jupyter kernel stores it: a notebook that
    reads ``_``, ``Out`` or ``In`` behaves in the grader as it did in JupyterLab."""
    cells = ["x = 20", "x + 1", "last, out, code = _, Out[2], In[1]\n"
             "def remembered():\n    return float(last + out + len(code))\n"]
    with StudentProcess(cells, None, cell_timeout=10, with_torch=False) as proc:
        assert proc.cell_errors == []
        assert RemoteFunction(proc, "remembered")() == 21.0 + 21.0 + len("x = 20")


@pytest.mark.course  # starts sandboxed processes: seconds each
@needs_bwrap
def test_a_numpy_only_sandbox_loads_no_torch_and_refuses_late_probes():
    """Assignment 1's sandbox skips torch; a probe (which must be loaded before the student's code,
    so that the classes it captures are the library's) is then refused instead of imported late."""
    cells = ["import cnnlab\ncnnlab.hello(with_torch=False)\nimport sys\n"
             "def loaded():\n    return 'torch' in sys.modules\n"]
    with StudentProcess(cells, None, cell_timeout=10, with_torch=False) as proc:
        assert proc.cell_errors == []
        assert RemoteFunction(proc, "loaded")() is False
        with pytest.raises(RemoteCallError, match="the probes were not loaded before the notebook ran"):
            RemoteFunction(proc, "loaded", via="cnnlab.course.inside.probes:probe_model")()
    with StudentProcess(cells, None, cell_timeout=10) as proc:  # the default, for assignments 2 and 3
        assert RemoteFunction(proc, "loaded")() is True


@pytest.mark.course  # starts sandboxed processes: seconds each
@needs_bwrap
def test_verification_ignores_kernel_tricks(tmp_path):
    """Rebinding the checks inside the notebook cannot make a wrong answer pass out of band."""
    nb = nbformat.read(str(A1_SOURCE), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "output_size":
            cell.source = ("import numpy, cnnlab.course.questions\nnumpy.allclose = lambda *a, **k: True\n"
                           "cnnlab.course.questions.check_function = lambda *a, **k: 1\n"
                           "checks.check_output_size = lambda *a, **k: None\n"
                           "def output_size(n, f, p=0, s=1):\n    return (n - f) // s + 1\n")
    path = tmp_path / "sub.ipynb"
    nbformat.write(nb, str(path))
    verdicts = verify_notebook("a1_conv_from_scratch", A1_SOURCE, path, cell_timeout=60)
    assert not verdicts["test_output_size"].passed
    # touching the grader's code at module level is a note on the notebook, not a flag on every question
    assert verdicts["test_same_padding"].passed and not verdicts["test_same_padding"].needs_review
    assert any("cnnlab.course.questions" in note for note in verdicts["test_same_padding"].notes)


# --- the static analysis: a curated list per question, robust to hostile input -----------------------------

CONV = a1.FORBIDDEN_CONV


def _verdict(cells, name="conv_forward", prefixes=CONV):
    analysis = analyse(cells, {name: prefixes})
    return analysis.forbidden_message(name), analysis.flagged_message(name)


@pytest.mark.parametrize("cells, used", [
    (["import scipy.ndimage as nd\nf = nd.correlate\ng = lambda *a: f(*a)\ndef conv_forward(x):\n    return g(x)\n"],
     "scipy.ndimage.correlate"),
    (["from scipy import signal\ndef conv_forward(x):\n    return signal.correlate(x, x)\n"], "scipy.signal.correlate"),
    (["import torch\ndef conv_forward(x):\n    return torch.ops.aten.convolution(x)\n"], "torch.ops.aten.convolution"),
    (["import cnnlab\ndef conv_forward(x):\n    return getattr(cnnlab.ops, 'conv2d')(x)\n"], "cnnlab.ops.conv2d"),
    (["from cnnlab.ops import conv2d\ndef conv_forward(x, _f=conv2d):\n    return _f(x)\n"], "cnnlab.ops.conv2d"),
    (["import cnnlab.ops as o\n", "def helper(x):\n    return o.conv2d(x)\n", "def conv_forward(x):\n    return helper(x)\n"],
     "cnnlab.ops.conv2d"),
    (["import torch.nn.functional as F\nconv_forward = lambda x, w: F.conv2d(x, w)\n"], "torch.nn.functional.conv2d"),
    (["import types\nfrom cnnlab import ops\nconv_forward = types.FunctionType(ops.conv2d.__code__, {})\n"],
     "cnnlab.ops.conv2d"),
    (["import importlib\ndef conv_forward(x):\n    return importlib.import_module('cnnlab.ops').conv2d(x)\n"],
     "cnnlab.ops.conv2d"),
    # code inside magics that run Python in the notebook's namespace
    (["%time from cnnlab.ops import conv2d\ndef conv_forward(x):\n    return conv2d(x)\n"], "cnnlab.ops.conv2d"),
    (["%timeit -n 1 -r 1 import scipy.signal as sg\ndef conv_forward(x):\n    return sg.correlate2d(x, x)\n"],
     "scipy.signal.correlate2d"),
    (["%%time\nimport numpy as np\ndef conv_forward(x, w):\n    return np.convolve(x, w)\n"], "numpy.convolve"),
    (["%%capture out\nfrom cnnlab import ops\nconv_forward = ops.conv2d\n"], "cnnlab.ops.conv2d"),
])
def test_static_analysis_finds_the_answer_key_through_aliases(cells, used):
    forbidden, _ = _verdict(cells)
    assert forbidden is not None and used in forbidden


@pytest.mark.parametrize("cells, reason", [
    (["import subprocess\ndef conv_forward(x):\n    return subprocess.run(['python'])\n"], "subprocess"),
    (["import ctypes\ndef conv_forward(x):\n    return ctypes.CDLL(None)\n"], "ctypes"),
    (["import cnnlab\ndef conv_forward(x):\n    return getattr(cnnlab, 'o' + 'ps')\n"], "computed attribute"),
    (["import inspect\ndef conv_forward(x):\n    return inspect.getsource(x)\n"], "inspect.getsource"),
    (["def conv_forward(x):\n    return eval('x')\n"], "eval"),
    (["def conv_forward(x):\n    get_ipython().input_transformers_cleanup.append(lambda lines: [])\n    return x\n"],
     "get_ipython"),
    (["def conv_forward(x):\n    return " + "-" * 5000 + "x\n"], "could not be analysed"),
    (["def conv_forward(x):\n    return " + "f(" * 150 + "x" + ")" * 150 + "\n"], "nested"),
    (["y = 1\n" * 1 + "#" * 300_000, "def conv_forward(x):\n    return x\n"], "too large"),
    (["def conv_forward(x):\n    return x.__class__.__subclasses__()\n"], "__subclasses__"),
])
def test_static_analysis_flags_what_it_cannot_decide(cells, reason):
    forbidden, flagged = _verdict(cells)
    assert forbidden is None
    assert flagged is not None and reason in flagged and "line" in flagged
    assert any(reason in note and "line" in note for note in analyse(cells, {"conv_forward": CONV}).notes("conv_forward"))


@pytest.mark.parametrize("cells, reason", [
    (["get_ipython().input_transformers_cleanup.append(lambda lines: [])\n"], "get_ipython"),
    (["exec('print(1)')\n"], "exec"),
    (["import cnnlab.course.inside.worker as w\nw.reseed = lambda: None\n"], "cnnlab.course.inside.worker.reseed"),
])
def test_module_level_statements_are_notebook_notes_not_a_flag_on_every_question(cells, reason):
    """One odd module-level statement no graded name reaches is a note on the notebook: no question
    is flagged because of it (the sandbox and the grader outside it bound what it can do)."""
    analysis = analyse([*cells, "def conv_forward(x):\n    return x\n", "def other(x):\n    return x\n"],
                       {"conv_forward": CONV, "other": ("cnnlab.ops",)})
    assert analysis.flagged == {} and analysis.forbidden == {}
    assert any(reason in note and "line" in note for note in analysis.notebook_notes())


def test_static_analysis_leaves_honest_notebooks_alone():
    """Every magic and shell line a JupyterLab user writes, %%capture, functools.partial: no note at all."""
    cells = ["%matplotlib inline\n%load_ext autoreload\n%autoreload 2\nimport numpy as np\nimport matplotlib.pyplot as plt\n",
             "%pip install tqdm\n!ls -la\nfiles = !ls\n%env OMP_NUM_THREADS=1\n%who\n%run -i helper.py\n",
             "%%capture training_log\nfor epoch in range(2):\n    print(epoch)\n",
             "%%bash\necho hello\n",
             "import functools\n",
             "def _conv_general(x, w, b, stride, padding):\n    return x\n"
             "conv_forward_fast = functools.partial(_conv_general, stride=1)\n",
             "def _pad(x, p):\n    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))\n",
             "%%time\nnoise = np.random.rand(3)\ndisplay(noise)\nprint(noise)\nplt.plot(noise)\n"
             "def conv_forward(x, w, b, stride=1, padding=0):\n    return _pad(x, padding)\n",
             "from cnnlab.ops import conv2d\ndef my_check(x):  # not reachable from the answer\n    return conv2d(x)\n",
             "def conv2d(x):  # the student's own function of the same name\n    return x\n",
             "this is not python (\n"]
    assert _verdict(cells) == (None, None)
    analysis = analyse(cells, {"conv_forward": CONV, "conv_forward_fast": CONV})
    assert analysis.notes("conv_forward") == [] and analysis.notes("conv_forward_fast") == []
    assert analysis.notebook_notes() == []


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")
def test_static_analysis_survives_random_garbage():
    rng = np.random.default_rng(0)
    alphabet = list("()[]{}:;,.=+-*/%@!?'\"\\ \n\tabcxyz0123_#")
    for _ in range(50):
        text = "".join(rng.choice(alphabet, size=int(rng.integers(1, 400))))
        analyse([text, "def f():\n    return 1\n"], {"f": CONV})  # never raises


# --- the wire format: bounded, no pickle, no recursion -------------------------------------------------------

def _frame(text: bytes, data: bytes = b"") -> bytes:
    """A message as a (possibly hostile) worker would write it: header, JSON, array bytes."""
    import struct

    return struct.pack("<QQ", len(text), len(data)) + text + data


def _receive_frame(frame: bytes) -> dict:
    import os
    import threading

    read, write = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write, frame), os.close(write)))
    writer.start()
    try:
        return wire.receive(read)
    finally:
        writer.join()
        os.close(read)


def test_wire_sends_arrays_as_raw_bytes_after_the_json():
    import base64
    import os
    import threading

    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    read, write = os.pipe()
    sender = threading.Thread(target=lambda: (wire.send(write, {"x": wire.encode(x), "n": 3}), os.close(write)))
    sender.start()
    raw = b""
    while chunk := os.read(read, 1 << 16):
        raw += chunk
    sender.join()
    os.close(read)
    text_len, data_len = np.frombuffer(raw[:16], dtype="<u8")
    assert data_len == x.nbytes and raw[16 + text_len:] == x.tobytes()  # the array, byte for byte
    json_part = raw[16 : 16 + text_len]
    assert b"__nd__" in json_part  # the JSON names the array; no copy of its bytes, raw or base64, is in it
    assert x.tobytes() not in json_part and base64.b64encode(x.tobytes())[:16] not in json_part
    back = _receive_frame(raw)
    assert back["n"] == 3
    got = wire.decode(back["x"])
    assert got.dtype == np.float32 and np.array_equal(got, x) and got.flags.writeable


@pytest.mark.parametrize("value", [
    np.array(2.5), np.zeros((0, 3)), np.arange(5, dtype=">f8"), np.array([True, False]),
    np.arange(12.0).reshape(3, 4)[:, ::2], torch.tensor(1.5), torch.zeros(2, 3, dtype=torch.float64),
], ids=["0-d", "empty", "big-endian", "bool", "strided", "0-d tensor", "tensor"])
def test_wire_arrays_keep_shape_dtype_and_values_through_a_real_pipe(value):
    import os
    import threading

    read, write = os.pipe()
    sender = threading.Thread(target=lambda: (wire.send(write, {"v": wire.encode(value)}), os.close(write)))
    sender.start()
    got = wire.decode(wire.receive(read)["v"], tensors=True)
    sender.join()
    os.close(read)
    expected = value.numpy() if isinstance(value, torch.Tensor) else value
    assert isinstance(got, type(value))
    got = got.numpy() if isinstance(got, torch.Tensor) else got
    assert got.shape == expected.shape and got.dtype == expected.dtype and np.array_equal(got, expected)


@pytest.mark.parametrize("ref, data, match", [
    ({"offset": 0, "dtype": "|O", "shape": [1]}, b"\0" * 8, "dtype"),  # objects: would be pointers
    ({"offset": 0, "dtype": "<U2", "shape": [1]}, b"\0" * 8, "dtype"),  # strings
    ({"offset": 0, "dtype": "V8", "shape": [1]}, b"\0" * 8, "dtype"),  # raw records
    ({"offset": 0, "dtype": "pickle", "shape": [1]}, b"\0" * 8, "malformed|dtype"),
    ({"offset": 0, "dtype": ",,", "shape": [1]}, b"\0" * 8, "dtype"),  # numpy raises SyntaxError on this one
    ({"offset": 0, "dtype": "f8,", "shape": [1]}, b"\0" * 8, "dtype"),  # a one-field record
    ({"offset": 0, "dtype": "<f8", "shape": [2]}, b"\0" * 8, "outside"),  # more than was sent
    ({"offset": 8, "dtype": "<f8", "shape": [1]}, b"\0" * 8, "outside"),
    ({"offset": -8, "dtype": "<f8", "shape": [1]}, b"\0" * 8, "outside"),
    ({"offset": 0, "dtype": "<f8", "shape": [1 << 20, 1 << 20]}, b"", "too large"),
    ({"offset": 0, "dtype": "<f8", "shape": [1] * 9}, b"\0" * 8, "too large"),
    ({"offset": 0, "dtype": "<f8", "shape": [-1]}, b"\0" * 8, "malformed"),
    ({"offset": 0.5, "dtype": "<f8", "shape": [1]}, b"\0" * 8, "malformed"),
    ({"offset": 0, "dtype": "<f8", "shape": [1], "extra": 1}, b"\0" * 8, "malformed"),
    ("AAAA", b"", "malformed"),
])
def test_wire_receive_refuses_arrays_that_are_not_plain_numbers_inside_the_message(ref, data, match):
    import json

    with pytest.raises(wire.WireError, match=match):
        _receive_frame(_frame(json.dumps({"result": {"__nd__": ref}}).encode(), data))


def test_wire_refuses_deep_huge_and_object_payloads():
    nested: list = []
    for _ in range(50):
        nested = [nested]
    with pytest.raises(wire.WireError, match="nested"):
        wire.decode(nested)
    with pytest.raises(wire.WireError, match="malformed array"):
        wire.decode({"__nd__": "not an array!"})
    with pytest.raises(wire.WireError, match="dtype"):
        wire.encode(np.array(["text"]))  # a string array: not numbers
    with pytest.raises(wire.WireError, match="items"):
        wire.decode(list(range(wire.MAX_ITEMS + 1)))
    with pytest.raises(wire.WireError):
        wire.decode({"__weird__": 1})
    with pytest.raises(wire.WireError, match="too large"):
        _receive_frame(struct_header(wire.MAX_MESSAGE_BYTES + 1))


def struct_header(text_len: int) -> bytes:
    import struct

    return struct.pack("<QQ", text_len, 0)


def test_wire_receive_turns_deeply_nested_json_into_a_wire_error():
    import os
    import struct

    read, write = os.pipe()
    data = b"[" * 100_000 + b"]" * 100_000
    pid = os.fork()
    if pid == 0:  # the writer, like a hostile worker
        os.close(read)
        os.write(write, struct.pack("<QQ", len(data), 0) + data)
        os._exit(0)
    os.close(write)
    try:
        with pytest.raises(wire.WireError, match="malformed"):
            wire.receive(read)
    finally:
        os.close(read)
        os.waitpid(pid, 0)


# --- fail closed without running anything -----------------------------------------------------------------

def test_unreadable_notebook_and_unknown_test_cells_fail_closed(tmp_path):
    bad = tmp_path / "a.ipynb"
    bad.write_text('{"cells": [ not json')
    verdicts = verify_notebook("a1_conv_from_scratch", A1_SOURCE, bad, cell_timeout=5)
    assert verdicts and all(v.status == "error" and v.needs_review and not v.passed for v in verdicts.values())
    link = tmp_path / "link.ipynb"
    link.symlink_to(A1_SOURCE)
    assert all(v.status == "error" for v in verify_notebook("a1_conv_from_scratch", A1_SOURCE, link,
                                                           cell_timeout=5).values())
    unknown = verify_notebook("no_such_assignment", A1_SOURCE, bad, cell_timeout=5)
    assert unknown and all(v.status == "error" and "no trusted check" in v.message for v in unknown.values())


def test_copy_submission_refuses_links_and_special_files(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "sub").mkdir(parents=True)
    dst.mkdir()
    (src / "data.npy").write_bytes(b"x" * 10)
    (src / "sub" / "more.txt").write_text("ok")
    (src / "solution.ipynb").symlink_to(A1_SOURCE)
    os.mkfifo(src / "pipe")
    refused = copy_submission(src, dst)
    assert (dst / "data.npy").read_bytes() == b"x" * 10 and (dst / "sub" / "more.txt").read_text() == "ok"
    assert not (dst / "solution.ipynb").exists() and not (dst / "pipe").exists()
    assert any("symbolic link" in r for r in refused) and any("special file" in r for r in refused)


@needs_bwrap
def test_each_sandbox_has_its_own_uid_and_a_capped_tmpfs(tmp_path):
    code = ("import os\nprint(os.getuid())\ntry:\n    with open('/tmp/fill', 'wb') as fh:\n"
            "        for _ in range(64):\n            fh.write(b'x' * (1 << 20))\n    print('wrote all')\n"
            "except OSError as exc:\n    print('refused', exc.errno)\n")
    uids = []
    for _ in range(2):
        cmd, env = sandbox_command([sys.executable, "-c", code], workdir=None, chdir="/tmp/work",
                                   tmpfs_bytes=16 * 1024**2)
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        uid, result = out.stdout.split("\n")[:2]
        uids.append(int(uid))
        assert result.startswith("refused")  # 64 MB do not fit in a 16 MB tmpfs
    if os.geteuid() == 0:
        assert uids[0] != uids[1] and 0 not in uids


def test_transfer_time_is_measured_by_the_grader_alone():
    """The time subtracted from a sandboxed answer's time is a round trip inside the grader: a student
    process that stalls (or is gone) cannot make its answer look faster."""
    from cnnlab.course.grader.student_process import RemoteFunction, StudentProcess

    gone = StudentProcess([], None, cell_timeout=5)  # never started: nothing to talk to
    fn = RemoteFunction(gone, "conv_forward_fast")
    args = (np.zeros((16, 16, 32, 32)), np.zeros((32, 16, 3, 3)), np.zeros(32))
    seconds = fn.transfer_seconds(args, (16, 32, 32, 32))
    assert 0 < seconds < 5
    assert fn.results_only().return_args is False and fn.return_args is True


def test_a2_accuracy_is_measured_on_images_generated_at_grading_time(monkeypatch):
    """A 'model' that replays the test split's labels in their usual order, and one that looks each
    public test image up, both score at chance: the grader moves the held-out digits by a secret
    random augmentation and sends them in a secret order. A new seed gives new images."""
    from torch import nn

    from cnnlab.course.questions import a2
    from cnnlab.data.digits import load_digits_tensors

    images, labels = load_digits_tensors("test")

    class Replay(nn.Module):  # answers stored in advance, in the order the split usually has
        def forward(self, x):
            return nn.functional.one_hot(labels[: len(x)], 10).float()

    class LookUp(nn.Module):  # the nearest stored public test image (exact look-up when unmoved)
        def forward(self, x):
            match = torch.cdist(x.flatten(1), images.flatten(1)).argmin(dim=1)
            return nn.functional.one_hot(labels[match], 10).float()

    monkeypatch.setenv("CNNLAB_GRADING_SEED", "12345")
    assert a2.accuracy_on_test_split(Replay()) < 0.3
    moved, moved_labels = a2.test_images_of_this_run()
    exact = (moved.flatten(1)[:, None, :] == images.flatten(1)[None, :, :]).all(dim=2).any(dim=1)
    assert not exact.any()  # no image the grader sends is one of the public split's
    assert LookUp()(images).argmax(1).eq(labels).all()  # the look-up is perfect on the public split...
    exact_lookup = (moved.flatten(1)[:, None, :] == images.flatten(1)[None, :, :]).all(dim=2).float().argmax(dim=1)
    assert float((labels[exact_lookup].numpy() == moved_labels).mean()) < 0.3  # ...and at chance on these
    monkeypatch.setenv("CNNLAB_GRADING_SEED", "54321")
    again, _ = a2.test_images_of_this_run()
    assert not torch.equal(moved, again)  # new images every run


def test_a2_budget_counts_the_arrays_the_model_holds_not_what_parameters_says(monkeypatch):
    """The count comes from the arrays the probe sends (state dict and stored tensors): hiding the
    parameters from parameters()/state_dict() or storing a table as a plain attribute does not help."""
    from torch import nn

    from cnnlab.course.inside.probes import probe_model
    from cnnlab.course.questions import a2

    monkeypatch.setenv("CNNLAB_GRADING_SEED", "7")

    class Hidden(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.BatchNorm1d(10))
            self.table = torch.zeros(200, 64)  # a plain attribute, not a buffer
            self.hidden_layers = [nn.Linear(64, 64)]  # a layer in a plain list: not registered

        def forward(self, x):
            return self.body(x)

        def parameters(self, recurse=True):
            return iter([])

        def state_dict(self, *args, **kwargs):
            return {}

    model = Hidden().eval()
    held, predicted = probe_model(model, a2.test_images_of_this_run()[0][:3])
    expected = 64 * 10 + 10 + 2 * 10 + 2 * 10 + 200 * 64 + 64 * 64 + 64  # linear, BN, the table, the listed layer
    assert a2.count_numbers(held) == expected and predicted.shape == (3,)
    assert sum(p.numel() for p in model.parameters()) == 0
    with pytest.raises(a2.GradingError, match="holds 17,650 numbers"):
        a2.check_param_budget(model)


def test_wire_pipes_hold_a_megabyte_so_big_arrays_cross_in_few_writes():
    import fcntl
    import os

    read_end, write_end = wire.pipe()
    try:
        with open("/proc/sys/fs/pipe-max-size") as limit:
            allowed = int(limit.read())
        expected = wire.PIPE_BYTES if allowed >= wire.PIPE_BYTES else 64 * 1024
        assert fcntl.fcntl(write_end, fcntl.F_GETPIPE_SZ) >= expected
        payload = {"x": wire.encode(np.arange(300_000.0))}  # 2.4 MB: more than the pipe holds
        import threading

        got = {}
        reader = threading.Thread(target=lambda: got.update(wire.receive(read_end)))
        reader.start()
        wire.send(write_end, payload)
        reader.join(10)
        assert np.array_equal(wire.decode(got["x"]), np.arange(300_000.0))
    finally:
        os.close(read_end)
        os.close(write_end)


def test_only_the_newest_student_packages_are_kept(tmp_path):
    from cnnlab.course.grader.sandbox import _forget_old_packages

    for age, name in enumerate(["a", "b", "c", "d", "e", "f"]):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (1_000_000 - age * 100, 1_000_000 - age * 100))  # a is the newest
    (tmp_path / ".building-x").mkdir()  # another process's build in progress
    _forget_old_packages(tmp_path, keep=tmp_path / "f")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".building-x", "a", "b", "c", "f"]


def test_inside_imports_nothing_else_of_the_course():
    """What runs in the sandbox (cnnlab/course/inside) imports no other part of cnnlab.course:
    it is mounted alone, so such an import would fail there (and would widen the trust zone)."""
    import ast

    import cnnlab

    inside = Path(cnnlab.__file__).resolve().parent / "course" / "inside"
    files = sorted(inside.glob("*.py"))
    assert {f.name for f in files} >= {"worker.py", "wire.py", "probes.py"}
    for f in files:
        for node in ast.walk(ast.parse(f.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0 or node.module in (None, "wire", "probes", "worker"), (f, node.module)
                names = [node.module or ""]
            for name in names:
                if name.startswith("cnnlab.course"):
                    assert name.startswith("cnnlab.course.inside"), f"{f.name} imports {name}"
