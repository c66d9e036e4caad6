"""Checks of assignment 2, building blocks and a budgeted CNN (PyTorch).

Blocks are compared with ``cnnlab.course.reference.blocks`` by giving both modules the same weights:
each parameter and buffer is filled from a generator seeded by its *name*, which is why the
assignment fixes the attribute names. None of the three designs (pre-activation unit, CBAM,
shuffle convolution) is in the zoo under another name, and no zoo attribute has their names.

The budgeted CNN is counted and scored by the grader: the probe inside the sandbox sends back
every array the model holds (its state dict and any tensor kept as an attribute), which the
grader counts itself; the accuracy is measured on the held-out digits under a random
augmentation drawn from the secret grading seed, images no student has seen, sent in a secret
order with the labels kept here. The probes live in ``cnnlab.course.inside.probes`` (the only
grading code the sandbox holds).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from cnnlab.course.reference import blocks

from cnnlab.checks.errors import GradingError
from cnnlab.course.inside.probes import probe_block, probe_model, refuse
from .functions import Case, check_function, hidden_seed, random_cases
from .spec import GradedCheck, via

BLOCK_REFERENCES = ("cnnlab.course.reference.blocks.PreActUnit", "cnnlab.course.reference.blocks.CBAM",
                    "cnnlab.course.reference.blocks.ShuffleConv", "cnnlab.models.blocks.BasicBlock",
                    "cnnlab.models.blocks.SqueezeExcite", "cnnlab.models.blocks.DepthwiseSeparableConv",
                    "cnnlab.models.blocks.Bottleneck", "cnnlab.models.blocks.conv_bn_relu")
FORBIDDEN_BLOCKS = ("cnnlab.models", "cnnlab.course", "torch.ops", "torch._C", "torchvision", "timm")
BUDGET = 8_000  # numbers the model holds: parameters and buffers (BatchNorm's step counters aside)
# The grader's test images: the held-out digits moved by up to one pixel, turned by up to 10
# degrees and zoomed by 0.9-1.1, drawn from the secret seed at grading time.
AUGMENTATION = {"shift": 0.125, "degrees": 10.0, "scale": (0.9, 1.1)}
# A student's block may contain neither the references nor the library's blocks (cnnlab.course.inside.probes
# refuses the latter in the sandbox, where the references do not exist).
refuse(blocks.PreActUnit, blocks.CBAM, blocks.ShuffleConv)
ACCURACY_LEVELS = (0.75, 0.85, 0.92)


def _compare_names(got: Any, expected: Any, what: str) -> None:
    if got != expected:
        mine = set(str(got).split("; ")) if got else set()
        theirs = set(str(expected).split("; "))
        odd = sorted(mine - theirs)
        missing = sorted({n.split("(")[0] for n in theirs} - {n.split("(")[0] for n in mine})
        said = (f"these parameters are not what the instructions describe: {', '.join(odd)}" if odd else
                "a parameter the instructions describe is missing")
        if missing and not odd:
            said += f" ({', '.join(missing)})"
        raise GradingError(
            f"{what}: {said}. Use the attribute names, layer types and shapes the instructions give "
            "(they let the grader load the same weights into both)", kind="structure")


def _block_check(student_cls: Any, reference_cls: Callable[..., nn.Module], cases: list[Case], name: str,
                 hint: str) -> None:
    student = via(student_cls, probe_block)
    reference = lambda args, x: probe_block(reference_cls, args, x)  # noqa: E731

    def compare(got: Any, expected: Any, what: str) -> None:
        if isinstance(expected, str):
            _compare_names(got, expected, what)
        else:
            from cnnlab.checks.arrays import check_array

            check_array(got, expected, what=what, rtol=1e-7, atol=1e-9, hint=hint, reveal=False)

    def reference_fn(args, x):
        return reference(args, x)

    check_function(student, reference_fn, cases, forbidden=BLOCK_REFERENCES, name=name,
                   output_names=["output", "parameters"], compare=compare)


def _x(rng: np.random.Generator, c: int) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal((int(rng.integers(1, 3)), c, int(rng.integers(4, 9)),
                                                 int(rng.integers(4, 9)))))


def check_preact_unit(PreActUnit: Any, hidden: bool = False) -> None:
    rng = np.random.default_rng(51)
    cases = [Case(((4, 4, 1), _x(rng, 4)), label="same shape: identity shortcut"),
             Case(((4, 8, 2), _x(rng, 4)), label="stride 2, more channels: pooled projection")]
    if hidden:
        def gen(r):
            cin, cout, s = int(r.integers(1, 6)), int(r.integers(1, 9)), int(r.integers(1, 3))
            return Case(((cin, cout, s), _x(r, cin)))
        cases += random_cases(gen, 6)
        cases += [Case(((3, 6, 1), _x(rng, 3)), label="stride 1, more channels"),
                  Case(((5, 5, 2), _x(rng, 5)), label="stride 2, same channels")]
    _block_check(PreActUnit, blocks.PreActUnit, cases, "PreActUnit",
                 "z = relu(pre_bn(x)); out = conv_b(relu(mid_bn(conv_a(z)))) + (skip(z) when the shape changes, "
                 "else x); no ReLU after the addition")


def check_cbam(CBAM: Any, hidden: bool = False) -> None:
    rng = np.random.default_rng(53)
    cases = [Case(((16, 4), _x(rng, 16)))]
    if hidden:
        cases += random_cases(lambda r: Case(((int(c := r.integers(2, 33)), int(r.integers(1, 9)),
                                               int(r.choice([3, 5, 7]))), _x(r, int(c)))), 6)
    _block_check(CBAM, blocks.CBAM, cases, "CBAM",
                 "channel gate = sigmoid(mlp(mean over space) + mlp(max over space)) with one shared mlp; then a "
                 "spatial gate = sigmoid(spatial([mean over channels, max over channels]))")


def check_shuffle_conv(ShuffleConv: Any, hidden: bool = False) -> None:
    rng = np.random.default_rng(55)
    cases = [Case(((4, 6, 2), _x(rng, 4)))]
    if hidden:
        def gen(r):
            g = int(r.integers(1, 4))
            cin, cout = g * int(r.integers(1, 4)), g * int(r.integers(1, 4))
            return Case(((cin, cout, g, int(r.choice([1, 3, 5])), int(r.integers(1, 3))), _x(r, cin)))
        cases += random_cases(gen, 6)
        cases.append(Case(((6, 9, 3), _x(rng, 6)), label="three groups"))
    _block_check(ShuffleConv, blocks.ShuffleConv, cases, "ShuffleConv",
                 "grouped 1x1 conv, then the channel shuffle (view as (groups, channels per group), swap the two, "
                 "flatten), then the depthwise conv")


# --- the budgeted CNN -------------------------------------------------------------------------

def test_images_of_this_run() -> tuple[torch.Tensor, np.ndarray]:
    """(images, labels) no student has seen: the held-out digits test split under a random
    shift, rotation and zoom drawn from the secret grading seed, in an order drawn from it too.
    The grader sends the images and keeps the labels: a model that recognises the public split
    by looking its images up scores at chance."""
    from cnnlab.augment import RandomAffine
    from cnnlab.data.digits import load_digits_tensors

    seed = hidden_seed()
    images, labels = load_digits_tensors("test")
    moved = RandomAffine(**AUGMENTATION)(images, generator=torch.Generator().manual_seed(seed % 2**63))
    order = np.random.default_rng(seed).permutation(len(labels))
    return moved[torch.from_numpy(order)].contiguous(), labels.numpy()[order]



def count_numbers(held: Any) -> int:
    """How many numbers the model holds, counted here from the arrays the probe sent: every
    parameter, buffer and stored array, BatchNorm's scalar step counters aside."""
    if not isinstance(held, dict):
        raise GradingError("the grader could not read the arrays your model holds", kind="exception")
    total = 0
    for name, value in held.items():
        arr = np.asarray(value)
        if str(name).endswith("num_batches_tracked") and arr.ndim == 0:
            continue
        total += int(arr.size)
    return total


def _budget(model: Any, images: torch.Tensor | None = None) -> tuple[int, np.ndarray]:
    """(numbers the model holds, predictions on ``images``) of the student's model (by default one
    test image: enough to count)."""
    if images is None:
        images = test_images_of_this_run()[0][:1]
    try:
        held, predicted = via(model, probe_model)(images)
    except GradingError:
        raise
    except NotImplementedError:
        raise GradingError("model is not implemented yet", kind="exception") from None
    except Exception as exc:  # noqa: BLE001
        if getattr(exc, "fail_closed", False):
            raise  # the grader could not decide: needs review
        kind = getattr(exc, "remote_type", type(exc).__name__)
        raise GradingError(f"running your model on the test images failed: {kind}: {exc}", kind="exception") from None
    return count_numbers(held), np.asarray(predicted)


def check_param_budget(model: Any, hidden: bool = False) -> None:
    n_numbers, _ = _budget(model)
    if n_numbers > BUDGET:
        raise GradingError(f"your model holds {n_numbers:,} numbers (parameters and buffers), over the budget of "
                           f"{BUDGET:,}: use fewer filters, or global average pooling instead of a large dense layer",
                           kind="budget")


def accuracy_on_test_split(model: Any) -> float:
    """Accuracy of ``model`` on this run's test images (held-out digits under a secret augmentation)."""
    images, labels = test_images_of_this_run()
    _, predicted = _budget(model, images)
    if predicted.shape != tuple(labels.shape):
        raise GradingError(f"your model gives {predicted.shape} predictions for {len(labels)} images: "
                           "return one row of 10 scores per image", kind="shape")
    return float((predicted == labels).mean())


def _accuracy_check(level: float) -> Callable[..., None]:
    def check(model: Any, hidden: bool = False) -> None:
        check_param_budget(model)
        acc = accuracy_on_test_split(model)
        if not acc >= level:
            raise GradingError(f"accuracy {acc:.1%} on the moved test digits is below {level:.0%}: train with "
                               "random shifts, rotations and zooms so the model meets such images", kind="accuracy")

    check.__name__ = f"check_accuracy_{round(level * 100)}"
    return check


check_accuracy_75, check_accuracy_85, check_accuracy_92 = (_accuracy_check(level) for level in ACCURACY_LEVELS)

GRADED_CELLS = {
    "test_preact_unit": GradedCheck(check_preact_unit, ("PreActUnit",), FORBIDDEN_BLOCKS),
    "test_cbam": GradedCheck(check_cbam, ("CBAM",), FORBIDDEN_BLOCKS),
    "test_shuffle_conv": GradedCheck(check_shuffle_conv, ("ShuffleConv",), FORBIDDEN_BLOCKS),
    "test_param_budget": GradedCheck(check_param_budget, ("model",), ("cnnlab.course",)),
    "test_accuracy_75": GradedCheck(check_accuracy_75, ("model",), ("cnnlab.course",)),
    "test_accuracy_85": GradedCheck(check_accuracy_85, ("model",), ("cnnlab.course",)),
    "test_accuracy_92": GradedCheck(check_accuracy_92, ("model",), ("cnnlab.course",)),
}
