"""A class on the hub, end to end: assignment 1 released, fetched, answered, submitted, graded, fed back.

Everything the instructor and the students do goes through the hub (its REST API, then each
user's own server: formgrader for the instructor, the assignment list for students), except the
grading itself, which the instructor runs with ``python -m cnnlab.course grade`` from the full
instructor install. Then: students are kept apart, and a student drives lecture 01 in Chromium.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

import hubctl
from _a1_mistakes import MISTAKES
from _hubclass import ROOT, Klass
from _lab_page import (ALL_CELLS_RAN, CHROMIUM_ARGS, KERNEL_READY, POSITION_SLIDER, RUN_ALL, explorer_images,
                       explorer_output, set_slider, wait_for_redraw)

pytestmark = [pytest.mark.slow]

A = "a1_conv_from_scratch"
SOURCE = ROOT / "notebooks" / "assignments" / A / f"{A}.ipynb"


def _ok(response, what: str) -> dict | list:
    assert response.status_code in (200, 201), f"{what}: {response.status_code} {response.text[:1500]}"
    body = response.json() if response.text else {}
    if isinstance(body, dict) and body.get("success") is False:
        raise AssertionError(f"{what} failed: {json.dumps(body)[:3000]}")
    return body


def _solutions() -> dict[str, str]:
    nb = nbformat.read(str(SOURCE), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: "\n".join(
                line for line in c.source.splitlines() if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}


def _auto_points() -> dict[str, float]:
    nb = nbformat.read(str(SOURCE), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"]) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}


def _answer(nb_json: dict, replacements: dict[str, str]) -> dict:
    for cell in nb_json["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in replacements and cell["cell_type"] == "code":
            cell["source"] = replacements[gid]
    return nb_json


def _put_notebook(klass: Klass, user: str, path: str, content: dict) -> None:
    r = klass.hub.user_request(user, "PUT", f"api/contents/{path}",
                               json={"type": "notebook", "format": "json", "content": content})
    _ok(r, f"saving {path} as {user}")


def _mkdir(klass: Klass, user: str, path: str) -> None:
    r = klass.hub.user_request(user, "PUT", f"api/contents/{path}", json={"type": "directory"})
    assert r.status_code in (200, 201), f"mkdir {path}: {r.status_code} {r.text[:500]}"


def _formgrader(klass: Klass, action: str) -> dict:
    r = klass.hub.user_request(klass.instructor, "POST", f"formgrader/api/assignment/{A}/{action}")
    return _ok(r, f"formgrader {action}")


def _assignments(klass: Klass, student: str, action: str) -> list | dict:
    r = klass.hub.user_request(student, "POST", f"assignments/{action}",
                               data={"assignment_id": A, "course_id": "cnnlab"})
    return _ok(r, f"{action} as {student}")


def _gradebook_scores(klass: Klass) -> dict[str, dict[str, float]]:
    """Scores of the autograded (code) cells per student; the written answer is graded by hand."""
    from nbgrader.api import Gradebook

    points = _auto_points()
    out: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{klass.course_root / 'gradebook.db'}", course_id="cnnlab") as gb:
        for student in klass.students:
            sub = gb.find_submission_notebook(A, A, student)
            out[student] = {g.name: float(g.score) for g in sub.grades if g.name in points}
    return out


def test_class_round_trip(klass: Klass):
    hub, inst = klass.hub, klass.instructor
    for user in (inst, *klass.students):
        hub.spawn(user)

    # The instructor puts the assignment's source into the course directory (an upload in Lab),
    # then generates and releases it with formgrader.
    _mkdir(klass, inst, "cnnlab-course/source")
    _mkdir(klass, inst, f"cnnlab-course/source/{A}")
    _put_notebook(klass, inst, f"cnnlab-course/source/{A}/{A}.ipynb", json.loads(json.dumps(nbformat.read(str(SOURCE), as_version=4))))
    _formgrader(klass, "assign")
    _formgrader(klass, "release")

    # Each student sees it in the assignment list, fetches it, answers and submits.
    solutions = _solutions()
    answers = {klass.students[0]: solutions, klass.students[1]: {},
               klass.students[2]: {**solutions, "avg_pool_forward": MISTAKES["avg_pool_forward"]}}
    for student in klass.students:
        listed = _ok(hub.user_request(student, "GET", "assignments", params={"course_id": "cnnlab"}), "list")
        assert [a["assignment_id"] for a in listed["value"] if a["status"] == "released"] == [A]
        _assignments(klass, student, "fetch")
        path = f"{A}/{A}.ipynb"
        model = _ok(hub.user_request(student, "GET", f"api/contents/{path}"), f"open {path}")
        released = model["content"]
        assert "### BEGIN SOLUTION" not in json.dumps(released)
        _put_notebook(klass, student, path, _answer(released, answers[student]))
        _assignments(klass, student, "submit")

    _formgrader(klass, "collect")
    assert sorted(p.name for p in (klass.course_root / "submitted").iterdir()) == sorted(klass.students)

    # Grading: the instructor's own install (here the repository's environment, as root).
    env = {**os.environ, "CNNLAB_COURSE_ROOT": str(klass.course_root), "CNNLAB_EXCHANGE": str(hub.exchange),
           "CNNLAB_CELL_TIMEOUT": "60"}
    proc = subprocess.run([sys.executable, "-m", "cnnlab.course", "--config", str(ROOT / "course_config.py"),
                           "grade", A, "--jobs", "2"], env=env,
                          capture_output=True, text=True, timeout=900)
    subprocess.run(["chown", "-R", f"{inst}:{inst}", str(klass.course_root)], check=True)
    logs = "\n".join(json.loads(p.read_text()).get("log_tail", "")[-1500:]
                     for p in sorted((klass.course_root / "verification" / A).glob("*.json")))
    # Exit status 1 means "needs review": allowed only for the written answer, which is graded by hand.
    review = [line for line in proc.stdout.splitlines() if line.startswith("  ") and ": " in line
              and A in line and "/" in line]
    assert proc.returncode == 0 or (proc.returncode == 1 and review and all("written_" in r for r in review)), \
        f"grade failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}\n{logs}"

    points = _auto_points()
    scores = _gradebook_scores(klass)
    reference, blank, wrong = klass.students
    assert scores[reference] == points, proc.stdout
    assert scores[blank] == {gid: 0.0 for gid in points}, proc.stdout
    assert scores[wrong] == {**points, "test_avg_pool_forward": 0.0}, proc.stdout

    # Feedback: generated and released by the instructor, fetched by each student.
    _formgrader(klass, "generate_feedback")
    _formgrader(klass, "release_feedback")
    for student in klass.students:
        _assignments(klass, student, "fetch_feedback")
        folder = _ok(hub.user_request(student, "GET", f"api/contents/{A}/feedback"), "feedback folder")
        stamps = [c["path"] for c in folder["content"]]
        assert len(stamps) == 1, stamps
        html = _ok(hub.user_request(student, "GET", f"api/contents/{stamps[0]}/{A}.html",
                                    params={"type": "file", "format": "text"}), "feedback html")["content"]
        total = sum(scores[student].values())
        assert f"{total:g}" in html, html[:2000]

    # The formgrader's view agrees with the gradebook.
    subs = _ok(hub.user_request(inst, "GET", f"formgrader/api/submissions/{A}"), "submissions")
    assert {s["student"]: s["score"] for s in subs} == {s: sum(v.values()) for s, v in scores.items()}, subs


def test_students_are_kept_apart(klass: Klass):
    hub, inst = klass.hub, klass.instructor
    s1, s2 = klass.students[:2]
    for user in (inst, s1, s2):
        hub.spawn(user)
    # Formgrader: off in a student's own server, and the instructor's server is not theirs.
    assert hub.user_request(s1, "GET", "formgrader/api/status").status_code == 404
    assert hub.user_request(inst, "GET", "formgrader/api/status").status_code == 200
    assert hub.user_request(inst, "GET", "formgrader/api/status", as_user=s1).status_code == 403
    # Lab in a student's server hides the instructor's plugins.
    lab = hub.user_request(s1, "GET", "lab").text
    assert '"@jupyter/nbgrader:formgrader"' in lab and '"@jupyter/nbgrader:create-assignment"' in lab, lab[:2000]
    # Another student's server and files.
    assert hub.user_request(s2, "GET", "api/contents", as_user=s1).status_code == 403
    home2, course = Path(os.path.expanduser(f"~{s2}")), klass.course_root
    for target in (home2, course):
        proc = hubctl.run_as(s1, "ls", str(target))
        assert proc.returncode != 0 and "Permission denied" in proc.stderr, (target, proc.stdout, proc.stderr)
    # The student kit only: no instructor package, no solution cells in the lectures.
    proc = hubctl.run_as(s1, str(hub.user_env / "bin" / "python"), "-c", "import cnnlab.course")
    assert proc.returncode != 0 and "No module named 'cnnlab.course'" in proc.stderr, proc.stderr
    lectures = _ok(hub.user_request(s1, "GET", "api/contents/lectures"), "lectures")["content"]
    assert any(c["name"].startswith("01_") for c in lectures)
    for entry in lectures:
        if entry["name"].endswith(".ipynb"):
            nb = _ok(hub.user_request(s1, "GET", f"api/contents/{entry['path']}"), entry["path"])["content"]
            assert not [c for c in nb["cells"] if "solution" in c.get("metadata", {}).get("tags", [])], entry["name"]
    # The memory limit applies to the student's server; the idle culler is running.
    pids = subprocess.run(["pgrep", "-u", s1, "-f", "jupyterhub-singleuser"], capture_output=True,
                          text=True).stdout.split()
    assert pids, "no server process for the student"
    cgroup = Path(f"/proc/{pids[0]}/cgroup").read_text()
    limits = Path(f"/proc/{pids[0]}/limits").read_text()
    assert f"cnnlab/{s1}" in cgroup or str(2 * 1024**3) in limits, (cgroup, limits)
    services = _ok(hub.api("GET", "/services"), "services")
    assert "idle-culler" in services


def _terminal_run(klass: Klass, user: str, command: str, timeout: float = 60) -> str:
    """Open a terminal in ``user``'s server (as Lab does), type ``command``; the terminal's output."""
    import asyncio

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    hub = klass.hub
    name = _ok(hub.user_request(user, "POST", "api/terminals"), "new terminal")["name"]
    url = f"{hub.url.replace('http', 'ws', 1)}/user/{user}/terminals/websocket/{name}"
    marker = "END-OF-" + "COMMAND"

    async def talk() -> str:
        ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {hub.token(user)}"}))
        ws.write_message(json.dumps(["stdin", f"{command}; echo {marker[:4]}''{marker[4:]}\r"]))
        out = ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while marker not in out and loop.time() < deadline:
            msg = await asyncio.wait_for(ws.read_message(), timeout=max(0.1, deadline - loop.time()))
            if msg is None:
                break
            kind, *rest = json.loads(msg)
            if kind == "stdout":
                out += rest[0]
        ws.close()
        return out

    try:
        return asyncio.run(talk())
    finally:
        hub.user_request(user, "DELETE", f"api/terminals/{name}")


def test_instructor_role_and_terminals(klass: Klass):
    hub, inst, s1 = klass.hub, klass.instructor, klass.students[0]
    hub.spawn(inst)
    hub.spawn(s1)
    # Not an admin: a role with the class list only (JupyterHub RBAC).
    model = _ok(hub.api("GET", f"/users/{inst}"), "instructor model")
    assert model["admin"] is False, model
    assert _ok(hub.api("GET", "/groups/instructors"), "group")["roles"] == ["instructor"]
    token = hub.token(inst)
    listed = {u["name"] for u in _ok(hub.api("GET", "/users", token=token), "list users as instructor")}
    assert {inst, *klass.students} <= listed
    assert set(_ok(hub.api("GET", "/groups/students", token=token), "group")["users"]) == set(klass.students)
    # ... and nothing of a student's server: not its files, not starting or stopping it.
    assert hub.user_request(s1, "GET", "api/contents", as_user=inst).status_code == 403
    refused = (403, 404)  # JupyterHub answers 404 where the scope to act is missing
    assert hub.api("DELETE", f"/users/{s1}/server", token=token).status_code in refused
    assert hub.api("POST", f"/users/{s1}/tokens", token=token, json={}).status_code in refused
    assert hub.api("PATCH", f"/users/{s1}", token=token, json={"admin": True}).status_code in refused
    assert _ok(hub.api("GET", f"/users/{s1}"), "student")["servers"][""]["ready"]  # still running
    hub.stop_server(s1)
    deadline = time.monotonic() + 60
    while _ok(hub.api("GET", f"/users/{s1}"), "student").get("servers") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert hub.api("POST", f"/users/{s1}/server", token=token).status_code in refused
    time.sleep(1)
    model = _ok(hub.api("GET", f"/users/{s1}"), "student")
    assert not model.get("servers") and not model.get("pending"), model
    assert model["admin"] is False
    hub.spawn(s1)

    # Saving a notebook that names a jupytext pairing (as released assignments do) writes no paired script.
    nb = json.loads(json.dumps(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])))
    nb["metadata"]["jupytext"] = {"formats": "ipynb,.pct.py:percent"}
    _put_notebook(klass, s1, "paired.ipynb", nb)
    names = {c["name"] for c in _ok(hub.user_request(s1, "GET", "api/contents"), "home")["content"]}
    assert "paired.ipynb" in names and not [n for n in names if n.startswith("paired.") and n.endswith(".py")], names

    # Terminals find nbgrader (the users' environment is first on PATH in the terminal's shell).
    for user in (s1, inst):
        out = _terminal_run(klass, user, "command -v nbgrader; whoami")
        assert f"{hub.user_env}/bin/nbgrader" in out and user in out, out[-1500:]


@pytest.mark.browser
def test_formgrader_tab_inside_jupyterlab(klass: Klass):
    chromium = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)
    if chromium is None:
        pytest.skip("no Chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no browser download)")
    hub, inst = klass.hub, klass.instructor
    hub.spawn(inst)
    # the framing policy: the hub's own origin for the instructor's server, none for a student's
    csp = hub.user_request(inst, "GET", "formgrader/manage_assignments").headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'self'" in csp, csp
    hub.spawn(klass.students[0])
    student_csp = hub.user_request(klass.students[0], "GET", "lab").headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in student_csp, student_csp
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(60_000)
            blocked: list[str] = []
            page.on("console", lambda m: blocked.append(m.text) if "frame-ancestors" in m.text else None)
            page.goto(f"{hub.url}/hub/login")
            page.fill("input[name=username]", inst)
            page.fill("input[name=password]", hub.password)
            page.click("[type=submit]")
            page.wait_for_url(f"**/user/{inst}/lab**", timeout=120_000)
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.commands.hasCommand("
                                   "'nbgrader:open-formgrader')", timeout=120_000, polling=250)
            page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-formgrader')")
            frame = page.frame_locator("iframe[src*='formgrader']").first
            frame.locator("text=Manage Assignments").first.wait_for(state="visible", timeout=60_000)
            assert not blocked, blocked
        finally:
            browser.close()


@pytest.mark.browser
def test_student_opens_lecture_01_in_chromium(klass: Klass):
    chromium = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)
    if chromium is None:
        pytest.skip("no Chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no browser download)")
    hub, student = klass.hub, klass.students[1]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{hub.url}/hub/login")
            page.fill("input[name=username]", student)
            page.fill("input[name=password]", hub.password)
            page.click("[type=submit]")
            page.wait_for_url(f"**/user/{student}/lab**", timeout=120_000)
            page.goto(f"{hub.url}/user/{student}/lab/tree/lectures/01_convolution.ipynb")
            page.wait_for_function(KERNEL_READY, timeout=120_000, polling=250)
            page.evaluate(RUN_ALL)
            slider = page.locator(POSITION_SLIDER).first
            slider.wait_for(state="visible", timeout=180_000)
            page.wait_for_function(ALL_CELLS_RAN, timeout=180_000, polling=500)
            explorer = explorer_output(page)
            explorer.scroll_into_view_if_needed()
            explorer.locator("img").first.wait_for(state="visible")
            before = explorer_images(explorer)
            set_slider(slider, 5)
            after = wait_for_redraw(page, explorer, before, timeout=30)
            assert after != before, "the ConvolutionExplorer did not redraw after the slider moved"
            assert slider.locator(".widget-readout").inner_text().strip() == "5"
        finally:
            browser.close()
