"""Receptive-field arithmetic against a brute-force measurement (autograd through real torch layers)."""
from __future__ import annotations

import numpy as np
import pytest

from cnnlab.ops.receptive_fields import (
    LayerSpec,
    centred_input_size,
    gradient_support,
    measured_receptive_field,
    receptive_field,
)

STACKS = [
    [3],
    [3, 3, 3],
    [5, 5],
    [(3, 2), (3, 2), (3, 1)],
    [(3, 1, 2), (3, 1, 4), (3, 1, 8)],
    [(7, 2), LayerSpec(3, 2, kind="pool"), (3, 1), (3, 1)],  # a ResNet-style stem and two 3x3 convs
    [(2, 2), (3, 1, 2), (5, 3)],
]


def test_hand_computed_values():
    assert receptive_field([3, 3])[-1].size == 5            # two 3x3 convs see 5x5
    assert receptive_field([3, 3, 3])[-1].size == 7         # three see 7x7 (VGG's argument)
    assert receptive_field([(3, 1, 2)])[-1].size == 5       # dilation 2 spreads a 3x3 kernel over 5
    steps = receptive_field([(3, 2), (3, 2)])
    assert [(s.size, s.jump) for s in steps] == [(1, 1), (3, 2), (7, 4)]
    # dilations 1, 2, 4, 8 double the field at each layer: 3, 7, 15, 31
    assert [s.size for s in receptive_field([(3, 1, 2 ** i) for i in range(4)])][1:] == [3, 7, 15, 31]


@pytest.mark.parametrize("layers", STACKS)
def test_formula_matches_the_measured_gradient_support(layers):
    assert measured_receptive_field(layers) == receptive_field(layers)[-1].size


def test_support_is_peaked_in_the_middle():
    support = gradient_support([3, 3, 3])
    row = support[support.shape[0] // 2]
    nz = row[row > 0]
    assert nz.size == 7 and nz.argmax() == 3 and nz[0] < nz[3]


@pytest.mark.parametrize("bad, words", [
    ([0], "kernel must be a positive integer, got 0"), ([(3, 0)], "stride must be a positive integer, got 0"),
    ([(3, 1, -1)], "dilation must be a positive integer, got -1"),
    (["3"], "a layer is a LayerSpec, a kernel size or a \\(kernel, stride\\[, dilation\\]\\) tuple; got '3'"),
    ([(1, 2, 3, 4)], "tuple; got \\(1, 2, 3, 4\\)"), ([True], "tuple; got True"),
])
def test_bad_layers_are_rejected_with_what_was_wrong(bad, words):
    with pytest.raises(ValueError, match=words):
        receptive_field(bad)


def test_too_small_input_is_a_clear_error():
    with pytest.raises(ValueError, match="too small"):
        gradient_support([5, 5], input_size=4)


def test_pool_has_no_dilation():
    with pytest.raises(ValueError, match="dilation"):
        LayerSpec(2, 2, 2, kind="pool")
    assert np.isfinite(measured_receptive_field([LayerSpec(2, 2, kind="pool"), 3]))


@pytest.mark.parametrize("layers", STACKS)
def test_default_input_centres_the_field(layers):
    support = gradient_support(layers)
    rows = np.flatnonzero(support.sum(axis=1) > 0)
    assert rows[0] == support.shape[0] - 1 - rows[-1]  # same margin above and below
    assert rows[0] >= receptive_field(layers)[-1].size // 2
    assert centred_input_size([(3, 2), (3, 2)], margin=3) == 7 + 2 * 4 * 1
    with pytest.raises(ValueError, match="margin"):
        centred_input_size([3], margin=-1)
