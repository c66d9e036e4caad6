"""Assignments 2 and 3 end to end: reference = full marks, release = zero, a few wrong answers.

One course for both assignments (generate once each), graded with the parallel grader.
"""
from __future__ import annotations

import pytest

from _course import Course, total

A2, A3 = "a2_blocks_and_budget", "a3_detection"
FULL2 = {"test_residual_unit": 4, "test_se_block": 3, "test_separable_conv": 3, "test_param_budget": 1,
         "test_accuracy_80": 1, "test_accuracy_90": 1, "test_accuracy_95": 2}
FULL3 = {"test_box_iou": 3, "test_nms": 3, "test_decode_grid": 3, "test_average_precision": 3}

RESIDUAL_NO_PROJECTION = '''
class ResidualUnit(nn.Module):
    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        if out.shape == x.shape:
            out = out + x
        return torch.relu(out)
'''
SE_FROM_LIBRARY = "from cnnlab.models.blocks import SqueezeExcite as _SE\n\nclass SEBlock(_SE):\n    pass\n"
TOO_BIG = '''
torch.manual_seed(0)
model = nn.Sequential(nn.Flatten(), nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 10))
'''
IOU_SQUARE_ONLY = '''
def box_iou(a, b):
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    side_a = a[:, 2] - a[:, 0]
    side_b = b[:, 2] - b[:, 0]
    return inter / (side_a[:, None] ** 2 + side_b[None, :] ** 2 - inter)
'''
NMS_FROM_LIBRARY = "from cnnlab.detection import batched_nms as library_nms\n\ndef nms(boxes, scores, iou_threshold):\n" \
                   "    return library_nms(boxes, scores, torch.zeros(len(scores), dtype=torch.long), iou_threshold)\n"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    c = Course(tmp_path_factory.mktemp("a23course"), cell_timeout=120)
    c.course("init")
    for a in (A2, A3):
        c.nbgrader("generate_assignment", a)
    c.submit(A2, "ref", c.answered(A2))
    c.submit(A2, "blank", c.release(A2))
    c.submit(A2, "wrong", c.answered(A2, residual_unit=RESIDUAL_NO_PROJECTION, se_block=SE_FROM_LIBRARY,
                                      budget_model=TOO_BIG))
    c.submit(A3, "ref", c.answered(A3))
    c.submit(A3, "blank", c.release(A3))
    c.submit(A3, "wrong", c.answered(A3, box_iou=IOU_SQUARE_ONLY, nms=NMS_FROM_LIBRARY))
    c.course("grade", A2, "--jobs", "2")
    c.course("grade", A3, "--jobs", "2")
    return c


def test_release_notebooks_hide_solutions_and_hidden_tests(course):
    for a in (A2, A3):
        text = (course.root / "release" / a / f"{a}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "hidden=True" not in text
        assert "check_accuracy_95" not in text


def test_assignment2_scores(course):
    scores = course.scores(A2)
    assert {k: scores["ref"][k] for k in FULL2} == FULL2
    assert total(scores["blank"]) == 0
    wrong = scores["wrong"]
    assert wrong["test_residual_unit"] == 0 and wrong["test_se_block"] == 0
    assert wrong["test_separable_conv"] == 3
    assert all(wrong[k] == 0 for k in ("test_param_budget", "test_accuracy_80", "test_accuracy_90", "test_accuracy_95"))


def test_assignment3_scores(course):
    scores = course.scores(A3)
    assert {k: scores["ref"][k] for k in FULL3} == FULL3
    assert total(scores["blank"]) == 0
    wrong = scores["wrong"]
    assert wrong == pytest.approx({**FULL3, "test_box_iou": 0, "test_nms": 0, "written_speed_accuracy": 0})
