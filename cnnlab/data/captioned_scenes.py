"""Seeded two-shape scenes with one generated sentence each, for image captioning.

A scene holds two shapes of different colors; its caption names them and how they lie,
e.g. "a red circle left of a blue square" or "a green cross above a yellow triangle". One
rule makes the caption unique: when the shapes are further apart across than up and down,
the left one is named first with "left of", otherwise the upper one first with "above"
(scenes close to the diagonal are redrawn). Nothing is downloaded.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from .shapes import COLOURS, SHAPE_CLASSES, shape_mask
from ._streams import split_rng

__all__ = ["CAPTION_COLORS", "CaptionedScenes", "Vocabulary", "make_captioned_scene"]

CAPTION_COLORS = ("red", "green", "blue", "yellow")


class Vocabulary:
    """Words <-> integer tokens; token 0 is ``<pad>`` and 1 is ``<end>``."""

    PAD, END = 0, 1

    def __init__(self, words: list[str]):
        self.words = ["<pad>", "<end>", *words]
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, sentence: str, length: int) -> list[int]:
        """Tokens of ``sentence`` then ``<end>``, padded with ``<pad>`` to ``length``."""
        unknown = [w for w in sentence.split() if w not in self.index]
        if unknown:
            raise ValueError(f"words {unknown} are not in the vocabulary {self.words}")
        tokens = [self.index[w] for w in sentence.split()] + [self.END]
        if len(tokens) > length:
            raise ValueError(f"sentence of {len(tokens)} tokens (with <end>) does not fit in length {length}")
        return tokens + [self.PAD] * (length - len(tokens))

    def decode(self, tokens) -> str:
        """The words before the first ``<end>`` (``<pad>`` skipped)."""
        words = []
        for t in (int(t) for t in tokens):
            if t == self.END:
                break
            if t != self.PAD:
                words.append(self.words[t])
        return " ".join(words)


VOCAB = Vocabulary(["a", *CAPTION_COLORS, *SHAPE_CLASSES, "left", "of", "above"])
MAX_TOKENS = 10  # "a red circle left of a blue square" has 8 words, + <end>


def make_captioned_scene(rng: np.random.Generator, size: int = 32, min_size: float = 9,
                         max_size: float = 13) -> tuple[np.ndarray, str]:
    """One image (size, size, 3) float32 in [0, 1] and its caption."""
    for _ in range(1000):
        s = rng.uniform(min_size, max_size, 2)
        centers = np.stack([rng.uniform(s[i] / 2 + 1, size - s[i] / 2 - 1, 2) for i in range(2)])
        dx, dy = np.abs(centers[0] - centers[1])
        gap_x, gap_y = dx - s.sum() / 2, dy - s.sum() / 2
        if max(gap_x, gap_y) < 1.5 or max(dx, dy) < 1.5 * min(dx, dy) + 2:
            continue                                  # overlapping, or too close to the diagonal
        break
    else:  # pragma: no cover - the loop always finds a scene for sensible sizes
        raise RuntimeError("could not place two shapes; use a larger image or smaller shapes")
    kinds = rng.integers(len(SHAPE_CLASSES), size=2)
    colors = rng.choice(len(CAPTION_COLORS), size=2, replace=False)
    image = np.broadcast_to(rng.uniform(0.0, 0.3, 3), (size, size, 3)) + rng.normal(0, 0.03, (size, size, 3))
    image = image.copy()
    for i in range(2):
        mask = shape_mask(SHAPE_CLASSES[kinds[i]], *centers[i], s[i], size)
        rgb = np.array(COLOURS[CAPTION_COLORS[colors[i]]]) + rng.uniform(-0.06, 0.06, 3)
        image[mask] = rgb
    across = dx >= dy
    axis = 0 if across else 1
    first, second = (0, 1) if centers[0, axis] < centers[1, axis] else (1, 0)
    name = [f"a {CAPTION_COLORS[colors[i]]} {SHAPE_CLASSES[kinds[i]]}" for i in range(2)]
    caption = f"{name[first]} {'left of' if across else 'above'} {name[second]}"
    return np.clip(image, 0, 1).astype(np.float32), caption


class CaptionedScenes(Dataset):
    """``dataset[i] -> (image (3,H,W) float32, tokens (MAX_TOKENS,) int64)``; ``captions`` holds the text."""

    def __init__(self, split: str = "train", size: int = 2000, image_size: int = 32, seed: int = 0):
        rng = split_rng(seed, split, 53)  # checks the split first
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        pairs = [make_captioned_scene(rng, image_size) for _ in range(size)]
        self.vocab, self.captions = VOCAB, [p[1] for p in pairs]
        self.images = torch.from_numpy(np.stack([p[0] for p in pairs])).permute(0, 3, 1, 2).contiguous()
        self.tokens = torch.tensor([VOCAB.encode(c, MAX_TOKENS) for c in self.captions], dtype=torch.long)

    def __len__(self) -> int:
        return len(self.captions)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[i], self.tokens[i]
