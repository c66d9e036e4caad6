"""Interactive explorers for the lecture notebooks (ipywidgets 8).

Each widget is a small state object with plain-Python update methods (tested
without a browser) plus a view built from ipywidgets; one file per explorer.
Names are imported lazily so that ``import cnnlab`` stays light.
"""
from __future__ import annotations

import importlib

_WIDGETS = {
    "ConvolutionExplorer": "convolution",
    "PaddingStrideExplorer": "padding_stride",
    "PoolingExplorer": "pooling",
    "ReceptiveFieldExplorer": "receptive_field",
    "FeatureMapsViewer": "feature_maps",
    "AugmentationPreview": "augmentation",
    "IoUExplorer": "iou",
    "NMSStepper": "nms",
    "DetectionsViewer": "detections",
    "ExplanationViewer": "explain",
}

__all__ = sorted(_WIDGETS)


def __getattr__(name: str):
    if name in _WIDGETS:
        module = importlib.import_module(f"{__name__}.{_WIDGETS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
