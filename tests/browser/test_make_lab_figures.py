"""`make lab` serves the repository root, so the lectures' figures (linked as ``../img/...``) load in the browser.

The Makefile's own `lab` recipe runs in a temporary copy of the course (the Makefile, notebooks/, img/ and
a link to the virtual environment): Lab may autosave what it opens, and the working tree stays untouched.
Lab must open on notebooks/, every figure a lecture links must be served where the link points, and in
Chromium lecture 01 must show its figures (no 404, every <img> decoded).
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from _helpers import free_port, stop_process_group

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"  # where conftest.py's fixtures put logs and screenshots

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROWSER_LECTURE = "01_convolution.ipynb"
FIGURE_LINK = re.compile(r"\]\((\.\./img/[^)\s]+)\)")


def _lectures_with_figures() -> dict[str, list[str]]:
    """{lecture.ipynb: [../img/... links in its markdown]} for every lecture pair that links a figure."""
    out = {}
    for md in sorted((ROOT / "notebooks").glob("[0-9]*.md")):
        links = FIGURE_LINK.findall(md.read_text())
        if links and md.with_suffix(".ipynb").exists():
            out[md.with_suffix(".ipynb").name] = links
    return out


@pytest.fixture
def make_lab(tmp_path: Path, chromium_path: str):
    """`make lab` (the real Makefile recipe) in a copy of the course; yields (url, token)."""
    if shutil.which("make") is None:
        pytest.skip("needs GNU make")
    course = tmp_path / "course"
    (course / "notebooks").mkdir(parents=True)
    for name in _lectures_with_figures():
        shutil.copy2(ROOT / "notebooks" / name, course / "notebooks" / name)
    shutil.copytree(ROOT / "img", course / "img")
    shutil.copy2(ROOT / "Makefile", course / "Makefile")
    (course / ".venv").symlink_to(ROOT / ".venv")
    settings = tmp_path / "settings"
    for ext, name, text in (("apputils-extension", "notification", '{"fetchNews": "false", "checkForUpdates": false}'),
                            # render every cell, so every figure of a long lecture is fetched
                            ("notebook-extension", "tracker", '{"windowingMode": "none"}')):
        (settings / "@jupyterlab" / ext).mkdir(parents=True)
        (settings / "@jupyterlab" / ext / f"{name}.jupyterlab-settings").write_text(text)
    port = free_port()
    token = secrets.token_hex(16)
    args = (f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token} "
            f"--LabApp.user_settings_dir={settings} --LabApp.workspaces_dir={tmp_path / 'ws'} "
            "--LabApp.expose_app_in_browser=True")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"),
           "OMP_NUM_THREADS": "1"}
    log = tmp_path / "lab.log"
    with open(log, "w") as fh:
        # -o: use the virtual environment as it is (the recipe's prerequisite is not rebuilt)
        proc = subprocess.Popen(["make", "--no-print-directory", "-o", ".venv/.cnnlab-installed", "lab",
                                 f"LAB_ARGS={args}"], cwd=course, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"make lab exited ({proc.returncode}):\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"make lab did not answer in 90 s:\n{log.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        yield url, token, log
    finally:
        stop_process_group(proc)


# the figures of the notebook in front (window.jupyterapp is exposed by --LabApp.expose_app_in_browser)
IMAGES = """(path) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.context || w.context.path !== path) return [];
  return Array.from(w.node.querySelectorAll('.jp-RenderedMarkdown img'))
    .map(i => ({src: i.getAttribute('src') || '', complete: i.complete, width: i.naturalWidth}));
}"""


def test_make_lab_shows_every_lecture_figure(make_lab, page):
    url, token, log = make_lab
    lectures = _lectures_with_figures()
    assert sum(len(v) for v in lectures.values()) >= 10, lectures  # the lectures do link figures
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)

    # The default page: Lab with the file browser on notebooks/.
    page.goto(f"{url}/?token={token}")
    page.wait_for_url("**/lab/tree/notebooks**", timeout=60_000)
    page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
    listing = page.locator(".jp-DirListing-item .jp-DirListing-itemText")
    listing.first.wait_for(timeout=60_000)
    assert set(listing.all_inner_texts()) >= set(lectures), listing.all_inner_texts()

    # Every figure any lecture links is served where the link points (relative to notebooks/).
    for name, links in lectures.items():
        for link in links:
            target = os.path.normpath(f"notebooks/{link}")
            with urllib.request.urlopen(f"{url}/files/{target}?token={token}", timeout=10) as r:
                assert r.status == 200 and r.read(8) == b"\x89PNG\r\n\x1a\n", (name, link)

    # In the browser: a lecture shows its figures (each opened lecture starts a kernel, so one lecture).
    for name, links in [(BROWSER_LECTURE, lectures[BROWSER_LECTURE])]:
        page.goto(f"{url}/lab/tree/notebooks/{name}")
        path = f"notebooks/{name}"
        page.wait_for_function(f"(path) => {{ const imgs = ({IMAGES})(path); return imgs.length >= {len(links)} && "
                               "imgs.every(i => i.complete && i.src.includes('/files/img/')); }",
                               arg=path, timeout=60_000, polling=250)
        images = page.evaluate(IMAGES, path)
        broken = [i["src"] for i in images if i["width"] == 0]
        if broken:
            page.screenshot(path=str(ARTIFACTS / f"make_lab_{name}.png"))
        assert not broken, f"{name}: figures that did not load: {broken}"
        wanted = {link.split("/")[-1] for link in links}
        shown = {i["src"].split("?")[0].split("/")[-1] for i in images}
        assert wanted <= shown, (name, wanted - shown)

    missing = [f for f in failed if " 404 " in f" {f} " or "/files/" in f]
    assert not missing, f"requests that failed: {missing}\n{log.read_text()[-2000:]}"
    assert not [m for m in console if "404" in m], console
