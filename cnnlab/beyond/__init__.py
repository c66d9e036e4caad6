"""Lecture 08, beyond detection: segmentation, face verification, style transfer, a GAN, pose
estimation and captioning, each small enough to train on a laptop CPU in about a minute.

One module per task (``segmentation``, ``verification``, ``style``, ``gan``, ``pose``,
``captioning``), the metrics and losses they share in ``metrics``, and their plots in ``plots``.
"""
from __future__ import annotations

from .metrics import (best_threshold_accuracy, bleu, confusion_counts, contrastive_loss, gram_matrix, mean_iou,
                      modified_precision, pck, pixel_accuracy, roc_points, triplet_loss)

__all__ = ["best_threshold_accuracy", "bleu", "confusion_counts", "contrastive_loss", "gram_matrix", "mean_iou",
           "modified_precision", "pck", "pixel_accuracy", "roc_points", "triplet_loss"]
