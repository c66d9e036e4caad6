"""A DCGAN on the 16x16 digits: a generator of transposed convolutions against a convolutional
discriminator, and a Fréchet distance in a digit classifier's feature space to measure it."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.train.inference import eval_mode
from cnnlab.train.loop import cpu_threads_limited

__all__ = ["DigitFeatures", "Discriminator", "GANResult", "Generator", "feature_distance", "frechet_distance",
           "nearest_neighbour_distance", "train_digit_features", "train_gan"]


class Generator(nn.Module):
    """Noise (N, z_dim) -> image (N, 1, 16, 16) in [-1, 1]: linear to 4x4, then two transposed convs."""

    def __init__(self, z_dim: int = 32, width: int = 32):
        super().__init__()
        self.z_dim, w = z_dim, width
        self.fc = nn.Sequential(nn.Linear(z_dim, 2 * w * 16), nn.BatchNorm1d(2 * w * 16), nn.ReLU())
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1), nn.BatchNorm2d(w), nn.ReLU(),   # 4 -> 8
            nn.ConvTranspose2d(w, 1, 4, stride=2, padding=1), nn.Tanh())                            # 8 -> 16

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.up(self.fc(z).view(z.shape[0], -1, 4, 4))

    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` images in [0, 1] (eval mode, no gradients), from seeded noise when ``seed`` is given."""
        dev = next(self.parameters()).device
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        z = torch.randn(n, self.z_dim, generator=g).to(dev)
        with eval_mode(self):
            return ((self(z) + 1) / 2).cpu()


class Discriminator(nn.Module):
    """Image (N, 1, 16, 16) -> one real-vs-fake score (a logit) per image: two strided convs."""

    def __init__(self, width: int = 32):
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(1, w, 4, stride=2, padding=1), nn.LeakyReLU(0.2),                          # 16 -> 8
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),  # 8 -> 4
            nn.Flatten(), nn.Linear(2 * w * 16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


@dataclass
class GANResult:
    """Per-step losses of both players, fixed-noise samples at some epochs, and the time taken."""

    g_loss: list[float] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)   # epoch -> (n, 1, 16, 16) in [0, 1]
    seconds: float = 0.0


def train_gan(generator: Generator, discriminator: Discriminator, images: torch.Tensor, epochs: int = 40,
              batch_size: int = 64, lr: float = 2e-4, seed: int = 0, snapshot_epochs: tuple[int, ...] = (),
              device: torch.device | str | None = None) -> GANResult:
    """Alternate one discriminator step (real -> 1, fake -> 0) and one generator step (fake -> 1).

    ``images`` are (N, 1, 16, 16) in [0, 1]. Uses Adam with beta1 = 0.5, as the DCGAN paper.
    """
    import cnnlab

    if images.dim() != 4 or images.shape[1:] != (1, 16, 16):
        raise ValueError(f"images must be (N, 1, 16, 16) in [0, 1], got {tuple(images.shape)}")
    dev = torch.device(device) if device is not None else cnnlab.device()
    torch.manual_seed(seed)
    generator.to(dev).train()
    discriminator.to(dev).train()
    real_all = (images * 2 - 1).to(dev)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    result = GANResult()
    if 0 in snapshot_epochs:
        result.snapshots[0] = generator.sample(16, seed=seed)
    t0 = time.perf_counter()
    with cpu_threads_limited(dev, 1):     # tiny tensors: one thread is fastest (see cnnlab.train.fit)
        _epochs(generator, discriminator, real_all, opt_g, opt_d, epochs, batch_size, seed, snapshot_epochs, result)
    result.seconds = time.perf_counter() - t0
    return result


def _epochs(generator, discriminator, real_all, opt_g, opt_d, epochs, batch_size, seed, snapshot_epochs,
            result) -> None:
    dev = real_all.device
    for epoch in range(1, epochs + 1):
        for idx in torch.randperm(len(real_all)).split(batch_size):
            real = real_all[idx.to(dev)]
            fake = generator(torch.randn(len(real), generator.z_dim, device=dev))
            ones, zeros = torch.ones(len(real), device=dev), torch.zeros(len(real), device=dev)
            d_loss = (F.binary_cross_entropy_with_logits(discriminator(real), ones)
                      + F.binary_cross_entropy_with_logits(discriminator(fake.detach()), zeros))
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = F.binary_cross_entropy_with_logits(discriminator(fake), ones)   # "fool the critic"
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            result.g_loss.append(g_loss.item())
            result.d_loss.append(d_loss.item())
        if epoch in snapshot_epochs:
            result.snapshots[epoch] = generator.sample(16, seed=seed)


class DigitFeatures(nn.Module):
    """A small digit classifier (16x16 input); ``features(x)`` is its 64-d penultimate layer."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                  nn.Linear(32 * 16, 64), nn.ReLU())
        self.head = nn.Linear(64, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def train_digit_features(epochs: int = 15, seed: int = 0,
                         device: torch.device | str | None = None) -> tuple[DigitFeatures, float]:
    """Train ``DigitFeatures`` on the digits' training split; return it (eval mode) and its test accuracy."""
    from torch.utils.data import DataLoader, TensorDataset

    from cnnlab.data.digits import load_digits_tensors
    from cnnlab.train import evaluate, fit

    torch.manual_seed(seed)
    net = DigitFeatures()
    x, y = load_digits_tensors("train", 16)
    xt, yt = load_digits_tensors("test", 16)
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(seed))
    fit(net, loader, epochs=epochs, lr=3e-3, seed=seed, device=device, progress=False)
    acc = evaluate(net, [(xt, yt)])["accuracy"]
    return net.eval().requires_grad_(False), acc


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (rows are samples):
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)), the formula behind FID."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two (n, d) feature arrays with the same d and n >= 2, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    eye = np.eye(a.shape[1]) * 1e-6          # dead ReLU units make a covariance singular; nudge it
    s_a, s_b = np.cov(a, rowvar=False) + eye, np.cov(b, rowvar=False) + eye
    # tr((S_a S_b)^(1/2)) = tr((S_a^(1/2) S_b S_a^(1/2))^(1/2)): a symmetric matrix, so eigvalsh is enough
    w, v = np.linalg.eigh(s_a)
    half = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh(half @ s_b @ half), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a) + np.trace(s_b) - 2 * trace_root)


@torch.no_grad()
def feature_distance(classifier: DigitFeatures, images_a: torch.Tensor, images_b: torch.Tensor) -> float:
    """Fréchet distance between two sets of 16x16 digit images in ``classifier``'s feature space."""
    dev = next(classifier.parameters()).device
    fa = classifier.features(images_a.to(dev)).cpu().numpy()
    fb = classifier.features(images_b.to(dev)).cpu().numpy()
    return frechet_distance(fa, fb)


def nearest_neighbour_distance(images: torch.Tensor) -> float:
    """Mean Euclidean distance (over the pixels) from each image to the closest OTHER image of the set.

    A generator that collapses onto a few modes makes near-copies, so its samples sit much closer to
    each other than as many real images do.

    Args:
        images (Tensor[N, ...]): at least two images of one size.
    """
    if images.dim() < 2 or len(images) < 2:
        raise ValueError(f"need at least two images, got shape {tuple(images.shape)}")
    flat = images.reshape(len(images), -1).double()
    d = torch.cdist(flat, flat)
    d.fill_diagonal_(float("inf"))
    return float(d.min(1).values.mean())
