"""NMS (cnnlab.detection.batched_nms; one label = plain NMS) against a reference written from the
definition: random boxes, ties, empty input, classes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab.detection import batched_nms, nms_steps
from _helpers import iou_by_definition, random_boxes


def nms(boxes, scores, threshold, score_threshold=None):
    """Plain NMS through the students' class-aware helper: every box gets the same label."""
    return batched_nms(boxes, scores, np.zeros(len(scores), dtype=np.int64), threshold, score_threshold)


def nms_by_definition(boxes, scores, threshold):
    """Visit boxes by score (ties: lower index first); keep one unless it overlaps a kept box > threshold."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    kept = []
    for i in order:
        if all(iou_by_definition(boxes[i], boxes[k]) <= threshold for k in kept):
            kept.append(i)
    return kept


def scene(seed, n=40):
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, n, span=30.0)
    boxes[5:10] = boxes[0:5]                          # exact duplicates
    scores = rng.choice([0.2, 0.5, 0.7, 0.9], size=n)  # many ties
    return boxes, scores, rng


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.9])
def test_nms_equals_the_definition(seed, threshold):
    boxes, scores, _ = scene(seed)
    assert nms(boxes, scores, threshold).tolist() == nms_by_definition(boxes, scores, threshold)


def test_threshold_is_strict_iou_equal_to_threshold_survives():
    boxes = np.array([[0.0, 0, 2, 2], [1, 0, 3, 2]])     # IoU exactly 1/3
    assert nms(boxes, np.array([0.9, 0.8]), 1 / 3).tolist() == [0, 1]
    assert nms(boxes, np.array([0.9, 0.8]), 0.33).tolist() == [0]


def test_ties_keep_the_lower_index():
    boxes = np.array([[0.0, 0, 10, 10]] * 3)
    assert nms(boxes, np.array([0.5, 0.5, 0.5]), 0.5).tolist() == [0]
    assert nms(boxes, np.array([0.4, 0.5, 0.5]), 0.5).tolist() == [1]


def test_empty_input_and_kinds():
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).shape == (0,)
    out = nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.long and out.numel() == 0
    assert batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.long), 0.5).numel() == 0


def test_score_threshold_drops_low_scores_first():
    boxes, scores, _ = scene(3)
    keep = nms(boxes, scores, 0.5, score_threshold=0.6)
    high = np.nonzero(scores >= 0.6)[0]
    expected = [int(high[k]) for k in nms_by_definition(boxes[high], scores[high], 0.5)]
    assert keep.tolist() == expected


@pytest.mark.parametrize("seed", range(6))
def test_batched_nms_is_nms_per_class_merged_by_score(seed):
    boxes, scores, rng = scene(seed)
    labels = rng.integers(0, 3, size=len(scores))
    expected = []
    for c in range(3):
        idx = np.nonzero(labels == c)[0]
        expected += [int(idx[k]) for k in nms_by_definition(boxes[idx], scores[idx], 0.5)]
    expected.sort(key=lambda i: (-scores[i], i))
    got = batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(labels), 0.5)
    assert got.tolist() == expected


def test_different_classes_do_not_suppress_each_other():
    boxes = np.array([[0.0, 0, 10, 10], [0, 0, 10, 10]])
    assert batched_nms(boxes, np.array([0.9, 0.8]), np.array([0, 1]), 0.5).tolist() == [0, 1]
    assert nms(boxes, np.array([0.9, 0.8]), 0.5).tolist() == [0]


def test_steps_record_who_suppressed_whom():
    boxes, scores, _ = scene(2, n=15)
    steps = nms_steps(boxes, scores, 0.4)
    assert [s["kept"] for s in steps] == nms_by_definition(boxes, scores, 0.4)
    gone = [j for s in steps for j in s["suppressed"]]
    assert sorted(gone + [s["kept"] for s in steps]) == list(range(15))
    for s in steps:
        for j, v in zip(s["suppressed"], s["ious"]):
            assert v > 0.4 and v == pytest.approx(iou_by_definition(boxes[s["kept"]], boxes[j]))


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match=r"scores has shape \(3,\), expected \(2,\)"):
        nms(np.zeros((2, 4)), np.zeros(3), 0.5)
    with pytest.raises(ValueError, match="NaN"):
        nms(np.zeros((1, 4)), np.array([np.nan]), 0.5)
    with pytest.raises(ValueError, match="outside"):
        nms(np.zeros((1, 4)), np.zeros(1), 1.5)
    with pytest.raises(ValueError, match="one label per box"):
        batched_nms(np.zeros((2, 4)), np.zeros(2), np.zeros(3), 0.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_nms_on_gpu_matches_cpu():
    boxes, scores, _ = scene(1)
    b, s = torch.from_numpy(boxes).cuda(), torch.from_numpy(scores).cuda()
    assert nms(b, s, 0.5).cpu().tolist() == nms_by_definition(boxes, scores, 0.5)
