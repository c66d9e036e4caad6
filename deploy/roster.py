"""The class roster: a CSV in the format ``nbgrader db student import`` reads, plus a ``role`` column.

Columns: ``id,first_name,last_name,email,role`` (``id`` is the login and Unix user name; ``role`` is
``instructor`` or ``student``; the names and e-mail may be empty). ``import_roster`` makes one class
out of it in one go: a local Unix user per person (with a first password when new), the students in
the gradebook of every instructor's course, and the hub's ``instructors`` / ``students`` groups
(the roster is copied into the hub's directory, where ``jupyterhub_config.py`` reads it at start,
and pushed to a running hub through its REST API when a token is given).
"""
from __future__ import annotations

import csv
import io
import os
import pwd
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROLES = ("instructor", "student")
COLUMNS = ("id", "first_name", "last_name", "email", "role")
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class RosterError(ValueError):
    """The roster file is not what import expects (the message says what and where)."""


@dataclass(frozen=True)
class Member:
    id: str
    first_name: str
    last_name: str
    email: str
    role: str


def read_roster(path: str | os.PathLike) -> list[Member]:
    """Parse and check a roster CSV; raises RosterError naming the line and the problem."""
    path = Path(path)
    if not path.is_file():
        raise RosterError(f"no roster file {path}: expected a CSV with the columns {','.join(COLUMNS)}")
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("id", "role") if c not in header]
    if missing:
        raise RosterError(f"{path}: the header lacks {', '.join(missing)}; expected {','.join(COLUMNS)} "
                          f"(found {','.join(header) or 'nothing'})")
    members, seen = [], {}
    for line, row in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if not any(row.values()):
            continue
        uid, role = row.get("id", ""), row.get("role", "").lower()
        if not USER_NAME.match(uid):
            raise RosterError(f"{path}, line {line}: id {uid!r} is not a valid login name (lowercase letters, "
                              "digits, '_' or '-', starting with a letter or '_', at most 32 characters)")
        if role not in ROLES:
            raise RosterError(f"{path}, line {line}: role {row.get('role', '')!r} for {uid}; expected "
                              f"{' or '.join(ROLES)}")
        if uid in seen:
            raise RosterError(f"{path}, line {line}: {uid} is already listed on line {seen[uid]}")
        seen[uid] = line
        members.append(Member(uid, row.get("first_name", ""), row.get("last_name", ""), row.get("email", ""), role))
    if not members:
        raise RosterError(f"{path}: no one is listed (expected one line per person after the header)")
    return members


def groups(members: list[Member]) -> dict[str, list[str]]:
    """{"instructors": [...], "students": [...]} in roster order."""
    return {"instructors": [m.id for m in members if m.role == "instructor"],
            "students": [m.id for m in members if m.role == "student"]}


def _user_exists(name: str) -> bool:
    return subprocess.run(["id", "-u", name], capture_output=True).returncode == 0


def _add_unix_user(name: str, with_password: bool) -> str | None:
    """useradd -m with a private home; a random first password when asked (else the account stays locked)."""
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True, capture_output=True, text=True)
    os.chmod(os.path.expanduser(f"~{name}"), 0o700)
    if not with_password:
        return None
    password = secrets.token_urlsafe(9)
    subprocess.run(["chpasswd"], input=f"{name}:{password}\n", check=True, capture_output=True, text=True)
    return password


def _import_students(db_url: str, members: list[Member], course_id: str) -> None:
    from cnnlab.course.grader.nbgrader_overrides import alembic_head_in_process
    from nbgrader.api import Gradebook

    alembic_head_in_process()
    with Gradebook(db_url, course_id=course_id) as gb:
        for m in members:
            if m.role == "student":
                gb.update_or_create_student(m.id, first_name=m.first_name or None, last_name=m.last_name or None,
                                            email=m.email or None)


def _push_groups(hub_url: str, token: str, wanted: dict[str, list[str]]) -> None:
    """Create the users and set both groups' members on a running hub (REST API)."""
    import requests

    api, headers = hub_url.rstrip("/") + "/hub/api", {"Authorization": f"token {token}"}
    everyone = [u for names in wanted.values() for u in names]
    known = {u["name"] for u in requests.get(f"{api}/users", headers=headers, timeout=30).json()}
    if set(everyone) - known:
        requests.post(f"{api}/users", headers=headers, json={"usernames": sorted(set(everyone) - known)},
                      timeout=30).raise_for_status()
    for group, names in wanted.items():
        r = requests.get(f"{api}/groups/{group}", headers=headers, timeout=30)
        if r.status_code == 404:
            requests.post(f"{api}/groups/{group}", headers=headers, timeout=30).raise_for_status()
            current = set()
        else:
            r.raise_for_status()
            current = set(r.json()["users"])
        if current - set(names):
            requests.delete(f"{api}/groups/{group}/users", headers=headers,
                            json={"users": sorted(current - set(names))}, timeout=30).raise_for_status()
        if set(names) - current:
            requests.post(f"{api}/groups/{group}/users", headers=headers,
                          json={"users": sorted(set(names) - current)}, timeout=30).raise_for_status()


def import_roster(path: str | os.PathLike, hub_dir: str | os.PathLike, db_url: str | None = None,
                  passwords: str | os.PathLike | None = None, hub_url: str | None = None,
                  token: str | None = None, course_id: str = "cnnlab") -> dict[str, list[str]]:
    """Make the class of roster ``path``; returns {"created": [...], "existing": [...]} (Unix users).

    Args:
        path: the roster CSV (``id,first_name,last_name,email,role``).
        hub_dir: the hub's directory (``CNNLAB_HUB_DIR``); the roster is kept there as ``roster.csv``.
        db_url: the gradebook to add the students to; by default the SQLite gradebook of each
            instructor's course directory (``~/cnnlab-course/gradebook.db``, owned by the instructor).
        passwords: where to write the first passwords of the users created now (CSV, mode 600);
            without it new accounts stay locked until ``passwd NAME`` (or another login method).
        hub_url, token: a running hub and a token allowed to manage users and groups; the groups
            are then changed at once (otherwise at the hub's next start).
    """
    members = read_roster(path)
    if os.geteuid() != 0:
        raise PermissionError("importing a roster creates Unix users: run it as root")
    created, existing, first_passwords = [], [], []
    for m in members:
        if _user_exists(m.id):
            existing.append(m.id)
        else:
            password = _add_unix_user(m.id, with_password=passwords is not None)
            created.append(m.id)
            if password:
                first_passwords.append((m.id, password))
    if passwords is not None:
        passwords = Path(passwords)
        passwords.touch(mode=0o600)
        os.chmod(passwords, 0o600)
        with open(passwords, "a", newline="") as fh:
            csv.writer(fh).writerows(first_passwords)
    # the gradebooks: the shared one, or each instructor's own course
    wanted = groups(members)
    if db_url:
        _import_students(db_url, members, course_id)
    else:
        for inst in wanted["instructors"]:
            pw = pwd.getpwnam(inst)
            course = Path(pw.pw_dir) / "cnnlab-course"
            course.mkdir(exist_ok=True)
            _import_students(f"sqlite:///{course / 'gradebook.db'}", members, course_id)
            for p in (course, course / "gradebook.db"):
                os.chown(p, pw.pw_uid, pw.pw_gid)
    # the hub's groups
    hub_dir = Path(hub_dir)
    hub_dir.mkdir(parents=True, exist_ok=True)
    kept = hub_dir / "roster.csv"
    shutil.copyfile(path, kept)
    os.chmod(kept, 0o600)
    if hub_url and token:
        _push_groups(hub_url, token, wanted)
    return {"created": created, "existing": existing}
