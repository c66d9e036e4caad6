"""AugmentationPreview: its controls and its state stay in sync (the state itself is tested in test_augment)."""
from __future__ import annotations

import numpy as np

from cnnlab.widgets import AugmentationPreview


def test_the_controls_change_the_state():
    w = AugmentationPreview("flower", size=32)
    c = w.controls
    before = w._w_augmented.value
    c["degrees"].value = 20.0
    c["flip"].value = True
    assert w.values["degrees"] == 20.0 and w.flip and w._w_augmented.value != before
    c["image"].value = "digit"
    assert w.image_name == "digit" and "never flip" in w._w_summary.value


def test_state_set_from_code_shows_in_the_controls():
    w = AugmentationPreview("flower", size=32)
    c = w.controls
    w.set(dx=0.1, contrast=1.5, flip=True)
    assert (c["dx"].value, c["contrast"].value, c["flip"].value) == (0.1, 1.5, True)
    w.reset()
    identity = {k: v[0] for k, v in AugmentationPreview.PARAMS.items()}
    assert {k: c[k].value for k in identity} == identity and c["flip"].value is False
    np.testing.assert_allclose(w.augmented(), w.image, atol=1e-6)
    w.set_image("china")
    assert c["image"].value == "china"

