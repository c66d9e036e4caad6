"""Layer output shapes (activation memory) and the zoo's two kinds of published error."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cnnlab import models
from cnnlab.models import alexnet_nets, zfnet_nets


def test_output_shapes_match_a_manual_forward_pass():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Sequential(nn.Conv2d(8, 4, 3), nn.ReLU(inplace=True)), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
    rows = models.layer_output_shapes(net, (2, 3, 16, 16))
    x, expected = torch.zeros(2, 3, 16, 16), []
    for name, layer in [("0", net[0]), ("1", net[1]), ("2", net[2]), ("3.0", net[3][0]), ("4", net[4]), ("5", net[5])]:
        x = layer(x)
        expected.append((name, tuple(x.shape)))
    assert [(r["name"], r["shape"]) for r in rows] == expected  # the in-place ReLU (3.1) is left out
    assert rows[0]["layer"] == "Conv2d"
    assert net.training  # the mode is restored


def test_meta_device_gives_the_same_shapes_and_vgg16_total():
    with torch.device("meta"):
        vgg = models.vgg16()
    rows = models.layer_output_shapes(vgg, (1, 3, 224, 224))
    convs = [r for r in rows if r["layer"] == "Conv2d"]
    assert len(convs) == 13
    # VGG-16's conv outputs per image, by hand: 2 at 224² x 64, 2 at 112² x 128, 3 at 56² x 256, 3 at 28² x 512, 3 at 14² x 512
    by_hand = 2 * 224**2 * 64 + 2 * 112**2 * 128 + 3 * 56**2 * 256 + 3 * 28**2 * 512 + 3 * 14**2 * 512
    assert sum(math.prod(r["shape"]) for r in convs) == by_hand
    assert rows[-1] == {"name": "classifier.6", "layer": "Linear", "shape": (1, 1000)}


def test_bad_input_size_is_explained():
    with pytest.raises(ValueError, match="input_size must be"):
        models.layer_output_shapes(nn.Conv2d(1, 1, 3), (3, 3))


def test_alexnet_variant_and_zfnet_widths():
    widths = [m.out_channels for m in models.alexnet().features if isinstance(m, nn.Conv2d)]
    assert tuple(widths) == alexnet_nets.WIDTHS_TORCHVISION == (64, 192, 384, 256, 256)
    zf = [m.out_channels for m in zfnet_nets.zfnet().features if isinstance(m, nn.Conv2d)]
    assert tuple(zf) == alexnet_nets.WIDTHS_2012 == (96, 256, 384, 384, 256)


def test_zoo_keeps_competition_entries_apart_from_single_models():
    rows = {r["name"]: r for r in models.zoo_table(["vgg16", "googlenet", "se_resnet50", "xception"])}
    # torchvision's 1-crop table: VGG-16 9.62, GoogLeNet 10.47 -> as single models VGG-16 is better,
    # although GoogLeNet's competition ensemble (6.67) beat VGG's (7.3)
    assert rows["vgg16"]["single_top5"] < rows["googlenet"]["single_top5"]
    assert rows["vgg16"]["top5_error"] > rows["googlenet"]["top5_error"]
    assert rows["se_resnet50"]["single_source"] == "Hu et al. 2018"
    assert rows["xception"]["single_top5"] is None and rows["xception"]["top5_error"] is None
    for r in rows.values():
        if r["single_top5"] is not None and r["top5_error"] is not None:
            assert r["single_top5"] > r["top5_error"]  # an ensemble on many crops beats one model on one crop
    table = models.format_table(list(rows.values()))
    assert "1 model %" in table and "ILSVRC entry %" in table and "10.47" in table and "6.67" in table
