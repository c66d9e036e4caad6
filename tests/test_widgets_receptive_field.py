"""ReceptiveFieldExplorer: its numbers agree with the recursion and its picture with the measured gradient."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cnnlab.ops.receptive_fields import measured_receptive_field
from cnnlab.widgets import ReceptiveFieldExplorer


@pytest.mark.parametrize("layers,kernel,stride,dilation,field", [
    (1, 3, 1, 1, 3), (3, 3, 1, 1, 7), (2, 3, 2, 1, 7), (2, 3, 1, 2, 9), (4, 5, 1, 1, 17),
])
def test_field_matches_hand_values_and_measurement(layers, kernel, stride, dilation, field):
    ex = ReceptiveFieldExplorer(layers, kernel, stride, dilation)
    assert ex.field == field
    assert measured_receptive_field(ex.specs()) == field
    support = ex.support()
    cols = np.flatnonzero(support.sum(axis=0) > 0)
    assert cols[-1] - cols[0] + 1 == field


def test_render_gives_a_png_a_table_and_a_summary():
    view = ReceptiveFieldExplorer(3, 3, 2, 1).render()
    assert Image.open(io.BytesIO(view["picture"])).size[0] > 50
    assert view["table"].count("<tr>") == 4  # header + 3 layers
    assert "15×15" in view["summary"]


def test_dilation_leaves_holes_and_says_so():
    ex = ReceptiveFieldExplorer(1, 3, 1, 2)
    assert np.count_nonzero(ex.support()) == 9
    assert "holes" in ex.render()["summary"]


def test_huge_fields_are_tabulated_not_drawn():
    ex = ReceptiveFieldExplorer(8, 7, 3, 4)
    assert ex.support() is None
    assert "too large to draw" in ex.render()["summary"]


@pytest.mark.parametrize("bad", [{"layers": 0}, {"kernel": -1}, {"stride": 1.5}, {"dilation": True}])
def test_bad_settings_are_rejected(bad):
    with pytest.raises(ValueError, match="positive integer"):
        ReceptiveFieldExplorer().set(**bad)


def test_view_updates_when_a_slider_moves():
    pytest.importorskip("ipywidgets")
    ex = ReceptiveFieldExplorer(2, 3, 1, 1)
    ex.controls["layers"].value = 4
    assert ex.layers == 4 and "9×9" in ex._w_summary.value
    ex.set(dilation=2)                       # a change made from code shows in the controls
    assert ex.controls["dilation"].value == 2 and "17×17" in ex._w_summary.value
