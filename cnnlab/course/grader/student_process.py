"""The grader's handle on a sandboxed student process: start it, call the student's functions.

:class:`StudentProcess` runs ``cnnlab.course.inside.worker`` in the sandbox with a copy of the
submission directory, feeds it the notebook's code cells and talks to it over two pipes.
:class:`RemoteFunction` looks like the student's function to ``check_function``: calling
it sends the arguments and returns the student's result (decoded without pickle).
"""
from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..inside import wire
from ..questions import timing
from . import cgroups, environments
from .sandbox import DEFAULT_MEMORY_BYTES, DEFAULT_NPROC, sandbox_command

SANDBOX_CPUS = float(os.environ.get("CNNLAB_SANDBOX_CPUS", 1.0))  # the CPU quota of each sandbox, in cores


class StudentCrashed(RuntimeError):
    """The student process died, hung, timed out or answered nonsense: the grader cannot decide (fail closed)."""

    fail_closed = True  # check_function lets it through instead of calling it a wrong answer


class RemoteCallError(Exception):
    """The student's function raised; ``remote_type`` is the name of the exception it raised."""

    def __init__(self, remote_type: str, message: str) -> None:
        super().__init__(message)
        self.remote_type = remote_type


# The whole notebook's run (all its cells) is killed from outside past this many seconds, whatever
# each cell's timeout (CNNLAB_NOTEBOOK_TIMEOUT); and its outputs, all cells together, are cut at
# this many bytes in the autograded notebook and the feedback (CNNLAB_NOTEBOOK_OUTPUT).
NOTEBOOK_TIMEOUT_S = float(os.environ.get("CNNLAB_NOTEBOOK_TIMEOUT", 300))
MAX_NOTEBOOK_OUTPUT_BYTES = int(os.environ.get("CNNLAB_NOTEBOOK_OUTPUT", 5 * 1024**2))
CELL_TIMEOUT_ERROR = "_CellTimeout"  # how the worker names a cell stopped by its timeout

# The one walker of a submission folder and its size limits (re-exported for the tests that use them here).
from .submission_files import MAX_FILE_BYTES, MAX_FILES, MAX_TOTAL_BYTES, copy_submission  # noqa: E402,F401


def cap_outputs(cells: list[list[dict]], limit: int = MAX_NOTEBOOK_OUTPUT_BYTES) -> list[list[dict]]:
    """The cells' outputs up to ``limit`` bytes in all; what follows is dropped, with one note where
    the cut falls (a notebook printing hundreds of megabytes does not reach the feedback)."""
    kept: list[list[dict]] = []
    total = 0
    cut = False
    for outputs in cells:
        if cut:
            kept.append([])
            continue
        mine = []
        for output in outputs:
            size = len(json.dumps(output))
            if total + size > limit:
                mine.append({"output_type": "stream", "name": "stderr",
                             "text": f"[output truncated by the grader: this notebook's outputs passed "
                                     f"{limit:,} bytes in all]\n"})
                cut = True
                break
            total += size
            mine.append(output)
        kept.append(mine)
    return kept


def _make_readable(root: Path) -> None:
    for top, dirs, files in os.walk(root):
        os.chmod(top, 0o755)
        for name in files:
            os.chmod(os.path.join(top, name), 0o644)


def clean_outputs(raw: Any) -> list[dict]:
    """Only well-formed, bounded nbformat outputs from what the student's process sent (for the feedback)."""
    out: list[dict] = []
    if not isinstance(raw, list):
        return out
    for item in raw[:20]:
        if not isinstance(item, dict):
            continue
        kind = item.get("output_type")
        if kind == "stream" and item.get("name") in ("stdout", "stderr") and isinstance(item.get("text"), str):
            out.append({"output_type": "stream", "name": item["name"], "text": item["text"][-10_000:]})
        elif kind == "display_data" and isinstance(item.get("data"), dict):
            data = {k: v for k, v in item["data"].items()
                    if k in ("text/plain", "image/png") and isinstance(v, str) and len(v) <= 1_000_000}
            if data:
                out.append({"output_type": "display_data", "data": data, "metadata": {}})
        elif kind == "error":
            tb = item.get("traceback")
            out.append({"output_type": "error", "ename": str(item.get("ename", "Error"))[:100],
                        "evalue": str(item.get("evalue", ""))[:10_000],
                        "traceback": [str(t)[-10_000:] for t in tb[:1]] if isinstance(tb, list) else []})
    return out


_PRELUDE = """
import os, runpy, sys
os.makedirs('/tmp/work', exist_ok=True)
os.chdir('/tmp/work')
sys.argv = ['cnnlab.course.inside.worker'] + sys.argv[1:]
runpy.run_module('cnnlab.course.inside.worker', run_name='__main__', alter_sys=True)
"""


def _notebook_timeout(cell_timeout: float, cells: int) -> float:
    """How long the whole notebook may run: each cell its timeout, and never past NOTEBOOK_TIMEOUT_S."""
    return min(cell_timeout * max(cells, 1) + 60, max(NOTEBOOK_TIMEOUT_S, cell_timeout))


PRESTART = False  # TrustedExecute turns it on: keep one sandbox started ahead for the next notebook
_spares: list[StudentProcess] = []


def _default_assignment() -> str | None:
    """The assignment being graded under ``grade`` (its nbgrader processes are told), else None."""
    return os.environ.get("CNNLAB_TRUSTED_ASSIGNMENT") or None


def prelaunch(with_torch: bool, cell_timeout: float = 120.0, assignment: str | None = None) -> None:
    """Start a spare sandbox now unless one is waiting: for the next notebook, or for the first
    one (``grade``'s nbgrader processes call this while nbgrader is still loading)."""
    assignment = assignment or _default_assignment()
    if any(spare.with_torch == with_torch and spare.assignment == assignment for spare in _spares):
        return
    spare = StudentProcess([], None, cell_timeout, with_torch=with_torch, assignment=assignment)
    try:
        spare.launch()
        _spares.append(spare)
    except OSError:
        spare.close()


def _close_spares() -> None:
    while _spares:
        _spares.pop().close()


atexit.register(_close_spares)


class StudentProcess:
    """One sandboxed Python process holding a student's notebook namespace."""

    def __init__(self, cells: Sequence[str], submission_dir: Path | None, cell_timeout: float,
                 startup_timeout: float | None = None, with_torch: bool = True,
                 assignment: str | None = None) -> None:
        self.with_torch = with_torch  # False: a numpy-only notebook, torch is not preloaded
        # whose grading environment the sandbox holds (course_config.GRADING_ENVIRONMENTS); None: the whole venv
        self.assignment = assignment if assignment is not None else _default_assignment()
        self.cells = list(cells)
        self.submission_dir = submission_dir
        self.cell_timeout = float(cell_timeout)
        self.startup_timeout = startup_timeout or _notebook_timeout(self.cell_timeout, len(self.cells))
        self.cell_timeouts: list[str] = []  # cells the worker stopped at their timeout (load can cause it)
        self.proc: subprocess.Popen | None = None
        self.workdir: Path | None = None
        self.cell_errors: list[str] = []
        self.refused: list[str] = []
        self.cell_outputs: list[list[dict]] = []
        self.cgroup: cgroups.SandboxCgroup | None = None  # the sandbox's control group (None when opted out)
        self._next_id = 0

    # -- life cycle --------------------------------------------------------------------------
    def launch(self) -> None:
        """Start the sandboxed process; it imports numpy, IPython (and torch), then waits for the notebook."""
        self.workdir = Path(tempfile.mkdtemp(prefix="cnnlab-verify-"))
        os.chmod(self.workdir, 0o755)
        req_r, req_w = wire.pipe()
        rep_r, rep_w = wire.pipe()
        argv = [sys.executable, "-I", "-c", _PRELUDE, str(req_r), str(rep_w), "torch" if self.with_torch else "numpy"]
        # -I ignores the user site and PYTHONPATH; the editable cnnlab comes from the venv's .pth.
        # The submission is mounted read-only (the bind shows files copied there later) and copied
        # by the worker into the sandbox's size-capped tmpfs.
        cmd, env = sandbox_command(argv, workdir=None, ro_binds=[(self.workdir, "/tmp/.submission")],
                                   chdir="/tmp/work", environment=environments.for_assignment(self.assignment))
        if not cgroups.opted_out() and cmd[0] == "bwrap":  # the whole sandbox in one group, from its first process
            self.cgroup = cgroups.SandboxCgroup.create("sandbox", memory_bytes=DEFAULT_MEMORY_BYTES,
                                                       pids=DEFAULT_NPROC, cpus=SANDBOX_CPUS)
            cmd = self.cgroup.wrap(cmd)
        self.proc = subprocess.Popen(cmd, env=env, pass_fds=(req_r, rep_w), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(req_r)
        os.close(rep_w)
        self._req, self._rep = req_w, rep_r

    def start(self) -> None:
        """Give the (launched or pre-started) process the submission and the cells; wait until they ran."""
        if self.proc is None:
            self.launch()
        assert self.workdir is not None
        self.refused = copy_submission(self.submission_dir, self.workdir)
        _make_readable(self.workdir)
        wire.send(self._req, {"cells": self.cells, "cell_timeout": self.cell_timeout, "copy_in": True})
        ready = self._receive(self.startup_timeout)
        errors = ready.get("errors")
        self.cell_errors = [str(e)[:500] for e in errors[:50]] if isinstance(errors, list) else []
        self.cell_timeouts = [e.split(":")[0] for e in self.cell_errors if f": {CELL_TIMEOUT_ERROR}" in e]
        raw = ready.get("outputs")
        self.cell_outputs = cap_outputs([clean_outputs(o) for o in raw[: len(self.cells)]]) \
            if isinstance(raw, list) else []

    @classmethod
    def take(cls, cells: Sequence[str], submission_dir: Path | None, cell_timeout: float,
             with_torch: bool = True, assignment: str | None = None) -> StudentProcess:
        """A process for this notebook: a pre-started one when :data:`PRESTART` is on (and one more launched)."""
        assignment = assignment or _default_assignment()
        process = None
        for candidate in [s for s in _spares if s.with_torch == with_torch and s.assignment == assignment]:
            _spares.remove(candidate)
            if candidate.alive:
                process = candidate
                break
            candidate.close()
        if process is None:
            process = cls(cells, submission_dir, cell_timeout, with_torch=with_torch, assignment=assignment)
        else:
            process._set_notebook(cells, submission_dir, cell_timeout)
        if PRESTART:
            prelaunch(with_torch, cell_timeout, assignment)
        return process

    def _set_notebook(self, cells: Sequence[str], submission_dir: Path | None, cell_timeout: float) -> None:
        self.cells = list(cells)
        self.submission_dir = submission_dir
        self.cell_timeout = float(cell_timeout)
        self.startup_timeout = _notebook_timeout(self.cell_timeout, len(self.cells))

    def close(self) -> None:
        if self.cgroup is not None:  # every process of the sandbox, however it forked or renamed its group
            self.cgroup.kill_all()
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self.proc = None
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
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
             timeout: float | None = None, return_args: bool = False) -> tuple[Any, Any]:
        """(result, [args, kwargs] as they are after the call, or None) of the student's ``name``."""
        if not self.alive or not hasattr(self, "_req"):
            raise StudentCrashed("the notebook's process is not running")
        self._next_id += 1
        request_id = self._next_id
        timeout = float(timeout or self.cell_timeout)
        wire.send(self._req, {"id": request_id, "name": name, "via": via, "args": wire.encode(list(args)),
                              "kwargs": wire.encode(dict(kwargs)), "timeout": timeout,
                              "return_args": return_args})
        try:
            while True:
                reply = self._receive(timeout + 5)
                if reply.get("id") == request_id:
                    break
        except StudentCrashed:
            self.close()  # a hung or dead process is not reused
            raise
        if not reply.get("ok"):
            raise RemoteCallError(str(reply.get("error", "Error"))[:100], str(reply.get("message", ""))[:2000])
        try:
            result = wire.decode(reply.get("result"))
            after = wire.decode(reply.get("args_after")) if return_args else None
        except (wire.WireError, ValueError, TypeError) as exc:
            raise RemoteCallError("WireError", f"the result could not be read back: {exc}") from None
        return result, after


def round_trip_seconds(args: tuple, out_shape: tuple[int, ...], timeout: float = 30.0) -> float:
    """CPU time of sending ``args`` and receiving a float64 array of ``out_shape`` over the wire, both
    ends in the grader's process (a pipe and a thread, both counted): the transfer part of a remote
    call, measured without the student's process, which could otherwise slow it down on purpose.
    CPU time, like :func:`cnnlab.course.questions.timing.timed`, so a busy machine does not inflate it."""
    import threading

    req_r, req_w = wire.pipe()
    rep_r, rep_w = wire.pipe()

    def other_end() -> None:
        try:
            wire.decode(wire.receive(req_r).get("args"))
            wire.send(rep_w, {"result": wire.encode(np.zeros(out_shape))})
        except (OSError, wire.WireError):
            pass

    thread = threading.Thread(target=other_end, daemon=True)
    thread.start()
    try:
        start = time.process_time()
        wire.send(req_w, {"args": wire.encode(list(args))})
        wire.decode(wire.receive(rep_r).get("result"))
        thread.join(timeout)
        return time.process_time() - start
    finally:
        thread.join(timeout)
        for fd in (req_r, req_w, rep_r, rep_w):
            os.close(fd)


class RemoteFunction:
    """Stands for a student's function or class living in a :class:`StudentProcess`.

    Calling it returns the student's result; ``last_args_after`` holds the arguments as the
    student process left them (for the in-place check) and ``last_seconds`` the wall-clock
    time the grader measured around the call.
    """

    is_remote = True

    def __init__(self, session: StudentProcess, name: str, *, via: str | None = None,
                 timeout: float | None = None, return_args: bool = True) -> None:
        self.session = session
        self.name = name
        self.__name__ = name
        self.via = via
        self.timeout = timeout
        self.return_args = return_args
        self.last_args_after: Any = None
        self.last_seconds = 0.0
        # CPU time the whole sandbox used during the last call (its control group, read from outside:
        # every process the student started counts); None without a control group
        self.last_cpu_seconds: float | None = None

    def transfer_seconds(self, args: tuple, out_shape: tuple[int, ...]) -> float:
        """How long sending ``args`` and receiving ``out_shape`` takes (measured in the grader alone)."""
        return round_trip_seconds(args, out_shape)

    def bind_via(self, via: str) -> RemoteFunction:
        return RemoteFunction(self.session, self.name, via=via, timeout=self.timeout, return_args=self.return_args)

    def results_only(self) -> RemoteFunction:
        """The same function, without the arguments sent back after each call (for timing: the
        transfer then matches what :meth:`transfer_seconds` measures)."""
        return RemoteFunction(self.session, self.name, via=self.via, timeout=self.timeout, return_args=False)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        group = self.session.cgroup
        cpu_start = group.cpu_seconds() if group is not None else None
        start = time.perf_counter()
        try:
            result, self.last_args_after = self.session.call(self.name, args, kwargs, via=self.via,
                                                             timeout=self.timeout, return_args=self.return_args)
        except RemoteCallError as exc:
            if exc.remote_type == "NotImplementedError":
                raise NotImplementedError(str(exc)) from None
            if exc.remote_type == "TimeoutError":
                raise StudentCrashed(f"{self.name} timed out ({exc})") from None
            raise
        finally:
            self.last_seconds = time.perf_counter() - start
            self.last_cpu_seconds = None
            if cpu_start is not None and group is not None:
                try:
                    self.last_cpu_seconds = group.cpu_seconds() - cpu_start
                except OSError:  # the group is gone (the sandbox was closed)
                    pass
            # what the speed questions' timing counts for this call (wall clock without a control group)
            timing.charge(self.last_cpu_seconds if self.last_cpu_seconds is not None else self.last_seconds)
        return result
