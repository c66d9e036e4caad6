"""Lecture 08's plotting functions draw from small inputs without error and return a Figure."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from cnnlab.beyond import plots  # noqa: E402
from cnnlab.beyond.gan import GANResult  # noqa: E402
from cnnlab.beyond.style import StyleResult  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_every_plot_returns_a_figure():
    images = torch.rand(4, 3, 16, 16)
    masks = torch.randint(0, 5, (4, 16, 16))
    kp = torch.rand(4, 11, 2) * 16
    figs = [
        plots.plot_segmentation(images, masks, masks, n=3),
        plots.plot_instances(images[0], masks[0], masks[1]),
        plots.plot_checkerboard(np.ones((5, 5)), 3, 2),
        plots.plot_roc(np.linspace(0, 1, 5), np.linspace(0, 1, 5) ** 0.5, 0.8, (np.linspace(0, 1, 3),) * 2),
        plots.plot_embeddings(torch.randn(8, 4), torch.arange(8) // 2, images.repeat(2, 1, 1, 1)),
        plots.plot_style(images[0], images[1], StyleResult(images[2], [1.0, 0.5], [1.0, 0.1])),
        plots.plot_gan(GANResult([1.0, 0.9], [1.3, 1.2], {0: torch.rand(16, 1, 16, 16), 2: torch.rand(16, 1, 16, 16)})),
        plots.plot_pose(images, kp, kp, torch.rand(4, 11, 16, 16), n=2),
        plots.plot_captions(images, ["a red circle left of a blue square"] * 4, ["a red circle left of a blue square",
                                                                               "x"] * 2, n=2),
        plots.plot_image_grid(images, 2, 2, ["a", "b", "c", "d"]),
    ]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figs)


def test_masks_use_the_course_palette():
    from cnnlab.beyond.plots import _color_mask
    from cnnlab.plots import CLASS_COLOURS

    mask = torch.tensor([[0, 1, 2], [3, 4, 0]])
    colours = _color_mask(mask)
    assert colours.shape == (2, 3, 3) and (colours[0, 0] == 0).all()   # background is black
    for value in (1, 2, 3, 4):   # mask value c + 1 is shape class c: the colour of its box in lecture 07
        r, c = divmod(int((mask == value).nonzero()[0, 0] * 3 + (mask == value).nonzero()[0, 1]), 3)
        assert np.allclose(colours[r, c], np.array(CLASS_COLOURS[value - 1]) / 255)


def test_class_balance_plot_shows_shares_in_percent():
    fig = plots.plot_class_balance({"real": np.full(10, 30), "generated": np.arange(10)})
    bars = fig.axes[0].patches
    assert len(bars) == 20
    assert bars[0].get_height() == pytest.approx(10.0) and bars[19].get_height() == pytest.approx(100 * 9 / 45)
    plt.close(fig)
