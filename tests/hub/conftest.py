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
from _pg import PG_PASSWORD, as_owner, pg_bin  # noqa: E402


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


# -- a PostgreSQL server for the gradebook tests ----------------------------------------------------
@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    # SQLAlchemy 2.1 reaches postgresql:// URLs through psycopg (version 3).
    psycopg = pytest.importorskip("psycopg", reason="pip install 'psycopg[binary]'")

    owner = "nobody" if os.geteuid() == 0 else None  # the server refuses to run as root
    base = Path(tempfile.mkdtemp(prefix="cnnlab-pg-", dir="/tmp"))
    data, sock, log = base / "data", base / "sock", base / "pg.log"
    sock.mkdir()
    if owner:
        shutil.chown(base, owner)
        shutil.chown(sock, owner)
    port = hubctl.free_port()
    # password authentication, as a real server has (the tests check the password never shows)
    pwfile = base / "pw"
    pwfile.write_text(PG_PASSWORD + "\n")
    if owner:
        shutil.chown(pwfile, owner)
    proc = as_owner(owner, [initdb, "-D", str(data), "-A", "scram-sha-256", "-U", "cnnlab", "--pwfile", str(pwfile),
                             "--no-sync", "-E", "UTF8"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = as_owner(owner, [pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
                             f"-k {sock} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off", "start"])
    assert proc.returncode == 0, proc.stdout + proc.stderr + (log.read_text() if log.exists() else "")
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="cnnlab", password=PG_PASSWORD, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE cnnlab")
        yield f"postgresql://cnnlab:{PG_PASSWORD}@127.0.0.1:{port}/cnnlab"
    finally:
        as_owner(owner, [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)
