"""Instructor only: reference solutions of the graded assignment functions.

Nothing here ships to students (the student kit is ``cnnlab`` without ``cnnlab.course``; see
docs/audiences.md). The grading checks compare a student's answer with these references or
with independent ones (PyTorch's operators, finite differences, counting).

* assignment 1 (``a1_conv_from_scratch``): :mod:`.sizes` (output shape of a dilated, strided
  convolution; the padding for a target output size),
  :mod:`.conv_naive` (loops, forward and backward), :mod:`.conv_fast` (im2col),
  :mod:`.pooling` (max/average pooling, forward and backward);
* assignment 2 (``a2_blocks_and_budget``): :mod:`.blocks` (pre-activation unit, CBAM, shuffle
  convolution, with the attribute names the assignment fixes);
* assignment 3 (``a3_detection``): :mod:`.detection` (GIoU matrix, soft-NMS, batched anchor
  decoding, COCO-style AP with crowd regions).
"""
from __future__ import annotations

import importlib
from typing import Any

from .conv_fast import conv2d_fast, conv2d_fast_backward, conv2d_fast_forward, im2col
from .conv_naive import conv2d_naive, conv2d_naive_backward, conv2d_naive_forward
from .pooling import avg_pool_backward, avg_pool_forward, max_pool_backward, max_pool_forward
from .sizes import count_window_positions, same_padding_by_search

# Assignments 2 and 3 (PyTorch) load on first use, so that grading assignment 1 never imports torch.
_TORCH_REFERENCES = {"CBAM": ".blocks", "PreActUnit": ".blocks", "ShuffleConv": ".blocks",
                     "box_giou": ".detection", "coco_ap": ".detection", "decode_anchors": ".detection",
                     "soft_nms": ".detection"}


def __getattr__(name: str) -> Any:
    if name in _TORCH_REFERENCES:
        return getattr(importlib.import_module(_TORCH_REFERENCES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "avg_pool_backward",
    "avg_pool_forward",
    "box_giou",
    "CBAM",
    "coco_ap",
    "conv2d_fast",
    "conv2d_fast_backward",
    "conv2d_fast_forward",
    "conv2d_naive",
    "conv2d_naive_backward",
    "conv2d_naive_forward",
    "count_window_positions",
    "decode_anchors",
    "im2col",
    "max_pool_backward",
    "max_pool_forward",
    "same_padding_by_search",
    "PreActUnit",
    "ShuffleConv",
    "soft_nms",
]
