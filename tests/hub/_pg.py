"""A PostgreSQL server for the gradebook tests (Debian's postgresql), password authentication on 127.0.0.1."""
from __future__ import annotations

import glob
import secrets
import shutil
import subprocess

PG_PASSWORD = "pg-" + secrets.token_hex(8)


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def as_owner(owner: str | None, argv: list[str], **kw) -> subprocess.CompletedProcess:
    cmd = ["runuser", "-u", owner, "--", *argv] if owner else argv
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def new_database(postgres_url: str) -> str:
    """A new, empty database on the test server; returns its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    name = "cnnlab_" + secrets.token_hex(4)
    with psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password, dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return url.set(database=name).render_as_string(hide_password=False)
