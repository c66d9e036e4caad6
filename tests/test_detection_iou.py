"""IoU matrix against a loop written from the definition; degenerate and empty inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab.detection import box_intersection, pairwise_iou
from _helpers import iou_by_definition, random_boxes


@pytest.mark.parametrize("seed", range(5))
def test_matrix_equals_the_definition_pair_by_pair(seed):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, 13), random_boxes(rng, 9)
    b[:3] = a[:3]                            # identical pairs
    expected = np.array([[iou_by_definition(x, y) for y in b] for x in a])
    got = pairwise_iou(a, b)
    assert got.shape == (13, 9)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert np.all((got >= 0) & (got <= 1))


def test_torch_input_gives_torch_output_and_agrees_with_numpy():
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 4), random_boxes(rng, 6)
    got = pairwise_iou(torch.from_numpy(a), torch.from_numpy(b))
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), pairwise_iou(a, b))


def test_known_values():
    a = np.array([[0.0, 0, 2, 2]])
    b = np.array([[1.0, 1, 3, 3], [0, 0, 2, 2], [2, 0, 4, 2], [0, 0, 1, 1]])
    np.testing.assert_allclose(pairwise_iou(a, b), [[1 / 7, 1.0, 0.0, 0.25]])
    np.testing.assert_allclose(box_intersection(a, b), [[1.0, 4.0, 0.0, 1.0]])


def test_zero_area_boxes_have_iou_zero_not_nan():
    point = np.array([[5.0, 5, 5, 5]])
    assert pairwise_iou(point, point)[0, 0] == 0.0
    assert pairwise_iou(point, np.array([[0.0, 0, 10, 10]]))[0, 0] == 0.0


def test_empty_inputs_give_empty_matrices():
    assert pairwise_iou(np.zeros((0, 4)), np.ones((3, 4))).shape == (0, 3)
    assert pairwise_iou(torch.ones(2, 4), torch.zeros(0, 4)).shape == (2, 0)


def test_bad_boxes_are_named_in_the_error():
    with pytest.raises(ValueError, match=r"boxes b\[0\].*x2 < x1"):
        pairwise_iou(np.zeros((1, 4)), np.array([[3.0, 0, 1, 1]]))
    with pytest.raises(ValueError, match=r"boxes a has shape \(4,\), expected \(N, 4\)"):
        pairwise_iou(np.zeros(4), np.zeros((1, 4)))
