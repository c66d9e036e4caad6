"""The gradebook on PostgreSQL: a real server (Debian's postgresql), the parallel grader, nbgrader's Gradebook API.

The fixture runs ``initdb`` into a temporary directory and ``pg_ctl`` on 127.0.0.1 at a free port as an
unprivileged user (PostgreSQL refuses root), and stops it afterwards. Skipped with the reason when
PostgreSQL or psycopg is missing.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from _hubclass import ROOT, hubctl

sys.path.insert(0, str(ROOT / "tests" / "course"))
from _course import Course  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.course]

A = "a1_conv_from_scratch"
WRONG_SAME_PADDING = ("def same_padding(n, f, s=1):\n    out = -(-n // s)\n    total = max((out - 1) * s + f - n, 0)\n"
                      "    return total - total // 2, total // 2\n")


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _as_owner(owner: str | None, argv: list[str], **kw) -> subprocess.CompletedProcess:
    cmd = ["runuser", "-u", owner, "--", *argv] if owner else argv
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
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
    proc = _as_owner(owner, [initdb, "-D", str(data), "-A", "trust", "-U", "cnnlab", "--no-sync", "-E", "UTF8"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = _as_owner(owner, [pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
                             f"-k {sock} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off", "start"])
    assert proc.returncode == 0, proc.stdout + proc.stderr + (log.read_text() if log.exists() else "")
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="cnnlab", dbname="postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE cnnlab")
        yield f"postgresql://cnnlab@127.0.0.1:{port}/cnnlab"
    finally:
        _as_owner(owner, [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)


def test_grade_on_postgresql(postgres_url: str, tmp_path: Path):
    from nbgrader.api import Gradebook

    course = Course(tmp_path, cell_timeout=60)
    course.env["CNNLAB_DB_URL"] = postgres_url
    course.course("init")
    course.nbgrader("generate_assignment", A)
    students = {"pgref": course.answered(A), "pgblank": course.release(A),
                "pgwrong": course.answered(A, same_padding=WRONG_SAME_PADDING)}
    for student, nb in students.items():
        course.submit(A, student, nb)
    proc = course.course("grade", A, "--jobs", "2", check=False)
    # Exit status 1 ("needs review") is expected only for the written answer, graded by hand.
    review = [line for line in proc.stdout.splitlines() if line.startswith("  ") and f"{A}/" in line]
    assert proc.returncode == 0 or (proc.returncode == 1 and all("written_" in r for r in review)), \
        f"grade failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "database is locked" not in proc.stdout + proc.stderr

    with Gradebook(postgres_url, course_id="cnnlab") as gb:
        assignment = gb.find_assignment(A)
        points = {gc.name: float(gc.max_score) for nb in assignment.notebooks for gc in nb.grade_cells
                  if gc.cell_type == "code"}
        scores = {}
        for student in students:
            sub = gb.find_submission_notebook(A, A, student)
            scores[student] = {g.name: float(g.score) for g in sub.grades if g.name in points}
    assert scores["pgref"] == points, proc.stdout
    assert scores["pgblank"] == {name: 0.0 for name in points}, proc.stdout
    assert scores["pgwrong"] == {**points, "test_same_padding": 0.0}, proc.stdout
    # Everything went to the server: no SQLite gradebook appeared beside the course.
    assert not (course.root / "gradebook.db").exists(), "some step of the workflow ignored CNNLAB_DB_URL"
