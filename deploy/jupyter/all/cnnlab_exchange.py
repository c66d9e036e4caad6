"""nbgrader's file exchange with private submissions (used by nbgrader_config.py beside this file).

nbgrader's own exchange hides a submission only by its unguessable name: the submission folder is
mode 0777 and its files 0644 in an inbound folder every student may write to, so a student who learns
the name can read, replace or rename a classmate's work. Here, with every user under their own uid:

- release: the inbound folder also gets the sticky bit (01000), so only an entry's owner (or the
  instructor, who owns inbound) can rename or delete it;
- submit: the submission is mode 0770 (folders) / 0640 (files) and, through inbound's set-group-id
  bit, belongs to the instructor's group: the student and the instructor's group only.
"""
from __future__ import annotations

import os
import shutil
import stat

from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import ignore_patterns


class PrivateReleaseAssignment(ExchangeReleaseAssignment):
    def init_dest(self):
        super().init_dest()
        mode = stat.S_IMODE(os.stat(self.inbound_path).st_mode)
        if not mode & stat.S_ISVTX and os.stat(self.inbound_path).st_uid == os.geteuid():
            os.chmod(self.inbound_path, mode | stat.S_ISVTX)


class PrivateSubmit(ExchangeSubmit):
    def do_copy(self, src, dest, log=None):
        """nbgrader's copy, without copying modes: every folder made inside inbound keeps the set-group-id
        bit it inherits (shutil.copytree's copystat would drop it), so every file gets the instructors' group."""
        if not os.path.abspath(dest).startswith(os.path.abspath(self.inbound_path) + os.sep):
            return super().do_copy(src, dest, log)
        if self.get_size(src) > 1000 * self.coursedir.max_dir_size:
            raise RuntimeError(f"Directory size is too big (maximum {1000 * self.coursedir.max_dir_size} bytes)")
        ignore = ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                                 max_file_size=self.coursedir.max_file_size, log=self.log)
        for folder, dirs, files in os.walk(src):
            skipped = ignore(folder, dirs + files)
            dirs[:] = [d for d in dirs if d not in skipped]
            target = os.path.join(dest, os.path.relpath(folder, src))
            os.makedirs(target, exist_ok=True)
            for name in files:
                if name not in skipped:
                    shutil.copyfile(os.path.join(folder, name), os.path.join(target, name))

    def copy_files(self):
        super().copy_files()
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        self.set_perms(dest, fileperms=0o640, dirperms=0o770)
