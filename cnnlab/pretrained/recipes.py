"""How each shipped network is trained: one function per registry name, each returning ``(model, scores)``.

Seeded and deterministic on a CPU; ``scores`` are the held-out numbers ``build`` prints.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from . import PRETRAINED, build_model

__all__ = ["RECIPES", "train_digits04_resnet", "train_grid_detector", "train_localizer", "train_window_classifier"]


def train_digits04_resnet(device: torch.device | str | None = "cpu", progress: bool = False,
                          epochs: int = 8) -> tuple[nn.Module, dict]:
    """ResNet-18 at width 16 on the digits 0-4, with shift/rotation/scale augmentation."""
    from cnnlab import augment as A
    from cnnlab.data.digits import digits_loaders
    from cnnlab.train import evaluate, fit

    spec = PRETRAINED["digits04_resnet"]
    torch.manual_seed(0)
    train, val, test = digits_loaders(batch_size=32, size=spec.input_size, classes=spec.classes)
    model = build_model("digits04_resnet")
    aug = A.Compose([A.RandomAffine(shift=0.08, degrees=10, scale=(0.9, 1.1))], seed=0)
    fit(model, train, val, epochs=epochs, lr=2e-3, device=device, seed=0, augment=aug, progress=progress)
    return model, {"val": evaluate(model, val)["accuracy"], "test": evaluate(model, test)["accuracy"]}


def train_grid_detector(device: torch.device | str | None = "cpu", progress: bool = False, train_size: int = 1200,
                        epochs: int = 10, seed: int = 0) -> tuple[nn.Module, dict]:
    """The grid detector on ``train_size`` synthetic scenes; scores: VOC and COCO mAP on the test split."""
    from cnnlab.data.shapes import ShapesDetection
    from cnnlab.detection.train import evaluate_detector, grid_targets, train_detector

    data = ShapesDetection("train", size=train_size, seed=seed)
    torch.manual_seed(seed)
    model = build_model("grid_detector")
    grids = grid_targets(data.targets, data.image_size, data.image_size // model.stride, model.num_classes)
    train_detector(model, data.images, grids, epochs=epochs, batch_size=64, lr=4e-3, device=device, seed=seed,
                   progress=progress)
    test = ShapesDetection("test")
    scores = evaluate_detector(model, test.images, test.targets)
    return model, {"map_50": scores["map_50"], "coco_map": scores["coco_map"]}


def train_window_classifier(device: torch.device | str | None = "cpu", progress: bool = False,
                            train_images: int = 600, num_windows: int = 6000, epochs: int = 6,
                            seed: int = 0) -> tuple[nn.Module, dict]:
    """The crop classifier (4 shapes + background) on windows cut from synthetic scenes."""
    from cnnlab.data.shapes import ShapesDetection
    from cnnlab.detection.sliding import window_training_set
    from cnnlab.detection.train import train_classifier

    data = ShapesDetection("train", size=train_images, seed=seed)
    crops, labels = window_training_set(data.images, data.targets, num_windows, seed=seed)
    torch.manual_seed(seed)
    model = build_model("window_classifier")
    history = train_classifier(model, crops, labels, epochs=epochs, batch_size=64, lr=4e-3, device=device,
                               seed=seed, progress=progress)
    return model, {"train_accuracy": history.train_acc[-1]}


def train_localizer(device: torch.device | str | None = "cpu", progress: bool = False, train_size: int = 2000,
                    epochs: int = 10, seed: int = 0) -> tuple[nn.Module, dict]:
    """The one-object localizer; scores: mean IoU and accuracy on the test split."""
    from cnnlab.data.shapes import ShapesLocalization
    from cnnlab.detection.train import localizer_mean_iou
    from cnnlab.detection.train import train_localizer as train_loop

    data = ShapesLocalization("train", size=train_size, seed=seed)
    torch.manual_seed(seed)
    model = build_model("localizer")
    train_loop(model, data.images, data.labels, data.boxes, epochs=epochs, batch_size=32, lr=5e-3, device=device,
               seed=seed, progress=progress)
    test = ShapesLocalization("test")
    return model, localizer_mean_iou(model, test.images, test.labels, test.boxes)


RECIPES: dict[str, Callable[..., tuple[nn.Module, dict]]] = {
    "digits04_resnet": train_digits04_resnet,
    "grid_detector": train_grid_detector,
    "window_classifier": train_window_classifier,
    "localizer": train_localizer,
}
