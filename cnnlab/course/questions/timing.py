"""Timing for the speed questions, measured by the grader (never reported by the student's process).

:func:`timed` returns the CPU time spent on a call's behalf: the grader's own process time (the
reference, all its threads) plus the CPU time of every sandbox the call waited on, read from the
sandbox's control group (:class:`cnnlab.course.grader.student_process.RemoteFunction` reports it
with :func:`charge`). CPU time does not grow when a machine is busy, so a classmate's hog or the
student's own forked burners cannot slow the reference's measurement, and every process of the
student's sandbox that runs during their call counts against their answer. A sandbox without a
control group (``CNNLAB_CGROUPS=off``) reports its call's wall-clock time instead.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

_charged = threading.local()


def charge(seconds: float) -> None:
    """Add ``seconds`` of CPU time spent elsewhere (a sandbox) on behalf of the current thread's call."""
    _charged.seconds = getattr(_charged, "seconds", 0.0) + float(seconds)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """(result of ``fn()``, CPU seconds it took: this process's, plus what sandboxes it called charged)."""
    before = getattr(_charged, "seconds", 0.0)
    start = time.process_time()
    result = fn()
    return result, time.process_time() - start + getattr(_charged, "seconds", 0.0) - before
