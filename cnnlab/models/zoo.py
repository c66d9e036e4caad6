"""The architecture zoo as a table: builder, year, published errors, and counts computed from the code.

Two kinds of published top-5 error (in %) are kept apart, because they measure different things:

* ``top5_error``: the ILSVRC **competition entry** built on the architecture (classification task,
  test set). Entries are ensembles of several networks evaluated on many crops, some with extra
  data: AlexNet 2012 winner 15.3 (7 networks, extra ImageNet-2011 data; 16.4 without), ZFNet
  (Clarifai) 2013 winner 11.7, VGG 2014 runner-up 7.3 (7 networks), GoogLeNet 2014 winner 6.67
  (7 networks, 144 crops), ResNet 2015 winner 3.57 (6 networks of different depths), ResNeXt 2016
  runner-up 3.03, SENet 2017 winner 2.25. Architectures never entered have ``None``.
* ``single_top5``: **one network, one 224×224 centre crop**, on the ImageNet-2012 validation
  set. Source ``"torchvision"``: the table "ImageNet 1-crop error rates (224x224)" of torchvision's
  model documentation (v0.9, 2021), measured with torchvision's trained weights of the same
  designs (its AlexNet is the one-GPU variant built here). Source ``"Hu et al. 2018"``: the SENet
  paper's Table 2 (single 224×224 crop, validation set; 7.48 for their own ResNet-50). ``None``
  where neither gives the network at 224×224.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .alexnet_nets import alexnet
from .densenet_nets import densenet121
from .googlenet_nets import googlenet
from .lecture_nets import lecture_cnn
from .lenet_nets import lenet5
from .mobilenet_nets import mobilenet_v1, mobilenet_v2
from .resnet_nets import resnet18, resnet34, resnet50
from .resnext_nets import resnext50_32x4d
from .senet_nets import se_resnet18, se_resnet50
from .summaries import count_macs, count_parameters
from .vgg_nets import vgg11, vgg16, vgg19
from .xception_nets import xception
from .zfnet_nets import zfnet

__all__ = ["ZooEntry", "ZOO", "create", "zoo_table", "format_table", "ILSVRC_HISTORY"]


@dataclass(frozen=True)
class ZooEntry:
    name: str
    builder: Callable[..., nn.Module]
    year: int
    input_size: int  # the size the published network was designed for
    top5_error: float | None = None  # ILSVRC classification top-5 error (%) of its competition entry
    note: str = ""
    single_top5: float | None = None  # one model, one 224x224 crop, ImageNet val (%)
    single_source: str = ""  # where single_top5 comes from (see the module docstring)


_TV, _SE = "torchvision", "Hu et al. 2018"

ZOO: dict[str, ZooEntry] = {e.name: e for e in [
    ZooEntry("lenet5", lenet5, 1998, 32, None, "digits, 32x32 gray"),
    ZooEntry("alexnet", alexnet, 2012, 224, 15.3, "ILSVRC 2012 winner (7 networks, extra data)", 20.91, _TV),
    ZooEntry("zfnet", zfnet, 2013, 224, 11.7, "ILSVRC 2013 winner (Clarifai, an ensemble)"),
    ZooEntry("vgg11", vgg11, 2014, 224, None, "", 11.37, _TV),
    ZooEntry("vgg16", vgg16, 2014, 224, 7.3, "ILSVRC 2014 runner-up (7 networks)", 9.62, _TV),
    ZooEntry("vgg19", vgg19, 2014, 224, None, "", 9.12, _TV),
    ZooEntry("googlenet", googlenet, 2014, 224, 6.67, "ILSVRC 2014 winner (7 networks, 144 crops)", 10.47, _TV),
    ZooEntry("resnet18", resnet18, 2015, 224, None, "", 10.92, _TV),
    ZooEntry("resnet34", resnet34, 2015, 224, None, "", 8.58, _TV),
    ZooEntry("resnet50", resnet50, 2015, 224, 3.57, "ILSVRC 2015 winner (6 ResNets of several depths)", 7.13, _TV),
    ZooEntry("xception", xception, 2016, 299, None),
    ZooEntry("resnext50_32x4d", resnext50_32x4d, 2016, 224, 3.03, "ILSVRC 2016 runner-up (a ResNeXt ensemble)",
             6.30, _TV),
    ZooEntry("mobilenet_v1", mobilenet_v1, 2017, 224, None),
    ZooEntry("mobilenet_v2", mobilenet_v2, 2018, 224, None, "", 9.71, _TV),
    ZooEntry("densenet121", densenet121, 2017, 224, None, "", 7.83, _TV),
    ZooEntry("se_resnet50", se_resnet50, 2017, 224, 2.25, "ILSVRC 2017 winner (a SENet ensemble)", 6.62, _SE),
]}

_EXTRA = {"se_resnet18": se_resnet18, "lecture_cnn": lecture_cnn}

# Winning top-5 error of the ILSVRC classification task, (year, team/model, error %)
ILSVRC_HISTORY = [
    (2010, "NEC-UIUC (SIFT + SVM)", 28.2),
    (2011, "XRCE (Fisher vectors)", 25.8),
    (2012, "AlexNet (SuperVision)", 15.3),
    (2013, "ZFNet (Clarifai)", 11.7),
    (2014, "GoogLeNet", 6.67),
    (2015, "ResNet", 3.57),
    (2016, "Trimps-Soushen (Inception/ResNet ensemble)", 2.99),
    (2017, "SENet", 2.25),
]


def create(name: str, num_classes: int = 1000, in_channels: int = 3, small: bool = False, **kwargs) -> nn.Module:
    """Build any zoo network by name in one line, e.g. ``create("resnet18", 10, 1, small=True)``."""
    builders = {**{k: e.builder for k, e in ZOO.items()}, **_EXTRA}
    if name not in builders:
        raise ValueError(f"unknown architecture {name!r}; choose one of {sorted(builders)}")
    if name == "lecture_cnn":
        return lecture_cnn(num_classes, in_channels, **kwargs)
    return builders[name](num_classes=num_classes, in_channels=in_channels, small=small, **kwargs)


def zoo_table(names: list[str] | None = None, num_classes: int = 1000) -> list[dict]:
    """One row per architecture: name, year, parameters, MACs at its input size, and both published
    top-5 errors (``top5_error`` of the competition entry, ``single_top5`` of one model on one crop).

    Networks are built on the "meta" device, so even VGG-19 costs no memory or time.
    """
    rows = []
    for name in names or list(ZOO):
        e = ZOO[name]
        in_ch = 1 if name == "lenet5" else 3
        with torch.device("meta"):
            model = e.builder(num_classes=10 if name == "lenet5" else num_classes, in_channels=in_ch)
        rows.append({
            "name": name, "year": e.year, "input": e.input_size,
            "params": count_parameters(model),
            "macs": count_macs(model, (1, in_ch, e.input_size, e.input_size)),
            "top5_error": e.top5_error, "note": e.note,
            "single_top5": e.single_top5, "single_source": e.single_source,
        })
    return rows


def format_table(rows: list[dict]) -> str:
    """Plain-text rendering of ``zoo_table`` rows (params in millions, MACs in billions).

    "1 model" is the single-model, single-crop top-5 error; "ILSVRC entry" the competition
    entry's (an ensemble, on the test set). The two are not comparable with each other.
    """
    lines = [f"{'name':<16}{'year':>6}{'input':>7}{'params (M)':>12}{'GMACs':>9}{'1 model %':>11}{'ILSVRC entry %':>16}"]
    for r in rows:
        single = "" if r.get("single_top5") is None else f"{r['single_top5']:.2f}"
        entry = "" if r["top5_error"] is None else f"{r['top5_error']:.2f}"
        lines.append(f"{r['name']:<16}{r['year']:>6}{r['input']:>7}{r['params'] / 1e6:>12.2f}{r['macs'] / 1e9:>9.2f}"
                     f"{single:>11}{entry:>16}")
    return "\n".join(lines)
