"""Fixtures for every test under tests/: torch's thread count must come back as it was.

This folder is also put on ``sys.path`` so that the shared helper modules (``_helpers``,
``_lab_page``) import from the sub-folders' tests as well.

A test that changes ``torch.set_num_threads`` without restoring it slows down (or speeds up)
every test after it, so such a test fails here, naming itself, and the setting is put back.
Tests that need one thread use the ``one_thread`` fixture.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

# tests' shared helpers (_helpers, _lab_page) import from every sub-folder too
sys.path.insert(0, str(Path(__file__).resolve().parent))

_SESSION_THREADS = torch.get_num_threads()


@pytest.fixture(autouse=True)
def _torch_threads_restored(request) -> Iterator[None]:
    yield
    now = torch.get_num_threads()
    if now != _SESSION_THREADS:
        torch.set_num_threads(_SESSION_THREADS)
        pytest.fail(f"{request.node.nodeid} left torch.get_num_threads() at {now} (was {_SESSION_THREADS}): "
                    "use the one_thread fixture or restore the setting", pytrace=False)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run the test with one torch thread (fast and repeatable for tiny networks), then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
