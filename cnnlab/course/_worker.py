"""The student side of out-of-band grading: runs inside the sandbox, never trusted.

``python -m cnnlab.course._worker REQUEST_FD REPLY_FD`` reads the notebook's code cells,
executes them in a fresh namespace (errors are recorded, execution goes on, as in
nbgrader), then answers calls: "run the student's ``conv_forward`` on these arrays".
Whatever it answers is only data; the grader compares it with the reference itself.
"""
from __future__ import annotations

import importlib
import os
import signal
import sys
import traceback
from typing import Any

from cnnlab.course import wire
from cnnlab.course.grading.forbidden import forbid


class _CellTimeout(BaseException):
    pass


def _alarm(seconds: float) -> None:
    def on_alarm(signum: int, frame: Any) -> None:
        raise _CellTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.0))


def _transform(source: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - fall back to the raw source
        return source


def _reseed() -> None:
    import random

    import numpy as np

    random.seed(0)
    np.random.seed(0)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)


def _resolve_via(via: str) -> Any:
    module, _, qualname = via.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def main(request_fd: int, reply_fd: int) -> None:
    init = wire.receive(request_fd)
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr = devnull
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    errors = []
    for index, source in enumerate(init["cells"]):
        try:
            code = compile(_transform(source), f"<cell {index}>", "exec")
            _alarm(float(init["cell_timeout"]))
            try:
                exec(code, namespace)  # noqa: S102 - this is what the sandbox is for
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException as exc:  # noqa: BLE001 - a failing cell does not stop the notebook
            errors.append(f"cell {index}: {type(exc).__name__}: {exc}"[:500])
    wire.send(reply_fd, {"ready": True, "errors": errors})
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
            _reseed()
            _alarm(float(request.get("timeout", init["cell_timeout"])))
            try:
                with forbid(request.get("forbidden", [])) as log:
                    result = fn(*args, **kwargs)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            reply.update(ok=True, result=wire.encode(result), called=list(log.called))
        except _CellTimeout:
            reply.update(ok=False, error="TimeoutError", message="the call took too long (timed out)")
        except BaseException as exc:  # noqa: BLE001 - report every failure of the answer
            reply.update(ok=False, error=type(exc).__name__, message=str(exc)[:2000],
                         trace=traceback.format_exc()[-2000:])
        try:
            wire.send(reply_fd, reply)
        except wire.WireError as exc:
            reply = {"id": request.get("id"), "ok": False, "error": "WireError", "message": str(exc)}
            wire.send(reply_fd, reply)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
