"""Fixtures for the browser tests: JupyterLab / Voila servers on 127.0.0.1 and headless Chromium via Playwright.

Servers serve a temporary copy of the notebooks (Lab autosaves what it opens) and are always shut down by the
fixture finalizers. Every wait is bounded. Tests skip with a reason when Chromium or Playwright is missing.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _lab_page import CHROMIUM_ARGS
from _helpers import free_port  # noqa: E402 - tests/ is on sys.path (tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
BIN = Path(sys.executable).parent


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _chromium()
    if path is None:
        pytest.skip("no Chromium on PATH (apt-get install chromium); browser tests need a real browser")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install playwright; no browser download needed)")
    return path




@dataclass
class Server:
    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "<no log>"


def _wait_http(url: str, server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with code {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"server not ready after {timeout:.0f} s ({url}):\n{server.log_tail()}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return env


def copy_course(dest: Path, notebooks: list[str]) -> Path:
    """Copy the named lecture notebooks (into dest/notebooks) and img/ (dest/img), as a student checkout has them."""
    (dest / "notebooks").mkdir(parents=True)
    for name in notebooks:
        shutil.copy2(ROOT / "notebooks" / name, dest / "notebooks" / name)
    shutil.copytree(ROOT / "img", dest / "img")
    return dest


@pytest.fixture
def lab_server(tmp_path: Path, chromium_path: str) -> Iterator[Server]:
    root = copy_course(tmp_path / "course", ["01_convolution.ipynb"])
    settings = tmp_path / "settings"
    notif = settings / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True)
    (notif / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    port, token = free_port(), secrets.token_hex(16)
    log = tmp_path / "lab.log"
    cmd = [str(BIN / "jupyter"), "lab", "--no-browser", f"--port={port}", f"--IdentityProvider.token={token}",
           "--ServerApp.ip=127.0.0.1", "--allow-root", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}",
           f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}", "--ServerApp.port_retries=0"]
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=_server_env(), cwd=root)
    server = Server(f"http://127.0.0.1:{port}", token, root, proc, log)
    try:
        _wait_http(f"{server.url}/api/status?token={token}", server, timeout=90)
        yield server
    finally:
        _stop(proc)


@pytest.fixture
def voila_server(tmp_path: Path, chromium_path: str) -> Iterator[Server]:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    root = tmp_path / "voila"
    root.mkdir()
    nb = new_notebook(cells=[new_code_cell('from cnnlab.widgets import ConvolutionExplorer\n\n'
                                           'ConvolutionExplorer("edges 6x6", "vertical edge")')],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    (root / "explorer.ipynb").write_text(nbformat.writes(nb))
    port = free_port()
    log = tmp_path / "voila.log"
    cmd = [str(BIN / "voila"), str(root / "explorer.ipynb"), "--no-browser", f"--port={port}",
           "--Voila.ip=127.0.0.1", "--Voila.port_retries=0"]
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=_server_env(), cwd=root)
    server = Server(f"http://127.0.0.1:{port}", "", root, proc, log)
    try:
        _wait_port(port, server, 60)
        yield server
    finally:
        _stop(proc)


def _wait_port(port: int, server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with code {server.process.returncode}:\n{server.log_tail()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise TimeoutError(f"nothing listens on port {port} after {timeout:.0f} s:\n{server.log_tail()}")


@pytest.fixture
def page(chromium_path: str):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            pg = context.new_page()
            pg.set_default_timeout(30_000)
            yield pg
        finally:
            browser.close()
