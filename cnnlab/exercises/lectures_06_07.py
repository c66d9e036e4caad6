"""Self-checks for the exercises of lectures 06-07 (augmentation and transfer; localization and detection).

No message of a wrong answer states the expected value: a recognised mistake gets its own hint,
anything else a nudge, and ``exercises.hint(name)`` / ``exercises.show_answer(name)`` give more
when the student asks."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cnnlab.checks import GradingError, check_array

from ._core import call_answer, self_check
from ._core import number as _number
from ._core import ok as _ok

__all__ = [
    "AUGMENTATION_CHOICES", "NMS_EXAMPLE", "check_digit_augmentations", "check_focal_loss", "check_freeze_base",
    "check_grid_cell", "check_head_lr_prediction", "check_head_params", "check_iou_by_hand", "check_nms_threshold",
    "check_precision_recall", "check_score_threshold_prediction", "check_transfer_choice", "check_xywh_to_xyxy",
]


def _numbers(value: Any, n: int, what: str) -> tuple[float, ...]:
    try:
        got = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise GradingError(f"give {what} as {n} numbers, got {value!r}", kind="type") from None
    if len(got) != n:
        raise GradingError(f"give {what} as {n} numbers, got {len(got)}", kind="shape")
    return got


def _choice(value: Any, options: tuple[str, ...]) -> str:
    text = str(value).strip().lower().strip("()'\". ")
    if text not in options:
        raise GradingError(f"answer with one of {', '.join(repr(o) for o in options)}, got {value!r}", kind="type")
    return text


# ----------------------------------------------------------------- lecture 06
AUGMENTATION_CHOICES = {
    "shift": "shift by 2 pixels",
    "small_rotation": "rotate by up to 10 degrees",
    "zoom": "zoom in or out by 10%",
    "flip": "mirror left-right",
    "upside_down": "rotate by 180 degrees",
    "noise": "add a little white noise to every pixel",
    "brightness": "make the image 20% brighter",
}
_DIGIT_SAFE = {"shift", "small_rotation", "zoom", "brightness", "noise"}
_DIGIT_WHY = {
    "flip": "a mirrored 2, 3 or 7 is not a digit any more: no horizontal flips for digits and text",
    "upside_down": "turned upside down a 6 becomes a 9, so the label changes",
    "noise": "a little noise leaves the digit readable and its label unchanged; noise augmentation is what makes "
             "a network robust to grainy, noisy scans",
    "shift": "a digit shifted by 2 pixels is still the same digit",
    "small_rotation": "people write slightly tilted digits: a small rotation keeps the label",
    "zoom": "digits come in slightly different sizes: a 10% zoom keeps the label",
    "brightness": "a lighter or darker scan shows the same digit",
}


@self_check(
    hints=("For each change ask two questions: does the image still show a digit a person could have written and "
           "scanned, and is it still the SAME digit?",
           "Mirror images and half-turns are the risky ones: think of 2, 3, 7 mirrored, and of 6 and 9 turned over. "
           "The mild changes (a little shift, tilt, size, lighting or noise) keep both the digit and its class."),
    answer="{'shift', 'small_rotation', 'zoom', 'brightness', 'noise'}: all keep the label. Not 'flip' (a mirrored "
           "2 is no digit) and not 'upside_down' (6 becomes 9).",
)
def check_digit_augmentations(chosen: Any) -> None:
    """The keys of ``AUGMENTATION_CHOICES`` that keep a hand-written digit's label (and look like real digits)."""
    if isinstance(chosen, str):
        chosen = {chosen}
    try:
        got = {str(c) for c in chosen}
    except TypeError:
        raise GradingError(f"give a set of names such as {{'shift', 'zoom'}}, got {chosen!r}", kind="type") from None
    unknown = got - AUGMENTATION_CHOICES.keys()
    if unknown:
        raise GradingError(f"{sorted(unknown)} not among the choices: use the keys {sorted(AUGMENTATION_CHOICES)}",
                           kind="type")
    for bad in sorted(got - _DIGIT_SAFE):
        raise GradingError(f"'{bad}': {_DIGIT_WHY[bad]}.")
    missing = sorted(_DIGIT_SAFE - got)
    if missing:
        raise GradingError(f"{len(missing)} safe augmentation(s) missing from your set: which of the others keep "
                           f"a digit's label?")
    _ok("shifts, small rotations, zooms, lighting changes and mild noise keep the label; noise mainly buys "
        "robustness to noisy inputs.")


@self_check(
    hints=("Only the new head trains. It is one dense layer from the base's 2,048 features to one output per "
           "pet breed.",
           "A dense layer from n inputs to m outputs has n·m weights and m biases."),
    answer="(2048 + 1)·37 = 75,813 trainable parameters, about 0.3% of ResNet-50's 25.6 million.",
)
def check_head_params(count: Any) -> None:
    """Trainable parameters of a frozen ResNet-50 base (2,048 features after GAP) with a new head for 37 classes."""
    got = _number(count, "your count")
    expected = (2048 + 1) * 37
    if got == 2048 * 37:
        raise GradingError("you counted the weights; the new dense layer also has one bias per class (37).")
    if got == (2048 + 1) * 1000:
        raise GradingError("the old 1,000-class head is replaced: the new one has one output per new class (37).")
    if got > 1_000_000:
        raise GradingError("the base is frozen: only the new head's parameters are trainable.")
    if got != expected:
        raise GradingError(f"{got:,.0f} is not it: count the parameters of one dense layer from 2,048 features to "
                           f"37 classes, biases included.")
    _ok(f"(2048 + 1)·37 = {expected:,}: about 0.3% of ResNet-50's 25.6 million parameters are trained.")


def _small_net():
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 16, 3),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))


@self_check(
    hints=("Two loops: first over net.parameters() (all of them, head included) setting requires_grad = False, "
           "then over head.parameters() setting it back to True.",
           "Count with sum(p.numel() for p in net.parameters() if p.requires_grad)."),
    answer="for p in net.parameters(): p.requires_grad = False\nfor p in head.parameters(): p.requires_grad = "
           "True\nreturn sum(p.numel() for p in net.parameters() if p.requires_grad)",
)
def check_freeze_base(fn: Callable[[Any, Any], int]) -> None:
    """``fn(net, head)``: make every parameter of ``net`` untrainable except those of ``head``; return how many
    parameters remain trainable."""
    net = _small_net()
    head = net[-1]
    head_count = sum(p.numel() for p in head.parameters())
    got = call_answer(fn, net, head, what="a small CNN whose head is a Linear(16, 5)")
    head_ok = all(p.requires_grad for p in head.parameters())
    base = [p for m in list(net)[:-1] for p in m.parameters()]
    base_frozen = all(not p.requires_grad for p in base)
    if not head_ok and base_frozen:
        raise GradingError("the head is frozen too: nothing would learn. Freeze the base, then make the head's "
                           "parameters trainable (requires_grad = True).")
    if not base_frozen:
        still = sum(p.numel() for p in base if p.requires_grad)
        raise GradingError(f"{still} parameters of the base still require gradients: set requires_grad = False on "
                           f"every parameter outside the head (net.parameters() includes the head's).")
    if not head_ok:
        raise GradingError("some parameters of the head are frozen; the head must stay trainable.")
    if _number(got, "your returned count") != head_count:
        raise GradingError(f"the freezing is right, but you returned {got!r}: return the number of parameter "
                           f"VALUES (p.numel()) that still have requires_grad, not the number of tensors.")
    _ok(f"only the head trains: {head_count} parameters (16·5 weights + 5 biases).")


_TRANSFER_WHY = {
    "A": "",
    "B": "with 50,000 labelled images a network trained from scratch catches up: the gain from pretraining shrinks "
         "as the target task gets more labels",
    "C": "features learned on very different images fit the new task less well: the gain shrinks as the source "
         "grows less similar to the target",
}


@self_check(
    hints=("Pretrained features are worth most when the new task cannot learn good features on its own.",
           "Two things matter: how many labels the new task has, and how similar its images are to the source's."),
    answer="'A': few labels, and photos of birds are much like ImageNet's photos.",
)
def check_transfer_choice(letter: Any) -> None:
    """Where does a pretrained base help most? 'A', 'B' or 'C' (see the lecture's exercise)."""
    got = str(letter).strip().upper()
    if got not in _TRANSFER_WHY:
        raise GradingError(f"answer with one letter, 'A', 'B' or 'C', got {letter!r}", kind="type")
    if got != "A":
        raise GradingError(f"{got}: {_TRANSFER_WHY[got]}.")
    _ok("A: few labels and a similar source task is where the pretrained features matter most.")


@self_check(
    hints=("The head starts from random weights and gets 30 updates (one batch of 15 images per epoch).",
           "Adam moves each weight by roughly the learning rate per step. How far do 30 steps of 1e-4 move a "
           "weight that starts around ±0.1?"),
    answer="'lower': 30 steps of 1e-4 change each weight by about 0.003, so the head stays close to its random "
           "start and the accuracy stays near what a random head gives. A learning rate is tied to the number of "
           "steps: few steps need a large one.",
)
def check_head_lr_prediction(prediction: Any) -> None:
    """Predict the head-only test accuracy with lr 1e-4 instead of 1e-2 (same 30 epochs) against the lecture's."""
    got = _choice(prediction, ("higher", "about the same", "lower"))
    if got == "higher":
        raise GradingError("a smaller step is gentler, but is 30 small steps enough to get anywhere from a random "
                           "start?")
    if got == "about the same":
        raise GradingError("the two runs take the same number of steps; does the size of each step not matter?")
    _ok("run the next cell and compare your prediction with the measurement.")


# ----------------------------------------------------------------- lecture 07
def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


@self_check(
    hints=("Overlap first: in x the boxes share [3, 5], in y they share [2, 4].",
           "The union is area(A) + area(B) - overlap: the overlap would otherwise be counted twice."),
    answer="overlap 2·2 = 4; areas 4·3 = 12 and 4·4 = 16; IoU = 4 / (12 + 16 - 4) = 1/6 ≈ 0.167.",
)
def check_iou_by_hand(value: Any) -> None:
    """IoU of the boxes A = (1, 1, 5, 4) and B = (3, 2, 7, 6), both (x1, y1, x2, y2)."""
    got = _number(value, "your IoU")
    a, b = (1, 1, 5, 4), (3, 2, 7, 6)
    expected = _iou(a, b)  # 4 / 24
    close = lambda v: abs(got - v) < 5e-3  # noqa: E731
    if close(4 / 28):
        raise GradingError("28 = 12 + 16 counts the overlap twice: the union is area(A) + area(B) - overlap.")
    if close(4 / 12) or close(4 / 16):
        raise GradingError("divide the overlap by the union of the two boxes, not by the area of one of them.")
    if not close(expected):
        raise GradingError(f"{got:.3f} is not it: compute the overlap's width and height from the corners, then "
                           f"divide its area by the area of the union.")
    _ok("4 / (12 + 16 - 4) = 1/6 ≈ 0.167: well below 0.5, so as a detection B would not match A.")


@self_check(
    hints=("In COCO's format (x, y) is the top-left corner and (w, h) the size.",
           "The bottom-right corner is the top-left one moved by the width and the height."),
    answer="(12, 8, 32, 38): x2 = x + w = 32, y2 = y + h = 38.",
)
def check_xywh_to_xyxy(box: Any) -> None:
    """The COCO box (x, y, w, h) = (12, 8, 20, 30) as corners (x1, y1, x2, y2)."""
    got = _numbers(box, 4, "(x1, y1, x2, y2)")
    if got == (2, -7, 22, 23):
        raise GradingError("COCO's (x, y) is the top-left corner, not the centre: x2 = x + w, y2 = y + h.")
    if got == (12, 8, 20, 30):
        raise GradingError("(20, 30) are the width and height; the second corner is (12 + 20, 8 + 30).")
    if got == (8, 12, 38, 32):
        raise GradingError("keep the order x before y: (x1, y1, x2, y2).")
    if got != (12, 8, 32, 38):
        raise GradingError(f"{got} is not it: which corner is (x, y), and how do w and h give the other one?")
    _ok("(12, 8, 32, 38): the corners are (x, y) and (x + w, y + h).")


# boxes (x1, y1, x2, y2) and scores of the NMS exercise: two side-by-side objects, one duplicate
NMS_EXAMPLE = {
    "boxes": np.array([[0.0, 0.0, 10.0, 10.0], [4.0, 0.0, 14.0, 10.0], [2.0, 0.0, 12.0, 10.0]]),
    "scores": np.array([0.9, 0.8, 0.7]),
}


@self_check(
    hints=("Compute two IoUs: box 0 with box 1 (the neighbour that must stay) and box 0 with box 2 (the duplicate "
           "that must go).",
           "A box is removed when its IoU with a kept box is ABOVE the threshold: the threshold must lie at or "
           "above the neighbours' IoU and below the duplicate's."),
    answer="IoU(0, 1) = 60 / 140 ≈ 0.43 and IoU(0, 2) = 80 / 120 ≈ 0.67: any threshold in [0.43, 0.67), "
           "e.g. 0.5.",
)
def check_nms_threshold(threshold: Any) -> None:
    """An IoU threshold for which greedy NMS on ``NMS_EXAMPLE`` keeps exactly boxes 0 and 1."""
    t = _number(threshold, "your threshold")
    b = [tuple(map(float, row)) for row in NMS_EXAMPLE["boxes"]]
    neighbours, duplicate = _iou(b[0], b[1]), _iou(b[0], b[2])
    if not 0 <= t <= 1:
        raise GradingError(f"an IoU threshold lies between 0 and 1, got {t:g}")
    if t < neighbours:
        raise GradingError(f"at {t:g} NMS also removes box 1, a different object next to box 0: their IoU is "
                           f"above your threshold. Raise it.")
    if t >= duplicate:
        raise GradingError(f"at {t:g} the duplicate (box 2) survives: its IoU with box 0 is not above your "
                           f"threshold. Lower it.")
    _ok(f"any threshold in [{neighbours:.2f}, {duplicate:.2f}) keeps both objects and drops the duplicate; "
        f"for crowded scenes a higher threshold, for isolated objects a lower one.")


@self_check(
    hints=("Count the true positives among the six detections.",
           "Precision divides them by the number of detections, recall by the number of objects."),
    answer="3 true positives: precision 3/6 = 0.5, recall 3/5 = 0.6.",
)
def check_precision_recall(pair: Any) -> None:
    """(precision, recall) after the 6 ranked detections TP, TP, FP, TP, FP, FP, with 5 objects in the images."""
    precision, recall = _numbers(pair, 2, "(precision, recall)")

    def close(x: float, v: float) -> bool:
        return abs(x - v) < 5e-3

    if close(precision, 0.6) and close(recall, 0.5):
        raise GradingError("swapped: precision divides the true positives by the detections (6), recall by the "
                           "objects (5).")
    if not close(precision, 0.5):
        raise GradingError(f"precision {precision:g} is not it: what fraction of the detections are true positives?")
    if close(recall, 3 / 6):
        raise GradingError("recall divides by the number of objects (5), not by the number of detections.")
    if not close(recall, 0.6):
        raise GradingError(f"recall {recall:g} is not it: what fraction of the objects were found?")
    _ok("precision 3/6 = 0.5, recall 3/5 = 0.6.")


@self_check(
    hints=("The cells of an 8x8 grid on a 64x64 image are 8 pixels wide; count them from 0.",
           "row = y // cell size, column = x // cell size (round down)."),
    answer="(1, 4): row 12 // 8 = 1, column 37 // 8 = 4.",
)
def check_grid_cell(cell: Any) -> None:
    """(row, col) of the 8x8-grid cell responsible for an object centred at (x, y) = (37, 12) in a 64x64 image."""
    try:
        got = tuple(int(v) for v in cell)
    except (TypeError, ValueError):
        raise GradingError(f"give the cell as (row, col), got {cell!r}", kind="type") from None
    if got == (4, 1):
        raise GradingError("the row comes from y (12) and the column from x (37): give (row, col).")
    if got in {(2, 5), (2, 4), (1, 5)}:
        raise GradingError("cells are 64 / 8 = 8 pixels wide and counted from 0: round DOWN, 37 // 8 and 12 // 8.")
    if got != (1, 4):
        raise GradingError(f"{got} is not it: how wide is a cell, and which cell holds x = 37 and y = 12?")
    _ok("(1, 4): row 12 // 8 = 1, column 37 // 8 = 4; inside that cell the centre sits at (0.625, 0.5).")


@self_check(
    hints=("Cutting at a score threshold removes only the low-scoring end of the ranked list: the detections "
           "above 0.5 keep their order, so the precision-recall curve keeps its start.",
           "What happens to the recall the curve can reach, and to the area under the curve, when its tail is "
           "cut off?"),
    answer="'lower' (or at best the same): AP is the area under the whole precision-recall curve; a score "
           "threshold cuts the curve's tail, so the objects only found at low scores no longer add recall. "
           "A threshold is for showing detections to a user, not for computing mAP.",
)
def check_score_threshold_prediction(prediction: Any) -> None:
    """Predict the VOC mAP when only detections scoring >= 0.5 are kept (instead of >= 0.05)."""
    got = _choice(prediction, ("higher", "about the same", "lower"))
    if got == "higher":
        raise GradingError("removing low-scoring boxes does remove false positives, but it cannot change the "
                           "order of the ones that stay. Which part of the precision-recall curve goes?")
    if got == "about the same":
        raise GradingError("that holds only if no object is found at a score below 0.5; are all true positives "
                           "so confident?")
    _ok("run the next cell and compare your prediction with the measurement.")


def _focal_reference(p: np.ndarray, gamma: float) -> np.ndarray:
    return -((1 - p) ** gamma) * np.log(p)


@self_check(
    hints=("The focal loss is cross-entropy, -log(p_t), multiplied by the factor (1 - p_t) ** gamma.",
           "Work elementwise on the array (torch.log / np.log, **): no loop is needed."),
    answer="def focal_loss(p_t, gamma):\n    return -(1 - p_t) ** gamma * np.log(p_t)",
)
def check_focal_loss(fn: Callable[[Any, float], Any]) -> None:
    """``fn(p_t, gamma)``: the focal loss -(1 - p_t)^gamma log p_t, elementwise, for an array of p_t."""
    p = np.array([0.05, 0.3, 0.5, 0.9, 0.99])
    for gamma in (0.0, 2.0, 5.0):
        got = call_answer(fn, p.copy(), gamma, what=f"p_t = {p.tolist()}, gamma = {gamma:g}")
        got = np.asarray(got.detach().cpu() if hasattr(got, "detach") else got, dtype=float)
        want = _focal_reference(p, gamma)
        if got.shape == want.shape and np.allclose(got, -want, rtol=1e-6):
            raise GradingError("the sign is flipped: log p_t is negative, so the loss carries a minus sign.")
        if gamma == 2.0 and got.shape == want.shape and np.allclose(got, -(p ** 2) * np.log(p), rtol=1e-6):
            raise GradingError("the factor is (1 - p_t) ** gamma: it should shrink the loss of the EASY examples "
                               "(p_t near 1), not of the hard ones.")
        check_array(got, want, what=f"your loss at gamma = {gamma:g}", rtol=1e-6, atol=1e-9, reveal=False,
                    hint="at gamma = 0 it must equal the cross-entropy -log(p_t)" if gamma == 0 else None)
    _ok("at gamma = 2 an easy example with p_t = 0.9 counts 100 times less than in cross-entropy; RetinaNet "
        "uses gamma = 2, so the many easy background anchors stop drowning the few objects.")
