"""The message format between the grader and a sandboxed student process.

Length-prefixed JSON; arrays travel as ``.npy`` bytes read with ``allow_pickle=False``,
so nothing the student process sends can run code in the grader.
"""
from __future__ import annotations

import base64
import io
import json
import os
import struct
from typing import Any

import numpy as np

MAX_MESSAGE_BYTES = 512 * 1024**2


class WireError(RuntimeError):
    """A malformed, oversized or truncated message."""


def encode(value: Any) -> Any:
    if isinstance(value, np.ndarray) or (type(value).__module__ or "").startswith("torch") and hasattr(value, "detach"):
        is_tensor = not isinstance(value, np.ndarray)
        arr = value.detach().cpu().numpy() if is_tensor else value
        if arr.dtype == object:
            raise WireError("object arrays cannot be sent")
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        return {"__nd__": base64.b64encode(buf.getvalue()).decode("ascii"), "tensor": is_tensor}
    if isinstance(value, np.generic):
        return encode(value.item())
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[encode(k), encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise WireError(f"cannot send a {type(value).__name__}")


def decode(value: Any, *, tensors: bool = False) -> Any:
    """Inverse of encode; with ``tensors`` arrays sent as tensors come back as torch tensors."""
    if isinstance(value, dict):
        if "__nd__" in value:
            arr = np.load(io.BytesIO(base64.b64decode(value["__nd__"])), allow_pickle=False)
            if tensors and value.get("tensor"):
                import torch

                return torch.from_numpy(arr)
            return arr
        if "__tuple__" in value:
            return tuple(decode(v, tensors=tensors) for v in value["__tuple__"])
        if "__dict__" in value:
            return {decode(k, tensors=tensors): decode(v, tensors=tensors) for k, v in value["__dict__"]}
        raise WireError("unknown object in message")
    if isinstance(value, list):
        return [decode(v, tensors=tensors) for v in value]
    return value


def send(fd: int, message: dict) -> None:
    data = json.dumps(message).encode()
    payload = struct.pack("<Q", len(data)) + data
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise WireError("the other side closed the connection")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def receive(fd: int) -> dict:
    (size,) = struct.unpack("<Q", _read_exact(fd, 8))
    if size > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {size} bytes is too large")
    try:
        message = json.loads(_read_exact(fd, size))
    except ValueError as exc:
        raise WireError(f"malformed message: {exc}") from None
    if not isinstance(message, dict):
        raise WireError("malformed message")
    return message
