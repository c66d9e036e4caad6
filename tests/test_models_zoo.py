"""Full ImageNet configurations have exactly the published parameter counts; shapes for several sizes.

Reference counts are those of the reference implementations, as their own code reports them:
torchvision's ``models.<name>()`` (sum of ``p.numel()``) for AlexNet, VGG, GoogLeNet
(``aux_logits=False``), ResNet, DenseNet and MobileNetV2; Keras' ``applications`` ``count_params()``
(which includes batch-norm moving statistics) for Xception and MobileNet v1; Cadene's
``pretrainedmodels`` ``se_resnet50`` for SE-ResNet-50; LeNet-5 counted by hand (6/16/120/84/10, 32×32).
Networks are built on the meta device: no memory, no weight initialisation cost.
"""
from __future__ import annotations

import pytest
import torch

import cnnlab.models as M
from cnnlab import plots
from cnnlab.models.googlenet_nets import GOOGLENET_MODULES

TORCH_REFERENCE = {
    "alexnet": 61_100_840,  # torchvision alexnet
    "vgg11": 132_863_336,  # torchvision vgg11
    "vgg16": 138_357_544,  # torchvision vgg16
    "vgg19": 143_667_240,  # torchvision vgg19
    "googlenet": 6_624_904,  # torchvision googlenet(aux_logits=False)
    "resnet18": 11_689_512,  # torchvision resnet18
    "resnet34": 21_797_672,  # torchvision resnet34
    "resnet50": 25_557_032,  # torchvision resnet50
    "densenet121": 7_978_856,  # torchvision densenet121
    "mobilenet_v2": 3_504_872,  # torchvision mobilenet_v2
    "se_resnet50": 28_088_024,  # pretrainedmodels (Cadene) se_resnet50
}
KERAS_REFERENCE = {  # Keras model.count_params(): trainable + BN moving mean/variance
    "xception": 22_910_480,  # keras.applications.Xception: 22,855,952 trainable + 54,528
    "mobilenet_v1": 4_253_864,  # keras.applications.MobileNet: 4,231,976 trainable + 21,888
    "mobilenet_v2": 3_538_984,  # keras.applications.MobileNetV2 (trainable 3,504,872, as torchvision)
}


def build_meta(name, **kw):
    with torch.device("meta"):
        return M.create(name, **kw)


@pytest.mark.parametrize("name", sorted(TORCH_REFERENCE))
def test_parameter_count_matches_reference(name):
    assert M.count_parameters(build_meta(name)) == TORCH_REFERENCE[name]


@pytest.mark.parametrize("name", sorted(KERAS_REFERENCE))
def test_keras_style_count_includes_bn_statistics(name):
    assert M.count_parameters(build_meta(name), include_buffers=True) == KERAS_REFERENCE[name]


def test_lenet5_count_by_hand():
    conv1, conv2, conv3 = 6 * (25 + 1), 16 * (6 * 25 + 1), 120 * (16 * 25 + 1)
    fc1, fc2 = 84 * (120 + 1), 10 * (84 + 1)
    assert M.count_parameters(M.lenet5()) == conv1 + conv2 + conv3 + fc1 + fc2 == 61_706


def test_googlenet_paper_kernel_and_se_overhead():
    # the paper's 5x5 branch adds (25 - 9) * ch5x5red * ch5x5 weights per module
    extra = 16 * sum(m[1][3] * m[1][4] for m in GOOGLENET_MODULES if m != "M")
    assert M.count_parameters(build_meta("googlenet", large_kernel=5)) == 6_624_904 + extra
    # SE adds 2*C*C/16 + C/16 + C per bottleneck with C output channels
    se = sum(n * (2 * c * c // 16 + c // 16 + c) for n, c in [(3, 256), (4, 512), (6, 1024), (3, 2048)])
    assert TORCH_REFERENCE["se_resnet50"] - TORCH_REFERENCE["resnet50"] == se


@pytest.mark.parametrize("name,size", [("alexnet", 224), ("vgg16", 224), ("googlenet", 224), ("resnet50", 224),
                                       ("resnet18", 160), ("xception", 299), ("mobilenet_v2", 192),
                                       ("densenet121", 256), ("se_resnet50", 288)])
def test_full_models_output_shape(name, size):
    model = build_meta(name, num_classes=7)
    out = model(torch.zeros(2, 3, size, size, device="meta"))
    assert out.shape == (2, 7)


SMALL = ["lenet5", "alexnet", "vgg11", "vgg16", "googlenet", "resnet18", "resnet50", "se_resnet18",
         "xception", "mobilenet_v1", "mobilenet_v2", "densenet121"]


@pytest.mark.parametrize("name", SMALL)
def test_small_models_take_digit_sizes(name):
    torch.manual_seed(0)
    model = M.create(name, num_classes=10, in_channels=1, small=True).eval()
    sizes = [32] if name == "lenet5" else [32, 64] if name.startswith("vgg") else [32, 16]
    for s in sizes:
        assert model(torch.rand(2, 1, s, s)).shape == (2, 10)
    assert M.count_parameters(model) < 2_000_000


def test_unknown_name_is_explained():
    with pytest.raises(ValueError, match="unknown architecture 'resnet101'"):
        M.create("resnet101")
    with pytest.raises(ValueError, match="VGG depth must be one of"):
        M.VGG(depth=13)


def test_zoo_table_rows():
    rows = {r["name"]: r for r in M.zoo_table(["resnet50", "se_resnet50", "alexnet"])}
    assert rows["resnet50"]["params"] == TORCH_REFERENCE["resnet50"]
    assert 4.0e9 < rows["resnet50"]["macs"] < 4.2e9  # the well-known ~4.1 GMACs
    assert rows["se_resnet50"]["top5_error"] == 2.25
    assert "resnet50" in M.format_table(list(rows.values()))
    errors = [e for _, _, e in M.ILSVRC_HISTORY]
    assert errors[0] > 26 and errors[-1] < 2.3 and errors == sorted(errors, reverse=True)


def test_zoo_plots_render():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plots.plot_zoo(M.zoo_table(["alexnet", "resnet18"]))
    assert len(fig.axes[0].texts) == 2
    fig2 = plots.plot_ilsvrc_history()
    assert len(fig2.axes[0].patches) == len(M.ILSVRC_HISTORY)
    plt.close("all")
