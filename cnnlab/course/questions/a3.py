"""Checks of assignment 3, detection essentials (PyTorch): GIoU matrix, soft-NMS, batched anchor
decoding, COCO-style AP with crowd regions.

References: ``cnnlab.course.reference.detection`` (written by definition, with loops). Students'
``cnnlab.detection`` has the neighbouring ideas (plain IoU, greedy NMS, one set of anchor
offsets, VOC/COCO AP without crowd regions), none of which answers these questions when copied
(``tests/course/test_kit_copies.py``). Inputs are float64 tensors; on a CUDA machine the checks
run again on the GPU.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from cnnlab.course.reference import detection

from cnnlab.checks.arrays import check_array

from .functions import Case, check_function, random_cases
from .spec import GradedCheck

DETECTION_REFERENCES = (
    "cnnlab.detection.pairwise_iou", "cnnlab.detection.iou.pairwise_iou", "cnnlab.detection.iou.box_intersection",
    "cnnlab.detection.batched_nms", "cnnlab.detection.suppression.batched_nms", "cnnlab.detection.nms_steps",
    "cnnlab.detection.decode_offsets", "cnnlab.detection.anchors.decode_offsets",
    "cnnlab.detection.ap_from_curve", "cnnlab.detection.metrics.ap_from_curve",
    "cnnlab.detection.metrics.precision_recall_curve", "cnnlab.detection.metrics.match_detections",
    "cnnlab.detection.evaluate_detections", "cnnlab.detection.metrics.evaluate_detections",
    "cnnlab.course.reference.detection.box_giou", "cnnlab.course.reference.detection.soft_nms",
    "cnnlab.course.reference.detection.decode_anchors", "cnnlab.course.reference.detection.coco_ap",
)


FORBIDDEN_DETECTION = ("cnnlab.detection", "cnnlab.course", "cnnlab.widgets", "torch.ops", "torch._C",
                       "torchvision", "scipy", "sklearn.metrics", "pycocotools")


def ref_box_giou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return detection.box_giou(a, b)


def ref_soft_nms(boxes: torch.Tensor, scores: torch.Tensor, sigma: float = 0.5, score_threshold: float = 0.001):
    return detection.soft_nms(boxes, scores, sigma, score_threshold)


def ref_decode_anchors(offsets: torch.Tensor, anchors: torch.Tensor, weights=(1.0, 1.0, 1.0, 1.0), image_size=None):
    return detection.decode_anchors(offsets, anchors, weights, image_size)


def ref_coco_ap(boxes: torch.Tensor, scores: torch.Tensor, gt_boxes: torch.Tensor, gt_crowd: torch.Tensor) -> float:
    return detection.coco_ap(boxes, scores, gt_boxes, gt_crowd)


def _quiet(hint: str, rtol: float = 1e-6, atol: float = 1e-8):
    """Compare like check_array, saying what is wrong without ever stating an expected value."""
    def compare(got: Any, expected: Any, what: str) -> None:
        check_array(got, expected, what=what, rtol=rtol, atol=atol, hint=hint, reveal=False)
    return compare


def _boxes(rng: np.random.Generator, n: int, size: float = 64.0) -> torch.Tensor:
    xy = rng.uniform(0, size * 0.8, (n, 2))
    wh = rng.uniform(2, size * 0.4, (n, 2))
    return torch.from_numpy(np.concatenate([xy, xy + wh], axis=1))


def check_box_giou(box_giou: Callable[..., Any], hidden: bool = False) -> None:
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]], dtype=torch.float64)
    b = torch.tensor([[0.0, 0.0, 2.0, 2.0], [2.0, 2.0, 4.0, 4.0], [5.0, 5.0, 6.0, 6.0]], dtype=torch.float64)
    cases = [Case((a, b), label="same, touching and far-apart boxes")]
    if hidden:
        cases += random_cases(lambda r: (_boxes(r, int(r.integers(1, 9))), _boxes(r, int(r.integers(1, 7)))), 15)
        cases.append(Case((_boxes(np.random.default_rng(2), 5), _boxes(np.random.default_rng(2), 5)), label="same"))
    check_function(box_giou, ref_box_giou, cases, forbidden=DETECTION_REFERENCES, name="box_giou",
                   compare=_quiet("GIoU = IoU - (hull - union) / hull, where the hull is the smallest box "
                                  "enclosing both; disjoint boxes have a negative GIoU"))


def _nms_case(rng: np.random.Generator) -> Case:
    n = int(rng.integers(1, 20))
    centres = _boxes(rng, 3)
    pick = rng.integers(0, 3, n)
    jitter = torch.from_numpy(rng.normal(0, 3, (n, 4)))
    boxes = centres[pick] + jitter
    boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)
    scores = torch.from_numpy(rng.permutation(n) / n + 0.01)
    return Case((boxes, scores), {"sigma": float(rng.choice([0.3, 0.5, 1.0])),
                                  "score_threshold": float(rng.choice([0.001, 0.05, 0.2]))})


def check_soft_nms(soft_nms: Callable[..., Any], hidden: bool = False) -> None:
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 9, 10]], dtype=torch.float64)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95], dtype=torch.float64)
    cases = [Case((boxes, scores), {"sigma": 0.5, "score_threshold": 0.3}, "two clusters")]
    if hidden:
        cases += random_cases(_nms_case, 15)
    check_function(soft_nms, ref_soft_nms, cases, forbidden=DETECTION_REFERENCES, name="soft_nms",
                   output_names=["kept indices", "kept scores"],
                   compare=_quiet("pick the highest current score, decay every other remaining score by "
                                  "exp(-IoU^2 / sigma), drop scores below the threshold, repeat; return indices "
                                  "in the order picked", rtol=1e-9, atol=1e-12))


def _anchor_case(rng: np.random.Generator) -> Case:
    b, a = int(rng.integers(1, 4)), int(rng.integers(1, 9))
    anchors = _boxes(rng, a)
    offsets = torch.from_numpy(rng.normal(0, 0.5, (b, a, 4)))
    weights = tuple(float(w) for w in rng.choice([1.0, 2.0, 5.0, 10.0], 4))
    image_size = None if rng.random() < 0.3 else (float(rng.choice([48, 64])), float(rng.choice([56, 64, 80])))
    return Case((offsets, anchors), {"weights": weights, "image_size": image_size})


def check_decode_anchors(decode_anchors: Callable[..., Any], hidden: bool = False) -> None:
    anchors = torch.tensor([[8.0, 8.0, 24.0, 24.0], [30.0, 10.0, 62.0, 26.0]], dtype=torch.float64)
    offsets = torch.zeros(2, 2, 4, dtype=torch.float64)
    offsets[1, 1] = torch.tensor([1.0, -1.0, 0.5, 0.0])
    cases = [Case((offsets, anchors), {"weights": (10.0, 10.0, 5.0, 5.0), "image_size": (64.0, 64.0)},
                  "two images, two anchors")]
    if hidden:
        cases += random_cases(_anchor_case, 12)
    check_function(decode_anchors, ref_decode_anchors, cases, forbidden=DETECTION_REFERENCES, name="decode_anchors",
                   output_names=["boxes"],
                   compare=_quiet("divide the offsets by the weights, move each anchor's centre by (tx * w, ty * h), "
                                  "scale its size by exp(tw), exp(th), convert to corners and clip to the image "
                                  "when image_size is given"))


def _ap_case(rng: np.random.Generator) -> Case:
    g = int(rng.integers(1, 6))
    gt = _boxes(rng, g)
    crowd = torch.from_numpy(rng.uniform(size=g) < 0.3)
    crowd[int(rng.integers(0, g))] = False  # at least one object that counts
    n = int(rng.integers(1, 15))
    near = gt[rng.integers(0, g, n)] + torch.from_numpy(rng.normal(0, 2.5, (n, 4)))
    far = _boxes(rng, n)
    boxes = torch.where(torch.from_numpy(rng.uniform(size=(n, 1)) < 0.75), near, far)
    boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)
    return Case((boxes, torch.from_numpy(rng.permutation(n) / n + 0.01), gt, crowd))


def check_coco_ap(coco_ap: Callable[..., Any], hidden: bool = False) -> None:
    gt = torch.tensor([[0, 0, 10, 10], [20, 20, 30, 30], [40, 0, 64, 24]], dtype=torch.float64)
    boxes = torch.tensor([[0, 0, 10, 10], [21, 21, 30, 31], [0, 1, 10, 10], [44, 4, 54, 14]], dtype=torch.float64)
    cases = [Case((boxes, torch.tensor([0.9, 0.8, 0.7, 0.6], dtype=torch.float64), gt,
                   torch.tensor([False, False, True])), label="a duplicate and a detection inside a crowd region")]
    if hidden:
        cases += random_cases(_ap_case, 20)
    check_function(coco_ap, ref_coco_ap, cases, forbidden=DETECTION_REFERENCES, name="coco_ap",
                   compare=_quiet("for each threshold t = 0.50, 0.55, ..., 0.95: match by decreasing score, skip "
                                  "detections inside a crowd region, sample the precision envelope at recall "
                                  "k / 100; then average", rtol=1e-9, atol=1e-12))


GRADED_CELLS = {
    "test_box_giou": GradedCheck(check_box_giou, ("box_giou",), FORBIDDEN_DETECTION),
    "test_soft_nms": GradedCheck(check_soft_nms, ("soft_nms",), FORBIDDEN_DETECTION),
    "test_decode_anchors": GradedCheck(check_decode_anchors, ("decode_anchors",), FORBIDDEN_DETECTION),
    "test_coco_ap": GradedCheck(check_coco_ap, ("coco_ap",), FORBIDDEN_DETECTION),
}
