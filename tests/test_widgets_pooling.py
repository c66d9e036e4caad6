"""PoolingExplorer: values from cnnlab.ops equal PyTorch's, winners are the argmax, shifts are counted."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab.widgets import PoolingExplorer
from cnnlab.data.samples import shift_image, stripes_for_pooling


def _torch_pool(img, mode, size, stride, padding):
    t = torch.from_numpy(img)[None, None]
    if mode == "max":
        return F.max_pool2d(t, size, stride, padding)[0, 0].numpy()
    return F.avg_pool2d(t, size, stride, padding)[0, 0].numpy()


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("size,stride,padding", [(2, None, 0), (3, 2, 1), (2, 1, 0), (3, None, 0)])
def test_pooled_values_match_pytorch(mode, size, stride, padding):
    ex = PoolingExplorer("digit", mode, size, stride, padding, shift=1, image_size=13)
    np.testing.assert_allclose(ex.pooled, _torch_pool(ex.image, mode, size, stride or size, padding))
    np.testing.assert_allclose(ex.output, _torch_pool(ex.shifted, mode, size, stride or size, padding))


def test_winners_are_the_argmax_of_each_window():
    img = np.random.default_rng(3).normal(size=(9, 9))
    ex = PoolingExplorer(img, "max", size=3, stride=2, padding=1)
    t = torch.from_numpy(img)[None, None]
    _, idx = F.max_pool2d(t, 3, 2, 1, return_indices=True)
    expected = [divmod(int(k), 9) for k in idx.flatten()]
    assert ex.winners() == expected
    assert [img[r, c] for r, c in ex.winners()] == list(ex.output.ravel())


def test_two_by_two_max_pool_ignores_a_one_pixel_shift_but_not_two():
    ex = PoolingExplorer("stripes", "max", 2)
    assert ex.set(shift=1).n_changed == 0
    assert ex.set(shift=2).n_changed > 0
    assert ex.set(shift=0).n_changed == 0
    html = ex.set(shift=1).render()["summary"]
    assert "0 of 16" in html and "unchanged" in html
    assert f"{ex.set(shift=2).n_changed} of 16" in ex.render()["summary"]


def test_stripes_image_property_holds_for_other_seeds():
    for seed in range(5):
        img = stripes_for_pooling(10, seed)
        t = torch.from_numpy(img)[None, None]
        pool = lambda a: F.max_pool2d(torch.from_numpy(a)[None, None], 2)  # noqa: E731
        assert torch.equal(pool(img), pool(shift_image(img, 1)))
        assert not torch.equal(F.max_pool2d(t, 2), pool(shift_image(img, 2)))


def test_shift_image_moves_and_fills_with_zeros():
    img = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(shift_image(img, 1), [[0, 0, 1, 2], [0, 4, 5, 6], [0, 8, 9, 10]])
    np.testing.assert_array_equal(shift_image(img, -1, 1)[1], [1, 2, 3, 0])
    assert not shift_image(img, 9).any()


def test_pooling_halves_the_size_rounding_down_and_has_no_parameters():
    ex = PoolingExplorer(np.ones((7, 9)), "max", 2)
    assert ex.output.shape == (3, 4)
    assert "no parameters" in ex.render()["summary"]


def test_impossible_settings_are_reported_not_raised():
    ex = PoolingExplorer("stripes", "max", size=2, padding=2)
    assert "more than half the window" in ex.problem()
    assert "Cannot pool" in ex.render()["summary"]
    ex.set(padding=0, size=4)
    assert ex.problem() == ""
    with pytest.raises(ValueError, match="mode must be 'max' or 'avg'"):
        ex.set(mode="min")


def test_the_controls_change_the_state():
    ex = PoolingExplorer()
    c = ex.controls
    before = ex._w_shifted.value
    c["shift"].value = 2
    assert ex.shift == 2 and ex._w_shifted.value != before
    assert "of 16" in ex._w_summary.value
    c["mode"].value = "avg"
    c["stride"].value = 1
    c["image"].value = "square"
    assert (ex.mode, ex.stride, ex.step, ex.image_name) == ("avg", 1, 1, "square")


def test_state_set_from_code_shows_in_the_controls():
    ex = PoolingExplorer()
    c = ex.controls
    ex.set(mode="avg", size=3, stride=1, padding=1, shift=-2)
    assert [c[k].value for k in ("mode", "size", "stride", "padding", "shift")] == ["avg", 3, 1, 1, -2]
    ex.set(stride=0)  # 0 means "the window size": the slider shows 0, the step is the size
    assert c["stride"].value == 0 and ex.step == 3
    ex.set(shift=7)  # beyond the slider's range: the range stretches instead of clipping
    assert c["shift"].value == 7 and c["shift"].max >= 7
    ex.set_image(np.eye(6))
    assert c["image"].value == "custom" and "custom" in c["image"].options
