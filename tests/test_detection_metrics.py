"""AP on hand-computed cases, VOC vs COCO matching, and COCO mAP equal to pycocotools'."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from cnnlab.detection import (ap_from_curve, box_convert, evaluate_detections, match_detections,
                              mean_average_precision, precision_recall_curve)

# Ranked detections T F T F T against 3 objects (worked out by hand in the comments).
PRECISION = np.array([1, 1 / 2, 2 / 3, 2 / 4, 3 / 5])
RECALL = np.array([1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])


def test_precision_recall_curve_by_hand():
    p, r = precision_recall_curve([0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 1, 0, 1], num_gt=3)
    np.testing.assert_allclose(p, PRECISION)
    np.testing.assert_allclose(r, RECALL)
    p, r = precision_recall_curve([0.5, 0.9], [True, False], num_gt=2)   # ranked by score: F then T
    np.testing.assert_allclose(p, [0, 0.5])
    np.testing.assert_allclose(r, [0, 0.5])


def test_voc_all_point_ap_by_hand():
    # envelope 1, 2/3, 3/5 over recall steps of 1/3 each
    assert ap_from_curve(PRECISION, RECALL, "voc") == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)


def test_coco_101_point_ap_by_hand():
    # levels 0.00..0.33 -> 1 (34 levels), 0.34..0.66 -> 2/3 (33), 0.67..1.00 -> 3/5 (34)
    assert ap_from_curve(PRECISION, RECALL, "coco") == pytest.approx((34 + 33 * 2 / 3 + 34 * 3 / 5) / 101)


def test_voc11_ap_by_hand():
    assert ap_from_curve(PRECISION, RECALL, "voc11") == pytest.approx((4 + 3 * 2 / 3 + 4 * 3 / 5) / 11)


def test_perfect_and_empty_and_unreached_recall():
    assert ap_from_curve([1.0, 1.0], [0.5, 1.0], "voc") == pytest.approx(1.0)
    assert ap_from_curve([1.0, 1.0], [0.5, 1.0], "coco") == pytest.approx(1.0)
    assert ap_from_curve([], [], "coco") == 0.0
    assert ap_from_curve([1.0], [0.5], "voc") == pytest.approx(0.5)
    assert ap_from_curve([1.0], [0.5], "coco") == pytest.approx(51 / 101)


def test_voc_and_coco_matching_differ_on_a_claimed_box():
    gt = np.array([[0.0, 0, 10, 10], [4, 0, 14, 10]])
    dets = np.array([[0.0, 0, 10, 10], [1, 0, 11, 10]])   # 2nd overlaps gt0 most (0.82) and gt1 0.54
    assert match_detections(dets, [0.9, 0.8], gt, 0.5, rule="coco").tolist() == [True, True]
    assert match_detections(dets, [0.9, 0.8], gt, 0.5, rule="voc").tolist() == [True, False]


def test_map_on_a_tiny_data_set_by_hand():
    targets = [{"boxes": np.array([[0.0, 0, 10, 10]]), "labels": np.array([0])},
               {"boxes": np.array([[0.0, 0, 10, 10], [20, 20, 30, 30]]), "labels": np.array([0, 1])}]
    predictions = [{"boxes": np.array([[0.0, 0, 10, 10], [50, 50, 60, 60]]),
                    "scores": np.array([0.9, 0.95]), "labels": np.array([0, 0])},
                   {"boxes": torch.tensor([[20.0, 20, 30, 30]]), "scores": torch.tensor([0.3]),
                    "labels": torch.tensor([1])}]
    # class 0: ranked F (0.95), T (0.9) against 2 objects -> P 0, 1/2; R 0, 1/2 -> AP 0.25; class 1: AP 1
    out = evaluate_detections(predictions, targets, "voc")
    assert out["per_class"] == {0: pytest.approx(0.25), 1: pytest.approx(1.0)}
    assert mean_average_precision(predictions, targets, "voc") == pytest.approx(0.625)


def test_class_without_ground_truth_is_left_out_and_errors_are_clear():
    targets = [{"boxes": np.zeros((0, 4)), "labels": np.zeros(0)}]
    predictions = [{"boxes": np.array([[0.0, 0, 1, 1]]), "scores": [0.5], "labels": [3]}]
    assert np.isnan(mean_average_precision(predictions, targets))
    with pytest.raises(ValueError, match="expected one dict per image"):
        mean_average_precision(predictions, targets * 2)
    with pytest.raises(ValueError, match="has no 'scores'"):
        mean_average_precision([{"boxes": np.zeros((0, 4)), "labels": []}], targets)
    with pytest.raises(ValueError, match="non-decreasing"):
        ap_from_curve([1, 1], [0.5, 0.2])
    with pytest.raises(ValueError, match="x2 < x1"):
        match_detections(np.array([[5.0, 0, 1, 1]]), [1.0], np.zeros((0, 4)))


# ---------------------------------------------------------------- pycocotools as the reference
def random_data_set(seed: int, num_images: int = 8, num_classes: int = 3):
    rng = np.random.default_rng(seed)
    predictions, targets = [], []
    for i in range(num_images):
        m = 0 if i == 0 else int(rng.integers(0, 8))            # image 0 has no objects at all
        xy = rng.uniform(0, 80, (m, 2))
        gt = np.concatenate([xy, xy + rng.uniform(4, 40, (m, 2))], axis=1)
        gl = rng.integers(0, num_classes, m)
        jitter = gt + rng.normal(0, 1.5, gt.shape)
        jitter[:, 2:] = np.maximum(jitter[:, 2:], jitter[:, :2] + 0.5)
        n_noise = 130 if i == 1 else int(rng.integers(0, 6))    # image 1 is crowded: > maxDets 100
        xy = rng.uniform(0, 80, (n_noise, 2))
        noise = np.concatenate([xy, xy + rng.uniform(2, 40, (n_noise, 2))], axis=1)
        boxes = np.concatenate([jitter, jitter[: m // 2] + 1.5, noise])      # some duplicates
        noise_labels = np.zeros(n_noise, int) if i == 1 else rng.integers(0, num_classes, n_noise)
        labels = np.concatenate([gl, gl[: m // 2], noise_labels])
        scores = np.round(rng.uniform(0, 1, len(boxes)), 2)                 # rounded: score ties
        predictions.append({"boxes": boxes, "scores": scores, "labels": labels})
        targets.append({"boxes": gt, "labels": gl})
    return predictions, targets


def pycocotools_stats(predictions, targets, num_classes=3):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, anns, results = [], [], []
    for i, (p, t) in enumerate(zip(predictions, targets)):
        images.append({"id": i, "width": 200, "height": 200})
        for box, label in zip(box_convert(t["boxes"], "xyxy", "xywh"), t["labels"]):
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": int(label) + 1,
                         "bbox": [float(v) for v in box], "area": float(box[2] * box[3]), "iscrowd": 0})
        for box, label, score in zip(box_convert(p["boxes"], "xyxy", "xywh"), p["labels"], p["scores"]):
            results.append({"image_id": i, "category_id": int(label) + 1,
                            "bbox": [float(v) for v in box], "score": float(score)})
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns,
                      "categories": [{"id": c + 1, "name": str(c)} for c in range(num_classes)]}
        gt.createIndex()
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "bbox")
        ev.params.areaRng = [ev.params.areaRng[0]]          # 'all' only
        ev.params.areaRngLbl = ["all"]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


@pytest.mark.parametrize("seed", range(5))
def test_coco_map_equals_pycocotools(seed):
    predictions, targets = random_data_set(seed)
    stats = pycocotools_stats(predictions, targets)
    ours = evaluate_detections(predictions, targets, "coco")
    assert ours["map"] == pytest.approx(stats[0], abs=1e-6)
    assert ours["map_50"] == pytest.approx(stats[1], abs=1e-6)
    assert ours["map_75"] == pytest.approx(stats[2], abs=1e-6)


def test_the_crowded_image_makes_max_detections_matter():
    predictions, targets = random_data_set(0)
    capped = mean_average_precision(predictions, targets, "coco")
    assert capped != pytest.approx(mean_average_precision(predictions, targets, "coco", max_detections=None))
