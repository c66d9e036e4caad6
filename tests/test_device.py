"""cnnlab.device() and cnnlab.hello()."""
from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import cnnlab


def test_device_defaults_to_best_available(monkeypatch):
    monkeypatch.delenv("CNNLAB_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert cnnlab.device().type == expected


def test_environment_variable_forces_cpu(monkeypatch):
    monkeypatch.setenv("CNNLAB_DEVICE", "cpu")
    assert cnnlab.device() == torch.device("cpu")


def test_unknown_device_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("CNNLAB_DEVICE", "tpu")
    with pytest.raises(ValueError, match="unknown device 'tpu'.*CNNLAB_DEVICE"):
        cnnlab.device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="only meaningful without CUDA")
def test_requesting_missing_cuda_fails_loudly():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        cnnlab.device("cuda")


def test_hello_seeds_and_reports(capsys, monkeypatch):
    monkeypatch.setenv("CNNLAB_DEVICE", "cpu")
    dev = cnnlab.hello(seed=3)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    cnnlab.hello(seed=3, verbose=False)
    second = (random.random(), np.random.rand(), torch.rand(1).item())
    assert first == second
    out = capsys.readouterr().out
    assert dev == torch.device("cpu")
    for word in ("python", "torch", "numpy", "device", "cpu"):
        assert word in out
    with pytest.raises(ValueError, match="non-negative int"):
        cnnlab.seed_everything(-1)
