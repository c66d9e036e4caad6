"""The message format between the grader and a sandboxed student process.

A message is a JSON document followed by the raw bytes of its arrays: a 16-byte header
(the two lengths), the JSON, then the bytes. In the JSON an array is
``{"__nd__": {"offset": ..., "dtype": "<f8", "shape": [...]}}``, and the receiver rebuilds
it from those bytes with ``np.frombuffer`` — no pickle, no ``.npy`` parsing, nothing the
student process sends can run code in the grader, and no base64 (arrays of several MB
cross in about a millisecond). What comes back is bounded: numeric/boolean dtypes only
(no object, string or structured arrays), at most ``MAX_NDIM`` axes and ``MAX_ELEMENTS``
elements per array, lying inside the bytes sent, containers nested at most ``MAX_DEPTH``
deep, and every decode is iterative-safe (a deeply nested or malformed message is a
:class:`WireError`, never a RecursionError in the grader).
"""
from __future__ import annotations

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
        if not _sendable(arr.dtype):
            raise WireError(f"arrays of dtype {arr.dtype} cannot be sent: numbers or booleans only")
        # the array itself: send() writes its bytes after the JSON
        return {"__nd__": _c_order(arr), "tensor": is_tensor,
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


def _c_order(arr: np.ndarray) -> np.ndarray:
    """``arr`` laid out in C order, copied only if needed (``np.ascontiguousarray`` would make a 0-d array 1-d)."""
    return arr if arr.flags.c_contiguous else arr.copy(order="C")


def _sendable(dtype: np.dtype) -> bool:
    """Plain numbers or booleans: no objects, strings, records or sub-arrays."""
    return dtype.kind in ALLOWED_KINDS and not dtype.hasobject and dtype.fields is None and dtype.subdtype is None


def _from_bytes(ref: Any, data: bytearray) -> np.ndarray:
    """The array that ``ref`` ({"offset", "dtype", "shape"}) describes in the message's bytes, checked and copied."""
    if not (isinstance(ref, dict) and set(ref) == {"offset", "dtype", "shape"}):
        raise WireError("malformed array in message")
    offset, dtype_str, shape = ref["offset"], ref["dtype"], ref["shape"]
    if not (isinstance(dtype_str, str) and len(dtype_str) <= 4 and isinstance(shape, list)
            and type(offset) is int and all(type(n) is int and n >= 0 for n in shape)):
        raise WireError("malformed array in message")
    try:
        dtype = np.dtype(dtype_str)
    except Exception:  # noqa: BLE001 - TypeError, or even SyntaxError for ",,"
        raise WireError(f"unknown dtype {dtype_str!r} in message") from None
    if not _sendable(dtype):
        raise WireError(f"arrays of dtype {dtype} cannot be sent: numbers or booleans only")
    count = 1
    for n in shape[: MAX_NDIM + 1]:
        count *= n
    if len(shape) > MAX_NDIM or count > MAX_ELEMENTS:
        raise WireError(f"array of shape {tuple(shape[:MAX_NDIM + 1])} is too large to send")
    if offset < 0 or offset + count * dtype.itemsize > len(data):
        raise WireError("an array in the message lies outside the bytes sent")
    return np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape).copy()


def _array(value: dict, tensors: bool) -> Any:
    arr = value.get("__nd__")
    if not isinstance(arr, np.ndarray):  # receive() has turned every array reference into an array
        raise WireError("malformed array in message")
    if not _sendable(arr.dtype):
        raise WireError(f"arrays of dtype {arr.dtype} cannot be sent: numbers or booleans only")
    if arr.ndim > MAX_NDIM or arr.size > MAX_ELEMENTS:
        raise WireError(f"array of shape {arr.shape} is too large to send")
    if tensors and value.get("tensor") is True:
        import torch

        tensor = torch.from_numpy(_c_order(arr))
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


PIPE_BYTES = 1 << 20


def pipe() -> tuple[int, int]:
    """``os.pipe()`` with a buffer of PIPE_BYTES where Linux allows it (its default is 64 KiB):
    an array of a few MB then crosses in a few writes, not a context switch every 64 KiB."""
    read_end, write_end = os.pipe()
    try:
        import fcntl

        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # another OS, or a lower /proc/sys/fs/pipe-max-size
        pass
    return read_end, write_end


def send(fd: int, message: dict) -> None:
    """Write ``message`` (JSON values and arrays from :func:`encode`) to ``fd``."""
    arrays: list[np.ndarray] = []
    offset = 0

    def reference(obj: Any) -> dict:  # json calls this for every array: where its bytes will be
        nonlocal offset
        if not isinstance(obj, np.ndarray):
            raise TypeError(f"cannot send a {type(obj).__name__}")
        arrays.append(obj)
        ref = {"offset": offset, "dtype": obj.dtype.str, "shape": list(obj.shape)}
        offset += obj.nbytes
        return ref

    text = json.dumps(message, default=reference).encode()
    for part in (struct.pack("<QQ", len(text), offset) + text, *(a.reshape(-1).view(np.uint8) for a in arrays)):
        view = memoryview(part)
        while view:
            written = os.write(fd, view)
            view = view[written:]


def _read_exact(fd: int, n: int) -> bytearray:
    data = bytearray(n)
    view = memoryview(data)
    while view:
        got = os.readv(fd, [view[: 1 << 20]])
        if not got:
            raise WireError("the other side closed the connection")
        view = view[got:]
    return data


def receive(fd: int) -> dict:
    size, data_size = struct.unpack("<QQ", _read_exact(fd, 16))
    if size > MAX_MESSAGE_BYTES or data_size > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {size + data_size} bytes is too large")
    text, data = _read_exact(fd, size), _read_exact(fd, data_size)

    def arrays(obj: dict) -> dict:  # json calls this for every object, innermost first
        if "__nd__" in obj:
            obj["__nd__"] = _from_bytes(obj["__nd__"], data)
        return obj

    try:
        message = json.loads(text, object_hook=arrays)
    except (ValueError, RecursionError, MemoryError) as exc:  # deep nesting is a RecursionError in json
        raise WireError(f"malformed message: {type(exc).__name__}") from None
    if not isinstance(message, dict):
        raise WireError("malformed message")
    return message
