"""Data the course uses, all embedded or generated: nothing downloads at run time.

Submodules: ``photos`` (sample photographs shipped by scikit-learn and matplotlib),
``digits`` (scikit-learn's hand-written digits as torch datasets), ``shapes``
(seeded synthetic shapes for classification and detection) and ``files``
(loaders for MNIST IDX, CIFAR-10 batches and image folders a user already has) and ``samples``
(small test images and classic 3x3 kernels for the convolution and pooling lectures), and for
lecture 08 ``faces`` (synthetic identities), ``stick_figures`` (poses with keypoints) and
``captioned_scenes`` (two shapes and the sentence that describes them).
Public names of the submodules are reachable from here, e.g. ``cnnlab.data.load_photo``.
"""
from __future__ import annotations

import importlib

_SUBMODULES = ("photos", "digits", "shapes", "files", "samples", "faces", "stick_figures", "captioned_scenes")


def __getattr__(name: str):
    if name.startswith("_"):
        raise AttributeError(name)
    for sub in _SUBMODULES:
        try:
            module = importlib.import_module(f"{__name__}.{sub}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{sub}":
                continue
            raise
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
