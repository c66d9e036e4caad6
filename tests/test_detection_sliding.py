"""Sliding windows, crops, and the shipped reference models (inference only: fast)."""
from __future__ import annotations

import pytest
import torch

from cnnlab.data.shapes import ShapesDetection
from cnnlab.detection import batched_nms, mean_average_precision
from cnnlab.plots import paint_boxes
from cnnlab import pretrained
from cnnlab.detection.sliding import crop_windows, sliding_window_detect, sliding_windows, window_training_set


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    pass


def test_window_grid():
    w = sliding_windows(64, window_sizes=(16, 32), stride=8)
    assert len(w) == 7 * 7 + 5 * 5
    assert w[0].tolist() == [0, 0, 16, 16] and w[48].tolist() == [48, 48, 64, 64]
    with pytest.raises(ValueError, match="window sizes"):
        sliding_windows(64, (80,))


def test_crops_equal_slicing_for_pixel_aligned_windows():
    image = torch.rand(3, 20, 30, dtype=torch.float64)
    windows = torch.tensor([[2.0, 3, 10, 11], [20, 0, 28, 8]])
    crops = crop_windows(image, windows, crop_size=8)
    assert torch.allclose(crops[0], image[:, 3:11, 2:10])
    assert torch.allclose(crops[1], image[:, 0:8, 20:28])


def test_window_training_set_labels():
    ds = ShapesDetection("train", size=20)
    crops, labels = window_training_set(ds.images, ds.targets, num_windows=200)
    assert crops.shape == (200, 3, 32, 32)
    assert labels.min() >= 0 and labels.max() <= 4 and (labels == 4).any() and (labels < 4).any()


@pytest.fixture(scope="module")
def test_set():
    return ShapesDetection("test", size=30)


def test_shipped_detector_is_good(test_set):
    model = pretrained.load("grid_detector")
    predictions = model.detect(test_set.images)
    assert mean_average_precision(predictions, test_set.targets, "voc") > 0.9


def test_sliding_windows_make_duplicates_that_nms_removes(test_set):
    classifier = pretrained.load("window_classifier")
    image = test_set.images[0]
    raw = sliding_window_detect(classifier, image, score_threshold=0.5)
    assert len(raw["boxes"]) > 2 * len(test_set.targets[0]["boxes"])          # many windows per object
    kept = sliding_window_detect(classifier, image, iou_threshold=0.3)
    assert 0 < len(kept["boxes"]) < len(raw["boxes"])
    predictions = [sliding_window_detect(classifier, im, iou_threshold=0.3) for im in test_set.images[:8]]
    assert mean_average_precision(predictions, test_set.targets[:8], "voc") > 0.5
    assert batched_nms(raw["boxes"], raw["scores"], raw["labels"], 0.3).numel() <= len(raw["boxes"])


def test_paint_boxes_draws_outlines():
    img = paint_boxes(torch.zeros(3, 8, 8), torch.tensor([[1.0, 1, 5, 5]]), [(255, 0, 0)], scale=2)
    assert img.shape == (16, 16, 3)
    assert tuple(img[2, 4]) == (255, 0, 0) and tuple(img[5, 5]) == (0, 0, 0)


def test_shipped_localizer_finds_the_box():
    from cnnlab.data.shapes import ShapesLocalization
    from cnnlab.detection.train import localizer_mean_iou

    data = ShapesLocalization("test", size=60)
    scores = localizer_mean_iou(pretrained.load("localizer"), data.images, data.labels, data.boxes)
    assert scores["mean_iou"] > 0.6 and scores["accuracy"] > 0.9
