"""The student side of out-of-band grading: runs inside the sandbox, never trusted.

``python -m cnnlab.course.inside.worker REQUEST_FD REPLY_FD`` runs the notebook's code cells in an
IPython shell (magics, ``display``, ``%matplotlib inline`` and ``%%time`` behave as in
JupyterLab; a failing cell is recorded and execution goes on, as in nbgrader), then answers
calls: "run the student's ``conv_forward`` on these arrays, send back the result and the
arguments as they are afterwards". Whatever it answers is only data: the grader computes
the expected values, times the calls and checks the arguments itself. The grader also
enforces every time limit from outside by killing the sandbox; the alarm here only keeps
an honest notebook's errors precise.
"""
from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import Any

from cnnlab.course.inside import import_rules, wire


class _CellTimeout(BaseException):
    pass


def _alarm(seconds: float) -> None:
    def on_alarm(signum: int, frame: Any) -> None:
        raise _CellTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.0))


def reseed() -> None:
    """Every call of the student's code starts from the same random state (the course's one
    seeding function, without importing torch for it)."""
    from cnnlab.session import seed_everything

    seed_everything(0, with_torch=False)


def _shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    class GradingShell(InteractiveShell):
        def enable_gui(self, gui: Any = None) -> None:  # `%matplotlib inline` needs no event loop here
            return None

    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # In and Out still fill, but no SQLite file and no saving thread
    return GradingShell.instance(colors="NoColor", config=config)


_PROBES_PRELOADED = False  # set by _preload: probes imported before any student code ran


def _resolve_via(via: str) -> Any:
    module, _, qualname = via.partition(":")
    if not module.startswith("cnnlab."):
        raise ValueError(f"not a cnnlab probe: {via}")
    if module == "cnnlab.course.inside.probes" and not _PROBES_PRELOADED:
        # imported now, after the student's cells, its captured classes could be the student's
        raise RuntimeError("the probes were not loaded before the notebook ran (a numpy-only sandbox)")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


MAX_TEXT = 10_000
MAX_IMAGE = 1_000_000
MAX_OUTPUTS = 20


def _outputs(captured: Any, error: BaseException | None) -> list[dict]:
    """A cell's outputs as nbformat-like dicts (bounded; the grader validates them again)."""
    outputs: list[dict] = []
    if error is None and captured.stdout:
        outputs.append({"output_type": "stream", "name": "stdout", "text": captured.stdout[-MAX_TEXT:]})
    if captured.stderr:
        outputs.append({"output_type": "stream", "name": "stderr", "text": captured.stderr[-MAX_TEXT:]})
    for rich in captured.outputs[:MAX_OUTPUTS]:
        data = {}
        text = rich.data.get("text/plain")
        if isinstance(text, str):
            data["text/plain"] = text[:MAX_TEXT]
        png = rich.data.get("image/png")
        if isinstance(png, str) and len(png) <= MAX_IMAGE:
            data["image/png"] = png
        if data:
            outputs.append({"output_type": "display_data", "data": data})
    if error is not None:
        outputs.append({"output_type": "error", "ename": type(error).__name__, "evalue": str(error)[:MAX_TEXT],
                        "traceback": [captured.stdout[-MAX_TEXT:]]})
    return outputs[:MAX_OUTPUTS]


def run_cells(cells: list[str], cell_timeout: float) -> tuple[dict[str, Any], list[str], list[list[dict]]]:
    """Run the cells in an IPython shell; (its namespace, one line per failing cell, each cell's outputs)."""
    from IPython.utils.capture import capture_output

    shell = _shell()
    errors, outputs = [], []
    for index, source in enumerate(cells):
        error: BaseException | None = None
        _alarm(cell_timeout)
        try:
            with capture_output() as captured:
                # as in a Jupyter kernel: In, Out, _ and the execution count move on with every cell
                result = shell.run_cell(source, store_history=True)
            error = result.error_before_exec or result.error_in_exec
        except BaseException as exc:  # noqa: BLE001 - a timeout between statements
            error = exc
            captured = None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if error is not None:
            errors.append(f"cell {index + 1}: {type(error).__name__}: {error}"[:500])
        try:
            outputs.append(_outputs(captured, error) if captured is not None else
                           [{"output_type": "error", "ename": type(error).__name__, "evalue": "", "traceback": []}])
        except Exception:  # noqa: BLE001 - outputs are only for the feedback
            outputs.append([])
    return shell.user_ns, errors, outputs


def _preload(with_torch: bool) -> None:
    """Import what every notebook imports while the sandbox waits for one (a pre-started sandbox);
    torch and the probes (which use it) only for an assignment that needs them."""
    global _PROBES_PRELOADED
    import numpy  # noqa: F401
    from IPython.core import interactiveshell  # noqa: F401

    try:
        import cnnlab  # noqa: F401 - every assignment's set-up cell imports it
        if with_torch:
            import cnnlab.course.inside.probes  # noqa: F401 - before the student's code can rebind cnnlab.models.blocks
            _PROBES_PRELOADED = True
    except Exception:  # noqa: BLE001
        pass


def _copy_in(src: str = "/tmp/.submission", dst: str = "/tmp/work") -> None:
    """Copy the submission (mounted read-only) into the private tmpfs and work there."""
    import shutil

    if os.path.isdir(src):
        for top, _dirs, files in os.walk(src):
            rel = os.path.relpath(top, src)
            os.makedirs(os.path.join(dst, rel), exist_ok=True)
            for name in files:
                try:
                    shutil.copyfile(os.path.join(top, name), os.path.join(dst, rel, name))
                except OSError:
                    pass
    if os.path.isdir(dst):
        os.chdir(dst)


def main(request_fd: int, reply_fd: int, with_torch: bool = True) -> None:
    import_rules.install()  # a missing module's error names the assignment's rule (the sandbox lacks it)
    _preload(with_torch)
    init = wire.receive(request_fd)
    if init.get("copy_in"):
        _copy_in()
    sys.path.insert(0, os.getcwd())  # helper modules beside the notebook import, as in JupyterLab
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr = devnull
    namespace, errors, outputs = run_cells([str(c) for c in init["cells"]], float(init["cell_timeout"]))
    wire.send(reply_fd, {"ready": True, "errors": errors, "outputs": outputs})
    while True:
        request = wire.receive(request_fd)
        reply: dict[str, Any] = {"id": request.get("id")}
        try:
            name = request["name"]
            if name not in namespace:
                raise NameError(f"name {name!r} is not defined: did you run the cell that defines it?")
            target = namespace[name]
            if request.get("via"):
                probe = _resolve_via(request["via"])
                fn = lambda *a, **k: probe(target, *a, **k)  # noqa: E731
            else:
                fn = target
            args = wire.decode(request.get("args", []), tensors=True)
            kwargs = wire.decode(request.get("kwargs", {}), tensors=True)
            reseed()
            _alarm(float(request.get("timeout", init["cell_timeout"])))
            try:
                result = fn(*args, **kwargs)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            reply.update(ok=True, result=wire.encode(result))
            if request.get("return_args"):
                reply["args_after"] = wire.encode([list(args), dict(kwargs)])
        except _CellTimeout:
            reply.update(ok=False, error="TimeoutError", message="the call took too long (timed out)")
        except BaseException as exc:  # noqa: BLE001 - report every failure of the answer
            reply.update(ok=False, error=type(exc).__name__, message=str(exc)[:2000])
        try:
            wire.send(reply_fd, reply)
        except (wire.WireError, TypeError, ValueError) as exc:
            wire.send(reply_fd, {"id": request.get("id"), "ok": False, "error": "WireError", "message": str(exc)})


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), with_torch=sys.argv[3:4] != ["numpy"])
