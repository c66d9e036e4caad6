"""Every matplotlib figure the course draws, one topic module each (matplotlib is imported on first use).

* ``training`` – a run's history, several seeds' curves with their spread, confusion matrix, misclassified examples, filters and feature maps;
* ``architectures`` – the zoo's parameters against multiply-adds, ILSVRC's error by year;
* ``explain`` – attribution maps next to their images, accuracy against ε, adversarial examples, feature visualisations;
* ``detection`` – boxes with class names and scores over an image (``show_detections``), and the
  numpy box painter the detection widgets share (``paint_boxes``).

The widgets render their live pictures without matplotlib (``cnnlab.widgets._render``).
"""
from __future__ import annotations

from .architectures import plot_ilsvrc_history, plot_zoo
from .detection import CLASS_COLOURS, as_hwc, paint_boxes, show_detections
from .explain import (plot_accuracy_vs_epsilon, plot_adversarial_example, plot_explanations,
                      plot_feature_visualizations)
from .training import (plot_confusion_matrix, plot_feature_maps, plot_filters, plot_history, plot_misclassified,
                       plot_runs)

__all__ = [
    "plot_history", "plot_confusion_matrix", "plot_misclassified", "plot_filters", "plot_feature_maps", "plot_runs",
    "plot_zoo", "plot_ilsvrc_history", "CLASS_COLOURS", "as_hwc", "paint_boxes", "show_detections",
    "plot_explanations", "plot_accuracy_vs_epsilon", "plot_adversarial_example", "plot_feature_visualizations",
]
