"""Self-checks for the exercises of lectures 04-05 (building a CNN; architectures).

No message of a wrong answer states the expected value: a recognised mistake gets its own
hint, anything else a nudge, and ``exercises.hint(name)`` / ``exercises.show_answer(name)``
give more when the student asks. The training-loop, batch-norm and residual checks live in
``training_and_normalization``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cnnlab.checks import GradingError, check_array

from ._core import call_answer, self_check
from ._core import ok as _ok

__all__ = [
    "BEST_EPOCH_HISTORY", "CONFUSION_EXAMPLE", "LENET_C3_TABLE", "check_activation_growth", "check_best_epoch",
    "check_bottleneck_weights", "check_flatten_size", "check_lenet_c3_original", "check_module_subclass",
    "check_most_confused", "check_receptive_field", "check_separable_weights", "check_train_loss_prediction",
    "check_vgg_block_params",
]


def _int(value: Any, what: str) -> int:
    """A whole number (an int, an integral float or a 0-d array)."""
    if isinstance(value, bool):
        raise GradingError(f"{what} should be a number, got {value!r}", kind="type")
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


def _choice(value: Any, options: Sequence[str]) -> str:
    text = str(value).strip().lower().strip("()'\". ")
    if text not in options:
        listed = ", ".join(repr(o) for o in options)
        raise GradingError(f"answer with one of {listed}, got {value!r}", kind="type")
    return text


# ----------------------------------------------------------------- lecture 04
# The 1998 paper's C3 layer: which of the 6 S2 maps each of the 16 C3 maps reads (LeCun et al., Table I).
LENET_C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)
_C3_CONNECTIONS = sum(len(maps) for maps in LENET_C3_TABLE)


@self_check(
    hints=("Each C3 map has its own 5×5 kernel for every S2 map it reads, and one bias.",
           "Count the (C3 map, S2 map) pairs in the table first: 6 maps read 3 inputs, 9 read 4, 1 reads all 6.",
           "parameters = (number of pairs)·25 + 16 biases."),
    answer="(6·3 + 9·4 + 1·6)·25 + 16 = 60·25 + 16 = 1,516 parameters, against (5·5·6 + 1)·16 = 2,416 "
           "for the fully connected C3 that lenet5() builds.",
)
def check_lenet_c3_original(count: Any) -> None:
    """Parameters of the 1998 paper's sparse C3 layer (``LENET_C3_TABLE``): 5x5 kernels, one bias per map."""
    got = _int(count, "your count")
    want = _C3_CONNECTIONS * 25 + 16
    if got == (5 * 5 * 6 + 1) * 16:
        raise GradingError("that is the fully connected C3 of lenet5(); in the 1998 table each map reads only "
                           "some of the 6 S2 maps.")
    if got == _C3_CONNECTIONS * 25:
        raise GradingError("you counted the weights; each of the 16 maps also has one bias.")
    if got == _C3_CONNECTIONS * 26:
        raise GradingError("one bias per output map (16), not one per connection.")
    if got == _C3_CONNECTIONS:
        raise GradingError("that is the number of connections; each one is a whole 5×5 kernel.")
    if got != want:
        raise GradingError("not yet: count the kernels (one per pair in the table), then add the biases.")
    _ok(f"{_C3_CONNECTIONS}·25 + 16 = {want:,} parameters; lenet5() connects every map to every map "
        "and has 2,416 here.")


@self_check(
    hints=("Follow the height and width through the layers, starting from 28: the channel count of the "
           "input does not matter.",
           "A 3×3 'same' convolution keeps the size, a 3×3 'valid' one loses 2, a 2×2 max-pool halves it (rounding "
           "down).",
           "Flatten lays out every map of the last convolution one after the other: side · side · 64."),
    answer="28 → 28 (same conv) → 14 (pool) → 12 (valid conv) → 6 (pool) → 4 (valid conv); 4·4·64 = 1,024.",
)
def check_flatten_size(size: Any) -> None:
    """Length of the vector Flatten produces in the lecture's network for a 28x28 gray input."""
    got = _int(size, "your length")
    if got == 1600:
        raise GradingError("that is the length for the 32×32 input of the lecture; redo the sizes starting "
                           "from 28.")
    if got == 7 * 7 * 64:
        raise GradingError("the two 'valid' convolutions shrink the maps (a 3×3 kernel without padding).")
    if got == 4 * 4:
        raise GradingError("that is the size of one map; Flatten lays out all the maps of the last "
                           "convolution one after the other.")
    if got == 4 * 4 * 32:
        raise GradingError("count the filters of the LAST convolution: that is the number of maps.")
    if got == 4 * 4 * 64 * 3 or got == 4 * 4 * 64 // 3:
        raise GradingError("the input's channel count does not change the length: only the last "
                           "convolution's filters do.")
    if got != 4 * 4 * 64:
        raise GradingError("not yet: follow the height/width layer by layer, then multiply by the number "
                           "of maps.")
    _ok("28 → 28 → 14 → 12 → 6 → 4, and 4·4·64 = 1,024: the first dense layer would need 1,024 inputs, not 1,600.")


# the confusion matrix of the exercise: rows are true digits 0-4, columns predictions
CONFUSION_EXAMPLE = np.array([
    [70, 0, 1, 0, 1],
    [0, 66, 2, 0, 4],
    [1, 1, 68, 2, 0],
    [0, 3, 1, 61, 7],
    [0, 2, 0, 1, 69],
])


@self_check(
    hints=("A mistake is a count off the diagonal (true ≠ predicted).",
           "Rows are the true digits, columns the predictions: the answer is (row, column)."),
    answer="The largest count off the diagonal is 7, in row 3, column 4: (3, 4), seven 3s taken for 4s.",
)
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


@self_check(
    hints=("Early stopping judges the weights on data they were not trained on.",
           "Find the epoch whose validation loss is the smallest; epochs count from 1."),
    answer="The validation loss is lowest (0.66) at epoch 5 and rises afterwards: epoch 5.",
)
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
        where = f"{val_loss[got - 1]}" if 1 <= got <= len(val_loss) else "not in the list"
        raise GradingError(f"at epoch {got} the validation loss is {where}; is it the smallest?")
    _ok(f"epoch {best}: the validation loss is lowest there and rises afterwards (overfitting).")


def _find(module, kind) -> list:
    return [m for m in module.modules() if isinstance(m, kind)]


def _reference_forward(model, x):
    """The forward pass of the exercise's design, computed with the student's own registered layers."""
    import torch.nn.functional as F

    conv1, conv2 = _find(model, _nn().Conv2d)
    (dense,) = _find(model, _nn().Linear)
    h = F.relu(F.conv2d(x, conv1.weight, conv1.bias, padding=1))
    h = F.relu(F.conv2d(h, conv2.weight, conv2.bias, padding=1))
    return F.linear(h.mean(dim=(2, 3)), dense.weight, dense.bias)


def _nn():
    from torch import nn

    return nn


@self_check(
    hints=("Call super().__init__() first, then assign each layer to an attribute (self.conv1 = nn.Conv2d(...)): "
           "that is what registers it. A layer kept in a plain list, or created inside forward, is invisible to "
           ".parameters() and to the state dict.",
           "forward(self, x) applies the layers in order: conv 3×3 with padding=1, ReLU, conv 3×3 with padding=1, "
           "ReLU, then the mean over the height and width (x.mean(dim=(2, 3))), then the dense layer.",
           "The first convolution takes 1 channel to `width`, the second `width` to `width`, the dense layer "
           "`width` inputs to 10 outputs."),
    answer="class TwoConvNet(nn.Module):\n"
           "    def __init__(self, width):\n"
           "        super().__init__()\n"
           "        self.conv1 = nn.Conv2d(1, width, 3, padding=1)\n"
           "        self.conv2 = nn.Conv2d(width, width, 3, padding=1)\n"
           "        self.dense = nn.Linear(width, 10)\n\n"
           "    def forward(self, x):\n"
           "        x = torch.relu(self.conv1(x))\n"
           "        x = torch.relu(self.conv2(x))\n"
           "        return self.dense(x.mean(dim=(2, 3)))",
)
def check_module_subclass(cls: Any) -> None:
    """``cls(width)``: conv 3x3 1→width (pad 1), ReLU, conv 3x3 width→width (pad 1), ReLU, global mean, dense width→10."""
    import torch

    nn = _nn()
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise GradingError(f"pass the class itself (a subclass of nn.Module), got {type(cls).__name__}", kind="type")
    for width in (4, 7):
        try:
            model = cls(width)
        except Exception as exc:  # noqa: BLE001 - any student error becomes a message
            raise GradingError(f"{cls.__name__}({width}) raised {type(exc).__name__}: {exc}", kind="error") from exc
        torch.manual_seed(0)
        x = torch.randn(3, 1, 8, 8)
        out = call_answer(model, x, what=f"{cls.__name__}({width}) on a batch of 3 images of 1×8×8")
        if not isinstance(out, torch.Tensor):
            raise GradingError(f"forward should return a tensor, got {type(out).__name__}", kind="type")
        params = sum(p.numel() for p in model.parameters())
        if params == 0:
            raise GradingError("your module has no parameters: assign each layer to an attribute of self "
                               "(after super().__init__()); layers in a plain list or made in forward are "
                               "not registered.")
        convs, denses = _find(model, nn.Conv2d), _find(model, nn.Linear)
        if len(convs) != 2 or len(denses) != 1:
            raise GradingError(f"{cls.__name__}({width}) registers {len(convs)} Conv2d and {len(denses)} Linear "
                               "layers; the design has two convolutions and one dense layer.")
        shapes = [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs]
        if shapes != [(1, width, (3, 3), (1, 1)), (width, width, (3, 3), (1, 1))]:
            raise GradingError(f"with width={width} your convolutions are (in, out, kernel, padding) = {shapes}; "
                               "compare each with the description.")
        if (denses[0].in_features, denses[0].out_features) != (width, 10):
            raise GradingError(f"with width={width} the dense layer maps {denses[0].in_features} → "
                               f"{denses[0].out_features}; it should take one number per map and give 10 scores.")
        if tuple(out.shape) != (3, 10):
            raise GradingError(f"the output has shape {tuple(out.shape)} for a batch of 3 images; one row of "
                               "10 scores per image is wanted.")
        again = model(x)
        if not torch.allclose(out, again):
            raise GradingError("two calls on the same input give different outputs: are layers created inside "
                               "forward? Create them once, in __init__.")
        with torch.no_grad():
            check_array(out.detach(), _reference_forward(model, x), what=f"the output of {cls.__name__}({width})",
                        rtol=1e-5, atol=1e-5, reveal=False,
                        hint="apply ReLU after each convolution, and average each map over its height and width "
                             "before the dense layer")
        keys = list(model.state_dict())
        if len(keys) != 6:
            raise GradingError(f"the state dict holds {len(keys)} tensors ({keys}); two convolutions and a dense "
                               "layer have a weight and a bias each.")
    _ok(f"{cls.__name__} registers its three layers (6 tensors in the state dict) and computes the design; with "
        "width 4 it has (9·1 + 1)·4 + (9·4 + 1)·4 + (4 + 1)·10 = 238 parameters.")


@self_check(
    hints=("The recorded training loss is an average over the epoch's batches: the weights improved while it was "
           "being measured, and every batch went through the random shifts and rotations of the augmentation.",
           "Now the final weights see the plain training images, in evaluation mode. Are those easier or harder "
           "for the network than jittered ones?"),
    answer="'lower': the final weights on the clean training images score better than the running average over "
           "augmented batches. The same two effects (and dropout or batch norm in training mode, for networks "
           "that have them) make the validation loss sit below the recorded training loss.",
)
def check_train_loss_prediction(prediction: Any) -> None:
    """Predict how the final LeNet-5's loss on the clean training set compares with the history's last training loss."""
    got = _choice(prediction, ("higher", "about the same", "lower"))
    if got == "higher":
        raise GradingError("the history's training loss was measured on harder inputs (jittered) with "
                           "weights that were still improving; which of the two is more favourable?")
    if got == "about the same":
        raise GradingError("two things differ between the two measurements: the weights (during versus after "
                           "the epoch) and the inputs (augmented versus plain). Do both push the same way?")
    _ok("run the next cell and compare your prediction with the measurement.")


# ----------------------------------------------------------------- lecture 05
@self_check(
    hints=("A 3×3 conv from C_in to C_out has (3·3·C_in + 1)·C_out parameters, the +1 being each filter's bias.",
           "The second convolution's filters span the 256 maps of the first, not the block's 128 inputs; "
           "the max-pool has no parameters."),
    answer="(3·3·128 + 1)·256 + (3·3·256 + 1)·256 = 295,168 + 590,080 = 885,248.",
)
def check_vgg_block_params(count: Any) -> None:
    """Parameters of a VGG block: conv 3x3 128→256 then conv 3x3 256→256 (biases included), then a 2x2 max-pool."""
    got = _int(count, "your count")
    first, second = (9 * 128 + 1) * 256, (9 * 256 + 1) * 256
    if got == 9 * 128 * 256 + 9 * 256 * 256:
        raise GradingError("you counted the weights; add one bias per filter.")
    if got == 2 * first:
        raise GradingError("the second convolution sees the 256 maps of the first, not the 128 inputs of the block.")
    if got in {first, second}:
        raise GradingError("the block has two convolutions; the max-pool adds no parameters.")
    if got == (9 + 1) * 256 * 2:
        raise GradingError("each filter is 3×3×C_in: it spans all input channels.")
    if got != first + second:
        raise GradingError("not yet: count each convolution with (3·3·C_in + 1)·C_out and add them.")
    _ok(f"{first:,} + {second:,} = {first + second:,}; the pooling layer has none.")


def _receptive_field(layers: Sequence[tuple[int, int]]) -> int:
    size, jump = 1, 1
    for k, s in layers:
        size += (k - 1) * jump
        jump *= s
    return size


@self_check(
    hints=("Keep two numbers while walking up from the input: the field size so far, and the jump (input pixels "
           "between neighbouring units of the current layer), both starting at 1.",
           "A layer with kernel k widens the field by (k − 1)·jump; only afterwards does its stride multiply the "
           "jump."),
    answer="size, jump = 1, 1\nfor k, s in layers:\n    size += (k - 1) * jump\n    jump *= s\nreturn size",
)
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
            hint = " — each layer's growth (k − 1) is multiplied by the product of the strides BELOW it"
        elif got == 1 + sum((k - 1) * int(np.prod([s for _, s in layers[: i + 1]])) for i, (k, _) in enumerate(layers)):
            hint = " — only the strides of the layers below count, not the layer's own stride"
        elif got == sum(k for k, _ in layers):
            hint = " — two stacked 3×3 convs see 5 pixels, not 6: neighbouring windows overlap"
        raise GradingError(f"receptive_field({layers}) returned {got}, which is not right{hint}", kind="values")
    _ok("r = 1 + Σ (kᵢ − 1)·(product of the strides below layer i): two 3×3 convs see 5×5, three see 7×7.")


@self_check(
    hints=("A depthwise separable convolution is two layers: a depthwise 3×3 (one filter per INPUT channel, "
           "each seeing only its own channel) and a pointwise 1×1 that mixes the channels.",
           "depthwise: 3·3·C_in weights; pointwise: C_in·C_out weights."),
    answer="3·3·64 + 64·128 = 576 + 8,192 = 8,768 weights, against 73,728 for a regular 3×3 convolution.",
)
def check_separable_weights(count: Any) -> None:
    """Weights (no biases) of a depthwise separable conv 64 → 128 channels with 3x3 kernels."""
    got = _int(count, "your count")
    depthwise, pointwise = 64 * 9, 64 * 128
    if got == 9 * 64 * 128:
        raise GradingError("that is a regular 3×3 convolution; the separable one splits it in a depthwise 3×3 "
                           "(one filter per input channel) and a pointwise 1×1.")
    if got == 128 * 9 + pointwise:
        raise GradingError("the depthwise step has one 3×3 filter per INPUT channel, before the channels change.")
    if got in {depthwise, pointwise}:
        raise GradingError("count both steps: the depthwise 3×3 and the pointwise 1×1 that mixes the channels.")
    if got != depthwise + pointwise:
        raise GradingError("not yet: add the weights of the depthwise step and of the pointwise step.")
    _ok(f"576 + 8,192 = 8,768 weights against {9 * 64 * 128:,} for a regular 3×3 convolution, "
        f"about 8 times fewer.")


@self_check(
    hints=("Two layers: a 1×1 convolution 192 → 96 (one weight per input channel and filter), then a 3×3 "
           "convolution whose filters see the 96 reduced maps.",),
    answer="1·1·192·96 + 3·3·96·128 = 18,432 + 110,592 = 129,024 weights, against 221,184 straight from 192.",
)
def check_bottleneck_weights(count: Any) -> None:
    """Weights (no biases) of a 1x1 conv 192 → 96 followed by a 3x3 conv 96 → 128 (an inception branch)."""
    got = _int(count, "your count")
    reduce, conv = 192 * 96, 9 * 96 * 128
    if got == 9 * 192 * 128:
        raise GradingError("that is the 3×3 convolution straight on the 192 maps, without the bottleneck.")
    if got == conv:
        raise GradingError("count the 1×1 convolution too.")
    if got == reduce + 9 * 192 * 128:
        raise GradingError("after the bottleneck the 3×3 filters see only 96 maps, not 192.")
    if got == 192 * 96 * 9 + conv:
        raise GradingError("a 1×1 convolution has one weight per input channel and filter, no 3×3.")
    if got != reduce + conv:
        raise GradingError("not yet: count the 1×1 layer and the 3×3 layer separately and add them.")
    _ok(f"{reduce:,} + {conv:,} = {reduce + conv:,} weights instead of {9 * 192 * 128:,}: "
        f"the bottleneck saves {1 - (reduce + conv) / (9 * 192 * 128):.0%}.")


def _activation_factor() -> float:
    """How many times more layer-output values ResNet-18 stores at 448x448 than at 224x224 (built on "meta")."""
    import torch

    from cnnlab.models import layer_output_shapes, resnet18

    with torch.device("meta"):
        net = resnet18()
    values = [sum(math.prod(r["shape"]) for r in layer_output_shapes(net, side)) for side in (224, 448)]
    return values[1] / values[0]


@self_check(
    hints=("Almost every stored output is a stack of maps; doubling the image's side doubles both the height and "
           "the width of every map.",
           "A convolution's weights do not depend on the size of the image it slides over, and ResNet's global "
           "average pooling hands the dense layer the same 512 numbers at any input size."),
    answer="activations ×4 (slightly less: the pooled vector and the 1000 scores do not grow), parameters ×1.",
)
def check_activation_growth(prediction: Any) -> None:
    """Predicted (activation memory factor, parameter factor) of ResNet-18 at 448×448 against 224×224."""
    try:
        act, par = (float(v) for v in prediction)
    except (TypeError, ValueError):
        raise GradingError(f"give two numbers, (activation factor, parameter factor), got {prediction!r}",
                           kind="type") from None
    measured_act = _activation_factor()
    if abs(par - 1) > 0.05:
        raise GradingError("the parameter factor: do a layer's weights depend on how large the image is?")
    if abs(act - 2) < 0.3:
        raise GradingError("the activation factor: doubling the side doubles the height AND the width.")
    if abs(act - 8) < 0.5 or abs(act - 16) < 1:
        raise GradingError("the activation factor: the number of channels stays the same; only the "
                           "height and width of each map change.")
    if abs(act - measured_act) > 0.25:
        raise GradingError("the activation factor is not right yet: how many more values does each map hold?")
    _ok("run the next cell: it measures both factors, next to your prediction.")
