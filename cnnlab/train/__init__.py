"""Training and evaluating networks: the loop, checkpoints and transfer-learning helpers.

``fit(model, train_loader, val_loader, epochs=...)`` returns a ``History`` (per-epoch
lists); ``evaluate`` returns loss and accuracy; ``predict`` the labels and predictions
a confusion matrix needs; ``infer`` runs any model over a tensor in batches in eval mode
(``eval_mode`` is its context manager, restoring the previous mode). Their plots live in
``cnnlab.plots``.
"""
from __future__ import annotations

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .inference import eval_mode, infer
from .loop import History, evaluate, fit, one_cycle, predict
from .transfer import freeze, replace_head, trainable_parameters, unfreeze

__all__ = [
    "History", "fit", "one_cycle", "evaluate", "predict", "eval_mode", "infer",
    "CheckpointError", "save_checkpoint", "load_checkpoint",
    "freeze", "unfreeze", "replace_head", "trainable_parameters",
]
