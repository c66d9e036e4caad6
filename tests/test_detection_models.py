"""The detection models: output shapes, losses, and a quick overfit of a handful of images."""
from __future__ import annotations

import pytest
import torch

from cnnlab.data.shapes import ShapesDetection, ShapesLocalization
from cnnlab.detection import mean_average_precision
from cnnlab.detection.models import GridDetector, ShapeClassifier, ShapeLocalizer
from cnnlab.detection.train import (detect_dataset, grid_loss, grid_targets, localizer_mean_iou, train_detector,
                                    train_localizer)


@pytest.fixture(autouse=True)
def _one_seeded_thread(one_thread):
    torch.manual_seed(0)


def test_output_shapes():
    x = torch.rand(2, 3, 64, 64)
    assert GridDetector(num_classes=4)(x).shape == (2, 9, 8, 8)
    with torch.no_grad():
        logits, box = ShapeLocalizer()(x)
    assert logits.shape == (2, 4) and box.shape == (2, 4) and 0 <= float(box.min()) <= float(box.max()) <= 1
    assert ShapeClassifier(num_classes=5)(torch.rand(2, 3, 32, 32)).shape == (2, 5)


def test_grid_loss_is_small_for_a_perfect_prediction_and_large_otherwise():
    ds = ShapesDetection("val", size=4)
    target = grid_targets(ds.targets, 64, 8, 4)
    t = target.permute(0, 3, 1, 2)
    logit = lambda p: torch.logit(p.clamp(1e-4, 1 - 1e-4))                  # noqa: E731
    perfect = torch.cat([logit(t[:, :5]), t[:, 5:] * 20], dim=1)
    good, _ = grid_loss(perfect, target)
    bad, parts = grid_loss(torch.zeros_like(perfect), target)
    assert float(good) < 0.05 < float(bad)
    assert set(parts) == {"loss", "obj", "box", "cls"}


def test_detector_overfits_a_handful_of_images():
    ds = ShapesDetection("train", size=8, seed=5)
    model = GridDetector()
    train_detector(model, ds.images, grid_targets(ds.targets, 64, 8, 4), epochs=60, batch_size=8, lr=1e-2,
                   device="cpu", progress=False, flip=False)
    predictions = detect_dataset(model, ds.images, score_threshold=0.3)
    assert mean_average_precision(predictions, ds.targets, "voc") > 0.9


def test_localizer_learns_boxes_on_a_small_set():
    ds = ShapesLocalization("train", size=64)
    model = ShapeLocalizer()
    before = localizer_mean_iou(model, ds.images, ds.labels, ds.boxes)["mean_iou"]
    history = train_localizer(model, ds.images, ds.labels, ds.boxes, epochs=40, batch_size=32, lr=5e-3,
                              device="cpu", progress=False)
    after = localizer_mean_iou(model, ds.images, ds.labels, ds.boxes)
    assert history.train_loss[-1] < history.train_loss[0] / 3
    assert after["mean_iou"] > max(0.6, before + 0.3) and after["accuracy"] > 0.9


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="expected one grid per image"):
        train_detector(GridDetector(), torch.zeros(3, 3, 64, 64), torch.zeros(2, 8, 8, 9), progress=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_detector_runs_on_gpu():
    model = GridDetector().cuda()
    out = model.detect(torch.rand(2, 3, 64, 64, device="cuda"))
    assert len(out) == 2 and out[0]["boxes"].device.type == "cuda"
