"""Localization and object detection: boxes, IoU, NMS, anchors, YOLO-style grids and mAP.

Every function accepts torch tensors or numpy arrays (and returns the kind it was given,
except where a docstring says otherwise). Boxes are ``(N, 4)`` in ``"xyxy"`` pixels unless a
``fmt`` argument says otherwise. Models and training loops live in ``models`` and ``train``
and are imported on demand (``from cnnlab.detection.models import GridDetector``).
"""
from __future__ import annotations

from .anchors import decode_offsets, encode_offsets, make_anchors, match_anchors
from .boxes import BOX_FORMATS, box_area, box_convert, check_boxes, clip_boxes
from .grid import decode_grid, encode_grid
from .iou import box_intersection, box_iou
from .metrics import (COCO_IOU_THRESHOLDS, average_precision, evaluate_detections, match_detections,
                      mean_average_precision, precision_recall_curve)
from .suppression import batched_nms, nms, nms_steps

__all__ = [
    "BOX_FORMATS", "COCO_IOU_THRESHOLDS", "average_precision", "batched_nms", "box_area", "box_convert",
    "box_intersection", "box_iou", "check_boxes", "clip_boxes", "decode_grid", "decode_offsets", "encode_grid",
    "encode_offsets", "evaluate_detections", "make_anchors", "match_anchors", "match_detections",
    "mean_average_precision", "nms", "nms_steps", "precision_recall_curve",
]
