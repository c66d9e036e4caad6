"""Self-checks for lecture 05b (what did the network learn?): the cost of an occlusion map, Grad-CAM from
its parts, a saliency value by finite differences, and a prediction about random noise against FGSM.

No message of a wrong answer states the expected value: a recognised mistake gets its own hint,
anything else a nudge, and ``exercises.hint(name)`` / ``exercises.show_answer(name)`` give more
when the student asks."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from cnnlab.checks import GradingError, check_array

from ._core import call_answer, self_check
from ._core import number as _number
from ._core import ok as _ok

__all__ = ["NOISE_EPS", "check_grad_cam_function", "check_noise_prediction", "check_occlusion_passes",
           "check_score_slope"]

NOISE_EPS = 0.1  # the size of the random perturbation in the predict-then-run exercise


@self_check(
    hints=("Count the patch positions along one side first: the top edge of a 6-pixel patch can be at 0, 2, 4, ... "
           "as long as the patch still fits inside 16 pixels.",
           "Positions per side = (16 - 6) / 2 + 1; the patches form a square grid of positions; then add the pass "
           "on the image without a patch, which gives the score the drops are measured from."),
    answer="(16 - 6) / 2 + 1 = 6 positions per side, 6 · 6 = 36 occluded copies, plus 1 pass on the clean "
           "image: 37 forward passes.",
)
def check_occlusion_passes(answer: Any) -> None:
    """Forward passes for the occlusion map of one 16x16 image, 6x6 patch, stride 2 (clean image included)."""
    got = _number(answer, "your count")
    if got == 36:
        raise GradingError("that counts the occluded copies; the drop is measured from the score of the image "
                           "without a patch, which needs a pass of its own.")
    if got in (25, 26):
        raise GradingError("you have one position per side too few: a patch starting at 0 counts too "
                           "(positions = (n - k) / s + 1).")
    if got in (64, 65):
        raise GradingError("16 / 2 ignores the patch size: the last patch must still fit inside the image.")
    if got in (121, 122):
        raise GradingError("that is the count at stride 1; with stride 2 the patch moves two pixels at a time.")
    if got in (6, 7, 12, 13):
        raise GradingError("the patch slides down the image as well as across: count the positions in both "
                           "directions.")
    check_array(got, 37, what="your count", reveal=False)
    _ok("6 positions per side, 36 occluded copies and the clean image: 37 forward passes for one map "
        "(a saliency map needs one forward and one backward pass).")


def _grad_cam_reference(acts: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    return torch.relu((grads.mean((2, 3))[:, :, None, None] * acts).sum(1))


@self_check(
    hints=("Grad-CAM gives each feature map one weight: the gradient of the class score averaged over the "
           "map's h x w positions, so weights have shape [N, K].",
           "Multiply each map by its weight, sum over the K maps, and keep only the positive part (ReLU): "
           "weights[:, :, None, None] lets the [N, K] weights multiply the [N, K, h, w] maps."),
    answer="def grad_cam_from(activations, gradients):\n"
           "    weights = gradients.mean(dim=(2, 3))                      # [N, K]\n"
           "    cam = (weights[:, :, None, None] * activations).sum(dim=1)  # [N, h, w]\n"
           "    return torch.relu(cam)",
)
def check_grad_cam_function(fn: Callable[[Any, Any], Any]) -> None:
    """``fn(activations [N, K, h, w], gradients [N, K, h, w])`` returns the Grad-CAM maps [N, h, w]."""
    gen = torch.Generator().manual_seed(5)
    acts = torch.rand(2, 4, 3, 5, generator=gen, dtype=torch.float64)
    grads = torch.randn(2, 4, 3, 5, generator=gen, dtype=torch.float64)
    got = call_answer(fn, acts.clone(), grads.clone(), what="activations and gradients of shape (2, 4, 3, 5)")
    if not isinstance(got, torch.Tensor):
        raise GradingError(f"return a torch tensor, got {type(got).__name__}", kind="type")
    expected = _grad_cam_reference(acts, grads)
    got = got.detach().double()
    if got.shape == expected.shape:
        weighted = (grads.mean((2, 3))[:, :, None, None] * acts).sum(1)
        if torch.allclose(got, weighted):
            raise GradingError("some of your values are negative: Grad-CAM keeps only the positive evidence (ReLU).")
        if torch.allclose(got, expected * 15):
            raise GradingError("your maps are 15 times too large: average the gradients over the positions "
                               "(mean), do not sum them.")
        if torch.allclose(got, torch.relu((grads * acts).sum(1))):
            raise GradingError("you weighted each position by its own gradient; Grad-CAM gives each whole map "
                               "one weight, the gradient averaged over the map.")
        if torch.allclose(got, torch.relu((grads.mean(1, keepdim=True) * acts).sum(1))):
            raise GradingError("you averaged the gradients over the channels; average them over the positions "
                               "(the last two axes) instead, to get one weight per map.")
    check_array(got, expected, what="your Grad-CAM maps", reveal=False, rtol=1e-6, atol=1e-9)
    _ok("one weight per map (the mean gradient), a weighted sum of the maps, then ReLU: the same maps as "
        "cnnlab.explain.grad_cam_parts computes.")


def _tiny_scorer() -> tuple[torch.nn.Module, torch.Tensor]:
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.Tanh(), torch.nn.Flatten(),
                                torch.nn.Linear(3 * 6 * 6, 2)).double().eval()
    x = torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    return model, x


@self_check(
    hints=("Make two copies of the image; add h to pixel (i, j) of one and subtract h from the other "
           "(clone first, so the original stays as it was).",
           "Run the model on both without gradients, take the logit of the target class from each, and "
           "divide their difference by 2h (the central difference)."),
    answer="def score_slope(model, x, target, i, j, h=1e-4):\n"
           "    up, down = x.clone(), x.clone()\n"
           "    up[0, 0, i, j] += h\n"
           "    down[0, 0, i, j] -= h\n"
           "    with torch.no_grad():\n"
           "        return float((model(up)[0, target] - model(down)[0, target]) / (2 * h))",
)
def check_score_slope(fn: Callable[..., Any]) -> None:
    """``fn(model, x, target, i, j)`` estimates d logit[target] / d x[0, 0, i, j] by central differences."""
    from cnnlab.explain import input_gradient

    model, x = _tiny_scorer()
    before = x.clone()
    cases = [(0, 2, 3), (1, 0, 5), (1, 4, 1)]
    for target, i, j in cases:
        got = call_answer(fn, model, x, target, i, j, what=f"target {target}, pixel ({i}, {j})")
        if not torch.equal(x, before):
            raise GradingError("your function changed the image it was given: clone it before adding h.")
        value = _number(got.item() if isinstance(got, torch.Tensor) and got.numel() == 1 else got, "your slope")
        exact = float(input_gradient(model, x, target)[0, 0, i, j])
        other = float(input_gradient(model, x, 1 - target)[0, 0, i, j])
        if abs(value - other) < 1e-4 * max(1.0, abs(other)) and abs(exact - other) > 1e-3:
            raise GradingError("your slope belongs to the other class: take the logit of column `target`.")
        if abs(value - exact / 2) < 1e-4 * max(1.0, abs(exact)) and abs(exact) > 1e-3:
            raise GradingError("your slope is half the right one: check the divisor against the distance "
                               "between x + h and x - h.")
        if abs(value + exact) < 1e-4 * max(1.0, abs(exact)) and abs(exact) > 1e-3:
            raise GradingError("the sign is flipped: compute score(x + h) - score(x - h).")
        check_array(value, exact, what=f"your slope at pixel ({i}, {j}) for class {target}", reveal=False,
                    rtol=1e-3, atol=1e-5)
    _ok("the central difference agrees with autograd's input gradient at every pixel tried: a saliency map "
        "is this slope for all pixels at once, from one backward pass.")


def _choice(value: Any, options: tuple[str, ...]) -> str:
    text = str(value).strip().lower().strip("()'\". ")
    if text not in options:
        raise GradingError(f"answer with one of {', '.join(repr(o) for o in options)}, got {value!r}", kind="type")
    return text


def noise_accuracies(eps: float = NOISE_EPS) -> tuple[float, float]:
    """Accuracy of the shipped digits network on its test images under random ±eps signs (seed 0) and FGSM."""
    from cnnlab import pretrained
    from cnnlab.data.digits import load_digits_tensors
    from cnnlab.explain import accuracy_under_attack
    from cnnlab.explain._common import eval_mode

    spec = pretrained.PRETRAINED["digits04_resnet"]
    model = pretrained.load("digits04_resnet")
    x, y = load_digits_tensors("test", size=spec.input_size, classes=spec.classes)
    signs = torch.randint(0, 2, x.shape, generator=torch.Generator().manual_seed(0)).to(x.dtype) * 2 - 1
    with eval_mode(model), torch.no_grad():
        random = (model((x + eps * signs).clamp(0, 1)).argmax(1) == y).double().mean().item()
    (fgsm,) = accuracy_under_attack(model, x, y, [eps])
    return random, fgsm


@self_check(
    hints=("Both perturbations change every pixel by exactly ε; only the directions differ. FGSM picks each "
           "sign to raise the loss, random noise picks it by a coin toss.",
           "For the class score, a change of the pixels acts roughly like a dot product with the gradient: "
           "aligned signs all add up, random signs mostly cancel."),
    answer="'above': with random signs the changes of the score mostly cancel, so the network still gets nearly "
           "every test digit right, while FGSM's aligned signs at the same ε cost it about half of them.",
)
def check_noise_prediction(prediction: Any) -> None:
    """Predict-then-run: with random ±0.1 signs instead of FGSM's, is the digits accuracy above or below 90%?"""
    choice = _choice(prediction, ("above", "below"))
    random, fgsm = noise_accuracies()
    truth = "above" if random > 0.9 else "below"
    if choice != truth:
        raise GradingError("the measurement disagrees with your prediction. Think about what makes FGSM's "
                           "perturbation special: its size, or its direction?")
    _ok(f"measured: {random:.1%} with random signs of size {NOISE_EPS} against {fgsm:.1%} under FGSM with the same "
        "ε. The size of a perturbation says little; its direction, along the gradient, does the damage.")
