"""Load check for the one-machine hub: N simulated students start servers and run lecture 01 at once.

Run as root (it creates Unix users ``hbl<i>``, removed at the end)::

    .venv/bin/python benchmarks/hub_load.py --students 20

Each student's server is spawned through the hub's REST API; then a kernel is started in that
server and every code cell of the student version of lecture 01 is sent to it over the kernel's
websocket, as Lab would. Printed: hub start, spawn time (median/max), lecture time, memory per
user (PSS of the user's processes after the lecture: server + kernel; and the peak of the user's
memory cgroup where there is one), the whole class's wall time, and an estimate of the largest
class this machine holds. The student kit is built with ``python -m cnnlab.course student-kit``
unless CNNLAB_HUB_KIT names one already built.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiohttp
import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy"))

import hubctl  # noqa: E402


def user_pss_bytes(user: str) -> int:
    """Proportional set size of every process of ``user`` (shared pages split between sharers)."""
    pids = subprocess.run(["pgrep", "-u", user], capture_output=True, text=True).stdout.split()
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def cgroup_peak_bytes(user: str) -> int | None:
    for path in (Path(f"/sys/fs/cgroup/memory/cnnlab/{user}/memory.max_usage_in_bytes"),
                 Path(f"/sys/fs/cgroup/cnnlab/{user}/memory.peak")):
        if path.exists():
            return int(path.read_text())
    return None


def lecture_cells(kit: Path, name: str = "01_convolution.ipynb") -> list[str]:
    nb = nbformat.read(str(hubctl.kit_lectures(kit) / name), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def _message(code: str, session: str) -> dict:
    return {"header": {"msg_id": uuid.uuid4().hex, "username": "student", "session": session,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}


def _decode(frame: aiohttp.WSMessage) -> dict:
    """A kernel message from a websocket frame (binary frames carry buffers: offsets, then the JSON part)."""
    if frame.type == aiohttp.WSMsgType.TEXT:
        return json.loads(frame.data)
    if frame.type == aiohttp.WSMsgType.BINARY:
        data = frame.data
        n = int.from_bytes(data[:4], "big")
        offsets = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(n)]
        end = offsets[1] if n > 1 else len(data)
        return json.loads(data[offsets[0]:end])
    raise ConnectionError(f"the kernel's websocket closed ({frame.type.name})")


async def run_lecture(http: aiohttp.ClientSession, base: str, token: str, cells: list[str],
                      cell_timeout: float) -> list[str]:
    """Start a kernel in the user's server, run ``cells`` over its websocket; returns the errors."""
    headers = {"Authorization": f"token {token}"}
    async with http.post(f"{base}/api/kernels", json={"name": "python3"}, headers=headers) as r:
        r.raise_for_status()
        kernel = (await r.json())["id"]
    errors: list[str] = []
    session = uuid.uuid4().hex
    ws_url = base.replace("http://", "ws://") + f"/api/kernels/{kernel}/channels?session_id={session}"
    try:
        async with http.ws_connect(ws_url, headers=headers, max_msg_size=0) as ws:
            for i, code in enumerate(cells):
                msg = _message(code, session)
                await ws.send_str(json.dumps(msg))
                while True:
                    reply = _decode(await asyncio.wait_for(ws.receive(), cell_timeout))
                    if reply.get("parent_header", {}).get("msg_id") != msg["header"]["msg_id"]:
                        continue
                    if reply["msg_type"] == "error":
                        errors.append(f"cell {i}: {reply['content']['ename']}: {reply['content']['evalue']}")
                    if reply["msg_type"] == "execute_reply":
                        break
                if errors:
                    break
    finally:
        async with http.delete(f"{base}/api/kernels/{kernel}", headers=headers):
            pass
    return errors


async def one_student(hub: hubctl.Hub, user: str, token: str, cells: list[str], cell_timeout: float) -> dict:
    t0 = time.monotonic()
    spawn_s = await asyncio.to_thread(hub.spawn, user, 600)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as http:
        t1 = time.monotonic()
        errors = await run_lecture(http, f"{hub.url}/user/{user}", token, cells, cell_timeout)
        lecture_s = time.monotonic() - t1
        pss = user_pss_bytes(user)  # the kernel is gone: server only
    return {"user": user, "spawn_s": spawn_s, "lecture_s": lecture_s, "done_s": time.monotonic() - t0,
            "errors": errors, "server_pss": pss, "peak": cgroup_peak_bytes(user)}


async def run_class(hub: hubctl.Hub, users: list[str], cells: list[str], cell_timeout: float) -> list[dict]:
    tokens = {u: hub.token(u) for u in users}
    # One thread per student: every spawn request goes out at once, as when a class logs in together.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=len(users)))
    return await asyncio.gather(*(one_student(hub, u, tokens[u], cells, cell_timeout) for u in users))


def _mib(x: float | None) -> str:
    return "-" if x is None else f"{x / 2**20:.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", "-n", type=int, default=20)
    parser.add_argument("--mem-limit", default="2G")
    parser.add_argument("--cell-timeout", type=float, default=600)
    args = parser.parse_args(argv)
    reason = hubctl.why_hub_cannot_run()
    if reason:
        print(f"cannot run the hub here: {reason}")
        return 2
    base = Path(tempfile.mkdtemp(prefix="cnnlab-hubload-", dir="/tmp"))
    os.chmod(base, 0o755)
    users = [f"hbl{i:02d}{secrets.token_hex(1)}" for i in range(args.students)]
    hub = None
    try:
        kit = Path(os.environ["CNNLAB_HUB_KIT"]) if os.environ.get("CNNLAB_HUB_KIT") else hubctl.build_kit(base / "kit")
        user_env = hubctl.ensure_user_env(kit)
        cells = lecture_cells(kit)
        for u in users:
            hubctl.add_user(u)
        t = time.monotonic()
        hub = hubctl.Hub(base=base, user_env=user_env, kit=kit, instructors=[], students=users,
                         mem_limit=args.mem_limit).start()
        hub_start = time.monotonic() - t
        t = time.monotonic()
        results = asyncio.run(run_class(hub, users, cells, args.cell_timeout))
        whole = time.monotonic() - t
        # Memory of a server with its kernel alive (one student, measured after the class).
        probe = users[0]
        peak_kernel = None

        async def probe_kernel() -> int:
            async with aiohttp.ClientSession() as http:
                headers = {"Authorization": f"token {hub.token(probe)}"}
                base_url = f"{hub.url}/user/{probe}"
                async with http.post(f"{base_url}/api/kernels", json={"name": "python3"}, headers=headers) as r:
                    kid = (await r.json())["id"]
                session = uuid.uuid4().hex
                async with http.ws_connect(base_url.replace("http://", "ws://") +
                                           f"/api/kernels/{kid}/channels?session_id={session}",
                                           headers=headers) as ws:
                    msg = _message("\n".join(cells[:3]), session)
                    await ws.send_str(json.dumps(msg))
                    while True:
                        reply = _decode(await ws.receive())
                        if reply.get("msg_type") == "execute_reply" and \
                                reply.get("parent_header", {}).get("msg_id") == msg["header"]["msg_id"]:
                            break
                    pss = user_pss_bytes(probe)
                async with http.delete(f"{base_url}/api/kernels/{kid}", headers=headers):
                    pass
                return pss

        peak_kernel = asyncio.run(probe_kernel())
    finally:
        if hub is not None:
            hub.stop()
        for u in users:
            hubctl.remove_user(u)
        subprocess.run(["rm", "-rf", str(base)])

    spawn = [r["spawn_s"] for r in results]
    lecture = [r["lecture_s"] for r in results]
    failed = [r for r in results if r["errors"]]
    peaks = [r["peak"] for r in results if r["peak"]]
    mem_total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    per_user = max(max(peaks) if peaks else 0, peak_kernel or 0)
    print(f"hub_load: {len(users)} students, {os.cpu_count()} cores, {mem_total / 2**30:.1f} GiB "
          f"(timings on a shared, loaded machine are pessimistic)")
    print(f"hub start: {hub_start:.1f} s")
    print(f"spawn time: median {statistics.median(spawn):.1f} s, max {max(spawn):.1f} s")
    print(f"lecture 01 run: median {statistics.median(lecture):.1f} s, max {max(lecture):.1f} s "
          f"({len(cells)} code cells; {len(failed)} students with errors)")
    print(f"memory per user: server alone {_mib(statistics.median(r['server_pss'] for r in results))} PSS, "
          f"server + kernel after 3 cells {_mib(peak_kernel)} PSS, "
          f"cgroup peak during the lecture median {_mib(statistics.median(peaks) if peaks else None)} "
          f"max {_mib(max(peaks) if peaks else None)}")
    print(f"whole class: {whole:.1f} s from the first spawn request to the last lecture finished")
    if per_user:
        fit = int((mem_total - 2 * 2**30) // per_user)
        print(f"memory bound: about {fit} students with a kernel open each "
              f"({_mib(per_user)} per user, 2 GiB kept for the system and the hub)")
    for r in failed[:5]:
        print(f"  {r['user']}: {r['errors'][:2]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
