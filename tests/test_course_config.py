"""cnnlab.course.config finds course_config.py from --config, CNNLAB_COURSE_CONFIG or the working directory."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.course import config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_variable(monkeypatch):
    """Start without CNNLAB_COURSE_CONFIG and restore it afterwards (``config.use`` sets it)."""
    monkeypatch.setenv(config.ENV_VAR, "recorded so that teardown restores the original")
    monkeypatch.delenv(config.ENV_VAR)


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course folder with its own config and a nested working directory."""
    root = tmp_path / "course"
    (root / "deep" / "er").mkdir(parents=True)
    (root / config.FILENAME).write_text("COURSE_ID = 'from the working directory'\n")
    return root


def test_found_in_the_working_directory_and_its_parents(course, monkeypatch):
    monkeypatch.chdir(course / "deep" / "er")
    assert config.config_path() == course / config.FILENAME
    assert config.load().COURSE_ID == "from the working directory"


def test_the_environment_variable_wins_over_the_working_directory(course, tmp_path, monkeypatch):
    other = tmp_path / "elsewhere.py"
    other.write_text("COURSE_ID = 'from the variable'\n")
    monkeypatch.chdir(course)
    monkeypatch.setenv(config.ENV_VAR, str(other))
    assert config.load().COURSE_ID == "from the variable"


def test_use_records_the_file_for_child_processes(course, tmp_path, monkeypatch):
    chosen = tmp_path / "chosen.py"
    chosen.write_text("COURSE_ID = 'from --config'\n")
    monkeypatch.chdir(course)
    assert config.use(chosen) == chosen
    assert config.load().COURSE_ID == "from --config"
    child = subprocess.run([sys.executable, "-c", f"import os; print(os.environ[{config.ENV_VAR!r}])"],
                           capture_output=True, text=True, check=True)
    assert child.stdout.strip() == str(chosen)


def test_not_found_is_explained(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="no course_config.py found in .* pass --config"):
        config.load()
    monkeypatch.setenv(config.ENV_VAR, str(tmp_path / "missing.py"))
    with pytest.raises(FileNotFoundError, match="CNNLAB_COURSE_CONFIG is set to .*missing.py"):
        config.config_path()
    with pytest.raises(FileNotFoundError, match="--config .*nope.py: no such file"):
        config.use(tmp_path / "nope.py")


def test_the_cli_takes_config_before_the_command(tmp_path, monkeypatch):
    from cnnlab.course.__main__ import _take_config, main

    chosen = tmp_path / "c.py"
    chosen.write_text("")
    monkeypatch.chdir(tmp_path)
    assert _take_config(["--config", str(chosen), "report", "a1"]) == ["report", "a1"]
    assert config.config_path() == chosen.resolve()
    assert _take_config([f"--config={chosen}", "grade", "a1"]) == ["grade", "a1"]
    assert main(["--config", str(tmp_path / "absent.py"), "report", "a1"]) == 2


def test_the_repository_config_is_found_from_the_repository(monkeypatch):
    monkeypatch.chdir(REPO / "notebooks")
    assert config.config_path() == REPO / "course_config.py"
