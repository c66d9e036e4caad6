"""Walking a student's submission folder without following anything the student made.

One walker (:func:`walk`) and one set of size limits serve every place that reads a
submission: collecting it from the exchange (``nbgrader_overrides.SafeCollect``), cleaning the
collected copy before grading (``grade.sanitize_submission``) and copying it into a sandbox
(:func:`copy_submission`). Entries are read with ``lstat``, so a symbolic link is seen as one and
never followed, and files are opened with ``O_NOFOLLOW``, so a link swapped in meanwhile is
refused too.
"""
from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

MAX_FILE_BYTES = 50 * 1024**2  # one file of a submission
MAX_TOTAL_BYTES = 200 * 1024**2  # all its files
MAX_FILES = 2000


def walk(folder: Path, skip: tuple[str, ...] = ()) -> Iterator[tuple[Path, str, os.stat_result]]:
    """Every entry under ``folder``, depth first in name order, as ``(relative path, full path, lstat)``.

    Directories are entered (never through a link); names in ``skip`` are left out with what
    they hold; an unreadable directory is yielded with ``info`` of the directory and not entered.
    """
    stack = [Path()]
    while stack:
        rel = stack.pop()
        try:
            entries = sorted(os.scandir(folder / rel), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if entry.name in skip:
                continue
            try:
                info = os.lstat(entry.path)
            except OSError:
                continue
            yield rel / entry.name, entry.path, info
            if stat.S_ISDIR(info.st_mode):
                stack.append(rel / entry.name)


def copy_submission(src: Path | None, dst: Path, keep_modes: bool = False) -> list[str]:
    """Copy the submission's regular files into ``dst`` without following any symlink.

    Symlinks, devices, FIFOs and sockets are refused, and so are files over ``MAX_FILE_BYTES``
    (or past ``MAX_TOTAL_BYTES``/``MAX_FILES`` in all); returns one message per refused path.
    With ``keep_modes`` the permission bits (not set-uid/set-gid) of files and folders are kept.
    """
    refused: list[str] = []
    if src is None:
        return refused
    try:
        if not stat.S_ISDIR(os.lstat(src).st_mode):
            return [f"{src.name}: not a directory"]
    except OSError:
        return refused
    total = count = 0
    for rel, path, info in walk(src, skip=(".ipynb_checkpoints",)):
        if stat.S_ISLNK(info.st_mode):
            refused.append(f"{rel}: a symbolic link (not copied)")
        elif stat.S_ISDIR(info.st_mode):
            (dst / rel).mkdir(parents=True, exist_ok=True)
            if keep_modes:
                os.chmod(dst / rel, stat.S_IMODE(info.st_mode) & 0o1777)
        elif not stat.S_ISREG(info.st_mode):
            refused.append(f"{rel}: a special file (not copied)")
        elif info.st_size > MAX_FILE_BYTES or total + info.st_size > MAX_TOTAL_BYTES or count >= MAX_FILES:
            refused.append(f"{rel}: too large ({info.st_size:,} bytes; not copied)")
        else:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError as exc:
                refused.append(f"{rel}: unreadable ({exc.strerror})")
                continue
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            with os.fdopen(fd, "rb") as fin, open(dst / rel, "wb") as fout:
                shutil.copyfileobj(fin, fout, MAX_FILE_BYTES)
            if keep_modes:
                os.chmod(dst / rel, stat.S_IMODE(info.st_mode) & 0o777)
            total += info.st_size
            count += 1
    return refused


def remove_links(folder: Path) -> list[str]:
    """Remove symlinks and special files under ``folder`` (nbgrader would follow them); list what
    was removed, and the files over ``MAX_FILE_BYTES`` (kept; the submission then needs review)."""
    if folder.is_symlink():
        folder.unlink()
        return [f"{folder.name}: the submission folder is a symbolic link (removed)"]
    if not folder.is_dir():
        return []
    found: list[str] = []
    for rel, path, info in walk(folder):
        if stat.S_ISLNK(info.st_mode):
            os.unlink(path)
            found.append(f"{rel}: a symbolic link (removed, not graded)")
        elif stat.S_ISDIR(info.st_mode):
            continue
        elif not stat.S_ISREG(info.st_mode):
            os.unlink(path)
            found.append(f"{rel}: a special file (removed, not graded)")
        elif info.st_size > MAX_FILE_BYTES:
            found.append(f"{rel}: {info.st_size:,} bytes, over the {MAX_FILE_BYTES:,} byte limit")
    return found
