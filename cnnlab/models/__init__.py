"""The architecture zoo in PyTorch: building blocks, classic networks, summaries and counts.

Every builder takes ``num_classes``, ``in_channels`` and ``small``: ``small=False`` is the
published ImageNet configuration (parameter counts equal the reference implementations),
``small=True`` a narrow version that trains on the embedded digits (8×8 to 32×32) on a CPU.
``create("resnet18", num_classes=10, in_channels=1, small=True)`` builds one by name.

Each family lives in ``<family>_nets.py`` (``vgg_nets.py`` holds ``VGG``, ``vgg11``, ``vgg16``, ...),
so that no module is hidden behind a builder of the same name; follow that when adding one.
"""
from __future__ import annotations

from . import blocks
from .activation_sizes import layer_output_shapes
from .alexnet_nets import AlexNet, alexnet
from .blocks import BasicBlock, Bottleneck, DepthwiseSeparableConv, InceptionModule, SqueezeExcite, conv_bn_relu
from .densenet_nets import DenseNet, densenet121
from .dpn_nets import DualPathBlock
from .googlenet_nets import GoogLeNet, googlenet
from .inception_v4_nets import InceptionResNetA, InceptionV4A
from .lecture_nets import lecture_cnn
from .lenet_nets import LeNet5, lenet5
from .mobilenet_nets import MobileNetV1, MobileNetV2, mobilenet_v1, mobilenet_v2
from .resnet_nets import ResNet, resnet18, resnet34, resnet50
from .resnext_nets import ResNeXt, resnext50_32x4d
from .senet_nets import se_resnet18, se_resnet50
from .summaries import count_macs, count_parameters, layer_macs, summary
from .vgg_nets import VGG, vgg11, vgg16, vgg19
from .xception_nets import Xception, xception
from .zfnet_nets import ZFNet, zfnet
from .zoo import ILSVRC_HISTORY, ZOO, create, format_table, zoo_table

__all__ = [
    "blocks", "BasicBlock", "Bottleneck", "DepthwiseSeparableConv", "InceptionModule", "SqueezeExcite", "conv_bn_relu",
    "DualPathBlock", "InceptionResNetA", "InceptionV4A",
    "AlexNet", "DenseNet", "GoogLeNet", "LeNet5", "MobileNetV1", "MobileNetV2", "ResNet", "ResNeXt", "VGG",
    "Xception", "ZFNet",
    "alexnet", "densenet121", "googlenet", "lecture_cnn", "lenet5", "mobilenet_v1", "mobilenet_v2",
    "resnet18", "resnet34", "resnet50", "resnext50_32x4d", "se_resnet18", "se_resnet50", "vgg11", "vgg16", "vgg19",
    "xception", "zfnet",
    "count_macs", "count_parameters", "layer_macs", "layer_output_shapes", "summary",
    "ILSVRC_HISTORY", "ZOO", "create", "format_table", "zoo_table",
]
