"""tests/conftest.py fails a test that leaves torch's thread count changed, and restores it."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.slow  # a pytest run in a subprocess: seconds
def test_a_leaking_test_fails_and_the_next_one_sees_the_setting_restored(tmp_path):
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_leak.py").write_text(
        "import torch\n"
        "START = torch.get_num_threads()\n"
        "def test_1_leaks():\n"
        "    torch.set_num_threads(START + 1)\n"
        "def test_2_sees_the_original():\n"
        "    assert torch.get_num_threads() == START\n"
        "def test_3_one_thread(one_thread):\n"
        "    assert torch.get_num_threads() == 1\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "-p", "no:randomly", str(tmp_path)],
                          cwd=tmp_path, capture_output=True, text=True)
    out = proc.stdout
    assert proc.returncode == 1, out
    assert "test_1_leaks left torch.get_num_threads() at" in out
    assert "3 passed, 1 error" in out  # the leak is an error in test 1's teardown; tests 2 and 3 pass
