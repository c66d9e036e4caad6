"""nbgrader's exchange with one uid per user, as the hub's servers (and the Kubernetes pods) run it: a
student cannot find, read, change, rename or delete a classmate's submission; the instructor collects all.

Real Unix users (root only), the users' environment's nbgrader, and the per-group Jupyter config of
deploy/jupyter/ (which swaps in deploy/jupyter/all/cnnlab_exchange.py) on an exchange of mode 1777.
"""
from __future__ import annotations

import os
import secrets
import shlex
import shutil
import stat
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from _hubclass import ROOT, hubctl

pytestmark = [pytest.mark.slow]


def _nbgrader_notebook(path: Path) -> None:
    cell = new_code_cell("def answer():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION",
                         metadata={"nbgrader": {"grade": False, "solution": True, "locked": False,
                                                "grade_id": "answer", "schema_version": 3}})
    test = new_code_cell("assert answer() == 42", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "test_answer", "points": 1,
        "schema_version": 3}})
    nb = new_notebook(cells=[cell, test], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                   "language": "python"}})
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def test_students_cannot_touch_each_others_submissions(student_kit: Path):
    reason = hubctl.why_hub_cannot_run()
    if reason:
        pytest.skip(f"needs root and local Unix users: {reason}")
    base = Path(tempfile.mkdtemp(prefix="cnnlab-exch-", dir="/tmp"))
    os.chmod(base, 0o755)
    tag = secrets.token_hex(2)
    inst, a, b = f"xi{tag}", f"xa{tag}", f"xb{tag}"
    made = []
    try:
        nbgrader = str(hubctl.ensure_user_env(student_kit) / "bin" / "nbgrader")
        config = base / "jupyter"
        shutil.copytree(ROOT / "deploy" / "jupyter", config)
        exchange = base / "exchange"
        exchange.mkdir()
        os.chmod(exchange, 0o1777)
        for user in (inst, a, b):
            hubctl.add_user(user)
            made.append(user)
        course = Path(os.path.expanduser(f"~{inst}")) / "course"
        _nbgrader_notebook(course / "source" / "ps1" / "ps1.ipynb")
        shutil.chown(course, inst, inst)
        for path in course.rglob("*"):
            shutil.chown(path, inst, inst)

        def run(user: str, *argv: str, group: str = "students", ok: bool = True):
            env = {"JUPYTER_CONFIG_PATH": f"{config / group}:{config / 'all'}", "CNNLAB_EXCHANGE": str(exchange),
                   "PATH": f"{Path(nbgrader).parent}:/usr/local/bin:/usr/bin:/bin"}
            cwd = str(course) if user == inst else None
            proc = hubctl.run_as(user, *argv, cwd=cwd, env=env, timeout=180)
            if ok:
                assert proc.returncode == 0, f"{user} {argv}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
            return proc

        run(inst, nbgrader, "generate_assignment", "ps1", group="instructors")
        run(inst, nbgrader, "release_assignment", "ps1", group="instructors")
        inbound = exchange / "cnnlab" / "inbound"
        assert stat.S_IMODE(inbound.stat().st_mode) == 0o3733  # setgid + sticky, no listing for others
        run(a, nbgrader, "fetch_assignment", "ps1")
        run(a, nbgrader, "submit", "ps1")
        subs = {p.name.split("+")[0]: p for p in inbound.iterdir()}
        assert set(subs) == {a}
        sub_a = subs[a]
        assert stat.S_IMODE(sub_a.stat().st_mode) == 0o770 and sub_a.stat().st_gid == inbound.stat().st_gid
        notebook_a = sub_a / "ps1.ipynb"
        assert stat.S_IMODE(notebook_a.stat().st_mode) == 0o640

        # Student B, even knowing the exact name of A's submission:
        denied = [
            ("ls", str(inbound)),                                    # find it
            ("cat", str(notebook_a)),                                # read it
            ("ls", str(sub_a)),
            ("sh", "-c", f"echo x >> {shlex.quote(str(notebook_a))}"),  # change it
            ("touch", str(sub_a / "extra.ipynb")),                   # add to it
            ("mv", str(sub_a), str(inbound / f"{b}+ps1+stolen")),    # take it over
            ("rm", "-rf", str(sub_a)),                               # delete it
        ]
        for argv in denied:
            proc = run(b, *argv, ok=False)
            assert proc.returncode != 0 and ("Permission denied" in proc.stderr or "not permitted" in proc.stderr), \
                (argv, proc.stdout, proc.stderr)
        assert sub_a.is_dir() and nbformat.read(str(notebook_a), as_version=4).cells[1].source == \
            "assert answer() == 42"

        # The instructor collects it.
        run(inst, nbgrader, "collect", "ps1", group="instructors")
        assert sorted(p.name for p in (course / "submitted").iterdir()) == [a]
        assert (course / "submitted" / a / "ps1" / "ps1.ipynb").is_file()
    finally:
        for user in made:
            hubctl.remove_user(user)
        shutil.rmtree(base, ignore_errors=True)
