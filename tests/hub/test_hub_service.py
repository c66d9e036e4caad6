"""The hub as a service: the systemd units `deploy/hubctl.py systemd` writes, HTTPS with the instructor's
certificate, the gradebook's password kept out of every page, and the gradebook backup / restore.

The units are checked as files (and by ``systemd-analyze verify`` where it exists), then run: the proxy
and the hub start from the units' own ``ExecStart`` lines and environment file, with a self-signed
certificate for 127.0.0.1, and the hub must answer over HTTPS only. The backup is restored into fresh
SQLite and PostgreSQL databases and every score is compared with the values the test put in.
"""
from __future__ import annotations

import datetime as dt
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from _hubclass import ROOT, hubctl
from _pg import new_database

sys.path.insert(0, str(ROOT / "deploy"))
import gradebook_backup  # noqa: E402
import units  # noqa: E402


def _self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "hub.crt", folder / "hub.key"
    proc = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                           "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out",
                           str(cert)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return cert, key


def _unit(path: Path) -> dict[str, list[str]]:
    """{Key: [values]} of a unit file (all sections together)."""
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def _env_file(path: Path) -> dict[str, str]:
    return {k: shlex.split(v)[0] if v else "" for k, _, v in
            (line.partition("=") for line in path.read_text().splitlines() if line and not line.startswith("#"))}


def test_systemd_units(tmp_path: Path):
    if not shutil.which("openssl"):
        pytest.skip("needs openssl for the test certificate")
    cert, key = _self_signed(tmp_path)
    written = units.write_units(tmp_path / "units", tmp_path / "hub", port=8443, ssl_cert=cert, ssl_key=key,
                                extra={"CNNLAB_MEM_LIMIT": "3G"})
    proxy, hub, env = _unit(written["proxy"]), _unit(written["hub"]), written["env"]
    proxy_cmd = shlex.split(proxy["ExecStart"][0])
    assert proxy_cmd[0].endswith("configurable-http-proxy")
    opts = dict(zip(proxy_cmd[1::2], proxy_cmd[2::2]))
    assert opts["--port"] == "8443" and opts["--ssl-cert"] == str(cert) and opts["--ssl-key"] == str(key)
    assert opts["--api-ip"] == "127.0.0.1" and opts["--error-target"].endswith("/hub/error")
    assert shlex.split(hub["ExecStart"][0])[1:] == ["-f", str(ROOT / "deploy" / "jupyterhub_config.py")]
    assert hub["Requires"] == ["cnnlab-proxy.service"] and "cnnlab-proxy.service" in hub["After"][0]
    for unit in (proxy, hub):
        assert unit["Restart"] == ["always"] and unit["WantedBy"] == ["multi-user.target"]
        assert unit["EnvironmentFile"] == [str(env)]
    # the environment file holds the proxy's token: root only; the token survives rewriting the units
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    settings = _env_file(env)
    assert len(settings["CONFIGPROXY_AUTH_TOKEN"]) == 64 and settings["CNNLAB_PROXY_EXTERNAL"] == "1"
    assert settings["CNNLAB_SSL_CERT"] == str(cert) and settings["CNNLAB_MEM_LIMIT"] == "3G"
    units.write_units(tmp_path / "units", tmp_path / "hub", port=8443, ssl_cert=cert, ssl_key=key, extra={})
    assert _env_file(env)["CONFIGPROXY_AUTH_TOKEN"] == settings["CONFIGPROXY_AUTH_TOKEN"]
    with pytest.raises(ValueError, match="needs both the certificate"):
        units.write_units(tmp_path / "u2", tmp_path / "hub", ssl_cert=cert)
    if shutil.which("systemd-analyze"):
        proc = subprocess.run(["systemd-analyze", "verify", str(written["proxy"]), str(written["hub"])],
                              capture_output=True, text=True, timeout=60)
        problems = [line for line in (proc.stdout + proc.stderr).splitlines()
                    if "cnnlab-" in line and "Failed to" not in line.split("cnnlab-")[0][-3:]]
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert not [p for p in problems if "ignoring" in p.lower() or "unknown" in p.lower()], problems


def _start(argv: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    with open(log, "w") as fh:
        return subprocess.Popen(argv, env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.mark.slow
def test_hub_from_units_over_https_keeps_the_db_password_out_of_pages(student_kit: Path, postgres_url: str):
    reason = hubctl.why_hub_cannot_run()
    if reason:
        pytest.skip(f"cannot run JupyterHub here: {reason}")
    base = Path(tempfile.mkdtemp(prefix="cnnlab-hubsvc-", dir="/tmp"))
    os.chmod(base, 0o755)
    inst = "hsi" + os.urandom(2).hex()
    password = postgres_url.split(":")[2].split("@")[0]
    proxy = hubproc = None
    try:
        cert, key = _self_signed(base)
        user_env = hubctl.ensure_user_env(student_kit)
        hubctl.add_user(inst)
        port, admin = hubctl.free_port(), os.urandom(16).hex()
        written = units.write_units(base / "units", base / "hub", ip="127.0.0.1", port=port,
                                    hub_api_port=hubctl.free_port(), proxy_api_port=hubctl.free_port(),
                                    ssl_cert=cert, ssl_key=key, chp=hubctl.ensure_proxy(), extra={
                                        "CNNLAB_USER_ENV": str(user_env), "CNNLAB_KIT": str(student_kit),
                                        "CNNLAB_EXCHANGE": str(base / "exchange"), "CNNLAB_INSTRUCTORS": inst,
                                        "CNNLAB_HUB_AUTH": "dummy", "CNNLAB_HUB_PASSWORD": "x",
                                        "CNNLAB_HUB_ADMIN_TOKEN": admin, "CNNLAB_DB_URL": postgres_url})
        # systemd's view: the environment file, then each unit's ExecStart in its WorkingDirectory
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", **_env_file(written["env"])}
        proxy_unit, hub_unit = _unit(written["proxy"]), _unit(written["hub"])
        proxy = _start(shlex.split(proxy_unit["ExecStart"][0]), env, base / "proxy.log", base)
        hubproc = _start(shlex.split(hub_unit["ExecStart"][0]), env, base / "hub.log",
                         Path(hub_unit["WorkingDirectory"][0]))
        hub = hubctl.Hub(base=base, user_env=user_env, kit=student_kit, instructors=[inst], students=[], port=port,
                         admin_token=admin, process=hubproc, ca=cert)
        deadline = time.monotonic() + 90
        while True:
            assert hubproc.poll() is None, (base / "hub.log").read_text()[-3000:]
            try:
                if hub.api("GET", "/").status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, (base / "hub.log").read_text()[-3000:]
            time.sleep(0.3)
        # HTTPS with the given certificate; plain HTTP on that port is refused
        assert requests.get(f"https://127.0.0.1:{port}/hub/login", verify=str(cert), timeout=10).status_code == 200
        with pytest.raises(requests.RequestException):
            requests.get(f"https://127.0.0.1:{port}/hub/login", timeout=10)  # not a publicly trusted certificate
        with pytest.raises(requests.RequestException):
            requests.get(f"http://127.0.0.1:{port}/hub/login", timeout=10)
        assert proxy.poll() is None, (base / "proxy.log").read_text()[-2000:]

        # the instructor's server reaches the PostgreSQL gradebook, and its password shows nowhere
        hub.spawn(inst, timeout=240)
        home = Path(os.path.expanduser(f"~{inst}"))
        pgpass = home / ".pgpass"
        assert stat.S_IMODE(pgpass.stat().st_mode) == 0o600 and pgpass.stat().st_uid == home.stat().st_uid
        assert pgpass.read_text().rstrip("\n").endswith(":" + password)
        r = hub.user_request(inst, "GET", "formgrader/api/assignments")
        assert r.status_code == 200 and r.json() == [], r.text[:1000]
        for page in ("formgrader/manage_assignments", "formgrader/manage_students", "formgrader/gradebook", "lab",
                     "api/status"):
            r = hub.user_request(inst, "GET", page)
            assert r.status_code == 200 and password not in r.text, page
        pids = subprocess.run(["pgrep", "-u", inst], capture_output=True, text=True).stdout.split()
        assert pids
        for pid in pids:
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
            except OSError:
                continue
            assert password not in environ, f"the password is in the environment of process {pid}"
        hub.stop_server(inst)
    finally:
        _stop(hubproc)
        _stop(proxy)
        hubctl.remove_user(inst)
        shutil.rmtree(base, ignore_errors=True)


# -- gradebook backup and restore -------------------------------------------------------------------
STUDENTS = {"gb1": ("Ada", "Lovelace", "ada@uni.edu"), "gb2": ("Bob", None, None), "gb3": (None, None, "c@uni.edu")}
CELLS = {"test_a": 2.0, "test_b": 3.0, "written_c": 5.0}


def _populate(url: str) -> dict:
    """A gradebook with two assignments, three students, submissions, auto and manual scores, comments."""
    from nbgrader.api import Gradebook

    from cnnlab.course.grader.nbgrader_overrides import alembic_head_in_process

    alembic_head_in_process()
    expected = {}
    with Gradebook(url, course_id="cnnlab") as gb:
        for sid, (first, last, email) in STUDENTS.items():
            gb.add_student(sid, first_name=first, last_name=last, email=email)
        for k, aid in enumerate(("a1", "a2")):
            gb.add_assignment(aid, duedate=dt.datetime(2026, 3, 1 + k, 17, 0))
            gb.add_notebook(aid, aid)
            for cell, points in CELLS.items():
                gb.add_grade_cell(cell, aid, aid, max_score=points, cell_type="code" if cell.startswith("test")
                                  else "markdown")
                gb.add_solution_cell(cell, aid, aid)
                gb.add_source_cell(cell, aid, aid, cell_type="code", source=f"# {cell}", checksum=f"c{cell}")
            for i, sid in enumerate(STUDENTS):
                stamp = dt.datetime(2026, 3, 1 + k, 12, i, 30)
                gb.add_submission(aid, sid, timestamp=stamp)
                nb = gb.find_submission_notebook(aid, aid, sid)
                for j, grade in enumerate(sorted(nb.grades, key=lambda g: g.name)):
                    grade.auto_score = (i + j) % 3 * 0.5 if grade.name.startswith("test") else None
                    grade.manual_score = 1.5 * i if grade.name == "written_c" else None
                    grade.extra_credit = 0.25 if (i, j) == (2, 0) else None
                    grade.needs_manual_grade = grade.name == "written_c" and i == 0
                for comment in nb.comments:
                    comment.manual_comment = f"well done {sid} {comment.name}" if i else None
                nb.flagged = i == 1
                gb.db.commit()
                expected[(aid, sid)] = {"timestamp": stamp, "flagged": i == 1, "grades": {
                    g.name: (g.auto_score, g.manual_score, g.extra_credit, float(g.score), g.needs_manual_grade)
                    for g in nb.grades}}
    return expected


def _snapshot(url: str) -> dict:
    """Everything a grader sees, read through nbgrader's Gradebook API."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(url, course_id="cnnlab") as gb:
        out["students"] = {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}
        out["assignments"] = {a.name: (a.duedate, a.max_score, sorted(c.name for nb in a.notebooks for c in nb.source_cells))
                              for a in gb.assignments}
        for a in gb.assignments:
            for sid in out["students"]:
                sub = gb.find_submission(a.name, sid)
                nb = gb.find_submission_notebook(a.name, a.name, sid)
                out[(a.name, sid)] = {
                    "timestamp": sub.timestamp, "flagged": nb.flagged,
                    "grades": {g.name: (g.auto_score, g.manual_score, g.extra_credit, float(g.score), g.needs_manual_grade)
                               for g in nb.grades},
                    "comments": {c.name: (c.auto_comment, c.manual_comment) for c in nb.comments},
                    "score": float(sub.score), "max": float(sub.max_score)}
    return out


@pytest.mark.slow
def test_gradebook_backup_and_restore(tmp_path: Path, postgres_url: str, capsys):
    source = f"sqlite:///{tmp_path / 'gradebook.db'}"
    expected = _populate(source)
    before = _snapshot(source)
    for key, want in expected.items():  # the snapshot reads back what was put in
        assert {k: before[key][k] for k in want} == want, key
    assert before[("a1", "gb3")]["grades"]["test_a"][2] == 0.25

    hubctl_py = [sys.executable, str(ROOT / "deploy" / "hubctl.py"), "gradebook"]
    backup = tmp_path / "backup.json"
    proc = subprocess.run([*hubctl_py, "backup", "--db-url", source, "--out", str(backup)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    # SQLite -> PostgreSQL (the command line's code, in this process)
    pg = new_database(postgres_url)
    assert hubctl.main(["gradebook", "restore", "--db-url", pg, "--from", str(backup)]) == 0
    assert _snapshot(pg) == before
    # PostgreSQL -> a new SQLite file, through a second backup
    gradebook_backup.backup(pg, tmp_path / "from-pg.json")
    again = f"sqlite:///{tmp_path / 'restored.db'}"
    gradebook_backup.restore(again, tmp_path / "from-pg.json")
    assert _snapshot(again) == before
    # a gradebook in use is never overwritten
    assert hubctl.main(["gradebook", "restore", "--db-url", pg, "--from", str(backup)]) == 2
    err = capsys.readouterr().err
    assert "already holds data" in err and postgres_url.split(":")[2].split("@")[0] not in err, err  # no password
    assert _snapshot(pg) == before
