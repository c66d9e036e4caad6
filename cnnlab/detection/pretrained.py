"""Reference models for the lecture, small enough to ship (< 1 MB together) and rebuilt by this script.

``python -m cnnlab.detection.pretrained`` trains, from the seeded synthetic shapes,
the grid detector (``weights/grid_detector.pt``), the sliding-window crop classifier
(``weights/window_classifier.pt``) and the one-object localizer (``weights/localizer.pt``),
then prints their test scores. The notebook loads them with :func:`load_detector`,
:func:`load_window_classifier` and :func:`load_localizer` instead of training for minutes.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from ..data.shapes import SHAPE_CLASSES, ShapesDetection, ShapesLocalization
from .models import GridDetector, ShapeClassifier, ShapeLocalizer
from .sliding import window_training_set
from .train import grid_targets, train_classifier, train_detector, train_localizer

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DETECTOR_FILE = WEIGHTS_DIR / "grid_detector.pt"
CLASSIFIER_FILE = WEIGHTS_DIR / "window_classifier.pt"
LOCALIZER_FILE = WEIGHTS_DIR / "localizer.pt"
NUM_CLASSES = len(SHAPE_CLASSES)

__all__ = ["load_detector", "load_localizer", "load_window_classifier", "train_reference_detector",
           "train_reference_localizer", "train_reference_window_classifier"]


def train_reference_detector(train_size: int = 1200, epochs: int = 10, seed: int = 0,
                             device: torch.device | str | None = None, progress: bool = True
                             ) -> tuple[GridDetector, list[dict]]:
    """Train the reference :class:`GridDetector` on ``train_size`` synthetic images."""
    data = ShapesDetection("train", size=train_size, seed=seed)
    torch.manual_seed(seed)
    model = GridDetector(NUM_CLASSES)
    grids = grid_targets(data.targets, data.image_size, data.image_size // model.stride, NUM_CLASSES)
    history = train_detector(model, data.images, grids, epochs=epochs, batch_size=64, lr=4e-3,
                             device=device, seed=seed, progress=progress)
    return model, history


def train_reference_window_classifier(train_images: int = 600, num_windows: int = 6000, epochs: int = 6,
                                      seed: int = 0, device: torch.device | str | None = None,
                                      progress: bool = True) -> tuple[ShapeClassifier, list[dict]]:
    """Train the crop classifier (4 shapes + background) used by the sliding-window detector."""
    data = ShapesDetection("train", size=train_images, seed=seed)
    crops, labels = window_training_set(data.images, data.targets, num_windows, seed=seed)
    torch.manual_seed(seed)
    model = ShapeClassifier(NUM_CLASSES + 1)
    history = train_classifier(model, crops, labels, epochs=epochs, batch_size=64, lr=4e-3, device=device,
                               seed=seed, progress=progress)
    return model, history


def train_reference_localizer(train_size: int = 2000, epochs: int = 10, seed: int = 0,
                              device: torch.device | str | None = None, progress: bool = True
                              ) -> tuple[ShapeLocalizer, list[dict]]:
    """Train the reference :class:`ShapeLocalizer` (one shape per image: class + box)."""
    data = ShapesLocalization("train", size=train_size, seed=seed)
    torch.manual_seed(seed)
    model = ShapeLocalizer(NUM_CLASSES)
    history = train_localizer(model, data.images, data.labels, data.boxes, epochs=epochs, batch_size=32, lr=5e-3,
                              device=device, seed=seed, progress=progress)
    return model, history


def _load(model: torch.nn.Module, path: Path, device: torch.device | str | None) -> torch.nn.Module:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; rebuild it with `python -m cnnlab.detection.pretrained`")
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.to(device or "cpu").eval()


def load_detector(device: torch.device | str | None = None) -> GridDetector:
    """The shipped :class:`GridDetector` (eval mode)."""
    return _load(GridDetector(NUM_CLASSES), DETECTOR_FILE, device)


def load_window_classifier(device: torch.device | str | None = None) -> ShapeClassifier:
    """The shipped crop classifier for sliding windows (last class = background, eval mode)."""
    return _load(ShapeClassifier(NUM_CLASSES + 1), CLASSIFIER_FILE, device)


def load_localizer(device: torch.device | str | None = None) -> ShapeLocalizer:
    """The shipped :class:`ShapeLocalizer` (eval mode)."""
    return _load(ShapeLocalizer(NUM_CLASSES), LOCALIZER_FILE, device)


def _save(model: torch.nn.Module, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().half() if v.is_floating_point() else v.cpu() for k, v in model.state_dict().items()}
    torch.save(state, path)


def main() -> None:
    from .train import evaluate_detector

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=("detector", "classifier", "localizer"), action="append",
                        help="rebuild only these (repeatable); default: all three")
    args = parser.parse_args()
    wanted = args.only or ["detector", "classifier", "localizer"]
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    if "detector" in wanted:
        _save(train_reference_detector(device="cpu")[0], DETECTOR_FILE)
        test = ShapesDetection("test")
        scores = evaluate_detector(load_detector(), test.images, test.targets)
        print(f"detector on the test set: mAP@0.5 {scores['map_50']:.3f}, COCO mAP {scores['coco_map']:.3f}")
    if "classifier" in wanted:
        _save(train_reference_window_classifier(device="cpu")[0], CLASSIFIER_FILE)
    if "localizer" in wanted:
        from .train import localizer_mean_iou

        _save(train_reference_localizer(device="cpu")[0], LOCALIZER_FILE)
        test = ShapesLocalization("test")
        print("localizer on the test set:", localizer_mean_iou(load_localizer(), test.images, test.labels, test.boxes))
    print(f"done in {time.perf_counter() - start:.0f} s")
    for path in (DETECTOR_FILE, CLASSIFIER_FILE, LOCALIZER_FILE):
        print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
