"""The shipped photos load, resize and convert to gray."""
from __future__ import annotations

import numpy as np
import pytest

from cnnlab.data.photos import PHOTOS, load_photo, to_gray


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_every_photo_loads_in_unit_range(name):
    img = load_photo(name)
    assert img.ndim == 3 and img.shape[-1] == 3
    assert img.dtype == np.float64 and 0.0 <= img.min() and img.max() <= 1.0
    assert img.std() > 0.05  # a real picture, not a blank


def test_resize_and_gray():
    full = load_photo("china")
    small = load_photo("china", size=(32, 48))
    assert small.shape == (32, 48, 3)
    # area averaging keeps the mean brightness of the (centre-cropped) photo
    assert abs(small.mean() - full.mean()) < 0.03
    g = load_photo("flower", size=16, gray=True)
    assert g.shape == (16, 16)
    np.testing.assert_allclose(to_gray(np.ones((2, 2, 3))), np.ones((2, 2)))


def test_bad_input_is_explained():
    with pytest.raises(ValueError, match="unknown photo 'moon'"):
        load_photo("moon")
    with pytest.raises(ValueError, match="HxWx3"):
        to_gray(np.zeros((4, 4)))
