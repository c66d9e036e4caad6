"""ExplanationViewer: its maps are cnnlab.explain's on the current image, and the state and controls agree."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab import explain
from cnnlab.widgets import ExplanationViewer


def _small():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3))
    images = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    return model, images, torch.tensor([0, 1, 2, 1, 0])


@pytest.fixture
def viewer(one_thread):
    model, images, labels = _small()
    return ExplanationViewer(model, images, labels, class_names=["a", "b", "c"], index=2)


def test_each_method_shows_the_map_cnnlab_explain_computes(viewer):
    x = viewer.images[2:3]
    with torch.no_grad():
        predicted = int(viewer.model(x).argmax(1))
    assert viewer.layers == ["0", "2"] and viewer.layer == "2"
    viewer.set(method="grad-cam", layer="2")
    np.testing.assert_allclose(viewer.map, explain.grad_cam(viewer.model, x, "2", predicted)[0].numpy(), rtol=1e-6)
    viewer.set_method("saliency")
    np.testing.assert_allclose(viewer.map, explain.saliency_map(viewer.model, x, predicted)[0].numpy(), rtol=1e-6)
    viewer.set(method="occlusion", patch=2).set_target(1)
    assert viewer.explained_class == 1
    np.testing.assert_allclose(viewer.map, explain.occlusion_map(viewer.model, x, 1, patch=2, stride=1)[0].numpy(),
                               rtol=1e-6, atol=1e-7)
    with torch.no_grad():
        np.testing.assert_allclose(viewer.probabilities, viewer.model(x).softmax(1)[0].numpy(), rtol=1e-6)


def test_default_layer_is_the_deepest_with_maps_larger_than_two_by_two(one_thread):
    model, images, _ = _small()
    v = ExplanationViewer(model, images)
    assert v.layer_sizes() == {"0": (8, 8), "2": (4, 4)} and v.layer == "2"
    assert v.class_names == ["0", "1", "2"] and v.labels is None
    assert not any(m._forward_hooks for m in model.modules())


def test_controls_drive_the_state_and_code_drives_the_controls(viewer):
    c = viewer.controls
    before = viewer.render()["map"]
    c["index"].value = 4
    assert viewer.index == 4 and viewer._w_map.value != before
    c["method"].value = "saliency"
    assert viewer.method == "saliency" and c["layer"].disabled and c["patch"].disabled
    viewer.set_method("occlusion").set_patch(3)
    assert c["method"].value == "occlusion" and c["patch"].value == 3 and not c["patch"].disabled
    viewer.set_method("grad-cam").set_layer("0")
    assert c["layer"].value == "0" and not c["layer"].disabled
    viewer.set_target(2)
    assert c["target"].value == 2 and viewer.explained_class == 2
    c["target"].value = -1
    assert viewer.target is None
    assert "predicted <b>" in viewer._w_summary.value and "true class <b>a</b>" in viewer._w_summary.value


def test_the_picture_and_summary_follow_the_state(viewer):
    view = viewer.render()
    assert set(view) == {"input", "map", "overlay", "summary"}
    assert all(view[k][:8] == b"\x89PNG\r\n\x1a\n" for k in ("input", "map", "overlay"))
    assert "Grad-CAM of" in view["summary"] and "4x4 cells" in view["summary"]
    assert "8x8 cells" in viewer.set_layer("0").render()["summary"]
    viewer.set_method("occlusion")
    assert "occlusion" in viewer.render()["summary"]


def test_bad_values_are_refused_with_the_allowed_range(viewer):
    with pytest.raises(ValueError, match=r"image number 0\.\.4"):
        viewer.set_index(5)
    with pytest.raises(ValueError, match="method must be one of"):
        viewer.set_method("lime")
    with pytest.raises(ValueError, match=r"layer must be one of \['0', '2'\]"):
        viewer.set_layer("fc")
    with pytest.raises(ValueError, match=r"1\.\.8"):
        viewer.set_patch(9)
    with pytest.raises(ValueError, match=r"a class 0\.\.2"):
        viewer.set_target(3)
    assert (viewer.index, viewer.method, viewer.layer, viewer.patch, viewer.target) == (2, "grad-cam", "2", 3, None)
    model, images, labels = _small()
    with pytest.raises(ValueError, match="one label per image"):
        ExplanationViewer(model, images, labels[:3])
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        ExplanationViewer(model, images[0])
    with pytest.raises(ValueError, match="3 outputs"):
        ExplanationViewer(model, images, class_names=["a", "b"])


def test_the_model_keeps_its_training_mode(one_thread):
    model, images, _ = _small()
    model.train()
    v = ExplanationViewer(model, images, method="occlusion")
    v.render()
    v.set_method("grad-cam").render()
    assert all(m.training for m in model.modules())


@pytest.mark.slow
def test_default_viewer_explains_the_shipped_digits_network(one_thread):
    v = ExplanationViewer()
    assert v.layers == ["stem", "stages.0", "stages.1", "stages.2", "stages.3"] and v.layer == "stages.2"
    assert v.class_names == ["0", "1", "2", "3", "4"] and v.images.shape[1:] == (1, 16, 16)
    assert "4x4 cells" in v.describe() and v.map.shape == (16, 16) and v.map.max() > 0
