"""The grader's handle on a sandboxed student process: start it, call the student's functions.

:class:`StudentProcess` runs ``cnnlab.course._worker`` in the sandbox with a copy of the
submission directory, feeds it the notebook's code cells and talks to it over two pipes.
:class:`RemoteFunction` looks like the student's function to ``check_function``: calling
it sends the arguments and returns the student's result (decoded without pickle).
"""
from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnnlab.checks.errors import ReferenceUsedError

from . import wire
from .sandbox import sandbox_command


class StudentCrashed(RuntimeError):
    """The student process died, hung or answered nonsense."""


class RemoteCallError(Exception):
    """The student's function raised; ``remote_type`` is the name of the exception it raised."""

    def __init__(self, remote_type: str, message: str) -> None:
        super().__init__(message)
        self.remote_type = remote_type


def _copy_submission(src: Path | None, dst: Path) -> None:
    """Copy regular files only (no symlinks, nothing huge) into the private working directory."""
    if src is None or not src.is_dir():
        return
    for path in src.rglob("*"):
        rel = path.relative_to(src)
        if path.is_symlink() or any(part.startswith(".ipynb_checkpoints") for part in rel.parts):
            continue
        if path.is_dir():
            (dst / rel).mkdir(parents=True, exist_ok=True)
        elif path.is_file() and path.stat().st_size < 50 * 1024**2:
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst / rel)


class StudentProcess:
    """One sandboxed Python process holding a student's notebook namespace."""

    def __init__(self, cells: Sequence[str], submission_dir: Path | None, cell_timeout: float,
                 startup_timeout: float | None = None) -> None:
        self.cells = list(cells)
        self.submission_dir = submission_dir
        self.cell_timeout = float(cell_timeout)
        self.startup_timeout = startup_timeout or (self.cell_timeout * max(len(self.cells), 1) + 60)
        self.proc: subprocess.Popen | None = None
        self.workdir: Path | None = None
        self.cell_errors: list[str] = []
        self._next_id = 0

    # -- life cycle --------------------------------------------------------------------------
    def start(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="cnnlab-verify-"))
        _copy_submission(self.submission_dir, self.workdir)
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        argv = [sys.executable, "-I", "-m", "cnnlab.course._worker", str(req_r), str(rep_w)]
        # -I ignores the user site and PYTHONPATH; the editable cnnlab comes from the venv's .pth.
        cmd, env = sandbox_command(argv, workdir=self.workdir)
        self.proc = subprocess.Popen(cmd, env=env, pass_fds=(req_r, rep_w), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        os.close(req_r)
        os.close(rep_w)
        self._req, self._rep = req_w, rep_r
        wire.send(self._req, {"cells": self.cells, "cell_timeout": self.cell_timeout})
        ready = self._receive(self.startup_timeout)
        self.cell_errors = list(ready.get("errors", []))[:50] if isinstance(ready.get("errors"), list) else []

    def close(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            if self.proc.stderr:
                self.proc.stderr.close()
            self.proc = None
        for fd in ("_req", "_rep"):
            if hasattr(self, fd):
                try:
                    os.close(getattr(self, fd))
                except OSError:
                    pass
                delattr(self, fd)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> StudentProcess:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- calls -------------------------------------------------------------------------------
    def _receive(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise StudentCrashed("timed out")
            ready, _, _ = select.select([self._rep], [], [], min(left, 1.0))
            if ready:
                try:
                    return wire.receive(self._rep)
                except wire.WireError as exc:
                    raise StudentCrashed(f"the notebook's process stopped answering ({exc})") from None
            if self.proc is not None and self.proc.poll() is not None:
                raise StudentCrashed(f"the notebook's process died (exit status {self.proc.returncode})")

    def call(self, name: str, args: tuple, kwargs: dict, *, via: str | None = None,
             forbidden: Sequence[str] = (), timeout: float | None = None) -> Any:
        if not self.alive or not hasattr(self, "_req"):
            raise StudentCrashed("the notebook's process is not running")
        self._next_id += 1
        request_id = self._next_id
        timeout = float(timeout or self.cell_timeout)
        wire.send(self._req, {"id": request_id, "name": name, "via": via, "args": wire.encode(list(args)),
                              "kwargs": wire.encode(dict(kwargs)), "forbidden": [str(f) for f in forbidden],
                              "timeout": timeout})
        try:
            while True:
                reply = self._receive(timeout + 10)
                if reply.get("id") == request_id:
                    break
        except StudentCrashed:
            self.close()  # a hung or dead process is not reused
            raise
        if reply.get("called"):
            names = ", ".join(str(c) for c in reply["called"][:3])
            raise ReferenceUsedError(f"{name} calls {names}, the reference this exercise asks you to write yourself")
        if not reply.get("ok"):
            raise RemoteCallError(str(reply.get("error", "Error")), str(reply.get("message", "")))
        try:
            return wire.decode(reply.get("result"))
        except (wire.WireError, ValueError, TypeError) as exc:
            raise RemoteCallError("WireError", f"the result could not be read back: {exc}") from None


class RemoteFunction:
    """Stands for a student's function or class living in a :class:`StudentProcess`."""

    def __init__(self, session: StudentProcess, name: str, *, via: str | None = None,
                 static_forbidden: Sequence[str] = (), timeout: float | None = None) -> None:
        self.session = session
        self.name = name
        self.__name__ = name
        self.via = via
        self.static = list(static_forbidden)
        self.timeout = timeout

    def bind_via(self, via: str) -> RemoteFunction:
        return RemoteFunction(self.session, self.name, via=via, static_forbidden=self.static, timeout=self.timeout)

    def referenced_forbidden(self, refs: Sequence[Any]) -> list[str]:
        wanted = {str(r) for r in refs}
        return [name for name in self.static if name in wanted]

    def call_forbidding(self, forbidden: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        strings = [f for f in forbidden if isinstance(f, str)]
        try:
            return self.session.call(self.name, args, kwargs, via=self.via, forbidden=strings, timeout=self.timeout)
        except RemoteCallError as exc:
            if exc.remote_type == "NotImplementedError":
                raise NotImplementedError(str(exc)) from None
            raise

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call_forbidding((), *args, **kwargs)
