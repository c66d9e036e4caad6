"""FeatureMapsViewer: every map is the PyTorch convolution of the image with one filter."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab.widgets import FeatureMapsViewer
from cnnlab.data.samples import KERNELS


def test_preset_bank_maps_match_pytorch_same_padding():
    v = FeatureMapsViewer("digit", size=20)
    assert v.names == list(KERNELS) and v.maps.shape == (len(KERNELS), 20, 20)
    w = torch.from_numpy(np.stack(list(KERNELS.values()))[:, None])
    ref = F.conv2d(torch.from_numpy(v.image)[None], w, padding="same")[0].numpy()
    np.testing.assert_allclose(v.maps, ref, atol=1e-12)


def test_relu_and_rgb_and_a_torch_weight_bank():
    conv = torch.nn.Conv2d(3, 5, 3, padding=1).double()
    v = FeatureMapsViewer("photo (RGB)", filters=conv.weight, bias=conv.bias.detach().numpy(), size=16, relu=True)
    ref = torch.relu(conv(torch.from_numpy(v.image)[None]))[0].detach().numpy()
    np.testing.assert_allclose(v.maps, ref, atol=1e-12)
    assert v.names == [f"filter {k}" for k in range(5)]
    assert len(v.render()["maps"]) == 5


def test_switching_relu_changes_the_maps_and_the_view():
    v = FeatureMapsViewer("square", size=12)
    assert (v.maps < 0).any()
    c = v.controls
    before = v._w_maps[0].value
    c["relu"].value = True
    assert v.relu and (v.maps >= 0).all() and v._w_maps[0].value != before
    c["image"].value = "edges 6x6"
    assert v.image_name == "edges 6x6"


def test_state_set_from_code_shows_in_the_controls():
    v = FeatureMapsViewer("square", size=12)
    c = v.controls
    v.set_relu(True).set_image("edges 6x6")
    assert c["relu"].value is True and c["image"].value == "edges 6x6"
    v.set_image(np.eye(5))
    assert c["image"].value == "custom" and "custom" in c["image"].options


def test_mismatched_filters_are_refused():
    with pytest.raises(ValueError, match="expect 3 input channel"):
        FeatureMapsViewer("square", filters=np.zeros((2, 3, 3, 3)), size=8)
    with pytest.raises(ValueError, match=r"\[K, C, kh, kw\]"):
        FeatureMapsViewer("square", filters=np.zeros((3, 3)), size=8)
