"""Checks of assignment 2, building blocks and a budgeted CNN (PyTorch).

Blocks are compared with ``cnnlab.course.reference.blocks`` by giving both modules the same weights:
each parameter and buffer is filled from a generator seeded by its *name*, which is why the
assignment fixes the attribute names. The budgeted CNN is graded on the held-out test split of
``cnnlab.data.digits`` (never used for training), with thresholds for partial credit. The probes
that build a student's block or run the model inside the sandbox live in ``cnnlab.course.inside.probes``
(the only grading code the sandbox holds).
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

BLOCK_REFERENCES = ("cnnlab.course.reference.blocks.ResidualUnit", "cnnlab.course.reference.blocks.SEBlock",
                    "cnnlab.course.reference.blocks.SeparableConv2d", "cnnlab.models.blocks.BasicBlock",
                    "cnnlab.models.blocks.SqueezeExcite", "cnnlab.models.blocks.DepthwiseSeparableConv",
                    "cnnlab.models.blocks.Bottleneck", "cnnlab.models.blocks.conv_bn_relu")
FORBIDDEN_BLOCKS = ("cnnlab.models", "cnnlab.course", "torch.ops", "torch._C", "torchvision", "timm")
PARAM_BUDGET = 20_000
# A student's block may contain neither the references nor the library's blocks (cnnlab.course.inside.probes
# refuses the latter in the sandbox, where the references do not exist).
refuse(blocks.ResidualUnit, blocks.SEBlock, blocks.SeparableConv2d)
ACCURACY_LEVELS = (0.80, 0.90, 0.95)


def _compare_names(got: Any, expected: Any, what: str) -> None:
    if got != expected:
        raise GradingError(
            f"{what}: your module's parameters are [{got}], expected [{expected}]: use the attribute names and "
            "layer types the instructions give (they let the grader load the same weights into both)",
            kind="structure")


def _block_check(student_cls: Any, reference_cls: Callable[..., nn.Module], cases: list[Case], name: str,
                 hint: str) -> None:
    student = via(student_cls, probe_block)
    reference = lambda args, x: probe_block(reference_cls, args, x)  # noqa: E731

    def compare(got: Any, expected: Any, what: str) -> None:
        if isinstance(expected, str):
            _compare_names(got, expected, what)
        else:
            from cnnlab.checks.arrays import check_array

            check_array(got, expected, what=what, rtol=1e-7, atol=1e-9, hint=hint)

    def reference_fn(args, x):
        return reference(args, x)

    check_function(student, reference_fn, cases, forbidden=BLOCK_REFERENCES, name=name,
                   output_names=["output", "parameters"], compare=compare)


def _x(rng: np.random.Generator, c: int) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal((int(rng.integers(1, 3)), c, int(rng.integers(4, 9)),
                                                 int(rng.integers(4, 9)))))


def check_residual_unit(ResidualUnit: Any, hidden: bool = False) -> None:
    rng = np.random.default_rng(51)
    cases = [Case(((4, 4, 1), _x(rng, 4)), label="same shape: identity shortcut"),
             Case(((4, 8, 2), _x(rng, 4)), label="stride 2, more channels: projection shortcut")]
    if hidden:
        def gen(r):
            cin, cout, s = int(r.integers(1, 6)), int(r.integers(1, 9)), int(r.integers(1, 3))
            return Case(((cin, cout, s), _x(r, cin)))
        cases += random_cases(gen, 6)
        cases.append(Case(((3, 6, 1), _x(rng, 3)), label="stride 1, more channels"))
    _block_check(ResidualUnit, blocks.ResidualUnit, cases, "ResidualUnit",
                 "out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); the shortcut is a 1x1 conv with the "
                 "unit's stride + BN when the stride or the channel count changes")


def check_se_block(SEBlock: Any, hidden: bool = False) -> None:
    rng = np.random.default_rng(53)
    cases = [Case(((16, 4), _x(rng, 16)))]
    if hidden:
        cases += random_cases(lambda r: Case(((int(c := r.integers(2, 33)), int(r.integers(1, 9))), _x(r, int(c)))),
                              6)
    _block_check(SEBlock, blocks.SEBlock, cases, "SEBlock",
                 "squeeze (global average pool) -> fc1 + ReLU -> fc2 + sigmoid -> multiply each channel by its gate")


def check_separable_conv(SeparableConv2d: Any, hidden: bool = False) -> None:
    rng = np.random.default_rng(55)
    cases = [Case(((3, 8), _x(rng, 3)))]
    if hidden:
        def gen(r):
            cin, cout, k = int(r.integers(1, 6)), int(r.integers(1, 9)), int(r.choice([1, 3, 5]))
            return Case(((cin, cout, k, int(r.integers(1, 3)), k // 2), _x(r, cin)))
        cases += random_cases(gen, 6)
    _block_check(SeparableConv2d, blocks.SeparableConv2d, cases, "SeparableConv2d",
                 "depthwise: Conv2d(in, in, k, groups=in, bias=False); pointwise: Conv2d(in, out, 1, bias=False)")


# --- the budgeted CNN -------------------------------------------------------------------------

def test_split_in_secret_order() -> tuple[torch.Tensor, np.ndarray]:
    """The held-out digits test split, (images, labels), shuffled by the hidden seed: the grader
    sends the images and keeps the labels, so a model that returns stored answers in the split's
    usual order scores at chance."""
    from cnnlab.data.digits import load_digits_tensors

    images, labels = load_digits_tensors("test")
    order = np.random.default_rng(hidden_seed()).permutation(len(labels))
    return images[torch.from_numpy(order)], labels.numpy()[order]


def _budget(model: Any, images: torch.Tensor | None = None) -> tuple[int, np.ndarray]:
    """(parameters, predictions on ``images``) of the student's model (by default one test image:
    enough to count the parameters)."""
    if images is None:
        images = test_split_in_secret_order()[0][:1]
    try:
        n_params, predicted = via(model, probe_model)(images)
    except GradingError:
        raise
    except NotImplementedError:
        raise GradingError("model is not implemented yet", kind="exception") from None
    except Exception as exc:  # noqa: BLE001
        if getattr(exc, "fail_closed", False):
            raise  # the grader could not decide: needs review
        kind = getattr(exc, "remote_type", type(exc).__name__)
        raise GradingError(f"running your model on the test images failed: {kind}: {exc}", kind="exception") from None
    return int(n_params), np.asarray(predicted)


def check_param_budget(model: Any, hidden: bool = False) -> None:
    n_params, _ = _budget(model)
    if n_params > PARAM_BUDGET:
        raise GradingError(f"your model has {n_params:,} parameters, over the budget of {PARAM_BUDGET:,}: use fewer "
                           "filters, or global average pooling instead of a large dense layer", kind="budget")


def accuracy_on_test_split(model: Any) -> float:
    """Accuracy of ``model`` on the held-out digits test split (sent in a secret order)."""
    images, labels = test_split_in_secret_order()
    _, predicted = _budget(model, images)
    if predicted.shape != tuple(labels.shape):
        raise GradingError(f"your model gives {predicted.shape} predictions, expected {tuple(labels.shape)}: "
                           "one row of 10 scores per image", kind="shape")
    return float((predicted == labels).mean())


def _accuracy_check(level: float) -> Callable[..., None]:
    def check(model: Any, hidden: bool = False) -> None:
        check_param_budget(model)
        acc = accuracy_on_test_split(model)
        if not acc >= level:
            raise GradingError(f"test accuracy {acc:.1%} is below {level:.0%}", kind="accuracy")

    check.__name__ = f"check_accuracy_{round(level * 100)}"
    return check


check_accuracy_80, check_accuracy_90, check_accuracy_95 = (_accuracy_check(level) for level in ACCURACY_LEVELS)

GRADED_CELLS = {
    "test_residual_unit": GradedCheck(check_residual_unit, ("ResidualUnit",), FORBIDDEN_BLOCKS),
    "test_se_block": GradedCheck(check_se_block, ("SEBlock",), FORBIDDEN_BLOCKS),
    "test_separable_conv": GradedCheck(check_separable_conv, ("SeparableConv2d",), FORBIDDEN_BLOCKS),
    "test_param_budget": GradedCheck(check_param_budget, ("model",), ("cnnlab.course",)),
    "test_accuracy_80": GradedCheck(check_accuracy_80, ("model",), ("cnnlab.course",)),
    "test_accuracy_90": GradedCheck(check_accuracy_90, ("model",), ("cnnlab.course",)),
    "test_accuracy_95": GradedCheck(check_accuracy_95, ("model",), ("cnnlab.course",)),
}
