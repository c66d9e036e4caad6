"""Box formats: conversions round-trip, areas, clipping, and clear errors for bad boxes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab.detection import BOX_FORMATS, box_area, box_convert, clip_boxes

coord = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
size = st.floats(0, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(x=coord, y=coord, w=size, h=size, fmt_in=st.sampled_from(BOX_FORMATS), fmt_out=st.sampled_from(BOX_FORMATS))
def test_round_trip_between_any_two_formats(x, y, w, h, fmt_in, fmt_out):
    xyxy = np.array([[x, y, x + w, y + h]])
    start = box_convert(xyxy, "xyxy", fmt_in)
    there = box_convert(start, fmt_in, fmt_out)
    again = box_convert(there, fmt_out, fmt_in)
    np.testing.assert_allclose(again, start, rtol=1e-9, atol=1e-9)


def test_known_values_in_each_format():
    xyxy = torch.tensor([[10.0, 20.0, 50.0, 40.0]], dtype=torch.float64)
    assert box_convert(xyxy, "xyxy", "xywh").tolist() == [[10, 20, 40, 20]]
    assert box_convert(xyxy, "xyxy", "cxcywh").tolist() == [[30, 30, 40, 20]]
    assert box_convert(torch.tensor([[30.0, 30, 40, 20]]), "cxcywh", "xyxy").tolist() == [[10, 20, 50, 40]]


def test_kind_in_is_kind_out_and_batch_axes_are_kept():
    arr = np.zeros((2, 3, 4))
    assert isinstance(box_convert(arr, "xywh", "xyxy"), np.ndarray)
    assert box_convert(arr, "xywh", "xyxy").shape == (2, 3, 4)
    assert isinstance(box_area(torch.zeros(5, 4)), torch.Tensor)
    assert box_area(np.zeros((0, 4))).shape == (0,)


def test_area_matches_width_times_height_in_every_format():
    rng = np.random.default_rng(0)
    xywh = np.concatenate([rng.uniform(0, 50, (20, 2)), rng.uniform(0, 30, (20, 2))], axis=1)
    expected = xywh[:, 2] * xywh[:, 3]
    for fmt in BOX_FORMATS:
        np.testing.assert_allclose(box_area(box_convert(xywh, "xywh", fmt), fmt=fmt), expected)


def test_clip_keeps_boxes_inside_the_image():
    boxes = torch.tensor([[-5.0, -5, 10, 10], [90, 40, 120, 70], [200, 200, 210, 210]])
    out = clip_boxes(boxes, height=64, width=100)
    assert out.tolist() == [[0, 0, 10, 10], [90, 40, 100, 64], [100, 64, 100, 64]]
    assert float(box_area(out)[2]) == 0.0


@pytest.mark.parametrize("bad, message", [
    (np.array([[10.0, 0, 5, 5]]), r"x2 < x1"),
    (np.array([[0.0, 0, 5]]), r"shape \(1, 3\), expected \(\.\.\., 4\)"),
    (np.array([[0.0, np.nan, 5, 5]]), r"NaN"),
])
def test_bad_boxes_get_a_clear_error(bad, message):
    with pytest.raises(ValueError, match=message):
        box_convert(bad, "xyxy", "xywh")


def test_negative_width_and_unknown_format_are_rejected():
    with pytest.raises(ValueError, match="negative width"):
        box_area(np.array([[0.0, 0, -1, 2]]), fmt="xywh")
    with pytest.raises(ValueError, match="not a box format"):
        box_convert(np.zeros((1, 4)), "xyxy", "yxyx")
    with pytest.raises(ValueError, match="image size must be positive"):
        clip_boxes(np.zeros((1, 4)), 0, 10)
