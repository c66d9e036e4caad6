"""Checks of assignment 3, detection essentials (PyTorch): IoU matrix, greedy NMS, grid decoding, AP.

References: ``cnnlab.course.reference.detection`` (written by definition, with loops; students'
``cnnlab.detection`` has the same ideas under other names and APIs). Inputs are float64
tensors; on a CUDA machine the in-kernel checks run again on the GPU.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from cnnlab.course.reference import detection

from .functions import Case, check_function, random_cases
from .spec import GradedCheck

DETECTION_REFERENCES = (
    "cnnlab.detection.pairwise_iou", "cnnlab.detection.iou.pairwise_iou", "cnnlab.detection.iou.box_intersection",
    "cnnlab.detection.batched_nms", "cnnlab.detection.suppression.batched_nms", "cnnlab.detection.nms_steps",
    "cnnlab.detection.grid_to_boxes", "cnnlab.detection.grid.grid_to_boxes",
    "cnnlab.detection.ap_from_curve", "cnnlab.detection.metrics.ap_from_curve",
    "cnnlab.detection.metrics.precision_recall_curve", "cnnlab.detection.metrics.match_detections",
    "cnnlab.course.reference.detection.box_iou", "cnnlab.course.reference.detection.nms",
    "cnnlab.course.reference.detection.decode_grid", "cnnlab.course.reference.detection.average_precision",
)


FORBIDDEN_DETECTION = ("cnnlab.detection", "cnnlab.course", "cnnlab.widgets", "torch.ops", "torch._C",
                       "torchvision", "scipy", "sklearn.metrics")


def ref_box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return detection.box_iou(a, b)


def ref_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    return detection.nms(boxes, scores, iou_threshold)


def ref_decode_grid(grid: torch.Tensor, image_size: int, score_threshold: float = 0.0):
    return detection.decode_grid(grid, image_size, score_threshold=score_threshold)


def ref_average_precision(scores: torch.Tensor, is_tp: torch.Tensor, num_gt: int) -> float:
    return detection.average_precision(scores, is_tp, num_gt)


def _boxes(rng: np.random.Generator, n: int, size: float = 64.0) -> torch.Tensor:
    xy = rng.uniform(0, size * 0.8, (n, 2))
    wh = rng.uniform(2, size * 0.4, (n, 2))
    return torch.from_numpy(np.concatenate([xy, xy + wh], axis=1))


def check_box_iou(box_iou: Callable[..., Any], hidden: bool = False) -> None:
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]], dtype=torch.float64)
    b = torch.tensor([[0.0, 0.0, 2.0, 2.0], [2.0, 2.0, 4.0, 4.0], [5.0, 5.0, 6.0, 6.0]], dtype=torch.float64)
    cases = [Case((a, b), label="touching and disjoint boxes")]
    if hidden:
        cases += random_cases(lambda r: (_boxes(r, int(r.integers(1, 9))), _boxes(r, int(r.integers(1, 7)))), 15)
        cases.append(Case((_boxes(np.random.default_rng(2), 5), _boxes(np.random.default_rng(2), 5)), label="same"))
    check_function(box_iou, ref_box_iou, cases, forbidden=DETECTION_REFERENCES, name="box_iou",
                   hint="IoU = intersection / (area a + area b - intersection); clamp negative overlaps to 0")


def _nms_case(rng: np.random.Generator) -> Case:
    n = int(rng.integers(1, 25))
    centres = _boxes(rng, 3)
    pick = rng.integers(0, 3, n)
    jitter = torch.from_numpy(rng.normal(0, 3, (n, 4)))
    boxes = centres[pick] + jitter
    boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)
    scores = torch.from_numpy(rng.permutation(n) / n + 0.01)
    return Case((boxes, scores, float(rng.choice([0.3, 0.5, 0.7]))))


def check_nms(nms: Callable[..., Any], hidden: bool = False) -> None:
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 9, 10]], dtype=torch.float64)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95], dtype=torch.float64)
    cases = [Case((boxes, scores, 0.5), label="two clusters")]
    if hidden:
        cases += random_cases(_nms_case, 15)
    check_function(nms, ref_nms, cases, forbidden=DETECTION_REFERENCES, name="nms", output_names=["kept indices"],
                   hint="keep the highest-scoring box, drop every box whose IoU with it is > the threshold, repeat; "
                        "return indices into the original arrays, by decreasing score")


def _grid_case(rng: np.random.Generator) -> Case:
    s = int(rng.integers(2, 6))
    c = int(rng.integers(1, 4))
    grid = torch.from_numpy(rng.uniform(0, 1, (s, s, 5 + c)))
    size = int(rng.choice([32, 48, 64]))
    return Case((grid, size), {"score_threshold": float(rng.choice([0.0, 0.2, 0.5]))})


def check_decode_grid(decode_grid: Callable[..., Any], hidden: bool = False) -> None:
    grid = torch.zeros(2, 2, 7, dtype=torch.float64)
    grid[0, 1] = torch.tensor([0.9, 0.5, 0.5, 0.5, 0.25, 0.1, 0.9])  # one object in the top-right cell
    cases = [Case((grid, 64), {"score_threshold": 0.1}, "one object")]
    if hidden:
        cases += random_cases(_grid_case, 12)
    check_function(decode_grid, ref_decode_grid, cases, forbidden=DETECTION_REFERENCES, name="decode_grid",
                   output_names=["boxes", "scores", "labels"])


def _ap_case(rng: np.random.Generator) -> Case:
    n = int(rng.integers(1, 30))
    is_tp = torch.from_numpy(rng.uniform(size=n) < 0.6)
    num_gt = int(is_tp.sum()) + int(rng.integers(0, 4))
    return Case((torch.from_numpy(rng.permutation(n) / n), is_tp, max(num_gt, 1)))


def check_average_precision(average_precision: Callable[..., Any], hidden: bool = False) -> None:
    cases = [Case((torch.tensor([0.9, 0.8, 0.7, 0.6], dtype=torch.float64), torch.tensor([True, False, True, True]), 4),
                  label="four detections")]
    if hidden:
        cases += random_cases(_ap_case, 20)
    check_function(average_precision, ref_average_precision, cases, forbidden=DETECTION_REFERENCES,
                   name="average_precision",
                   hint="rank by score, accumulate precision and recall, take the precision envelope, sum over recall steps")


GRADED_CELLS = {
    "test_box_iou": GradedCheck(check_box_iou, ("box_iou",), FORBIDDEN_DETECTION),
    "test_nms": GradedCheck(check_nms, ("nms",), FORBIDDEN_DETECTION),
    "test_decode_grid": GradedCheck(check_decode_grid, ("decode_grid",), FORBIDDEN_DETECTION),
    "test_average_precision": GradedCheck(check_average_precision, ("average_precision",), FORBIDDEN_DETECTION),
}
