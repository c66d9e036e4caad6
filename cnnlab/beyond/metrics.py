"""Metrics and losses of lecture 08: mIoU, pixel accuracy, ROC and best-threshold accuracy,
PCK, BLEU, the Gram matrix, and the triplet and contrastive losses."""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["best_threshold_accuracy", "bleu", "confusion_counts", "contrastive_loss", "gram_matrix",
           "mean_iou", "modified_precision", "pck", "pixel_accuracy", "roc_points", "triplet_loss"]


def _as_labels(x, name: str) -> np.ndarray:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class labels, got dtype {arr.dtype} (take argmax over classes first)")
    return arr


def confusion_counts(pred, target, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) pixel counts, rows = true class, columns = predicted class."""
    p, t = _as_labels(pred, "pred"), _as_labels(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred and target must have the same shape, got {p.shape} and {t.shape}")
    if p.size and (min(p.min(), t.min()) < 0 or max(p.max(), t.max()) >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}")
    return np.bincount(t.ravel() * num_classes + p.ravel(), minlength=num_classes ** 2).reshape(num_classes, num_classes)


def pixel_accuracy(pred, target) -> float:
    """Fraction of pixels whose predicted class is right."""
    p, t = _as_labels(pred, "pred"), _as_labels(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"pred and target must have the same shape, got {p.shape} and {t.shape}")
    return float((p == t).mean())


def mean_iou(pred, target, num_classes: int) -> float:
    """Mean over classes of |pred ∩ true| / |pred ∪ true|; classes absent from both are skipped."""
    cm = confusion_counts(pred, target, num_classes)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    present = union > 0
    return float((inter[present] / union[present]).mean())


def roc_points(scores, same) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC of "same person if score <= t" (scores are distances): false and true positive rates and thresholds."""
    s = np.asarray(scores, dtype=float).ravel()
    y = np.asarray(same, dtype=bool).ravel()
    if s.shape != y.shape or not y.any() or y.all():
        raise ValueError("need one score per pair and both same and different pairs")
    thresholds = np.concatenate([[-np.inf], np.unique(s)])
    accept = s[None, :] <= thresholds[:, None]
    tpr = (accept & y).sum(1) / y.sum()
    fpr = (accept & ~y).sum(1) / (~y).sum()
    return fpr, tpr, thresholds


def best_threshold_accuracy(scores, same) -> tuple[float, float]:
    """(accuracy, threshold) of the distance threshold that classifies the pairs best."""
    s = np.asarray(scores, dtype=float).ravel()
    y = np.asarray(same, dtype=bool).ravel()
    _, _, thresholds = roc_points(s, y)
    acc = ((s[None, :] <= thresholds[:, None]) == y).mean(1)
    best = int(acc.argmax())
    return float(acc[best]), float(thresholds[best])


def pck(pred, target, scale, alpha: float = 0.1) -> float:
    """Percentage of Correct Keypoints: fraction with error <= ``alpha`` x the figure's ``scale``.

    ``pred`` and ``target`` are (N, K, 2) positions, ``scale`` is (N,) (e.g. the figure's size).
    """
    p, t = torch.as_tensor(pred, dtype=torch.float32), torch.as_tensor(target, dtype=torch.float32)
    sc = torch.as_tensor(scale, dtype=torch.float32)
    if p.shape != t.shape or p.dim() != 3 or p.shape[-1] != 2:
        raise ValueError(f"pred and target must both be (N, K, 2), got {tuple(p.shape)} and {tuple(t.shape)}")
    if sc.shape != (p.shape[0],):
        raise ValueError(f"scale must be (N,) = ({p.shape[0]},), got {tuple(sc.shape)}")
    err = (p - t).norm(dim=-1)
    return float((err <= alpha * sc[:, None]).float().mean())


def _ngrams(words: Sequence[str], n: int) -> Counter:
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def modified_precision(candidate: Sequence[str], references: Sequence[Sequence[str]], n: int) -> tuple[int, int]:
    """(clipped matches, candidate n-grams): each n-gram counts at most as often as in one reference."""
    cand = _ngrams(candidate, n)
    most = Counter()
    for ref in references:
        for gram, c in _ngrams(ref, n).items():
            most[gram] = max(most[gram], c)
    return sum(min(c, most[g]) for g, c in cand.items()), sum(cand.values())


def bleu(candidates: Sequence[Sequence[str] | str], references: Sequence[Sequence[Sequence[str] | str]],
         max_n: int = 4) -> float:
    """Corpus BLEU (Papineni et al., 2002): geometric mean of modified n-gram precisions x brevity penalty.

    ``candidates[i]`` is a sentence (string or word list), ``references[i]`` its list of references.
    """
    if len(candidates) != len(references) or not candidates:
        raise ValueError("need one list of references per candidate, and at least one candidate")
    split = lambda s: s.split() if isinstance(s, str) else list(s)  # noqa: E731
    matches, totals = np.zeros(max_n), np.zeros(max_n)
    cand_len = ref_len = 0
    for cand, refs in zip(candidates, references):
        c, rs = split(cand), [split(r) for r in refs]
        for n in range(1, max_n + 1):
            m, t = modified_precision(c, rs, n)
            matches[n - 1] += m
            totals[n - 1] += t
        cand_len += len(c)
        ref_len += min((abs(len(r) - len(c)), len(r)) for r in rs)[1]  # closest reference length
    if matches.min() == 0:
        return 0.0
    log_p = np.log(matches / totals).mean()
    bp = 1.0 if cand_len > ref_len else math.exp(1 - ref_len / max(cand_len, 1))
    return float(bp * math.exp(log_p))


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N, C, C) Gram matrices of (N, C, H, W) feature maps, divided by C*H*W."""
    if features.dim() != 4:
        raise ValueError(f"features must be (N, C, H, W), got shape {tuple(features.shape)}")
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def triplet_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                 margin: float = 0.2) -> torch.Tensor:
    """mean(max(0, |a - p|^2 - |a - n|^2 + margin)) with squared Euclidean distances (FaceNet)."""
    d_pos = (anchor - positive).pow(2).sum(-1)
    d_neg = (anchor - negative).pow(2).sum(-1)
    return torch.relu(d_pos - d_neg + margin).mean()


def contrastive_loss(a: torch.Tensor, b: torch.Tensor, same: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Siamese loss: same pairs pay d^2, different pairs pay max(0, margin - d)^2 (d Euclidean)."""
    d = (a - b).norm(dim=-1)
    same = same.float()
    return (same * d.pow(2) + (1 - same) * torch.relu(margin - d).pow(2)).mean()
