"""cnnlab.device() and cnnlab.hello()."""
from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pytest
import torch

import cnnlab


def _machine(monkeypatch, cuda: bool, mps: bool) -> None:
    """Pretend the machine has (or lacks) CUDA and Apple MPS."""
    monkeypatch.delenv("CNNLAB_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize("cuda,mps,expected,available", [
    (True, True, "cuda", ["cpu", "cuda", "mps"]),
    (True, False, "cuda", ["cpu", "cuda"]),
    (False, True, "mps", ["cpu", "mps"]),
    (False, False, "cpu", ["cpu"]),
])
def test_device_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected, available):
    _machine(monkeypatch, cuda, mps)
    assert cnnlab.device() == torch.device(expected)
    assert [d.type for d in cnnlab.available_devices()] == available


def test_a_requested_device_is_returned_as_asked(monkeypatch):
    _machine(monkeypatch, cuda=True, mps=False)
    assert cnnlab.device("cuda:1") == torch.device("cuda", 1)
    assert cnnlab.device("CPU") == torch.device("cpu")
    monkeypatch.setenv("CNNLAB_DEVICE", "cuda:0")
    assert cnnlab.device() == torch.device("cuda", 0)
    with pytest.raises(RuntimeError, match="'mps' was requested but Apple MPS is not available"):
        cnnlab.device("mps")


def test_environment_variable_forces_cpu(monkeypatch):
    monkeypatch.setenv("CNNLAB_DEVICE", "cpu")
    assert cnnlab.device() == torch.device("cpu")


def test_unknown_device_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("CNNLAB_DEVICE", "tpu")
    with pytest.raises(ValueError, match="unknown device 'tpu'.*CNNLAB_DEVICE"):
        cnnlab.device()


def test_requesting_missing_cuda_fails_loudly(monkeypatch):
    _machine(monkeypatch, cuda=False, mps=False)
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


def test_hash_seed_reaches_child_processes_only(monkeypatch):
    monkeypatch.setenv("PYTHONHASHSEED", "random")  # restored after the test
    cnnlab.seed_everything(7)
    probe = [sys.executable, "-c", "print(hash('cnnlab'))"]
    children = {subprocess.run(probe, capture_output=True, text=True, check=True).stdout for _ in range(2)}
    pinned = subprocess.run(probe, capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONHASHSEED": "7"}).stdout
    assert children == {pinned}


def test_versions_are_the_installed_ones():
    import matplotlib
    import ipywidgets

    found = cnnlab.versions()
    assert found["torch"] == torch.__version__ and found["numpy"] == np.__version__
    assert found["matplotlib"] == matplotlib.__version__ and found["ipywidgets"] == ipywidgets.__version__


def test_hello_without_torch_never_loads_it():
    """A numpy-only notebook's set-up cell: seeded numpy, versions and a device line, no torch."""
    code = ("import sys, numpy as np, cnnlab\n"
            "assert cnnlab.hello(seed=5, with_torch=False) is None\n"
            "first = np.random.rand()\n"
            "cnnlab.hello(seed=5, with_torch=False, verbose=False)\n"
            "assert np.random.rand() == first\n"
            "print('torch loaded:', 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "torch loaded: False" in out
    assert "does not use PyTorch" in out and f"torch: {torch.__version__}" in out
