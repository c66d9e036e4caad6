"""The roster import (`deploy/hubctl.py roster import`): one CSV makes the Unix users, the gradebook's
students and the hub's groups.

The parsing tests run anywhere; the import runs as root with real Unix users (useradd, /etc/shadow), a
real gradebook and a real hub (started from deploy/jupyterhub_config.py without any user named in its
environment: the class comes from the roster alone).
"""
from __future__ import annotations

import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from _hubclass import ROOT, hubctl

sys.path.insert(0, str(ROOT / "deploy"))
import roster  # noqa: E402

HEADER = "id,first_name,last_name,email,role\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return path


def test_read_roster(tmp_path: Path):
    members = roster.read_roster(_write(tmp_path, HEADER + "ada,Ada,Lovelace,ada@uni.edu,instructor\n"
                                                  "bob,Bob,,,Student\n\ncarol,,,,student\n"))
    assert members[0] == roster.Member("ada", "Ada", "Lovelace", "ada@uni.edu", "instructor")
    assert [m.role for m in members] == ["instructor", "student", "student"]
    assert roster.groups(members) == {"instructors": ["ada"], "students": ["bob", "carol"]}


@pytest.mark.parametrize("text, message", [
    ("id,first_name,last_name,email\nbob,B,,,\n", "the header lacks role"),
    (HEADER + "bob,B,,,teacher\n", "line 2: role 'teacher' for bob; expected instructor or student"),
    (HEADER + "Bob Smith,B,,,student\n", "line 2: id 'Bob Smith' is not a valid login name"),
    (HEADER + "bob,,,,student\nbob,,,,instructor\n", "line 3: bob is already listed on line 2"),
    (HEADER, "no one is listed"),
])
def test_read_roster_explains_bad_files(tmp_path: Path, text: str, message: str):
    with pytest.raises(roster.RosterError, match="roster.csv.*" + message.replace("(", r"\(")):
        roster.read_roster(_write(tmp_path, text))


def test_hubctl_reports_a_bad_roster(tmp_path: Path):
    proc = subprocess.run([sys.executable, str(ROOT / "deploy" / "hubctl.py"), "roster", "import",
                           str(_write(tmp_path, HEADER + "bob,,,,ta\n"))], capture_output=True, text=True)
    assert proc.returncode == 2 and "role 'ta' for bob" in proc.stderr, proc.stderr


def _shadow_hash(user: str) -> str:
    for line in Path("/etc/shadow").read_text().splitlines():
        name, hashed, *_ = line.split(":")
        if name == user:
            return hashed
    raise AssertionError(f"{user} is not in /etc/shadow")


@pytest.mark.slow
def test_roster_import_makes_the_class():
    reason = hubctl.why_hub_cannot_run()
    if reason:
        pytest.skip(f"cannot run JupyterHub here: {reason}")
    if not shutil.which("chpasswd") or not shutil.which("openssl"):
        pytest.skip("needs chpasswd and openssl")
    from nbgrader.api import Gradebook

    tag = secrets.token_hex(2)
    inst, s1, s2, s3 = f"rti{tag}", f"rts1{tag}", f"rts2{tag}", f"rts3{tag}"
    base = Path(tempfile.mkdtemp(prefix="cnnlab-roster-", dir="/tmp"))
    os.chmod(base, 0o755)
    csv_path = base / "class.csv"
    csv_path.write_text(HEADER + f"{inst},Ada,Lovelace,ada@uni.edu,instructor\n{s1},Bob,Brown,bob@uni.edu,student\n"
                        f"{s2},Carol,,carol@uni.edu,student\n")
    hub = None
    try:
        passwords = base / "first-passwords.csv"
        proc = subprocess.run([sys.executable, str(ROOT / "deploy" / "hubctl.py"), "roster", "import", str(csv_path),
                               "--passwords", str(passwords), "--hub-dir", str(base / "hub")],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "3 new Unix users" in proc.stdout, proc.stdout
        # Unix users with private homes; their first password is the one in /etc/shadow
        assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
        first = dict(line.split(",") for line in passwords.read_text().splitlines())
        assert set(first) == {inst, s1, s2}
        for user in (inst, s1, s2):
            home = Path(os.path.expanduser(f"~{user}"))
            assert stat.S_IMODE(home.stat().st_mode) == 0o700 and home.stat().st_uid == int(
                subprocess.run(["id", "-u", user], capture_output=True, text=True).stdout)
            hashed = _shadow_hash(user)
            salt = hashed.split("$")[2] if hashed.startswith("$6$") else None
            if salt:  # SHA-512 crypt, recomputed by openssl
                again = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, first[user]], capture_output=True,
                                       text=True).stdout.strip()
                assert again == hashed
            else:
                assert hashed not in ("", "!", "*") and not hashed.startswith("!"), hashed
        # the instructor's gradebook lists the students with their names and e-mails
        course = Path(os.path.expanduser(f"~{inst}")) / "cnnlab-course"
        assert (course / "gradebook.db").stat().st_uid == int(
            subprocess.run(["id", "-u", inst], capture_output=True, text=True).stdout)
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="cnnlab") as gb:
            got = {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}
        assert got == {s1: ("Bob", "Brown", "bob@uni.edu"), s2: ("Carol", None, "carol@uni.edu")}

        # a hub started with no user in its environment: the class comes from the kept roster
        hub = hubctl.Hub(base=base, user_env=base / "no-env", kit=base / "no-kit", instructors=[], students=[])
        hub.start()
        assert set(hub.api("GET", "/groups/instructors").json()["users"]) == {inst}
        assert set(hub.api("GET", "/groups/students").json()["users"]) == {s1, s2}
        assert hub.api("GET", f"/users/{inst}").json()["admin"] is False

        # a later roster (s3 joins, s2 leaves) applied to the running hub at once
        csv_path.write_text(HEADER + f"{inst},Ada,Lovelace,,instructor\n{s1},Bob,Brown,,student\n{s3},Dan,,,student\n")
        proc = subprocess.run([sys.executable, str(ROOT / "deploy" / "hubctl.py"), "roster", "import", str(csv_path),
                               "--hub-dir", str(base / "hub"), "--hub-url", hub.url], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "JUPYTERHUB_API_TOKEN": hub.admin_token})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "1 new Unix users" in proc.stdout and "2 already there" in proc.stdout, proc.stdout
        assert _shadow_hash(s3).startswith(("!", "*")), "without --passwords a new account stays locked"
        assert set(hub.api("GET", "/groups/students").json()["users"]) == {s1, s3}
    finally:
        if hub is not None:
            hub.stop()
        for user in (inst, s1, s2, s3):
            hubctl.remove_user(user)
        shutil.rmtree(base, ignore_errors=True)
