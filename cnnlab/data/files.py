"""Loaders for image data sets a user already has on disk (nothing is downloaded).

* MNIST / Fashion-MNIST IDX files (``train-images-idx3-ubyte``, optionally ``.gz``);
* CIFAR-10 "python version" batches (pickled dicts with ``b'data'`` and ``b'labels'``);
* an image-folder tree: one sub-folder per class holding PNG or JPEG files.

Each returns float32 images (N, C, H, W) in [0, 1] and int64 labels as torch tensors;
wrap them in ``torch.utils.data.TensorDataset`` for a DataLoader. A missing or
malformed file raises an error that says what was expected. CIFAR batches are
pickles: only open files you trust.
"""
from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import torch

__all__ = ["read_idx", "load_mnist", "find_mnist", "load_cifar10_batch", "load_cifar10", "load_image_folder",
           "IMAGE_EXTENSIONS"]

# IDX type byte -> numpy big-endian dtype
_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


def _read_bytes(path: str | Path) -> tuple[Path, bytes]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no file at {path}")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path} ends in .gz but is not a valid gzip file ({exc})") from exc
    return path, raw


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST format): magic 0x0000TTDD, D big-endian int32 sizes, then the data."""
    path, raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        magic = raw[:4].hex() if len(raw) >= 4 else f"{len(raw)} bytes"
        raise ValueError(f"{path} is not an IDX file: wrong magic number {magic} "
                         f"(expected 0000TTDD with type TT in {[f'{t:02x}' for t in _IDX_TYPES]})")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated: the header announces {ndim} dimensions but the file ends early")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">i4", count=ndim, offset=4))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path} is truncated or padded: shape {shape} needs {expected} bytes of data, "
                         f"found {len(raw) - header}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def load_mnist(images_path: str | Path, labels_path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST-style images (N, 1, H, W) float32 in [0, 1] and labels (N,) int64 from two IDX files."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{images_path} should hold uint8 images (N, H, W), got {images.dtype} {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"{labels_path} should hold one label per image (N,), got shape {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"label count mismatch: {len(images)} images in {images_path} "
                         f"but {len(labels)} labels in {labels_path}")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(labels.astype(np.int64))


def find_mnist(root: str | Path, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """Load ``train`` (``train-*``) or ``test`` (``t10k-*``) from a folder with the standard file names."""
    prefix = {"train": "train", "test": "t10k"}.get(split)
    if prefix is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(root)
    found = {}
    for kind, dims in (("images", 3), ("labels", 1)):
        candidates = [root / f"{prefix}-{kind}-idx{dims}-ubyte{ext}" for ext in ("", ".gz")]
        candidates += [root / f"{prefix}-{kind}.idx{dims}-ubyte{ext}" for ext in ("", ".gz")]
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is None:
            raise FileNotFoundError(f"no {split} {kind} in {root}: expected {candidates[0].name} or {candidates[1].name}")
        found[kind] = hit
    return load_mnist(found["images"], found["labels"])


def load_cifar10_batch(path: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """One CIFAR-10 python batch: images (N, 3, 32, 32) float32 in [0, 1] and labels (N,) int64."""
    path, raw = _read_bytes(path)
    try:
        batch = pickle.loads(raw, encoding="bytes")
    except Exception as exc:  # unpickling garbage raises many types
        raise ValueError(f"{path} is not a CIFAR-10 python batch (could not unpickle: {exc})") from exc
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        keys = sorted(batch)[:5] if isinstance(batch, dict) else type(batch).__name__
        raise ValueError(f"{path} is not a CIFAR-10 batch: expected a dict with b'data' and b'labels', got {keys}")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or data.dtype != np.uint8:
        raise ValueError(f"{path}: b'data' should be uint8 of shape (N, 3072), got {data.dtype} {data.shape}")
    if len(labels) != len(data):
        raise ValueError(f"label count mismatch in {path}: {len(data)} images but {len(labels)} labels")
    x = torch.from_numpy(data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels)


def load_cifar10(root: str | Path, split: str = "train") -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """All batches of a split from ``cifar-10-batches-py``: images, labels and the class names."""
    root = Path(root)
    names = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}.get(split)
    if names is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    missing = [n for n in names if not (root / n).is_file()]
    if missing:
        raise FileNotFoundError(f"missing CIFAR-10 batch file(s) {missing} in {root}")
    parts = [load_cifar10_batch(root / n) for n in names]
    classes = [f"class {i}" for i in range(10)]
    meta = root / "batches.meta"
    if meta.is_file():
        with meta.open("rb") as fh:
            info = pickle.load(fh, encoding="bytes")
        classes = [c.decode() if isinstance(c, bytes) else str(c) for c in info[b"label_names"]]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]), classes


def load_image_folder(root: str | Path, size: int | tuple[int, int] | None = None, gray: bool = False,
                      extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Images from ``root/<class name>/<file>``: (N, C, H, W) float32, labels, sorted class names.

    ``size`` resizes every image (PIL bilinear); without it all images must share one size.
    """
    from PIL import Image, UnidentifiedImageError

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"no folder at {root}")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise ValueError(f"{root} has no class sub-folders: expected root/<class name>/<image files>")
    images, labels = [], []
    for label, name in enumerate(classes):
        files = sorted(f for f in (root / name).iterdir() if f.suffix.lower() in extensions)
        if not files:
            raise ValueError(f"class folder {root / name} is empty: no {'/'.join(extensions)} files")
        for f in files:
            try:
                with Image.open(f) as im:
                    im = im.convert("L" if gray else "RGB")
                    if size is not None:
                        h, w = (size, size) if isinstance(size, int) else size
                        im = im.resize((w, h), Image.BILINEAR)
                    arr = np.asarray(im, dtype=np.float32) / 255.0
            except (UnidentifiedImageError, OSError) as exc:
                raise ValueError(f"{f} is not a readable image ({exc})") from exc
            images.append(arr[None] if gray else arr.transpose(2, 0, 1))
            labels.append(label)
    shapes = {a.shape for a in images}
    if len(shapes) > 1:
        raise ValueError(f"images in {root} have different sizes {sorted(shapes)[:3]}: pass size=... to resize them")
    return torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.int64), classes
