"""The Makefile's commands: `make lab` starts JupyterLab on the repository root (also as root); `make test-fast`.

That the lectures' figures load under `make lab` is checked in Chromium by tests/browser/test_make_lab_figures.py.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from _helpers import free_port, stop_process_group

REPO = Path(__file__).resolve().parents[1]
# -o: never rebuild the virtual environment from a test, use it as it is
MAKE = ["make", "--no-print-directory", "-o", ".venv/.cnnlab-installed"]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def test_lab_command_allows_root_only_for_root():
    cmd = subprocess.run([*MAKE, "-n", "lab", "LAB_ARGS=--no-browser"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert "jupyter lab" in cmd and "--no-browser" in cmd
    # the repository root is served (lectures link ../img/...), the file browser opens on notebooks/
    assert "--ServerApp.root_dir=. " in cmd and "--LabApp.default_url=/lab/tree/notebooks" in cmd
    assert ("--allow-root" in cmd) == (os.getuid() == 0)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""


@pytest.mark.slow
def test_make_lab_serves_jupyterlab(tmp_path):
    port, token = free_port(), "cnnlab-test-token"
    args = f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token}"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path)}
    log = (tmp_path / "lab.log").open("w+")
    proc = subprocess.Popen([*MAKE, "lab", f"LAB_ARGS={args}"], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, status, page = time.monotonic() + 90, 0, ""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, page = _get(f"http://127.0.0.1:{port}/lab?token={token}")
                break
            except (ConnectionError, urllib.error.URLError, OSError):
                time.sleep(0.5)
        log.seek(0)
        output = log.read()
        assert proc.poll() is None, f"make lab exited early:\n{output[-3000:]}"
        assert "Running as root is not recommended" not in output
        assert status == 200 and "JupyterLab" in page, output[-3000:]
        assert _get(f"http://127.0.0.1:{port}/api/contents?token=wrong")[0] == 403  # the token is required
    finally:
        stop_process_group(proc)
        log.close()


def test_test_fast_leaves_out_the_slow_groups():
    cmd = subprocess.run([*MAKE, "-n", "test-fast"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert '-m "not (slow or course or browser or hub or kit or notebook)"' in cmd
    for folder in ("notebooks", "tests/course", "tests/browser", "tests/hub"):
        assert f"--ignore={folder}" in cmd
