"""Self-checks for the exercises of lectures 04-05 (building a CNN; architectures)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cnnlab.checks import GradingError

from ._core import call_answer, self_check
from ._core import ok as _ok

__all__ = [
    "BEST_EPOCH_HISTORY", "CONFUSION_EXAMPLE", "check_best_epoch", "check_bottleneck_weights", "check_flatten_size", "check_lenet_conv2_params", "check_most_confused",
    "check_receptive_field", "check_se_block_params", "check_separable_weights",
    "check_vgg_block_params",
]


def _int(value: Any, what: str) -> int:
    """A whole number (an int, an integral float or a 0-d array)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GradingError(f"{what} should be a number, got {value!r}", kind="type") from None
    if not number.is_integer():
        raise GradingError(f"{what} should be a whole number, got {number:g}", kind="type")
    return int(number)


def _pair(value: Any, what: str) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise GradingError(f"give {what} as a pair of ints, got {value!r}", kind="type") from None
    return a, b


# ----------------------------------------------------------------- lecture 04
@self_check
def check_lenet_conv2_params(count: Any) -> None:
    """Parameters of LeNet-5's second convolution: 16 filters of 5x5 on 6 input maps, with biases."""
    got = _int(count, "your count")
    if got == 5 * 5 * 6 * 16:
        raise GradingError("you counted the weights; add one bias per filter (16).")
    if got == (5 * 5 + 1) * 16:
        raise GradingError("each filter is 5x5x6: it spans all 6 maps of the previous layer, not one.")
    if got == (5 * 5 * 6 + 1) * 6 or got == (5 * 5 + 1) * 6:
        raise GradingError("there are 16 filters (16 output maps); the 6 is the input depth.")
    if got != (5 * 5 * 6 + 1) * 16:
        raise GradingError(f"{got:,} is not it: (k·k·C_in + 1)·C_out with k = 5, C_in = 6, C_out = 16.")
    _ok("(5·5·6 + 1)·16 = 2,416, as the summary table says.")


@self_check
def check_flatten_size(size: Any) -> None:
    """Length of the vector Flatten produces in the lecture's network for a 28x28 gray input."""
    got = _int(size, "your length")
    if got == 1600:
        raise GradingError("1,600 = 5·5·64 is the length for a 32x32 input; redo the sizes from 28: "
                           "same conv 28, pool 14, valid conv 12, pool 6, valid conv 4.")
    if got == 7 * 7 * 64:
        raise GradingError("the two 'valid' convolutions shrink the maps by 2 each (3x3 kernel, no padding): "
                           "28 → 28 → 14 → 12 → 6 → 4.")
    if got == 4 * 4:
        raise GradingError("4 x 4 is one map; Flatten lays out all 64 maps one after the other.")
    if got == 4 * 4 * 32:
        raise GradingError("the last convolution has 64 filters, so 64 maps of 4 x 4.")
    if got != 4 * 4 * 64:
        raise GradingError(f"{got:,} is not it: follow the height/width through the layers (28 → 28 → 14 → 12 → 6 → 4) "
                           f"and multiply by the 64 channels of the last convolution.")
    _ok("28 → 28 → 14 → 12 → 6 → 4, and 4·4·64 = 1,024: the first dense layer would need 1,024 inputs, not 1,600.")


# the confusion matrix of the exercise: rows are true digits 0-4, columns predictions
CONFUSION_EXAMPLE = np.array([
    [70, 0, 1, 0, 1],
    [0, 66, 2, 0, 4],
    [1, 1, 68, 2, 0],
    [0, 3, 1, 61, 7],
    [0, 2, 0, 1, 69],
])


@self_check
def check_most_confused(pair: Any) -> None:
    """(true, predicted) of the most frequent mistake in ``CONFUSION_EXAMPLE``."""
    got = _pair(pair, "(true digit, predicted digit)")
    if got[0] == got[1]:
        raise GradingError("the diagonal counts the correct answers; a mistake is off the diagonal.")
    if got == (4, 3):
        raise GradingError("rows are the true digits and columns the predictions: read the row first, "
                           "so give (row, column).")
    if got != (3, 4):
        value = CONFUSION_EXAMPLE[got] if all(0 <= v < 5 for v in got) else None
        tail = f" happened {value} times" if value is not None else " is not in the matrix"
        raise GradingError(f"{got}{tail}; look for the largest number off the diagonal.")
    _ok("(3, 4): seven 3s were taken for 4s, the largest count off the diagonal.")


# the learning curves of the early-stopping exercise (one entry per epoch, epoch 1 first)
BEST_EPOCH_HISTORY = {
    "train_loss": [1.92, 1.21, 0.84, 0.61, 0.47, 0.38, 0.31, 0.25, 0.21, 0.17],
    "val_loss": [1.85, 1.18, 0.88, 0.72, 0.66, 0.69, 0.74, 0.80, 0.87, 0.93],
}


@self_check
def check_best_epoch(epoch: Any) -> None:
    """The epoch (counted from 1) whose weights early stopping keeps, for ``BEST_EPOCH_HISTORY``."""
    got = _int(epoch, "your epoch")
    train_loss, val_loss = BEST_EPOCH_HISTORY["train_loss"], BEST_EPOCH_HISTORY["val_loss"]
    best = int(np.argmin(val_loss)) + 1
    if got == int(np.argmin(train_loss)) + 1:
        raise GradingError("the training loss keeps falling while the network memorises the training set; "
                           "judge by the validation loss.")
    if got == best - 1:
        raise GradingError("epochs count from 1 here: the first entry of the list is epoch 1.")
    if got != best:
        raise GradingError(f"at epoch {got} the validation loss is "
                           f"{val_loss[got - 1] if 1 <= got <= len(val_loss) else 'undefined'}; find its minimum.")
    _ok(f"epoch {best}: the validation loss is lowest there and rises afterwards (overfitting).")



# ----------------------------------------------------------------- lecture 05
@self_check
def check_vgg_block_params(count: Any) -> None:
    """Parameters of a VGG block: conv 3x3 128→256 then conv 3x3 256→256 (biases included), then a 2x2 max-pool."""
    got = _int(count, "your count")
    first, second = (9 * 128 + 1) * 256, (9 * 256 + 1) * 256
    if got == 9 * 128 * 256 + 9 * 256 * 256:
        raise GradingError("you counted the weights; add one bias per filter (256 + 256).")
    if got == 2 * first:
        raise GradingError("the second convolution sees the 256 maps of the first, not the 128 inputs of the block.")
    if got in {first, second}:
        raise GradingError("the block has two convolutions; the max-pool adds no parameters.")
    if got == (9 + 1) * 256 * 2:
        raise GradingError("each filter is 3x3xC_in: it spans all input channels.")
    if got != first + second:
        raise GradingError(f"{got:,} is not it: (3·3·128 + 1)·256 + (3·3·256 + 1)·256.")
    _ok(f"{first:,} + {second:,} = {first + second:,}; the pooling layer has none.")


def _receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    size, jump = 1, 1
    for k, s in layers:
        size += (k - 1) * jump
        jump *= s
    return size


@self_check
def check_receptive_field(fn: Callable[[list[tuple[int, int]]], int]) -> None:
    """``fn(layers)`` with layers = [(kernel, stride), ...] from the input up → receptive field (pixels) of one output."""
    cases = [[(3, 1)], [(3, 1), (3, 1)], [(3, 1)] * 3, [(3, 1), (2, 2), (3, 1)], [(7, 2), (3, 2), (3, 1), (3, 1)],
             [(5, 1), (2, 2), (5, 1), (2, 2)], [(3, 2), (3, 2), (3, 2)]]
    for layers in cases:
        expected = _receptive_field(layers)
        got = _int(call_answer(fn, list(layers), what=f"layers {layers}"), f"receptive_field({layers})")
        if got == expected:
            continue
        hint = ""
        if got == 1 + sum(k - 1 for k, _ in layers):
            hint = " — each layer's growth (k - 1) is multiplied by the product of the strides BELOW it"
        elif got == 1 + sum((k - 1) * int(np.prod([s for _, s in layers[: i + 1]])) for i, (k, _) in enumerate(layers)):
            hint = " — only the strides of the layers below count, not the layer's own stride"
        elif got == sum(k for k, _ in layers):
            hint = " — two stacked 3x3 convs see 5 pixels, not 6: neighbouring windows overlap"
        raise GradingError(f"receptive_field({layers}) returned {got}, expected {expected}{hint}", kind="values")
    _ok("r = 1 + Σ (kᵢ − 1)·(product of the strides below layer i): two 3x3 convs see 5x5, three see 7x7.")


@self_check
def check_separable_weights(count: Any) -> None:
    """Weights (no biases) of a depthwise separable conv 64 → 128 channels with 3x3 kernels."""
    got = _int(count, "your count")
    depthwise, pointwise = 64 * 9, 64 * 128
    if got == 9 * 64 * 128:
        raise GradingError("that is a regular 3x3 convolution; the separable one splits it in a depthwise 3x3 "
                           "(one filter per input channel) and a pointwise 1x1.")
    if got == 128 * 9 + pointwise:
        raise GradingError("the depthwise step has one 3x3 filter per INPUT channel (64), before the channels change.")
    if got in {depthwise, pointwise}:
        raise GradingError("count both steps: the depthwise 3x3 and the pointwise 1x1 that mixes the channels.")
    if got != depthwise + pointwise:
        raise GradingError(f"{got:,} is not it: 3·3·64 (depthwise) + 64·128 (pointwise 1x1).")
    _ok(f"576 + 8,192 = 8,768 weights against {9 * 64 * 128:,} for a regular 3x3 convolution, "
        f"about 8 times fewer.")


@self_check
def check_bottleneck_weights(count: Any) -> None:
    """Weights (no biases) of a 1x1 conv 192 → 96 followed by a 3x3 conv 96 → 128 (an inception branch)."""
    got = _int(count, "your count")
    reduce, conv = 192 * 96, 9 * 96 * 128
    if got == 9 * 192 * 128:
        raise GradingError("that is the 3x3 convolution straight on the 192 maps, without the bottleneck.")
    if got == conv:
        raise GradingError("count the 1x1 convolution too: 192 · 96 weights.")
    if got == reduce + 9 * 192 * 128:
        raise GradingError("after the bottleneck the 3x3 filters see only 96 maps, not 192.")
    if got == 192 * 96 * 9 + conv:
        raise GradingError("a 1x1 convolution has one weight per input channel and filter: 192 · 96, no 3x3.")
    if got != reduce + conv:
        raise GradingError(f"{got:,} is not it: 1·1·192·96 (bottleneck) + 3·3·96·128.")
    _ok(f"{reduce:,} + {conv:,} = {reduce + conv:,} weights instead of {9 * 192 * 128:,}: "
        f"the bottleneck saves {1 - (reduce + conv) / (9 * 192 * 128):.0%}.")


@self_check
def check_se_block_params(count: Any) -> None:
    """Parameters (biases included) of a squeeze-and-excitation block on 256 maps with reduction 16."""
    got = _int(count, "your count")
    hidden = 256 // 16
    expected = (256 + 1) * hidden + (hidden + 1) * 256
    if got == 2 * 256 * hidden:
        raise GradingError("you counted the weights; add the biases of both dense layers (16 + 256).")
    if got == (256 + 1) * 256 * 2 or got == 256 * 256 * 2:
        raise GradingError("the first dense layer squeezes 256 values to 256 / 16 = 16, the second expands back.")
    if got == 0:
        raise GradingError("global average pooling has no parameters, but the two dense layers do.")
    if got != expected:
        raise GradingError(f"{got:,} is not it: dense 256 → 16 and dense 16 → 256, each with biases.")
    _ok(f"(256 + 1)·16 + (16 + 1)·256 = {expected:,}, the same as models.SqueezeExcite(256, reduction=16).")
