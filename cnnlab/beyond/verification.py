"""Face verification: an embedding network trained with a (batch-hard) triplet loss, pairs of
held-out people, and one-shot recognition from a single photo per person."""
from __future__ import annotations

from typing import TYPE_CHECKING

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.train.inference import infer
from torch.utils.data import Sampler

if TYPE_CHECKING:
    from cnnlab.train import History

__all__ = ["BatchHardTripletLoss", "EmbeddingNet", "IdentityBatchSampler", "embed", "one_shot_accuracy",
           "pair_distances", "train_embedding", "verification_pairs"]


class EmbeddingNet(nn.Module):
    """A small CNN mapping a (3, 32, 32) face to a unit-length ``dim``-vector."""

    def __init__(self, dim: int = 32, in_channels: int = 3, width: int = 16):
        super().__init__()
        w = width

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.MaxPool2d(2)]

        self.features = nn.Sequential(*block(in_channels, w), *block(w, 2 * w), *block(2 * w, 4 * w),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.project = nn.Linear(4 * w, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.project(self.features(x)), dim=1)


class BatchHardTripletLoss(nn.Module):
    """Triplet loss on a batch of labeled embeddings: each anchor is paired with its farthest
    positive and its closest negative in the batch ("batch hard", Hermans et al. 2017).

    Called as ``loss(embeddings, labels)``, so it plugs into ``cnnlab.train.fit`` as ``loss_fn``.
    """

    def __init__(self, margin: float = 0.2):
        super().__init__()
        self.margin = margin

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        d = torch.cdist(emb, emb).pow(2)
        same = labels[:, None] == labels[None, :]
        eye = torch.eye(len(labels), dtype=torch.bool, device=emb.device)
        if not (same & ~eye).any(1).all():
            raise ValueError("every anchor needs a positive in its batch: sample several photos per identity "
                             "(IdentityBatchSampler)")
        hardest_pos = d.masked_fill(~same | eye, float("-inf")).amax(1)
        hardest_neg = d.masked_fill(same, float("inf")).amin(1)
        return torch.relu(hardest_pos - hardest_neg + self.margin).mean()


class IdentityBatchSampler(Sampler[list[int]]):
    """Batches of ``per_batch`` identities x ``per_identity`` photos (the "PK" sampling triplet losses need)."""

    def __init__(self, labels: torch.Tensor, per_batch: int = 8, per_identity: int = 4, seed: int = 0):
        self.labels = np.asarray(labels)
        self.groups = {int(c): np.flatnonzero(self.labels == c) for c in np.unique(self.labels)}
        if per_batch > len(self.groups) or min(len(g) for g in self.groups.values()) < per_identity:
            raise ValueError("not enough identities or photos per identity for this batch layout")
        self.per_batch, self.per_identity = per_batch, per_identity
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.labels) // (self.per_batch * self.per_identity)

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng(int(torch.randint(0, 2 ** 31, (1,), generator=self.generator)))
        ids = np.array(list(self.groups))
        for _ in range(len(self)):
            chosen = rng.choice(ids, self.per_batch, replace=False)
            yield [int(i) for c in chosen for i in rng.choice(self.groups[int(c)], self.per_identity, replace=False)]


def embed(model: nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Embeddings (N, dim) of ``images`` (eval mode, on the model's device, returned on the CPU)."""
    return infer(model, images, batch_size=batch_size)


def verification_pairs(labels: torch.Tensor, n_pairs: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n_pairs`` index pairs (n, 2), half of the same identity, half of different ones, and the same flags."""
    lab = np.asarray(labels)
    rng = np.random.default_rng(seed)
    pairs, same = [], []
    while len(pairs) < n_pairs:
        want_same = len(pairs) % 2 == 0
        i = int(rng.integers(len(lab)))
        pool = np.flatnonzero((lab == lab[i]) if want_same else (lab != lab[i]))
        pool = pool[pool != i]
        if len(pool) == 0:
            continue
        pairs.append((i, int(rng.choice(pool))))
        same.append(want_same)
    return np.array(pairs), np.array(same)


def pair_distances(embeddings: torch.Tensor, pairs: np.ndarray) -> np.ndarray:
    """Euclidean distance between the two embeddings of each pair."""
    e = embeddings.numpy() if isinstance(embeddings, torch.Tensor) else np.asarray(embeddings)
    return np.linalg.norm(e[pairs[:, 0]] - e[pairs[:, 1]], axis=1)


def one_shot_accuracy(embeddings: torch.Tensor, labels: torch.Tensor, seed: int = 0) -> float:
    """One photo per identity is the gallery; every other photo is named after its nearest gallery photo."""
    lab = np.asarray(labels)
    rng = np.random.default_rng(seed)
    gallery = np.array([rng.choice(np.flatnonzero(lab == c)) for c in np.unique(lab)])
    queries = np.setdiff1d(np.arange(len(lab)), gallery)
    e = torch.as_tensor(embeddings)
    nearest = torch.cdist(e[queries], e[gallery]).argmin(1).numpy()
    return float((lab[gallery][nearest] == lab[queries]).mean())


def train_embedding(images: torch.Tensor, labels: torch.Tensor, epochs: int = 14, margin: float = 0.2,
                    lr: float = 3e-3, per_batch: int = 16, per_identity: int = 4, seed: int = 0,
                    device: torch.device | str | None = None) -> tuple[EmbeddingNet, History]:
    """Train an ``EmbeddingNet`` with the batch-hard triplet loss (``cnnlab.train.fit``); return (model, history).

    The learning rate follows a one-cycle schedule (warm up to ``lr``, then anneal, stepped per batch):
    on lecture 08's 60 people, 14 epochs verify strangers' pairs as well as 20 epochs at a constant 3e-3 did.
    """
    from torch.utils.data import DataLoader, TensorDataset

    from cnnlab.train import fit, one_cycle

    torch.manual_seed(seed)
    model = EmbeddingNet(in_channels=images.shape[1])
    loader = DataLoader(TensorDataset(images, labels),
                        batch_sampler=IdentityBatchSampler(labels, per_batch, per_identity, seed))
    history = fit(model, loader, epochs=epochs, lr=lr, loss_fn=BatchHardTripletLoss(margin), seed=seed,
                  device=device, progress=False, scheduler_interval="step",
                  scheduler=one_cycle(lr, epochs * len(loader)))
    return model, history
