"""PaddingStrideExplorer: sizes and pads agree with PyTorch and TensorFlow's rule; empty settings are flagged."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab import ops
from cnnlab.widgets import PaddingStrideExplorer
from cnnlab.widgets.padding_stride import PRESETS


def _torch_shape(ex: PaddingStrideExplorer) -> tuple[int, int]:
    top, bottom, left, right = ex.pads
    x = F.pad(torch.zeros(1, 1, ex.n, ex.n), (left, right, top, bottom))
    return tuple(F.conv2d(x, torch.zeros(1, 1, ex.f, ex.f), stride=ex.stride, dilation=ex.dilation).shape[2:])


@pytest.mark.parametrize("preset", [p for p in PRESETS if "empty" not in p])
def test_every_preset_matches_pytorch(preset):
    ex = PaddingStrideExplorer(preset)
    assert ex.output_shape == _torch_shape(ex)
    assert ex.size_text().endswith(f"= {ex.output_shape[0]}")
    assert ex.n_positions == ex.output_shape[0] * ex.output_shape[1]


@pytest.mark.parametrize("n", range(3, 12))
@pytest.mark.parametrize("s", [1, 2, 3])
def test_same_gives_ceil_n_over_s_with_the_extra_padding_after(n, s):
    ex = PaddingStrideExplorer(None, n=n, f=3, padding="same", stride=s)
    assert ex.output_shape[0] == math.ceil(n / s)
    top, bottom, _, _ = ex.pads
    assert bottom - top in (0, 1)


def test_pytorch_same_at_stride_one_agrees():
    ex = PaddingStrideExplorer(None, n=7, f=5, padding="same")
    out = F.conv2d(torch.zeros(1, 1, 7, 7), torch.zeros(1, 1, 5, 5), padding="same")
    assert ex.output_shape == tuple(out.shape[2:]) and ex.pads == (2, 2, 2, 2)


def test_floor_case_reports_the_unused_rows():
    ex = PaddingStrideExplorer("padding, strides (odd: floor)")  # n=6, f=3, p=1, s=2: (6+2-3)/2 = 2.5
    assert ex.output_shape == (3, 3)
    assert ex.unused() == (1, 1)
    assert "never covered" in ex.message()
    assert "⌊(6 + 2·1 − 3)/2⌋ + 1 = ⌊5/2⌋ + 1 = 3" in ex.size_text()


def test_uneven_padding_is_explained():
    ex = PaddingStrideExplorer("same, stride 2 (uneven padding)")
    assert ex.pads == (0, 1, 0, 1)
    assert "Uneven padding: 0 before and 1 after" in ex.message()


def test_empty_output_gives_a_message_not_an_exception():
    ex = PaddingStrideExplorer("kernel too large (empty)")
    assert ex.is_empty and ex.output_shape == (0, 0) and ex.n_positions == 0
    assert "Empty output" in ex.message() and "only 3 wide" in ex.message()
    view = ex.render()
    assert "empty (0 x 0)" in view["formula"] and view["picture"][:4] == b"\x89PNG"
    with pytest.raises(ValueError):
        ops.conv_output_size(3, 5)  # the reference refuses, the widget explains
    ex.set(padding="full")
    assert ex.output_shape == (7, 7) and not ex.is_empty


def test_dilation_taps_are_spread_out():
    ex = PaddingStrideExplorer("dilation 2 (atrous)")
    assert ex.effective_kernel == 5 and ex.output_shape == (3, 3)
    rows, cols = ex.set_position(4).taps()
    assert list(rows) == [1, 3, 5] and list(cols) == [1, 3, 5]


def test_picture_changes_with_the_position_and_the_view_follows():
    ex = PaddingStrideExplorer("padding, strides")
    a = ex.picture()
    b = ex.set_position(4).picture()
    assert a.shape == b.shape and not np.array_equal(a, b)


def test_the_controls_change_the_state():
    ex = PaddingStrideExplorer("padding, strides")  # n 5, f 3, padding 1, stride 2
    c = ex.controls
    c["stride"].value = 1
    # (5 + 2 - 3)/1 + 1 = 5 per side
    assert ex.stride == 1 and ex.preset is None and c["position"].max == 24 and c["preset"].value == "(custom)"
    c["preset"].value = "full padding"
    assert (ex.n, ex.f, ex.padding) == (5, 3, "full") and c["f"].value == 3 and c["padding"].value == "full"
    c["position"].value = 7
    assert ex.position == 7 and ex.cell == (1, 0)  # full padding: 7 x 7 output


def test_state_set_from_code_shows_in_the_controls():
    ex = PaddingStrideExplorer("padding, strides")
    c = ex.controls
    ex.set(n=7, f=2, padding=2, stride=3, dilation=2)
    assert [c[k].value for k in ("n", "f", "padding", "stride", "dilation")] == [7, 2, 2, 3, 2]
    # padded 11, effective kernel 3: floor(8/3) + 1 = 3 per side
    assert c["position"].max == c["play"].max == 8 and c["preset"].value == "(custom)"
    ex.set_position(100)
    assert ex.position == 8 and c["position"].value == 8
    ex.set_preset("dilation 2 (atrous)")
    assert c["preset"].value == "dilation 2 (atrous)" and c["dilation"].value == 2 and c["padding"].value == 0
    ex.set(padding=(0, 1))
    assert c["padding"].value == (0, 1)


def test_bad_values_are_refused_clearly():
    with pytest.raises(ValueError, match="unknown preset"):
        PaddingStrideExplorer("nope")
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        PaddingStrideExplorer(stride=0)
    with pytest.raises(ValueError, match="unknown padding"):
        PaddingStrideExplorer(padding="half")
