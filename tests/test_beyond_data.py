"""Lecture 08's data generators: seeded, and their labels agree with their pixels."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab.beyond.segmentation import instance_maps, segmentation_data, semantic_masks
from cnnlab.data.captioned_scenes import CAPTION_COLORS, CaptionedScenes
from cnnlab.data.faces import SyntheticFaces
from cnnlab.data.shapes import COLOURS
from cnnlab.data.stick_figures import KEYPOINTS, StickFigures


def test_generators_are_seeded():
    assert torch.equal(SyntheticFaces(3, 2, seed=4).images, SyntheticFaces(3, 2, seed=4).images)
    assert not torch.equal(SyntheticFaces(3, 2, seed=4).images, SyntheticFaces(3, 2, seed=5).images)
    assert torch.equal(StickFigures("train", 5).keypoints, StickFigures("train", 5).keypoints)
    assert not torch.equal(StickFigures("train", 5).images, StickFigures("test", 5).images)
    assert CaptionedScenes("val", 6).captions == CaptionedScenes("val", 6).captions


def test_faces_labels_and_identity_consistency():
    d = SyntheticFaces(4, 5, seed=0)
    assert d.images.shape == (20, 3, 32, 32) and d.labels.tolist() == [i // 5 for i in range(20)]
    # photos of one person are closer to each other (center crop, background excluded) than to others
    center = d.images[:, :, 8:24, 8:24].flatten(1)
    dist = torch.cdist(center, center)
    same = d.labels[:, None] == d.labels[None, :]
    assert dist[same & ~torch.eye(20, dtype=torch.bool)].mean() < dist[~same].mean()
    with pytest.raises(ValueError, match="at least 2 identities"):
        SyntheticFaces(1, 5)


def test_stick_figure_keypoints_lie_on_the_drawing():
    d = StickFigures("train", 20)
    assert d.keypoints.shape == (20, len(KEYPOINTS), 2)
    assert (d.keypoints >= 0).all() and (d.keypoints < 32).all()
    xy = d.keypoints.floor().long()
    for i in range(20):
        background = d.images[i, :, 0, 0]
        for k in range(len(KEYPOINTS)):
            # the keypoint's pixel or a neighbor is drawn (far brighter than the dark background)
            x, y = xy[i, k].tolist()
            patch = d.images[i, :, max(y - 1, 0):y + 2, max(x - 1, 0):x + 2]
            assert (patch - background[:, None, None]).abs().sum(0).max() > 0.4
    span = (d.keypoints.amax(1) - d.keypoints.amin(1)).amax(1)
    assert torch.allclose(d.scales, span)


def test_caption_words_agree_with_the_pixels():
    d = CaptionedScenes("train", 40)
    for image, caption, tokens in zip(d.images, d.captions, d.tokens):
        assert d.vocab.decode(tokens) == caption
        w = caption.split()
        first, second = w[1], w[-2]
        assert first in CAPTION_COLORS and second in CAPTION_COLORS and first != second
        centers = []
        for color in (first, second):
            near = (image - torch.tensor(COLOURS[color])[:, None, None]).abs().amax(0) < 0.15
            assert near.sum() > 20, f"{color} shape missing in '{caption}'"
            ys, xs = torch.nonzero(near, as_tuple=True)
            centers.append((xs.float().mean(), ys.float().mean()))
        if "left" in w:
            assert centers[0][0] < centers[1][0]
        else:
            assert w[3] == "above" and centers[0][1] < centers[1][1]


def test_vocabulary_round_trip_and_errors():
    v = CaptionedScenes("test", 1).vocab
    assert v.decode(v.encode("a red circle above a blue cross", 10)) == "a red circle above a blue cross"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        v.encode("a purple circle", 10)


def test_semantic_and_instance_masks_match_the_objects():
    _, masks, targets = segmentation_data("val", 10)
    inst = instance_maps(targets, 32)
    for i, t in enumerate(targets):
        for k, (mask, label) in enumerate(zip(t["masks"], t["labels"])):
            assert (masks[i][mask] == int(label) + 1).all()
            assert (inst[i][mask] == k + 1).all()
        background = ~t["masks"].any(0)
        assert (masks[i][background] == 0).all() and (inst[i][background] == 0).all()
    assert torch.equal(semantic_masks(targets, 32), masks)


@pytest.mark.parametrize("dataset", [StickFigures, CaptionedScenes])
def test_splits_are_checked_and_drawn_from_independent_streams(dataset):
    with pytest.raises(ValueError, match=r"split='dev'; expected one of \('train', 'val', 'test'\)"):
        dataset("dev", size=2)
    with pytest.raises(ValueError, match="size must be at least 1"):
        dataset("train", size=0)
    train, again, val = dataset("train", size=3), dataset("train", size=3), dataset("val", size=3)
    assert torch.equal(train.images, again.images) and not torch.equal(train.images, val.images)
