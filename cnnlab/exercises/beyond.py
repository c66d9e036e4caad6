"""Self-checks for lecture 08 (beyond detection): transposed convolutions, the triplet loss, the
Gram matrix, a GAN's balance point, PCK and BLEU's modified precision."""
from __future__ import annotations

import math
from typing import Any

from cnnlab.checks import GradingError, check_array

from ._core import number as _number
from ._core import ok as _ok
from ._core import self_check

__all__ = ["check_discriminator_balance", "check_gram_shape", "check_modified_precision", "check_pck_by_hand",
           "check_transposed_output_size", "check_triplet_by_hand"]


@self_check
def check_transposed_output_size(answer: Any) -> None:
    """Side of the output of ConvTranspose2d(kernel 4, stride 2, padding 1) on a 16x16 map."""
    got = _number(answer, "your size")
    if got == 7:
        raise GradingError("7 is what an ordinary convolution with these settings gives (it shrinks); a transposed "
                           "convolution runs the size formula backwards: (n - 1)·s - 2p + k.")
    if got == 34:
        raise GradingError("close: padding removes p pixels on each side of the output, so subtract 2p = 2.")
    check_array(got, 32, what="your output size", hint="(n - 1)·s - 2p + k with n=16, s=2, p=1, k=4")
    _ok("(16 - 1)·2 - 2·1 + 4 = 32: kernel 4, stride 2, padding 1 exactly doubles the size, a common upsampling layer.")


@self_check
def check_triplet_by_hand(answer: Any) -> None:
    """Triplet loss for anchor (0, 0), positive (2, 0), negative (1, 1), margin 0.5, squared distances."""
    got = _number(answer, "your loss")
    if abs(got - (2 - math.sqrt(2) + 0.5)) < 1e-3:
        raise GradingError("you used plain distances; the FaceNet triplet loss uses squared distances |a - p|².")
    if got == 0:
        raise GradingError("the loss is zero only when the negative is further than the positive by the margin; "
                           "here the negative is closer.")
    check_array(got, 2.5, what="your loss", hint="max(0, |a-p|² - |a-n|² + margin) = max(0, 4 - 2 + 0.5)")
    _ok("max(0, 4 - 2 + 0.5) = 2.5: the negative is closer than the positive, so the loss pushes them apart.")


@self_check
def check_gram_shape(answer: Any) -> None:
    """Shape of the Gram matrix of one image's feature maps of shape (64, 32, 32) (channels, height, width)."""
    try:
        shape = tuple(int(v) for v in answer)
    except (TypeError, ValueError):
        raise GradingError(f"give the shape as a tuple such as (3, 3), got {answer!r}", kind="type") from None
    if shape in ((1024, 1024), (32 * 32, 32 * 32)):
        raise GradingError("that compares pixels with pixels; a Gram matrix compares channels: one entry per pair "
                           "of feature maps, summed over all positions.")
    if shape != (64, 64):
        raise GradingError(f"{shape} is not it: a Gram matrix has one row and one column per channel.")
    _ok("(64, 64): entry (i, j) says how strongly maps i and j fire together, wherever that happens — "
        "which is why it captures texture (style) and forgets layout (content).")


@self_check
def check_discriminator_balance(answer: Any) -> None:
    """The discriminator's loss BCE(D(real), 1) + BCE(D(fake), 0) when it outputs 0.5 for every image."""
    got = _number(answer, "your loss")
    if abs(got - math.log(2)) < 1e-3:
        raise GradingError("that is one of the two terms; the discriminator's loss adds the real and the fake term.")
    check_array(got, 2 * math.log(2), what="your loss", rtol=1e-3, hint="-log(0.5) - log(1 - 0.5)")
    _ok("2·ln 2 ≈ 1.386: at the ideal equilibrium the discriminator can only guess; a loss far below it, "
        "as in our run, means the discriminator is still winning.")


@self_check
def check_pck_by_hand(answer: Any) -> None:
    """PCK@0.1 for keypoint errors (pixels) 1, 3, 2.5, 6 and 0.5 on a figure of size 30."""
    got = _number(answer, "your PCK")
    if got == 4:
        raise GradingError("PCK is a fraction of the keypoints, not a count: divide by 5.")
    if abs(got - 0.6) < 1e-9:
        raise GradingError("the threshold is 0.1 x 30 = 3 pixels and an error equal to it counts as correct.")
    check_array(got, 0.8, what="your PCK", hint="the threshold is 0.1 x 30 = 3 pixels")
    _ok("4 of the 5 errors are within 3 pixels: PCK@0.1 = 0.8.")


@self_check
def check_modified_precision(answer: Any) -> None:
    """Modified unigram precision of 'the the the the the the the' against 'the cat is on the mat'."""
    got = _number(answer, "your precision")
    if got == 1:
        raise GradingError("plain precision is 7/7 because every word is in the reference; BLEU clips each word's "
                           "count to the number of times it appears in the reference.")
    check_array(got, 2 / 7, what="your precision", rtol=1e-3, hint="'the' appears twice in the reference")
    _ok("2/7: each candidate word is credited at most as often as the reference uses it.")
