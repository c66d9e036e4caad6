"""environment.yml and pyproject.toml must install the same packages, and the entry points must exist."""
from __future__ import annotations

import re
import runpy
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = data["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs.extend(extra)
    return {re.sub(r"\s+", "", r) for r in reqs}


def _environment_pip_requirements() -> tuple[set[str], str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    pip_items, python = [], ""
    in_pip = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("- python="):
            python = stripped[len("- python="):]
        if stripped == "- pip:":
            in_pip = True
            continue
        if in_pip:
            if stripped.startswith("- "):
                pip_items.append(stripped[2:])
            elif stripped and not stripped.startswith("#"):
                in_pip = False
    return {re.sub(r"\s+", "", p) for p in pip_items if not p.startswith("-e")}, python


def test_environment_yml_matches_pyproject():
    env, python = _environment_pip_requirements()
    pyproject = _pyproject_requirements()
    assert python == "3.11"
    assert env == pyproject, (
        f"only in environment.yml: {sorted(env - pyproject)}; only in pyproject.toml: {sorted(pyproject - env)}"
    )


def test_torch_is_pinned_to_the_local_wheel():
    assert "torch==2.13.0" in _pyproject_requirements()


def test_course_config_lists_existing_notebooks():
    cfg = runpy.run_path(str(ROOT / "course_config.py"))
    assert cfg["COURSE_ID"]
    for rel in cfg["LECTURES"]:
        assert (ROOT / rel).is_file(), f"course_config.LECTURES names {rel}, which does not exist"
    for aid in cfg["ASSIGNMENTS"]:
        assert (ROOT / "notebooks" / "assignments" / aid).is_dir(), f"assignment {aid} has no source folder"


def test_makefile_has_the_readme_commands():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lab:", "test:", "bench:"):
        assert re.search(rf"^{target}", makefile, re.M), f"Makefile lacks the {target[:-1]} target"
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
