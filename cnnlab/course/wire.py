"""The message format between the grader and a sandboxed student process.

Length-prefixed JSON; arrays travel as ``.npy`` bytes read with ``allow_pickle=False``,
so nothing the student process sends can run code in the grader. What comes back is
bounded: numeric/boolean dtypes only (no object arrays), at most ``MAX_NDIM`` axes and
``MAX_ELEMENTS`` elements per array, containers nested at most ``MAX_DEPTH`` deep, and every
decode is iterative-safe (a deeply nested or malformed message is a :class:`WireError`,
never a RecursionError in the grader).
"""
from __future__ import annotations

import base64
import io
import json
import os
import struct
from typing import Any

import numpy as np

MAX_MESSAGE_BYTES = 256 * 1024**2
MAX_DEPTH = 8
MAX_ITEMS = 10_000
MAX_NDIM = 8
MAX_ELEMENTS = 1 << 25
ALLOWED_KINDS = "biuf"  # bool, signed, unsigned, float


class WireError(RuntimeError):
    """A malformed, oversized or truncated message."""


def encode(value: Any, _depth: int = 0) -> Any:
    if _depth > MAX_DEPTH:
        raise WireError(f"values nested more than {MAX_DEPTH} levels deep cannot be sent")
    if isinstance(value, np.ndarray) or (type(value).__module__ or "").startswith("torch") and hasattr(value, "detach"):
        is_tensor = not isinstance(value, np.ndarray)
        arr = value.detach().cpu().numpy() if is_tensor else value
        if arr.dtype == object:
            raise WireError("object arrays cannot be sent")
        buf = io.BytesIO()
        np.save(buf, arr, allow_pickle=False)
        return {"__nd__": base64.b64encode(buf.getvalue()).decode("ascii"), "tensor": is_tensor,
                "cuda": bool(is_tensor and getattr(value, "is_cuda", False))}
    if isinstance(value, np.generic):
        return encode(value.item(), _depth + 1)
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, _depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[encode(k, _depth + 1), encode(v, _depth + 1)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise WireError(f"cannot send a {type(value).__name__}")


def _array(value: dict, tensors: bool) -> Any:
    data = value.get("__nd__")
    if not isinstance(data, str):
        raise WireError("malformed array in message")
    try:
        arr = np.load(io.BytesIO(base64.b64decode(data, validate=True)), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any malformed .npy payload
        raise WireError(f"unreadable array in message ({type(exc).__name__})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in ALLOWED_KINDS or arr.dtype.hasobject:
        raise WireError(f"arrays of dtype {getattr(arr, 'dtype', '?')} cannot be sent: numbers or booleans only")
    if arr.ndim > MAX_NDIM or arr.size > MAX_ELEMENTS:
        raise WireError(f"array of shape {arr.shape} is too large to send")
    if tensors and value.get("tensor") is True:
        import torch

        tensor = torch.from_numpy(np.ascontiguousarray(arr))
        if value.get("cuda") is True and torch.cuda.is_available():  # the grader checks this case on the GPU
            tensor = tensor.cuda()
        return tensor
    return arr


def decode(value: Any, *, tensors: bool = False, _depth: int = 0) -> Any:
    """Inverse of encode; with ``tensors`` arrays sent as tensors come back as torch tensors."""
    if _depth > MAX_DEPTH:
        raise WireError(f"message nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        if "__nd__" in value:
            return _array(value, tensors)
        if "__tuple__" in value and isinstance(value["__tuple__"], list):
            return tuple(decode(v, tensors=tensors, _depth=_depth + 1) for v in _items(value["__tuple__"]))
        if "__dict__" in value and isinstance(value["__dict__"], list):
            out = {}
            for pair in _items(value["__dict__"]):
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise WireError("malformed mapping in message")
                key = decode(pair[0], tensors=tensors, _depth=_depth + 1)
                if not isinstance(key, (str, int, float, bool, type(None), tuple)):
                    raise WireError("unhashable key in message")
                out[key] = decode(pair[1], tensors=tensors, _depth=_depth + 1)
            return out
        raise WireError("unknown object in message")
    if isinstance(value, list):
        return [decode(v, tensors=tensors, _depth=_depth + 1) for v in _items(value)]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        if len(value) > 100_000:
            raise WireError("string too long in message")
        return value
    raise WireError(f"unexpected {type(value).__name__} in message")


def _items(values: list) -> list:
    if len(values) > MAX_ITEMS:
        raise WireError(f"more than {MAX_ITEMS} items in one container")
    return values


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
    except (ValueError, RecursionError, MemoryError) as exc:  # deep nesting is a RecursionError in json
        raise WireError(f"malformed message: {type(exc).__name__}") from None
    if not isinstance(message, dict):
        raise WireError("malformed message")
    return message
