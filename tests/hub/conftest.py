"""Fixtures for the hub tests: a real JupyterHub (deploy/jupyterhub_config.py) with an instructor and three students.

The hub runs as root with local Unix users; every test skips with the reason where that cannot be
(not root, no useradd, no configurable-http-proxy and no npm, no jupyterhub). Users, servers and the
hub are removed by the fixture's finalizer.
"""
from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "deploy"))

import hubctl  # noqa: E402
from _hubclass import Klass  # noqa: E402


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/hub/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.hub)


@pytest.fixture(scope="session")
def student_kit() -> Iterator[Path]:
    """``python -m cnnlab.course student-kit`` built once (or the kit named by CNNLAB_HUB_KIT)."""
    given = os.environ.get("CNNLAB_HUB_KIT")
    if given:
        yield Path(given)
        return
    base = Path(tempfile.mkdtemp(prefix="cnnlab-kit-", dir="/tmp"))
    os.chmod(base, 0o755)
    try:
        yield hubctl.build_kit(base / "kit", check=False)  # the kit's own tests scan it for answers
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def klass(student_kit: Path) -> Iterator[Klass]:
    reason = hubctl.why_hub_cannot_run()
    if reason:
        pytest.skip(f"cannot run JupyterHub here: {reason}")
    base = Path(tempfile.mkdtemp(prefix="cnnlab-hubtest-", dir="/tmp"))
    os.chmod(base, 0o755)  # user servers read the kit and the shared config below it
    tag = secrets.token_hex(2)
    instructor, students = f"hti{tag}", [f"hts{i}{tag}" for i in range(1, 4)]
    made: list[str] = []
    hub = None
    try:
        kit = student_kit
        user_env = hubctl.ensure_user_env(kit)
        for name in (instructor, *students):
            hubctl.add_user(name)
            made.append(name)
        hub = hubctl.Hub(base=base, user_env=user_env, kit=kit, instructors=[instructor], students=students,
                         extra_env={"CNNLAB_HUB_EXPOSE_APP": "1"}).start()
        yield Klass(hub, instructor, students, kit)
    except hubctl.HubUnavailable as exc:
        pytest.skip(str(exc))
    finally:
        if hub is not None:
            hub.stop()
        for name in made:
            hubctl.remove_user(name)
        shutil.rmtree(base, ignore_errors=True)
