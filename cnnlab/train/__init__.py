"""Training and evaluating classifiers: the loop, checkpoints, transfer-learning helpers and plots.

``fit(model, train_loader, val_loader, epochs=...)`` returns a ``History`` (per-epoch
lists); ``evaluate`` returns loss and accuracy; ``predict`` the labels and predictions
a confusion matrix needs. Plots live in ``cnnlab.train.plots``.
"""
from __future__ import annotations

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .loop import History, evaluate, fit, predict
from .plots import plot_confusion_matrix, plot_feature_maps, plot_filters, plot_history, plot_misclassified
from .transfer import freeze, replace_head, trainable_parameters, unfreeze

__all__ = [
    "History", "fit", "evaluate", "predict",
    "CheckpointError", "save_checkpoint", "load_checkpoint",
    "freeze", "unfreeze", "replace_head", "trainable_parameters",
    "plot_history", "plot_confusion_matrix", "plot_misclassified", "plot_filters", "plot_feature_maps",
]
