"""The contract between cnnlab.course and nbgrader: nbgrader's own tests pass with the course's
overrides applied (cnnlab/course/grader/nbgrader_overrides.py), and the overrides name what
they replace in the installed nbgrader."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.course.grader import nbgrader_overrides as overrides

# A selection of nbgrader's suite that covers each override: the gradebook (one shared engine per
# database), SaveAutoGrades (schema checks, the engine), collect (SafeCollect: permissions with and
# without groupshared, sub-folders, the owner check), the autograde app (several gradebooks of one
# process sharing the engine, permissions, a failing notebook).
GRADEBOOK = ("test_add_student or test_remove_student or test_add_assignment or test_remove_submission "
             "or test_find_grade_by_id or test_average_assignment_score_empty or test_student_dicts_zero "
             "or test_course_id_constructor")  # 13 tests, each with a new gradebook
SELECTION = [
    ("nbgrader.tests.api.test_gradebook", GRADEBOOK),
    ("nbgrader.tests.preprocessors.test_saveautogrades", ""),
    ("nbgrader.tests.apps.test_nbgrader_collect", "test_collect or test_permissions or test_owner_check"),
    ("nbgrader.tests.apps.test_nbgrader_autograde",
     "test_student_id_exclude or test_force_f or test_permissions or test_handle_failure_single_notebook"),
]


@pytest.mark.course  # about a minute: nbgrader's tests start nbgrader apps
@pytest.mark.parametrize("module,keyword", SELECTION, ids=[m.rsplit(".", 1)[1] for m, _ in SELECTION])
def test_nbgrader_own_tests_pass_with_the_course_overrides(module, keyword, tmp_path):
    report = tmp_path / "safe_collect_calls"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(Path(__file__).parent), "CNNLAB_CONTRACT_REPORT": str(report)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "_nbgrader_contract_plugin",
           "-o", "addopts=", "--pyargs", module]
    if keyword:
        cmd += ["-k", keyword]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    summary = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-2000:]
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 4, summary
    if module.endswith("collect"):
        assert int(report.read_text()) > 0  # SafeCollect did the copying


def test_autograde_steps_are_nbgraders_with_the_trusted_ones_substituted():
    from nbgrader.converters.autograde import Autograde

    default = [f"{c.__module__}.{c.__qualname__}" for c in Autograde().autograde_preprocessors]
    steps = overrides.autograde_steps(overrides.TRUSTED_STEPS, overrides.LEFT_OUT_STEPS)
    assert len(steps) == len(default) - len(overrides.LEFT_OUT_STEPS)
    for name, step in zip([n for n in default if n not in overrides.LEFT_OUT_STEPS], steps):
        assert step == overrides.TRUSTED_STEPS.get(name, name)
    with pytest.raises(RuntimeError, match="not among them"):
        overrides.autograde_steps({"nbgrader.preprocessors.NoSuchStep": "x"})


@pytest.mark.slow  # a fresh interpreter that imports nbgrader
def test_in_memory_gradebooks_are_never_shared(tmp_path):
    """Two in-memory gradebooks are two databases, with the shared-engine override on (it broke
    nbgrader's own gradebook tests: 'no such table: course')."""
    code = ("from cnnlab.course.grader import nbgrader_overrides as o; o.one_engine_per_database()\n"
            "o.alembic_head_in_process()\n"
            "from nbgrader.api import Gradebook\n"
            "with Gradebook('sqlite:///:memory:') as a:\n    a.add_student('ann')\n"
            "with Gradebook('sqlite:///:memory:') as b:\n    print([s.id for s in b.students])\n"
            f"url = 'sqlite:///{tmp_path}/g.db'\n"
            "with Gradebook(url) as c:\n    c.add_student('bob')\n"
            "with Gradebook(url) as d:\n    print([s.id for s in d.students])\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split("\n")[:2] == ["[]", "['bob']"]


def test_safe_collect_keeps_nbgraders_rules_and_refuses_links(tmp_path):
    """SafeCollect copies what nbgrader's collect would (ignore and include patterns, size limit,
    groupshared modes) and never follows a link: a link to a secret is not collected."""
    from nbgrader.coursedir import CourseDirectory

    secret = tmp_path / "secret.txt"
    secret.write_text("the answers")
    src = tmp_path / "inbound" / "s1+a1+2026"
    (src / "sub").mkdir(parents=True)
    (src / "a1.ipynb").write_text("{}")
    (src / "notes.pyc").write_text("ignored by pattern")
    (src / "big.bin").write_bytes(b"x" * 3000)
    (src / "sub" / "helper.py").write_text("x = 1")
    (src / "leak.txt").symlink_to(secret)
    (src / "sub" / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    coursedir = CourseDirectory(root=str(tmp_path / "course"), ignore=["*.pyc"], max_file_size=2, groupshared=True)
    collect = overrides.SafeCollect(coursedir=coursedir)
    dest = tmp_path / "submitted"
    collect.do_copy(str(src), str(dest))
    copied = sorted(str(p.relative_to(dest)) for p in dest.rglob("*"))
    assert copied == ["a1.ipynb", "sub", "sub/helper.py"]
    assert (dest / "sub").stat().st_mode & 0o2770 == 0o2770  # groupshared folders
    assert (dest / "a1.ipynb").stat().st_mode & 0o660 == 0o660


def test_released_notebooks_lose_their_jupytext_pairing():
    """nbgrader's release steps, then the one that drops the pairing (tests/test_kit.py checks the
    real release); the instructor's source keeps it."""
    import nbformat
    from nbgrader.converters.generate_assignment import GenerateAssignment

    from cnnlab.course.grader.nbgrader_steps import DropJupytextPairing

    default = [f"{c.__module__}.{c.__qualname__}" for c in GenerateAssignment().preprocessors]
    assert overrides.release_steps() == [*default, "cnnlab.course.grader.nbgrader_steps.DropJupytextPairing"]
    source = Path(__file__).resolve().parents[1] / "notebooks" / "assignments" / "a1_conv_from_scratch"
    nb = nbformat.read(str(source / "a1_conv_from_scratch.ipynb"), as_version=4)
    assert "jupytext" in nb.metadata
    released, _ = DropJupytextPairing().preprocess(nb, {})
    assert "jupytext" not in released.metadata and "kernelspec" in released.metadata
