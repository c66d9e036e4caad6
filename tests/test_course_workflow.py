"""run_nbgrader: nbgrader runs from the course root and is told which course_config.py to use."""
from __future__ import annotations

import subprocess
from pathlib import Path

from cnnlab.course import config
from cnnlab.course.grader import nbgrader_cli as workflow

REPO = Path(__file__).resolve().parents[1]


def test_nbgrader_children_find_the_config_from_a_course_outside_the_repository(tmp_path, monkeypatch):
    seen = {}

    def fake_run(cmd, cwd, check, text, capture_output, env):
        seen.update(cmd=cmd, cwd=Path(cwd), env=env)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.delenv(config.ENV_VAR, raising=False)
    monkeypatch.setenv("CNNLAB_COURSE_ROOT", str(tmp_path / "course"))
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(workflow.subprocess, "run", fake_run)
    workflow.run_nbgrader(["autograde", "a1_conv_from_scratch"])
    assert seen["cwd"] == tmp_path / "course"
    assert seen["env"][config.ENV_VAR] == str(REPO / "course_config.py")
    assert f"--NbGrader.config_file={REPO / 'course_config.py'}" in seen["cmd"]


def test_an_explicit_config_is_kept(tmp_path, monkeypatch):
    other = tmp_path / "course_config.py"
    other.write_text((REPO / "course_config.py").read_text())
    seen = {}
    monkeypatch.setenv(config.ENV_VAR, str(other))
    monkeypatch.setenv("CNNLAB_COURSE_ROOT", str(tmp_path / "course"))
    monkeypatch.setattr(workflow.subprocess, "run",
                        lambda cmd, **kw: seen.update(env=kw["env"]) or subprocess.CompletedProcess(cmd, 0))
    workflow.run_nbgrader(["--version"])
    assert seen["env"][config.ENV_VAR] == str(other)
