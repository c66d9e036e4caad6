"""cnnlab.widgets._render: colour maps, upscaling, drawing and PNG encoding."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from cnnlab.widgets import _render as R


def test_png_round_trip_keeps_pixels():
    rgb = np.random.default_rng(0).integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    back = np.asarray(Image.open(io.BytesIO(R.png_bytes(rgb))))
    np.testing.assert_array_equal(back, rgb)


def test_to_rgb_maps_limits_to_the_ends_of_the_colour_map_and_nan_to_empty():
    lut = R.colormap_lut("viridis")
    rgb = R.to_rgb(np.array([[0.0, 1.0, np.nan]]), "viridis", 0.0, 1.0)
    np.testing.assert_array_equal(rgb[0, 0], lut[0])
    np.testing.assert_array_equal(rgb[0, 1], lut[255])
    assert tuple(rgb[0, 2]) == R.EMPTY


def test_to_rgb_takes_hxwx3_as_an_rgb_image_and_clips():
    rgb = R.to_rgb(np.array([[[0.0, 0.5, 2.0]]]))
    assert tuple(rgb[0, 0]) == (0, 128, 255)


def test_to_rgb_rejects_other_shapes_and_unknown_maps():
    with pytest.raises(ValueError, match="HxW array or an HxWx3"):
        R.to_rgb(np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="unknown colour map 'nope'"):
        R.colormap_lut("nope")


def test_upscale_grid_and_rect_draw_where_expected():
    img = R.upscale(np.zeros((3, 3, 3), np.uint8), 10)
    assert img.shape == (30, 30, 3)
    R.draw_rect(img, 10, top=1, left=1, height=1, width=1, color=(255, 0, 0), thickness=2)
    assert tuple(img[10, 15]) == (255, 0, 0) and tuple(img[15, 15]) == (0, 0, 0)
    R.draw_grid(img, 10, (9, 9, 9))
    assert tuple(img[0, 5]) == (9, 9, 9) and tuple(img[5, 5]) == (0, 0, 0)


def test_tint_and_mark_cells():
    img = R.upscale(np.zeros((2, 2, 3), np.uint8), 10)
    R.tint_cells(img, 10, np.array([[True, False], [False, False]]), (200, 0, 0), alpha=0.5)
    assert tuple(img[5, 5]) == (100, 0, 0) and tuple(img[5, 15]) == (0, 0, 0)
    R.mark_cells(img, 10, [(1, 1)], (0, 255, 0))
    assert tuple(img[15, 15]) == (0, 255, 0)


def test_symmetric_limits_and_cell_size():
    assert R.symmetric_limits(np.array([-2.0, 5.0, np.nan])) == (-5.0, 5.0)
    assert R.cell_size_for((6, 6), target=300) == 48
    assert R.cell_size_for((64, 64), target=300) == 4


def test_html_matrix_shows_every_number():
    html = R.html_matrix(np.array([[1, -2.5], [0.125, 3]]), "kernel", digits=3)
    for text in (">1<", ">-2.500<", ">0.125<", ">3<", "kernel"):
        assert text in html


def test_outline_cells_draws_only_the_borders_of_masked_cells():
    img = R.upscale(np.zeros((2, 2, 3), np.uint8), 10)
    R.outline_cells(img, 10, np.array([[False, True], [False, False]]), (0, 0, 255), thickness=2)
    assert tuple(img[0, 15]) == (0, 0, 255) and tuple(img[5, 19]) == (0, 0, 255)
    assert tuple(img[5, 15]) == (0, 0, 0) and tuple(img[5, 5]) == (0, 0, 0) and tuple(img[15, 15]) == (0, 0, 0)
