"""Back up and restore nbgrader's gradebook (SQLite or PostgreSQL) as one JSON file.

The backup holds every row of every table of nbgrader's gradebook schema (``nbgrader.api.Base``:
students, assignments, notebooks, cells, submissions, grades, comments), with the ids, so a restore
gives back the same gradebook, on the same or the other kind of database. ``restore`` opens the
target with nbgrader's ``Gradebook`` (which creates the schema and stamps its version) and refuses a
gradebook that already holds data.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

FORMAT = "cnnlab-gradebook-backup"


def _tables():
    from nbgrader.api import Base

    return Base.metadata.sorted_tables  # parents before children


def _table(name: str):
    return next((t for t in _tables() if t.name == name), None)


def _encode(value):
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"seconds": value.total_seconds()}
    return value


def _decode(value):
    if isinstance(value, dict) and "datetime" in value:
        return dt.datetime.fromisoformat(value["datetime"])
    if isinstance(value, dict) and "seconds" in value:
        return dt.timedelta(seconds=value["seconds"])
    return value


def backup(db_url: str, out: str | os.PathLike, course_id: str = "cnnlab") -> dict[str, int]:
    """Write every row of the gradebook at ``db_url`` to ``out`` (JSON, mode 600); returns rows per table."""
    from nbgrader import __version__ as nbgrader_version
    from nbgrader.api import Gradebook
    from sqlalchemy import select

    from cnnlab.course.grader.nbgrader_overrides import alembic_head_in_process

    alembic_head_in_process()  # a new gradebook records the schema revision, read in process
    with Gradebook(db_url, course_id=course_id) as gb:
        tables = {}
        with gb.engine.connect() as conn:
            for table in _tables():
                order = [c for c in table.primary_key.columns]
                rows = conn.execute(select(table).order_by(*order)).mappings().all()
                tables[table.name] = [{k: _encode(v) for k, v in row.items()} for row in rows]
    out = Path(out)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"format": FORMAT, "version": 1, "nbgrader": nbgrader_version, "course_id": course_id,
                   "taken": dt.datetime.now(dt.timezone.utc).isoformat(), "tables": tables}, fh, indent=1)
    return {name: len(rows) for name, rows in tables.items()}


def restore(db_url: str, source: str | os.PathLike, course_id: str | None = None) -> dict[str, int]:
    """Load a backup made by ``backup`` into the empty gradebook at ``db_url``; returns rows per table."""
    from nbgrader.api import Gradebook

    from cnnlab.course.grader.nbgrader_overrides import alembic_head_in_process

    alembic_head_in_process()  # a new gradebook records the schema revision, read in process
    data = json.loads(Path(source).read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{source} is not a gradebook backup (expected \"format\": \"{FORMAT}\")")
    course_id = course_id or data.get("course_id", "cnnlab")
    known = {t.name for t in _tables()}
    unknown = set(data["tables"]) - known
    if unknown:
        raise ValueError(f"{source} has tables this nbgrader does not know: {sorted(unknown)} "
                         f"(backup made with nbgrader {data.get('nbgrader')})")
    with Gradebook(db_url, course_id=course_id) as gb:
        with gb.engine.begin() as conn:
            from sqlalchemy import func, select

            for table in _tables():
                # opening the gradebook made its course row; anything else means it is in use
                if table.name != "course" and conn.execute(select(func.count()).select_from(table)).scalar():
                    raise ValueError(f"the gradebook at {_safe(db_url)} already holds data (table {table.name}); "
                                     "restore into a new, empty database")
            courses = set(conn.execute(select(table.c.id)).scalars()) if (table := _table("course")) is not None \
                else set()
            for table in _tables():
                rows = [{k: _decode(v) for k, v in row.items()} for row in data["tables"].get(table.name, [])]
                if table.name == "course":
                    rows = [r for r in rows if r["id"] not in courses]
                if rows:
                    conn.execute(table.insert(), rows)
    return {name: len(rows) for name, rows in data["tables"].items()}


def _safe(url: str) -> str:
    """The URL without its password (for messages)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
