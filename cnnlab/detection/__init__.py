"""Localization and object detection: boxes, IoU, NMS, anchors, YOLO-style grids and mAP.

Assignment 3 asks students to write an IoU matrix, greedy NMS, grid decoding and AP from
scores; the helpers here have other names and APIs (numpy or torch in, class-aware NMS,
several grid encodings, AP from a precision/recall curve by three rules) and serve the
lectures, widgets and detectors.

Every function accepts torch tensors or numpy arrays (and returns the kind it was given,
except where a docstring says otherwise). Boxes are ``(N, 4)`` in ``"xyxy"`` pixels unless a
``fmt`` argument says otherwise. Models and training loops live in ``models`` and ``train``
and are imported on demand (``from cnnlab.detection.models import GridDetector``).
"""
from __future__ import annotations

from .anchors import decode_offsets, encode_offsets, make_anchors, match_anchors
from .boxes import BOX_FORMATS, box_area, box_convert, check_boxes, clip_boxes
from .grid import encode_grid, grid_to_boxes
from .iou import box_intersection, pairwise_iou
from .metrics import (COCO_IOU_THRESHOLDS, ap_from_curve, evaluate_detections, match_detections,
                      mean_average_precision, precision_recall_curve)
from .suppression import batched_nms, nms_steps

__all__ = [
    "BOX_FORMATS", "COCO_IOU_THRESHOLDS", "ap_from_curve", "batched_nms", "box_area", "box_convert",
    "box_intersection", "check_boxes", "clip_boxes", "decode_offsets", "encode_grid", "encode_offsets",
    "evaluate_detections", "grid_to_boxes", "make_anchors", "match_anchors", "match_detections",
    "mean_average_precision", "nms_steps", "pairwise_iou", "precision_recall_curve",
]
