"""Lecture 08's metrics and losses against independent references (loops, hand computations,
textbook examples, scikit-learn and PyTorch)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from cnnlab.beyond import (best_threshold_accuracy, bleu, contrastive_loss, gram_matrix, mean_iou, modified_precision,
                           pck, pixel_accuracy, roc_points, triplet_loss)
from cnnlab.beyond.gan import frechet_distance
from cnnlab.beyond.segmentation import checkerboard_overlap, transposed_conv_output_size


def _brute_miou(pred, true, k):
    ious = []
    for c in range(k):
        inter = union = 0
        for p, t in zip(pred.ravel().tolist(), true.ravel().tolist()):
            inter += p == c and t == c
            union += p == c or t == c
        if union:
            ious.append(inter / union)
    return sum(ious) / len(ious)


def test_miou_and_pixel_accuracy_match_a_per_pixel_count():
    rng = np.random.default_rng(0)
    for k in (2, 3, 5):
        true = rng.integers(0, k, (3, 7, 9))
        pred = np.where(rng.random(true.shape) < 0.6, true, rng.integers(0, k, true.shape))
        assert mean_iou(pred, true, k) == pytest.approx(_brute_miou(pred, true, k))
        assert pixel_accuracy(pred, true) == pytest.approx(sum(p == t for p, t in zip(pred.ravel(), true.ravel())) / true.size)


def test_miou_skips_absent_classes_and_is_one_when_perfect():
    true = torch.tensor([[0, 0, 1], [1, 1, 0]])
    assert mean_iou(true, true, 5) == 1.0              # classes 2-4 absent from both: skipped
    assert mean_iou(torch.zeros_like(true), true, 2) == pytest.approx((3 / 6 + 0) / 2)


def test_miou_rejects_scores_and_mismatched_shapes():
    with pytest.raises(ValueError, match="argmax"):
        mean_iou(torch.rand(2, 4, 4), torch.zeros(2, 4, 4, dtype=torch.long), 2)
    with pytest.raises(ValueError, match="same shape"):
        pixel_accuracy(np.zeros((2, 2), int), np.zeros((2, 3), int))


def test_pck_by_hand():
    true = torch.zeros(2, 3, 2)
    pred = torch.tensor([[[0.0, 1.0], [3.0, 4.0], [0.0, 0.5]],      # errors 1, 5, 0.5
                         [[2.0, 0.0], [0.0, 0.0], [0.0, 11.0]]])    # errors 2, 0, 11
    scale = torch.tensor([10.0, 100.0])                             # thresholds 1 and 10 at alpha 0.1
    assert pck(pred, true, scale, 0.1) == pytest.approx(4 / 6)     # 1 ok, 5 no, 0.5 ok | 2 ok, 0 ok, 11 no
    assert pck(pred, true, scale, 0.3) == pytest.approx(5 / 6)     # thresholds 3 and 30: only the 5 fails
    assert pck(pred, true, scale, 0.5) == 1.0
    with pytest.raises(ValueError, match="scale"):
        pck(pred, true, torch.ones(3))


PAPINENI_REFS = ["It is a guide to action that ensures that the military will forever heed Party commands",
                 "It is the guiding principle which guarantees the military forces always being under the command of the Party",
                 "It is the practical guide for the army always to heed the directions of the party"]
CANDIDATE_1 = "It is a guide to action which ensures that the military always obeys the commands of the party"
CANDIDATE_2 = "It is to insure the troops forever hearing the activity guidebook that party direct"


def _words(s):
    return s.lower().split()


def test_modified_precision_on_papinenis_examples():
    refs = [_words(r) for r in PAPINENI_REFS]
    assert modified_precision(_words(CANDIDATE_1), refs, 1) == (17, 18)
    assert modified_precision(_words(CANDIDATE_2), refs, 1) == (8, 14)
    assert modified_precision(_words(CANDIDATE_1), refs, 2) == (10, 17)
    assert modified_precision(_words(CANDIDATE_2), refs, 2) == (1, 13)
    the7 = "the the the the the the the".split()
    assert modified_precision(the7, [_words("The cat is on the mat"), _words("There is a cat on the mat")], 1) == (2, 7)


def test_bleu_by_hand():
    assert bleu(["the cat sat on the mat"], [["the cat sat on the mat"]]) == pytest.approx(1.0)
    # every n-gram matches, but the candidate is 4 words against 6: brevity penalty exp(1 - 6/4)
    assert bleu(["the cat sat on"], [["the cat sat on the mat"]]) == pytest.approx(math.exp(1 - 6 / 4))
    # unigram 3/4, bigram 1/3 (max_n 2): geometric mean sqrt(3/4 * 1/3) = 0.5, no penalty (same length)
    assert bleu(["a b c d"], [["a b c e"]], max_n=2) == pytest.approx(math.sqrt(3 / 4 * 2 / 3))
    assert bleu(["x y z"], [["a b c"]]) == 0.0
    with pytest.raises(ValueError, match="one list of references per candidate"):
        bleu(["a"], [])


def test_gram_matrix_against_a_loop():
    f = torch.randn(2, 3, 4, 5)
    g = gram_matrix(f)
    assert g.shape == (2, 3, 3)
    for n, i, j in itertools.product(range(2), range(3), range(3)):
        expected = sum(float(f[n, i, y, x] * f[n, j, y, x]) for y in range(4) for x in range(5)) / (3 * 4 * 5)
        assert float(g[n, i, j]) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        gram_matrix(torch.randn(3, 4, 5))


def test_triplet_and_contrastive_losses_by_hand():
    a = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    p = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    n = torch.tensor([[0.0, 2.0], [1.0, 0.0]])
    # first triplet: 1 - 4 + 0.2 < 0 -> 0; second: 4 - 1 + 0.2 = 3.2
    assert float(triplet_loss(a, p, n, margin=0.2)) == pytest.approx(1.6)
    # same pair at distance 1 pays 1; different pair at distance 0.5 with margin 1 pays 0.25
    same = torch.tensor([1, 0])
    assert float(contrastive_loss(torch.zeros(2, 2), torch.tensor([[1.0, 0.0], [0.0, 0.5]]), same)) == pytest.approx(0.625)


def test_roc_and_best_threshold_against_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    same = rng.random(200) < 0.5
    dist = np.where(same, rng.normal(0.5, 0.3, 200), rng.normal(1.2, 0.3, 200))
    fpr, tpr, _ = roc_points(dist, same)
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc_score(same, -dist))
    acc, thr = best_threshold_accuracy(dist, same)
    brute = max(((dist <= t) == same).mean() for t in np.concatenate([[-1.0], dist]))
    assert acc == pytest.approx(brute)
    assert ((dist <= thr) == same).mean() == pytest.approx(acc)


def test_frechet_distance_closed_form_in_one_dimension():
    rng = np.random.default_rng(2)
    a, b = rng.normal(1.0, 2.0, (500, 1)), rng.normal(-1.0, 0.5, (400, 1))
    expected = (a.mean() - b.mean()) ** 2 + (a.std(ddof=1) - b.std(ddof=1)) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-4)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize("n,k,s,p,op", [(4, 2, 2, 0, 0), (5, 3, 2, 1, 1), (7, 4, 2, 1, 0), (3, 3, 1, 0, 0),
                                        (6, 5, 3, 2, 2), (8, 1, 1, 0, 0)])
def test_transposed_conv_output_size_matches_pytorch(n, k, s, p, op):
    layer = torch.nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op)
    assert transposed_conv_output_size(n, k, s, p, op) == layer(torch.zeros(1, 1, n, n)).shape[-1]


def test_transposed_conv_size_rejects_bad_input():
    with pytest.raises(ValueError, match="positive integer"):
        transposed_conv_output_size(0, 3)
    with pytest.raises(ValueError, match="output_padding"):
        transposed_conv_output_size(4, 3, stride=2, output_padding=2)


def test_checkerboard_uneven_only_when_kernel_not_a_multiple_of_stride():
    uneven = checkerboard_overlap(6, 3, 2)[2:-2, 2:-2]
    even = checkerboard_overlap(6, 4, 2)[2:-2, 2:-2]
    assert set(np.unique(uneven)) == {1.0, 2.0, 4.0}
    assert np.unique(even).tolist() == [4.0]


def test_frechet_distance_matches_scipy_sqrtm_in_several_dimensions():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(3)
    a = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5))
    b = rng.normal(size=(200, 5)) + 1
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(sa + sb - 2 * linalg.sqrtm(sa @ sb).real)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-5)
