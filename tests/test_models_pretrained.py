"""The registry of shipped networks: every entry loads, the digits network still solves digits 0-4."""
from __future__ import annotations

import pytest
import torch

from cnnlab import pretrained
from cnnlab.data.digits import load_digits_tensors


def test_shipped_weights_load_and_are_accurate():
    model = pretrained.load("digits04_resnet")
    spec = pretrained.PRETRAINED["digits04_resnet"]
    x, y = load_digits_tensors("test", size=spec.input_size, classes=spec.classes)
    with torch.no_grad():
        acc = (model(x).argmax(1) == y).float().mean().item()
    assert acc > 0.95  # measured 0.98 when built; float16 storage must not hurt it
    assert pretrained.weights_path("digits04_resnet").stat().st_size < 2_000_000


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown pretrained network 'imagenet'"):
        pretrained.load("imagenet")


@pytest.mark.parametrize("name", sorted(pretrained.PRETRAINED))
def test_every_registered_network_loads_its_weights(name):
    spec = pretrained.PRETRAINED[name]
    model = pretrained.load(name)
    assert not model.training
    # the file holds every parameter and buffer of the architecture, nothing more
    state = torch.load(pretrained.weights_path(name), map_location="cpu", weights_only=True)
    assert set(state) == set(pretrained.build_model(name).state_dict())
    # one output per listed class, on an input of the size it was trained on
    channels = 1 if name.startswith("digits") else 3
    out = model(torch.zeros(1, channels, spec.input_size, spec.input_size))
    logits = out[0] if isinstance(out, tuple) else out
    assert logits.shape[1] == len(spec.classes) if logits.ndim == 2 else logits.shape[1] == 5 + len(spec.classes)


def test_no_weights_outside_the_registry():
    root = pretrained.HERE.parent
    shipped = {p.relative_to(root).as_posix() for p in root.rglob("*.pt")}
    assert shipped == {f"pretrained/{name}.pt" for name in pretrained.PRETRAINED}
