"""Synthetic shapes: seeded, tight boxes that match the masks, disjoint objects, splits that differ."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab import data
from cnnlab.data.shapes import (SHAPE_CLASSES, ShapesClassification, ShapesDetection, ShapesLocalization,
                                detection_collate, make_scene, shape_mask)


def test_same_seed_same_pixels_and_splits_differ():
    a, b = ShapesDetection("val", size=20, seed=3), ShapesDetection("val", size=20, seed=3)
    assert torch.equal(a.images, b.images)
    assert all(torch.equal(x["boxes"], y["boxes"]) for x, y in zip(a.targets, b.targets))
    assert not torch.equal(a.images, ShapesDetection("test", size=20, seed=3).images)
    assert not torch.equal(a.images, ShapesDetection("val", size=20, seed=4).images)


def test_boxes_are_the_tight_boxes_of_the_masks_and_objects_do_not_overlap():
    ds = ShapesDetection("train", size=40)
    counts = []
    for image, target in ds:
        assert image.shape == (3, 64, 64) and image.dtype == torch.float32
        assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
        masks, boxes = target["masks"].numpy(), target["boxes"].numpy()
        counts.append(len(boxes))
        for mask, box in zip(masks, boxes):
            ys, xs = np.nonzero(mask)
            assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        assert masks.sum(0).max() <= 1                     # no pixel belongs to two objects
        assert target["labels"].min() >= 0 and target["labels"].max() < len(SHAPE_CLASSES)
    assert min(counts) >= 1 and max(counts) <= 4 and len(set(counts)) > 1


def test_classification_and_localization_variants():
    cls = ShapesClassification("train", size=100, background=True)
    assert cls.images.shape == (100, 3, 32, 32)
    assert cls.classes[-1] == "background" and set(cls.labels.tolist()) == set(range(5))
    empty = cls.images[cls.labels == 4]
    assert float(empty.std(dim=(1, 2, 3)).max()) < 0.15          # backgrounds only: no bright shape
    loc = ShapesLocalization("test", size=10)
    image, label, box = loc[0]
    assert image.shape == (3, 64, 64) and isinstance(label, int) and box.shape == (4,)


def test_masks_have_the_expected_geometry():
    square = shape_mask("square", 10, 10, 8, 20)
    assert square.sum() == 64
    circle = shape_mask("circle", 50, 50, 40, 100)
    assert abs(circle.sum() - np.pi * 20 ** 2) / (np.pi * 20 ** 2) < 0.02
    tri = shape_mask("triangle", 50, 50, 40, 100)
    assert abs(tri.sum() - 40 * 40 / 2) / 800 < 0.05
    assert tri[31].sum() < tri[68].sum()                    # apex up


def test_lazy_names_collate_and_errors():
    assert data.ShapesDetection is ShapesDetection
    images, targets = detection_collate([ShapesDetection("val", size=3)[i] for i in range(3)])
    assert images.shape == (3, 3, 64, 64) and len(targets) == 3
    with pytest.raises(ValueError, match="split='dev'"):
        ShapesDetection("dev")
    with pytest.raises(ValueError, match="unknown shape 'star'"):
        shape_mask("star", 1, 1, 1, 4)
    with pytest.raises(ValueError, match="does not fit"):
        make_scene(np.random.default_rng(0), image_size=16, max_size=20)
