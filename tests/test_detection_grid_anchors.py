"""YOLO grid encode/decode round trip and SSD anchors/matching."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab.data.shapes import ShapesDetection
from cnnlab.detection import pairwise_iou
from cnnlab.detection.anchors import decode_offsets, encode_offsets, make_anchors, match_anchors
from cnnlab.detection.grid import grid_to_boxes, encode_grid


@pytest.mark.parametrize("size", ["sqrt", "linear"])
def test_encode_then_decode_recovers_every_box(size):
    ds = ShapesDetection("val", size=25)
    for _, t in ds:
        grid = encode_grid(t["boxes"].double(), t["labels"], 64, 8, 4, size=size)
        assert grid.shape == (8, 8, 9) and int(grid[..., 0].sum()) == len(t["boxes"])
        boxes, scores, labels = grid_to_boxes(grid, 64, size=size)
        iou = pairwise_iou(boxes, t["boxes"].double())
        match = iou.argmax(1)
        assert torch.allclose(boxes, t["boxes"].double()[match], atol=1e-9)
        assert labels.tolist() == t["labels"][match].tolist() and torch.all(scores == 1)


def test_encoding_by_hand_and_numpy_in_numpy_out():
    grid = encode_grid(np.array([[8.0, 16.0, 24.0, 32.0]]), np.array([1]), image_size=64, grid_size=4,
                       num_classes=2)
    assert isinstance(grid, np.ndarray)
    # centre (16, 24) lies in row 1, column 1 of 16-pixel cells, at (0, 0.5) inside it; size 16/64 each
    np.testing.assert_allclose(grid[1, 1], [1, 0.0, 0.5, 0.5, 0.5, 0, 1])
    assert grid.sum() == pytest.approx(grid[1, 1].sum())


def test_collisions_and_bad_input():
    boxes = np.array([[0.0, 0, 4, 4], [1, 1, 5, 5]])
    grid = encode_grid(boxes, [0, 1], 64, 8, 2)
    assert grid[..., 0].sum() == 1 and grid[0, 0, 5] == 1           # the first box is kept
    with pytest.raises(ValueError, match="already holds an object"):
        encode_grid(boxes, [0, 1], 64, 8, 2, on_collision="raise")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\]"):
        encode_grid(boxes, [0, 2], 64, 8, 2)
    with pytest.raises(ValueError, match="expected \\(S, S, 5 \\+ num_classes\\)"):
        grid_to_boxes(np.zeros((8, 8)), 64)


def test_decode_orders_by_score_and_thresholds():
    grid = np.zeros((2, 2, 7))
    grid[0, 0, :5] = [0.3, 0.5, 0.5, 0.5, 0.5]
    grid[1, 1, :5] = [0.9, 0.5, 0.5, 0.5, 0.5]
    grid[0, 0, 5], grid[1, 1, 6] = 1.0, 0.5
    boxes, scores, labels = grid_to_boxes(grid, 32, score_threshold=0.2)
    np.testing.assert_allclose(scores, [0.45, 0.3])
    assert labels.tolist() == [1, 0]
    np.testing.assert_allclose(boxes[1], [4, 4, 12, 12])


def test_anchors_layout():
    anchors = make_anchors(4, 64, scales=(0.25, 0.5), aspect_ratios=(1.0, 4.0))
    assert anchors.shape == (4 * 4 * 4, 4)
    np.testing.assert_allclose(anchors[0].numpy(), [0, 0, 16, 16])           # cell (0,0), scale .25, ratio 1
    np.testing.assert_allclose(anchors[1].numpy(), [-8, 4, 24, 12])          # ratio 4: 32 wide, 8 tall
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    np.testing.assert_allclose(centres[4].numpy(), [24, 8])                 # next cell to the right


def test_matching_by_threshold_and_every_object_gets_an_anchor():
    anchors = make_anchors(4, 64, scales=(0.25,), aspect_ratios=(1.0,))
    gt = torch.tensor([[0.0, 0, 16, 16], [20, 20, 30, 30], [33, 33, 34, 34]])
    match = match_anchors(anchors, gt, iou_threshold=0.5)
    iou = pairwise_iou(anchors, gt)
    for a, m in enumerate(match.tolist()):
        if m >= 0 and a not in iou.argmax(0).tolist():
            assert iou[a, m] >= 0.5 and m == int(iou[a].argmax())
    for g in range(3):
        assert (match == g).any()                       # even the tiny box gets its best anchor
    assert int(match[0]) == 0 and (match >= 0).sum() == 3
    assert (match_anchors(anchors, torch.zeros(0, 4)) == -1).all()


def test_offsets_of_one_anchor_by_hand_and_round_trip():
    anchor, box = np.array([16.0, 20.0, 40.0, 36.0]), np.array([22.0, 14.0, 50.0, 44.0])
    # by hand: anchor centre (28, 28), size 24 x 16; box centre (36, 29), size 28 x 30
    expected = np.array([(36 - 28) / 24, (29 - 28) / 16, np.log(28 / 24), np.log(30 / 16)])
    t = encode_offsets(anchor, box)
    assert isinstance(t, np.ndarray) and np.allclose(t, expected)
    assert np.allclose(encode_offsets(anchor, anchor), 0)
    assert np.allclose(decode_offsets(anchor, t), box)
    rng = np.random.default_rng(0)
    for a in make_anchors(3, 48).double()[:9]:
        xy = rng.uniform(0, 40, 2)
        b = torch.from_numpy(np.concatenate([xy, xy + rng.uniform(1, 20, 2)]))
        assert torch.allclose(decode_offsets(a, encode_offsets(a, b)), b, atol=1e-9)


@pytest.mark.parametrize("call,message", [
    (lambda: encode_offsets(make_anchors(3, 48), make_anchors(3, 48)), "ONE box"),
    (lambda: encode_offsets(torch.tensor([0.0, 0, 4, 4]), torch.tensor([1.0, 1, 1, 5])), "positive width"),
    (lambda: decode_offsets(torch.tensor([0.0, 0, 4, 4]), torch.zeros(2, 4)), "four numbers"),
])
def test_offsets_refuse_more_than_one_anchor_or_empty_boxes(call, message):
    with pytest.raises(ValueError, match=message):
        call()