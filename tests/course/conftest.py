"""Course tests drive the real nbgrader: mark them all ``course``."""
from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/course/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.course)
