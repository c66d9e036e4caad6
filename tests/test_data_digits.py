"""The embedded digits: sizes, value range, a split that is stratified and never moves."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import cnnlab.data
from cnnlab.data.digits import DigitsDataset, digits_loaders, digits_split_indices, load_digits_tensors


def test_split_sizes_disjoint_and_complete():
    s = digits_split_indices()
    assert {k: len(v) for k, v in s.items()} == {"train": 1077, "val": 360, "test": 360}
    everything = np.concatenate(list(s.values()))
    assert len(np.unique(everything)) == 1797


def test_test_split_is_pinned():
    # Hash of the test indices as first computed: a change in scikit-learn or our code that
    # moves images between splits would silently invalidate every reported accuracy.
    test = digits_split_indices()["test"]
    assert hashlib.sha256(test.astype("<i8").tobytes()).hexdigest()[:16] == "2fbaae31b8c6aad1"
    np.testing.assert_array_equal(test, digits_split_indices()["test"])
    assert not np.array_equal(test, digits_split_indices(seed=1)["test"])


def test_split_is_stratified():
    y = load_digits().target
    overall = np.bincount(y) / len(y)
    for idx in digits_split_indices().values():
        frac = np.bincount(y[idx], minlength=10) / len(idx)
        assert np.abs(frac - overall).max() < 0.01


def test_values_match_sklearn_and_resize():
    x, y = load_digits_tensors("test")
    ref = load_digits()
    idx = digits_split_indices()["test"]
    assert x.shape == (360, 1, 8, 8) and x.dtype == torch.float32
    np.testing.assert_allclose(x[:, 0].numpy(), ref.images[idx] / 16.0)
    np.testing.assert_array_equal(y.numpy(), ref.target[idx])
    for size in (28, 32):
        big, _ = load_digits_tensors("test", size=size)
        assert big.shape == (360, 1, size, size)
        assert 0.0 <= big.min() and big.max() <= 1.0
        # bilinear resizing keeps the overall brightness roughly unchanged
        assert abs(big.mean().item() - x.mean().item()) < 0.02


def test_classes_relabel_and_per_class():
    x, y = load_digits_tensors("train", classes=[5, 7])
    full_x, full_y = load_digits_tensors("train")
    assert set(y.tolist()) == {0, 1}
    assert (y == 0).sum() == (full_y == 5).sum()
    _, y3 = load_digits_tensors("train", per_class=3)
    assert np.bincount(y3.numpy()).tolist() == [3] * 10
    with pytest.raises(ValueError, match="distinct digits 0..9"):
        load_digits_tensors("train", classes=[3, 12])
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        load_digits_tensors("valid")
    with pytest.raises(ValueError, match="size must be an int >= 8"):
        load_digits_tensors("test", size=4)


def test_dataset_and_loaders():
    ds = DigitsDataset("val", size=28, transform=lambda t: 1 - t)
    img, label = ds[0]
    assert img.shape == (1, 28, 28) and label.dtype == torch.int64
    assert torch.equal(img, 1 - ds.images[0])
    train, val, test = digits_loaders(batch_size=100, per_class=5)
    assert len(train.dataset) == 50 and len(test.dataset) == 360
    first = [y.tolist() for _, y in train]
    again = [y.tolist() for _, y in digits_loaders(batch_size=100, per_class=5)[0]]
    assert first == again  # the shuffle is seeded
    assert cnnlab.data.DigitsDataset is DigitsDataset  # reachable lazily from cnnlab.data
