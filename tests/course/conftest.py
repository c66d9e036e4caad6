"""Course tests drive the real nbgrader and bubblewrap: mark them all ``course``; skip without bwrap."""
from __future__ import annotations

import shutil

import pytest


def pytest_collection_modifyitems(config, items):
    no_bwrap = shutil.which("bwrap") is None
    for item in items:
        if "tests/course/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.course)
            if no_bwrap:
                item.add_marker(pytest.mark.skip(reason="bubblewrap (bwrap) is not installed: grading refuses to "
                                                        "run without its sandbox (apt-get install bubblewrap)"))
