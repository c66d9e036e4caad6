"""Loaders for MNIST IDX, CIFAR-10 batches and image folders, on tiny files written here."""
from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from cnnlab.data.files import find_mnist, load_cifar10, load_cifar10_batch, load_image_folder, load_mnist, read_idx


def write_idx(path, array, type_byte=0x08):
    header = struct.pack(">BBBB", 0, 0, type_byte, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    data = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


@pytest.fixture
def mnist(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    return tmp_path, images, labels


def test_mnist_round_trip(mnist):
    root, images, labels = mnist
    x, y = find_mnist(root, "train")
    assert x.shape == (5, 1, 28, 28) and x.dtype == torch.float32
    np.testing.assert_allclose(x[:, 0].numpy() * 255, images, atol=1e-4)
    assert y.tolist() == labels.tolist()
    ints = np.arange(6, dtype=np.int32).reshape(2, 3) - 2
    assert read_idx(write_idx(root / "ints.idx", ints, 0x0C)).tolist() == ints.tolist()


def test_mnist_errors(mnist, tmp_path):
    root, images, labels = mnist
    bad = root / "bad.idx"
    bad.write_bytes(b"\x12\x34\x56\x78" + bytes(20))
    with pytest.raises(ValueError, match="wrong magic number 12345678"):
        read_idx(bad)
    good = (root / "train-labels-idx1-ubyte").read_bytes()
    (root / "short.idx").write_bytes(good[:-2])
    with pytest.raises(ValueError, match=r"truncated or padded: shape \(5,\) needs 5 bytes of data, found 3"):
        read_idx(root / "short.idx")
    write_idx(root / "four-labels.idx", labels[:4])
    with pytest.raises(ValueError, match="label count mismatch: 5 images .* but 4 labels"):
        load_mnist(root / "train-images-idx3-ubyte.gz", root / "four-labels.idx")
    with pytest.raises(FileNotFoundError, match="no test images"):
        find_mnist(root, "test")
    (root / "fake.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="not a valid gzip file"):
        read_idx(root / "fake.gz")


def write_cifar(path, n, n_labels=None):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = list(rng.integers(0, 10, n_labels or n))
    path.write_bytes(pickle.dumps({b"data": data, b"labels": labels, b"batch_label": b"x"}))
    return data, labels


def test_cifar_batches(tmp_path):
    data, labels = write_cifar(tmp_path / "test_batch", 4)
    x, y = load_cifar10_batch(tmp_path / "test_batch")
    assert x.shape == (4, 3, 32, 32)
    # CIFAR stores each image as 1024 red, then 1024 green, then 1024 blue values, row-major
    assert x[2, 1, 0, 5].item() == pytest.approx(data[2, 1024 + 5] / 255)
    assert y.tolist() == labels
    (tmp_path / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"plane", b"car"] + [b"x"] * 8}))
    _, _, classes = load_cifar10(tmp_path, "test")
    assert classes[:2] == ["plane", "car"]
    with pytest.raises(FileNotFoundError, match=r"missing CIFAR-10 batch file\(s\) \['data_batch_1'"):
        load_cifar10(tmp_path, "train")


def test_cifar_errors(tmp_path):
    write_cifar(tmp_path / "mismatch", 3, n_labels=2)
    with pytest.raises(ValueError, match="label count mismatch .* 3 images but 2 labels"):
        load_cifar10_batch(tmp_path / "mismatch")
    (tmp_path / "garbage").write_bytes(b"\x00\x01 definitely not a pickle")
    with pytest.raises(ValueError, match="could not unpickle"):
        load_cifar10_batch(tmp_path / "garbage")
    (tmp_path / "wrongdict").write_bytes(pickle.dumps({"data": 1}))
    with pytest.raises(ValueError, match="expected a dict with b'data' and b'labels'"):
        load_cifar10_batch(tmp_path / "wrongdict")
    (tmp_path / "wrongshape").write_bytes(pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(ValueError, match=r"shape \(N, 3072\)"):
        load_cifar10_batch(tmp_path / "wrongshape")


def test_image_folder(tmp_path):
    for cls, value in (("cat", 50), ("dog", 200)):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.fromarray(np.full((6, 8, 3), value + i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    Image.fromarray(np.full((6, 8, 3), 90, np.uint8)).save(tmp_path / "cat" / "extra.jpg", quality=100)
    x, y, classes = load_image_folder(tmp_path)
    assert classes == ["cat", "dog"] and y.tolist() == [0, 0, 0, 1, 1]
    assert x.shape == (5, 3, 6, 8)
    assert x[3].mean().item() == pytest.approx(200 / 255)
    g, _, _ = load_image_folder(tmp_path, size=4, gray=True)
    assert g.shape == (5, 1, 4, 4)
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(tmp_path / "dog" / "odd.png")
    with pytest.raises(ValueError, match="different sizes"):
        load_image_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="class folder .*empty is empty"):
        load_image_folder(tmp_path, size=4)


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder at"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="no class sub-folders"):
        load_image_folder(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png is not a readable image"):
        load_image_folder(tmp_path)
