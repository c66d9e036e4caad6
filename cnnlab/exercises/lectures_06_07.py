"""Self-checks for the exercises of lectures 06-07 (augmentation and transfer; localization and detection)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cnnlab.checks import GradingError

from ._core import call_answer, self_check
from ._core import number as _number
from ._core import ok as _ok

__all__ = [
    "AUGMENTATION_CHOICES", "NMS_EXAMPLE", "check_digit_augmentations", "check_freeze_base", "check_grid_cell",
    "check_head_params", "check_iou_by_hand", "check_nms_threshold", "check_precision_recall",
    "check_transfer_choice", "check_xywh_to_xyxy",
]


def _numbers(value: Any, n: int, what: str) -> tuple[float, ...]:
    try:
        got = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise GradingError(f"give {what} as {n} numbers, got {value!r}", kind="type") from None
    if len(got) != n:
        raise GradingError(f"give {what} as {n} numbers, got {len(got)}", kind="shape")
    return got


# ----------------------------------------------------------------- lecture 06
AUGMENTATION_CHOICES = {
    "shift": "shift by 2 pixels",
    "small_rotation": "rotate by up to 10 degrees",
    "zoom": "zoom in or out by 10%",
    "flip": "mirror left-right",
    "upside_down": "rotate by 180 degrees",
    "noise": "add white noise to every pixel",
    "brightness": "make the image 20% brighter",
}
_DIGIT_SAFE = {"shift", "small_rotation", "zoom", "brightness"}
_DIGIT_WHY = {
    "flip": "a mirrored 2, 3 or 7 is not a digit any more: no horizontal flips for digits and text",
    "upside_down": "turned upside down a 6 becomes a 9, so the label changes",
    "noise": "white noise on every pixel gives images no scanner or camera produces; it does not help a CNN",
    "shift": "a digit shifted by 2 pixels is still the same digit",
    "small_rotation": "people write slightly tilted digits: a small rotation keeps the label",
    "zoom": "digits come in slightly different sizes: a 10% zoom keeps the label",
    "brightness": "a lighter or darker scan shows the same digit",
}


@self_check
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
    for missing in sorted(_DIGIT_SAFE - got):
        raise GradingError(f"'{missing}' is missing: {_DIGIT_WHY[missing]}.")
    _ok("shifts, small rotations, zooms and brightness changes give images a real digit could look like.")


@self_check
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
        raise GradingError(f"{got:,.0f} is not it: a dense layer from 2,048 features to 37 classes, with biases.")
    _ok(f"(2048 + 1)·37 = {expected:,}: about 0.3% of ResNet-50's 25.6 million parameters are trained.")


def _small_net():
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 16, 3),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))


@self_check
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
        raise GradingError(f"the freezing is right, but you returned {got!r}: count the parameters with "
                           f"requires_grad (here {head_count} = 16·5 + 5).")
    _ok(f"only the head trains: {head_count} parameters (16·5 weights + 5 biases).")


_TRANSFER_WHY = {
    "A": "",
    "B": "with 50,000 labelled images a network trained from scratch catches up: the gain from pretraining shrinks "
         "as the target task gets more labels",
    "C": "features learned on very different images fit the new task less well: the gain shrinks as the source "
         "grows less similar to the target",
}


@self_check
def check_transfer_choice(letter: Any) -> None:
    """Where does a pretrained base help most? 'A', 'B' or 'C' (see the lecture's exercise)."""
    got = str(letter).strip().upper()
    if got not in _TRANSFER_WHY:
        raise GradingError(f"answer with one letter, 'A', 'B' or 'C', got {letter!r}", kind="type")
    if got != "A":
        raise GradingError(f"{got}: {_TRANSFER_WHY[got]}.")
    _ok("A: few labels and a similar source task is where the pretrained features matter most.")


# ----------------------------------------------------------------- lecture 07
def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


@self_check
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
        raise GradingError(f"{got:.3f} is not it: overlap 2·2 = 4, areas 4·3 = 12 and 4·4 = 16, union 12 + 16 - 4.")
    _ok("4 / (12 + 16 - 4) = 1/6 ≈ 0.167: well below 0.5, so as a detection B would not match A.")


@self_check
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
        raise GradingError(f"{got} is not it: x1 = x, y1 = y, x2 = x + w, y2 = y + h.")
    _ok("(12, 8, 32, 38): the corners are (x, y) and (x + w, y + h).")


# boxes (x1, y1, x2, y2) and scores of the NMS exercise: two side-by-side objects, one duplicate
NMS_EXAMPLE = {
    "boxes": np.array([[0.0, 0.0, 10.0, 10.0], [4.0, 0.0, 14.0, 10.0], [2.0, 0.0, 12.0, 10.0]]),
    "scores": np.array([0.9, 0.8, 0.7]),
}


@self_check
def check_nms_threshold(threshold: Any) -> None:
    """An IoU threshold for which greedy NMS on ``NMS_EXAMPLE`` keeps exactly boxes 0 and 1."""
    t = _number(threshold, "your threshold")
    b = [tuple(map(float, row)) for row in NMS_EXAMPLE["boxes"]]
    neighbours, duplicate = _iou(b[0], b[1]), _iou(b[0], b[2])
    if not 0 <= t <= 1:
        raise GradingError(f"an IoU threshold lies between 0 and 1, got {t:g}")
    if t < neighbours:
        raise GradingError(f"at {t:g} NMS also removes box 1, a different object next to box 0: their IoU is "
                           f"{neighbours:.2f}, above your threshold. Raise it.")
    if t >= duplicate:
        raise GradingError(f"at {t:g} the duplicate (box 2, IoU {duplicate:.2f} with box 0) survives. Lower it.")
    _ok(f"any threshold in [{neighbours:.2f}, {duplicate:.2f}) keeps both objects and drops the duplicate; "
        f"for crowded scenes a higher threshold, for isolated objects a lower one.")


@self_check
def check_precision_recall(pair: Any) -> None:
    """(precision, recall) after the 6 ranked detections TP, TP, FP, TP, FP, FP, with 5 objects in the images."""
    precision, recall = _numbers(pair, 2, "(precision, recall)")

    def close(x: float, v: float) -> bool:
        return abs(x - v) < 5e-3

    if close(precision, 0.6) and close(recall, 0.5):
        raise GradingError("swapped: precision divides the true positives by the detections (6), recall by the "
                           "objects (5).")
    if not close(precision, 0.5):
        raise GradingError(f"precision {precision:g} is not it: 3 of the 6 detections are true positives.")
    if close(recall, 3 / 6):
        raise GradingError("recall divides by the number of objects (5), not by the number of detections.")
    if not close(recall, 0.6):
        raise GradingError(f"recall {recall:g} is not it: 3 of the 5 objects were found.")
    _ok("precision 3/6 = 0.5, recall 3/5 = 0.6.")


@self_check
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
        raise GradingError(f"{got} is not it: row = y // 8, col = x // 8 with 8-pixel cells.")
    _ok("(1, 4): row 12 // 8 = 1, column 37 // 8 = 4; inside that cell the centre sits at (0.625, 0.5).")
