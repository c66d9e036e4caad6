"""The student's copy of the import rules: equal to the grader's, applied in the kernel, checked in a notebook."""
from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

import course_config
from cnnlab import assignment_rules as ar
from cnnlab.course.grader import environments
from cnnlab.course.inside.import_rules import ImportRules

REPO = Path(__file__).resolve().parents[1]
A1, A2, A3 = "a1_conv_from_scratch", "a2_blocks_and_budget", "a3_detection"


def _grader_message(assignment: str, module: str) -> str:
    """The message the sandbox's own import_rules gives for a missing ``module``."""
    env = environments.for_assignment(assignment)
    return ImportRules(env.assignment, list(env.rules), env.summary).message(module)


# -- one source of truth ---------------------------------------------------------------------------
def test_the_rules_equal_course_config_and_the_grader_constants():
    """One declaration: what the grader's config and sandbox builder use is the student package's."""
    assert course_config.GRADING_ENVIRONMENTS is ar.ASSIGNMENTS
    assert environments.ALWAYS is ar.ALWAYS_PACKAGES
    assert environments.ALWAYS_CNNLAB is ar.ALWAYS_CNNLAB
    assert set(ar.ASSIGNMENTS) == set(course_config.ASSIGNMENTS)


@pytest.mark.parametrize("assignment", [A1, A2, A3])
def test_the_allowed_distributions_are_the_sandboxs(assignment):
    env = environments.for_assignment(assignment)
    wanted = tuple(p for p in (*environments.ALWAYS, *env.packages) if p != "cnnlab")
    grader = {environments._normal(d.metadata["Name"]) for d in environments.closure(wanted)}
    assert ar.rules_for(assignment).allowed_distributions() - {"cnnlab"} == grader


def test_the_module_is_shown_in_every_sandbox():
    env = environments.for_assignment(A1)
    assert "assignment_rules.py" in environments.cnnlab_entries(env, REPO / "cnnlab")


# -- the import hook -------------------------------------------------------------------------------
FORBIDDEN = {A1: ["torch", "torch.nn.functional", "scipy", "scipy.signal", "cnnlab.ops", "cnnlab.ops.conv",
                  "cnnlab.data", "cnnlab.models", "sklearn"],
             A2: ["cnnlab.models", "cnnlab.models.blocks", "cnnlab.plots", "cnnlab.detection"],
             A3: ["cnnlab.detection", "cnnlab.widgets", "cnnlab.widgets.convolution", "sklearn", "scipy"]}
ALLOWED = {A1: ["numpy", "matplotlib.pyplot", "IPython.display", "cnnlab.checks", "cnnlab.gradcheck", "json",
                "cnnlab.course.inside.wire", "my_helper_module_beside_the_notebook"],
           A2: ["torch.nn", "cnnlab.data", "cnnlab.train", "cnnlab.augment", "sklearn", "numpy"],
           A3: ["torch", "cnnlab.models", "cnnlab.train", "math"]}


def _unload(name: str) -> dict:
    """Take ``name`` and its submodules out of sys.modules (returned, to put back)."""
    gone = {m: sys.modules.pop(m) for m in list(sys.modules) if m == name or m.startswith(name + ".")}
    importlib.invalidate_caches()
    return gone


@pytest.fixture
def finder_of():
    installed = []

    def make(assignment):
        finder = ar.use_rules(assignment, quiet=True)
        installed.append(finder)
        return finder

    yield make
    for finder in installed:
        finder.remove()


@pytest.mark.parametrize("assignment", [A1, A2, A3])
def test_the_hook_refuses_each_forbidden_module_with_the_graders_message(assignment, finder_of, monkeypatch):
    monkeypatch.delenv(ar.GRADER_ENV_VAR, raising=False)
    finder_of(assignment)
    for module in FORBIDDEN[assignment]:
        saved = _unload(module)
        try:
            with pytest.raises(ModuleNotFoundError) as caught:
                importlib.import_module(module)
        finally:
            sys.modules.update(saved)
        # the first missing package on the way names the error, as in the sandbox (scipy for scipy.signal)
        missing = caught.value.name
        assert module == missing or module.startswith(missing + "."), module
        assert str(caught.value) == _grader_message(assignment, missing), module


@pytest.mark.parametrize("assignment", [A1, A2, A3])
def test_the_hook_allows_what_the_grader_holds(assignment, finder_of, monkeypatch):
    monkeypatch.delenv(ar.GRADER_ENV_VAR, raising=False)
    finder = finder_of(assignment)
    for module in ALLOWED[assignment]:
        assert finder.rules.message(module) is None, module
    for module in ALLOWED[assignment]:
        if not module.startswith("my_"):
            importlib.import_module(module)  # already loaded or loads: the hook does not refuse it


def test_a_from_import_of_a_forbidden_submodule_is_refused(finder_of, monkeypatch):
    monkeypatch.delenv(ar.GRADER_ENV_VAR, raising=False)
    finder_of(A2)
    saved = _unload("cnnlab.models")
    try:
        with pytest.raises(ModuleNotFoundError, match="assignment 2 asks for your own blocks"):
            exec("from cnnlab.models import blocks", {})
    finally:
        sys.modules.update(saved)


def test_a_librarys_probe_for_an_optional_package_is_not_refused_but_its_import_is(finder_of, monkeypatch):
    """torch._dynamo probes optional packages with importlib.util.find_spec (hypothesis, ...): the probe
    answers as without the rules, so training a model under assignment 2's rules works."""
    monkeypatch.delenv(ar.GRADER_ENV_VAR, raising=False)
    finder_of(A3)
    saved = _unload("sklearn")
    try:
        importlib.util.find_spec("sklearn")  # no exception
        with pytest.raises(ModuleNotFoundError, match="assignment 3's grading environment holds"):
            importlib.import_module("sklearn")
    finally:
        sys.modules.update(saved)


def test_the_hook_is_removable_and_replaces_an_earlier_one(monkeypatch):
    monkeypatch.delenv(ar.GRADER_ENV_VAR, raising=False)
    first = ar.use_rules(A1, quiet=True)
    second = ar.use_rules(A3, quiet=True)
    try:
        assert first not in sys.meta_path and sys.meta_path[0] is second
    finally:
        second.remove()
    assert not any(isinstance(f, ar.RulesFinder) for f in sys.meta_path)
    saved = _unload("cnnlab.ops")
    try:
        importlib.import_module("cnnlab.ops")  # importable again once removed
    finally:
        sys.modules.update(saved)


def test_inside_the_grader_it_steps_aside(monkeypatch):
    monkeypatch.setenv(ar.GRADER_ENV_VAR, json.dumps({"assignment": A1, "rules": [], "summary": ""}))
    before = list(sys.meta_path)
    assert ar.use_rules(A1) is None
    assert sys.meta_path == before


def test_use_rules_says_what_applies_and_warns_about_modules_already_loaded(monkeypatch, capsys):
    monkeypatch.delenv(ar.GRADER_ENV_VAR, raising=False)
    importlib.import_module("torch")  # loaded before the rules, as in a kernel that ran other code first

    finder = ar.use_rules(A1)
    finder.remove()
    out = capsys.readouterr().out
    assert "torch, scipy, cnnlab.ops" in out and "python -m cnnlab.assignment_rules check" in out
    note = [line for line in out.splitlines() if line.startswith("note: ")]
    assert len(note) == 1 and "torch" in note[0] and "imported before the rules applied; restart the kernel" in note[0]


def test_an_unknown_assignment_is_a_clear_error():
    with pytest.raises(ValueError, match="no import rules for assignment 'a9'.*a1_conv_from_scratch"):
        ar.use_rules("a9")


# -- the static check ------------------------------------------------------------------------------
def _write(tmp_path: Path, cells: list[str], name: str = "a1_conv_from_scratch.ipynb") -> Path:
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "markdown", "metadata": {}, "source": "# import torch (in prose: fine)"}]
          + [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
             for c in cells]}
    path = tmp_path / name
    path.write_text(json.dumps(nb))
    return path


def test_check_finds_every_kind_of_import_with_cell_and_line(tmp_path):
    path = _write(tmp_path, [
        "import numpy as np\nimport torch",                                   # cell 2 line 2
        "x = 1\nfrom scipy import signal as sg",                               # cell 3 line 2
        "import cnnlab.ops as o, json",                                        # cell 4 line 1
        "%time from cnnlab.ops.conv import conv2d\n!ls\n%matplotlib inline",   # cell 5 line 1
        "%%time\nimport numpy\nif True:\n    import torch.nn.functional as F",  # cell 6 line 4
        "%timeit -n 3 __import__('scipy')",                                    # cell 7 line 1
        "%%writefile mylib.py\nfrom cnnlab import ops",                        # cell 8 line 2
        "def f(:\n    import sklearn",                                         # cell 9 line 2 (does not parse)
        "np.pad?\nimport torch  # allowed?",                                   # cell 10 line 2
    ])
    found = [(f.cell, f.line, f.module) for f in ar.check_notebook(path, A1)]
    assert found == [(2, 2, "torch"), (3, 2, "scipy"), (4, 1, "cnnlab.ops"), (5, 1, "cnnlab.ops.conv"),
                     (6, 4, "torch.nn.functional"), (7, 1, "scipy"), (8, 2, "cnnlab.ops"), (9, 2, "sklearn"),
                     (10, 2, "torch")]
    first = ar.check_notebook(path, A1)[0]
    assert first.message == _grader_message(A1, "torch")
    assert first.code == "import torch"
    assert str(first).startswith("cell 2, line 2: import torch\n    No module named 'torch': ")


def test_an_honest_released_notebook_has_no_finding(tmp_path):
    for assignment in (A1, A2, A3):
        source = REPO / "notebooks" / "assignments" / assignment / f"{assignment}.ipynb"
        assert ar.check_notebook(source, assignment) == [], assignment
    honest = _write(tmp_path, ["import numpy as np\nfrom cnnlab.checks import check_array\n%matplotlib inline",
                               "%%time\nimport functools\nfrom functools import partial", "!pip list"])
    assert ar.check_notebook(honest, A1) == []


def test_the_command_reads_the_assignment_from_the_name_and_exits_by_result(tmp_path):
    bad = _write(tmp_path, ["import torch"])
    good = _write(tmp_path, ["import numpy"], name="mine.ipynb")
    run = lambda *a: subprocess.run([sys.executable, "-m", "cnnlab.assignment_rules", *a],  # noqa: E731
                                    capture_output=True, text=True, cwd=REPO)
    proc = run("check", str(bad))
    assert proc.returncode == 1 and "cell 2, line 1: import torch" in proc.stdout
    assert "PyTorch (and its autograd) is not available" in proc.stdout
    proc = run("check", str(good))
    assert proc.returncode == 2 and "cannot tell which assignment mine.ipynb belongs to" in proc.stderr
    proc = run("check", str(good), "--assignment", A3)
    assert proc.returncode == 0 and "no import breaks a3_detection's rules" in proc.stdout
    proc = run("check", str(tmp_path / "missing.ipynb"), "--assignment", A1)
    assert proc.returncode == 2 and "is not a readable Jupyter notebook" in proc.stderr


def test_the_assignment_comes_from_a_folder_above_too(tmp_path):
    folder = tmp_path / "submitted" / "alice" / A2
    folder.mkdir(parents=True)
    assert ar.assignment_of(_write(folder, ["x = 1"], name="notebook.ipynb")) == A2


def test_the_kit_readme_tells_students_about_the_check():
    from cnnlab.course.kit.build import README

    text = README.format(wheel="cnnlab-0.1.0-py3-none-any.whl")
    assert "python -m cnnlab.assignment_rules check assignments/<id>/<id>.ipynb" in text


@pytest.mark.course
@pytest.mark.slow
def test_the_a1_set_up_cell_runs_in_the_sandbox_and_the_reference_answers_keep_full_marks(tmp_path):
    """The worker runs the set-up cell (with use_rules) inside the a1 sandbox: no error in it, every
    graded cell passes, and a forbidden import there still reads the grader's rule."""
    import nbformat

    from cnnlab.course.grader.recheck import grade_notebook

    source = nbformat.read(str(REPO / "notebooks" / "assignments" / A1 / f"{A1}.ipynb"), as_version=4)
    setup = next(i for i, c in enumerate(source.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    assert 'use_rules("a1_conv_from_scratch")' in source.cells[setup].source
    submitted = copy.deepcopy(source)
    submitted.cells.insert(setup + 1, nbformat.v4.new_code_cell("import cnnlab.ops"))
    run = grade_notebook(A1, source, submitted, cell_timeout=60, submission_dir=tmp_path, run_always=True)
    assert not [o for o in run.outputs.get(setup, []) if o.get("output_type") == "error"]
    assert run.verdicts and all(v.passed and not v.needs_review for v in run.verdicts.values()), \
        {g: v for g, v in run.verdicts.items() if not v.passed or v.needs_review}
    refused = " ".join(str(o.get("evalue", "")) for o in run.outputs.get(setup + 1, []))
    assert refused == _grader_message(A1, "cnnlab.ops")
