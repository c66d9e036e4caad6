"""nbgrader's collect, without following links: the exchange's inbound folder is written by students.

Stock ``nbgrader collect`` copies each inbound submission with ``shutil.copytree``, which
dereferences symbolic links: a link to ``source/``, the gradebook or another student's folder
would be collected as that file's content. :class:`SafeCollect` copies regular files only
(:func:`cnnlab.course.grader.student_process.copy_submission`: no links, devices, FIFOs or sockets, size caps)
and logs what it refused. ``configure`` in :mod:`cnnlab.course.grader.sandbox_kernel` selects it.
"""
from __future__ import annotations

import os
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect

from .student_process import copy_submission


class SafeCollect(ExchangeCollect):
    """``nbgrader collect`` that copies regular files only and reports what it refused."""

    def do_copy(self, src: str, dest: str, log: object = None) -> None:
        if os.path.islink(src):
            self.log.warning("Refused to collect %s: the submission folder is a symbolic link", src)
            return
        os.makedirs(dest, exist_ok=True)
        for refused in copy_submission(Path(src), Path(dest)):
            self.log.warning("Refused while collecting %s: %s", src, refused)
