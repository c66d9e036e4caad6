"""Self-checks for lecture 08 (beyond detection): transposed convolutions, the triplet loss, the
Gram matrix, a GAN's balance point, choosing a verification threshold, PCK and BLEU's modified
precision.

No message of a wrong answer states the expected value: a recognised mistake gets its own hint,
anything else a nudge, and ``exercises.hint(name)`` / ``exercises.show_answer(name)`` give more
when the student asks."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from cnnlab.checks import GradingError, check_array

from ._core import call_answer, self_check
from ._core import number as _number
from ._core import ok as _ok

__all__ = ["check_discriminator_balance", "check_gram_function", "check_modified_precision", "check_pck_by_hand",
           "check_threshold_prediction", "check_transposed_output_size", "check_triplet_by_hand"]


def _choice(value: Any, options: tuple[str, ...]) -> str:
    text = str(value).strip().lower().strip("()'\". ")
    if text not in options:
        raise GradingError(f"answer with one of {', '.join(repr(o) for o in options)}, got {value!r}", kind="type")
    return text


@self_check(
    hints=("A transposed convolution runs the size formula of a convolution backwards: "
           "n_out = (n - 1)·s - 2p + k + output_padding.",
           "Here n = 7, s = 2, p = 1, k = 3 and output_padding = 1."),
    answer="(7 - 1)·2 - 2·1 + 3 + 1 = 14: with output_padding = 1 this layer exactly doubles the size.",
)
def check_transposed_output_size(answer: Any) -> None:
    """Side of the output of ConvTranspose2d(kernel 3, stride 2, padding 1, output_padding 1) on a 7x7 map."""
    got = _number(answer, "your size")
    if got == 4:
        raise GradingError("that is what an ordinary convolution with these settings gives (it shrinks); a "
                           "transposed convolution grows the map.")
    if got == 13:
        raise GradingError("close: output_padding adds its extra row and column to the output.")
    if got == 15:
        raise GradingError("close: padding removes p pixels on EACH side of the output, 2p in all.")
    check_array(got, 14, what="your output size", reveal=False,
                hint="use (n - 1)·s - 2p + k + output_padding")
    _ok("(7 - 1)·2 - 2·1 + 3 + 1 = 14: kernel 3, stride 2, padding 1 and output_padding 1 double the size "
        "(output_padding picks the size when a stride-2 convolution could have come from 13 or 14).")


@self_check(
    hints=("Squared distances: |a - p|² = (2 - 0)² + (0 - 0)², |a - n|² = (1 - 0)² + (1 - 0)².",
           "Then loss = max(0, |a - p|² - |a - n|² + margin)."),
    answer="max(0, 4 - 2 + 0.5) = 2.5: the negative is closer than the positive, so the loss is large.",
)
def check_triplet_by_hand(answer: Any) -> None:
    """Triplet loss for anchor (0, 0), positive (2, 0), negative (1, 1), margin 0.5, squared distances."""
    got = _number(answer, "your loss")
    if abs(got - (2 - math.sqrt(2) + 0.5)) < 1e-3:
        raise GradingError("you used plain distances; the FaceNet triplet loss uses squared distances |a - p|².")
    if got == 0:
        raise GradingError("the loss is zero only when the negative is further than the positive by the margin; "
                           "here the negative is closer.")
    if abs(got - (2 - 4 + 0.5)) < 1e-9 or abs(got - 1.5) < 1e-9:
        raise GradingError("check which distance is subtracted: the positive's distance counts against you, the "
                           "negative's for you (and the loss is never negative).")
    check_array(got, 2.5, what="your loss", reveal=False)
    _ok("max(0, 4 - 2 + 0.5) = 2.5: the negative is closer than the positive, so the loss pushes them apart.")


@self_check(
    hints=("Flatten each channel's map into a row: a (C, H·W) matrix F.",
           "The Gram matrix is F @ F.T (one entry per pair of channels), divided by C·H·W like "
           "cnnlab.beyond.gram_matrix."),
    answer="def gram(features):\n    c, h, w = features.shape\n    f = features.reshape(c, h * w)\n"
           "    return f @ f.T / (c * h * w)",
)
def check_gram_function(fn: Callable[[Any], Any]) -> None:
    """``fn(features)``: the (C, C) Gram matrix of one image's (C, H, W) feature maps, divided by C·H·W."""
    import torch

    from cnnlab.beyond.metrics import gram_matrix

    g = torch.Generator().manual_seed(0)
    features = torch.rand(5, 4, 3, generator=g)
    got = call_answer(fn, features.clone(), what="feature maps of shape (5, 4, 3)")
    got = torch.as_tensor(got, dtype=torch.float32)
    want = gram_matrix(features[None])[0]
    if tuple(got.shape) == (12, 12):
        raise GradingError("your matrix compares positions with positions; a Gram matrix compares channels: one "
                           "row and one column per feature map.")
    if tuple(got.shape) == want.shape and torch.allclose(got * 5 * 4 * 3, want, rtol=1e-4):
        raise GradingError("divide by C·H·W = the number of entries of the maps, as gram_matrix does.")
    if tuple(got.shape) == want.shape and torch.allclose(got, want * 5 * 4 * 3, rtol=1e-4):
        raise GradingError("the pattern is right; now normalise: divide by C·H·W.")
    check_array(got, want, what="your Gram matrix", rtol=1e-4, atol=1e-6, reveal=False)
    _ok("entry (i, j) says how strongly maps i and j fire together, wherever that happens: it keeps texture and "
        "color (style) and forgets the layout (content).")


@self_check(
    hints=("Binary cross-entropy of an output q for a label y is -[y log q + (1 - y) log(1 - q)].",
           "Add the term for a real image (label 1) and the term for a generated one (label 0), both with q = 0.5."),
    answer="-log(0.5) - log(1 - 0.5) = 2·ln 2 ≈ 1.386.",
)
def check_discriminator_balance(answer: Any) -> None:
    """The discriminator's loss BCE(D(real), 1) + BCE(D(fake), 0) when it outputs 0.5 for every image."""
    got = _number(answer, "your loss")
    if abs(got - math.log(2)) < 1e-3:
        raise GradingError("that is one of the two terms; the discriminator's loss adds the real and the fake term.")
    if abs(got - 2 * math.log10(2)) < 1e-3 or abs(got - math.log10(2)) < 1e-3:
        raise GradingError("cross-entropy uses the natural logarithm (np.log), not log10.")
    check_array(got, 2 * math.log(2), what="your loss", rtol=1e-3, reveal=False)
    _ok("2·ln 2 ≈ 1.386: at the ideal equilibrium the discriminator can only guess; a loss far below it, "
        "as in our run, means the discriminator is still winning.")


@self_check(
    hints=("On the test pairs, 'the best threshold' is by definition the one with the highest test accuracy.",
           "The validation threshold is one of the thresholds one could apply to the test pairs. Can it beat the "
           "best of them all?"),
    answer="'lower or equal': the accuracy at the threshold chosen on the test pairs is the maximum over all "
           "thresholds, so any other threshold, the validation one included, scores at most that. The gap is how "
           "much choosing on the test set flatters the result.",
)
def check_threshold_prediction(prediction: Any) -> None:
    """Test accuracy at the validation-chosen threshold against the best accuracy any threshold reaches on test."""
    got = _choice(prediction, ("higher", "lower or equal"))
    if got == "higher":
        raise GradingError("the threshold chosen on the test pairs is the best one for exactly those pairs; can "
                           "another threshold do better on them?")
    _ok("run the next cell and compare your prediction with the measurement.")


@self_check(
    hints=("The threshold is alpha times the figure's size: 0.1 x 30 pixels.",
           "Count the errors at or below that threshold (an error equal to it counts), and divide by 5."),
    answer="threshold 3 pixels; errors 1, 3, 2.5 and 0.5 are within it, 6 is not: PCK@0.1 = 4/5 = 0.8.",
)
def check_pck_by_hand(answer: Any) -> None:
    """PCK@0.1 for keypoint errors (pixels) 1, 3, 2.5, 6 and 0.5 on a figure of size 30."""
    got = _number(answer, "your PCK")
    if got == 4:
        raise GradingError("PCK is a fraction of the keypoints, not a count: divide by the number of keypoints.")
    if abs(got - 0.6) < 1e-9:
        raise GradingError("an error equal to the threshold counts as correct.")
    check_array(got, 0.8, what="your PCK", reveal=False, hint="the threshold is alpha times the figure's size")
    _ok("4 of the 5 errors are within 3 pixels: PCK@0.1 = 0.8.")


@self_check(
    hints=("Plain precision would count every candidate word found in the reference.",
           "BLEU clips: a candidate word is credited at most as often as it appears in the reference. How often "
           "does 'the' appear there?"),
    answer="'the' appears twice in the reference, so at most 2 of the 7 candidate words count: 2/7 ≈ 0.286.",
)
def check_modified_precision(answer: Any) -> None:
    """Modified unigram precision of 'the the the the the the the' against 'the cat is on the mat'."""
    got = _number(answer, "your precision")
    if got == 1:
        raise GradingError("plain precision is 7/7 because every word is in the reference; BLEU clips each word's "
                           "count to the number of times it appears in the reference.")
    if abs(got - 1 / 7) < 1e-3:
        raise GradingError("close: count how many times 'the' appears in the reference sentence.")
    check_array(got, 2 / 7, what="your precision", rtol=1e-3, reveal=False)
    _ok("2/7: each candidate word is credited at most as often as the reference uses it.")
