"""ConvolutionExplorer: the numbers it shows agree with cnnlab.ops and with PyTorch."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from cnnlab import ops
from cnnlab.widgets import ConvolutionExplorer
from cnnlab.widgets.convolution import size_formula
from cnnlab.data.samples import KERNELS, edges_6x6


def _torch_output(ex: ConvolutionExplorer) -> np.ndarray:
    x = torch.from_numpy(ex.padded_input)[None]
    w = torch.from_numpy(ex.weights)
    out = F.conv2d(x, w, torch.tensor([ex.bias], dtype=torch.float64), stride=ex.stride, dilation=ex.dilation)
    return out[0, 0].numpy()


def test_classic_6x6_vertical_edge_gives_the_bright_band():
    ex = ConvolutionExplorer("edges 6x6", "vertical edge")
    assert ex.output_shape == (4, 4)
    np.testing.assert_array_equal(ex.output, np.tile([0.0, 30.0, 30.0, 0.0], (4, 1)))


@pytest.mark.parametrize("image,kernel,padding,stride,dilation,bias", [
    ("edges 6x6", "vertical edge", "valid", 1, 1, 0.0),
    ("digit", "Sobel x", "same", 2, 1, 0.5),
    ("square", "sharpen", 2, 3, 2, -1.0),
    ("photo (RGB)", "blur", "full", 2, 1, 0.25),
    ("photo (gray)", "Laplacian", (0, 1, 2, 0), 1, 2, 0.0),
])
def test_every_cells_products_plus_bias_equal_ops_and_torch(image, kernel, padding, stride, dilation, bias):
    ex = ConvolutionExplorer(image, kernel, padding, stride, dilation, bias, size=12)
    reference = _torch_output(ex)
    assert ex.output_shape == reference.shape
    np.testing.assert_allclose(ex.output, reference, rtol=1e-10, atol=1e-12)
    for position in range(0, ex.n_positions, max(1, ex.n_positions // 7)):
        a = ex.set_position(position).arithmetic()
        i, j = a["cell"]
        np.testing.assert_allclose(a["products"], a["patch"] * a["weights"])
        assert a["value"] == pytest.approx(a["products"].sum() + bias)
        assert a["value"] == pytest.approx(reference[i, j], abs=1e-10)


def test_arithmetic_names_the_patch_under_the_window():
    ex = ConvolutionExplorer(np.arange(25.0).reshape(5, 5), "identity", padding=1, stride=2)
    a = ex.set_cell(1, 1).arithmetic()
    # output (1, 1) with stride 2 starts at padded row/col 2 = input row/col 1
    np.testing.assert_array_equal(a["patch"][0], np.arange(25.0).reshape(5, 5)[1:4, 1:4])
    assert a["value"] == 12.0
    rows, cols = ex.window()
    assert list(rows) == [2, 3, 4] and list(cols) == [2, 3, 4]


def test_dilated_window_skips_pixels():
    ex = ConvolutionExplorer("square", "identity", dilation=2, size=12)
    rows, cols = ex.set_cell(1, 2).window()
    assert list(rows) == [1, 3, 5] and list(cols) == [2, 4, 6]


def test_size_text_substitutes_the_numbers():
    ex = ConvolutionExplorer("edges 6x6", "vertical edge", padding=1, stride=2)
    assert ex.output_shape == (3, 3)
    assert "height: ⌊(6 + 2·1 − 3)/2⌋ + 1 = ⌊5/2⌋ + 1 = 3" in ex.size_text()
    assert size_formula(6, 3, (0, 1), 2, 1) == "⌊(6 + 0 + 1 − 3)/2⌋ + 1 = ⌊4/2⌋ + 1 = 3"
    assert size_formula(7, 3, (0, 0), 1, 2).endswith("= 3")
    assert ops.conv_output_size(7, 3, 0, 1, 2) == 3


def test_same_padding_keeps_the_size_and_stride_two_gives_ceil():
    ex = ConvolutionExplorer("digit", "Sobel y", padding="same", size=15)
    assert ex.output_shape == (15, 15)
    ex.set_stride(2)
    assert ex.output_shape == (8, 8)
    assert ex.pads == (1, 1, 1, 1)
    ex.set_image(np.zeros((10, 10)))
    assert ex.pads == (0, 1, 0, 1)  # TensorFlow: the extra row/column at the bottom/right


def test_empty_output_is_flagged_not_raised():
    ex = ConvolutionExplorer(np.ones((4, 4)), "blur", dilation=3)
    assert ex.is_empty and ex.output_shape == (0, 0)
    assert "padded input is only 4x4" in ex.message()
    assert "empty" in ex.size_text()
    view = ex.render()
    assert "No output" in view["arithmetic"]
    with pytest.raises(ValueError, match="No output"):
        ex.arithmetic()
    ex.set_padding("full")
    assert not ex.is_empty and ex.message() == ""


def test_editing_a_kernel_value_makes_it_custom_and_changes_the_output():
    ex = ConvolutionExplorer("edges 6x6", "identity")
    before = ex.output.copy()
    ex.set_kernel_value(1, 1, 2.0)
    assert ex.kernel_name == "custom"
    np.testing.assert_allclose(ex.output, 2 * before)


def test_position_is_clamped_when_the_output_shrinks():
    ex = ConvolutionExplorer("square", "blur", size=12)
    ex.set_position(10_000)
    assert ex.position == ex.n_positions - 1 == 99
    ex.set_stride(3)
    assert ex.position == ex.n_positions - 1 == 15


def test_render_shows_only_the_cells_swept_so_far():
    ex = ConvolutionExplorer("edges 6x6", "vertical edge")
    png = lambda b: np.asarray(Image.open(io.BytesIO(b)))  # noqa: E731
    first = png(ex.set_position(0).render()["output"])
    later = png(ex.set_position(5).render()["output"])
    assert first.shape == later.shape and not np.array_equal(first, later)
    html = ex.render()["arithmetic"]
    assert "output[1, 1]" in html and "<b>30</b>" in html


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(ValueError, match="unknown kernel 'edgy'"):
        ConvolutionExplorer(kernel="edgy")
    with pytest.raises(ValueError, match="unknown image"):
        ConvolutionExplorer(image="cat")
    with pytest.raises(ValueError, match="HxW .gray. or HxWx3"):
        ConvolutionExplorer(image=np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        ConvolutionExplorer(stride=0)
    with pytest.raises(ValueError, match="unknown padding"):
        ConvolutionExplorer(padding="half")


def test_the_controls_change_the_state():
    ex = ConvolutionExplorer("edges 6x6", "vertical edge")
    w = ex.widget
    c = ex.controls
    before = ex._w_output.value
    c["position"].value = 5
    assert ex.position == 5 and ex._w_output.value != before
    c["kernel"].value = "horizontal edge"
    np.testing.assert_array_equal(ex.kernel, KERNELS["horizontal edge"])
    c["kernel[0,0]"].value = 7.0
    assert ex.kernel[0, 0] == 7.0 and ex.kernel_name == "custom" and c["kernel"].value == "custom"
    c["stride"].value = 2
    # 6x6 input, 3x3 kernel, stride 2: a 2x2 output, so positions 0..3
    assert ex.stride == 2 and c["position"].max == 3 and c["play"].max == 3
    assert w is ex.widget


def test_state_set_from_code_shows_in_the_controls():
    ex = ConvolutionExplorer("edges 6x6", "vertical edge")
    c = ex.controls
    ex.set_padding(1).set_stride(2).set_dilation(2).set_bias(1.5)
    assert (c["padding"].value, c["stride"].value, c["dilation"].value, c["bias"].value) == (1, 2, 2, 1.5)
    # padded 8x8, dilated kernel spans 5: floor((8 - 5)/2) + 1 = 2 per side
    assert c["position"].max == 3
    ex.set_position(3)
    assert c["position"].value == 3 and c["play"].value == 3
    ex.set_padding((1, 0, 1, 0))          # not among the dropdown's choices: added to them
    assert c["padding"].value == (1, 0, 1, 0) and (str((1, 0, 1, 0)), (1, 0, 1, 0)) in c["padding"].options
    ex.set_kernel(np.ones((2, 2)))        # the weight boxes follow the kernel's shape and values
    c = ex.controls
    assert c["kernel"].value == "custom" and [c[f"kernel[{r},{k}]"].value for r in (0, 1) for k in (0, 1)] == [1.0] * 4
    assert "kernel[2,2]" not in c
    ex.set_image("photo (gray)")
    assert c["image"].value == "photo (gray)"


def test_edges_sample_is_the_textbook_image():
    np.testing.assert_array_equal(edges_6x6()[:, :3], 10.0)
    np.testing.assert_array_equal(edges_6x6()[:, 3:], 0.0)
