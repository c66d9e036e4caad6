"""Assignments 2 and 3 end to end: reference = full marks, release = zero, wrong answers and cheats.

One course for both assignments (generate once each), graded with the parallel grader. Assignment 2's
budget is counted from the arrays the grader receives (a model hiding its parameters is counted
right) and its accuracy is measured on digits moved at grading time (a look-up of the public test
split scores at chance).
"""
from __future__ import annotations

import pytest

from _course import Course, total, verification
from _helpers import answer_key_lines

A2, A3 = "a2_blocks_and_budget", "a3_detection"
FULL2 = {"test_preact_unit": 4, "test_cbam": 3, "test_shuffle_conv": 3, "test_param_budget": 1,
         "test_accuracy_75": 1, "test_accuracy_85": 1, "test_accuracy_92": 2}
ACCURACY = ("test_accuracy_75", "test_accuracy_85", "test_accuracy_92")
FULL3 = {"test_box_giou": 3, "test_soft_nms": 3, "test_decode_anchors": 3, "test_coco_ap": 3}

# the zoo's post-activation unit with the assignment's names: a ReLU after the addition, a strided 1x1 conv
POST_ACTIVATION = '''
class PreActUnit(nn.Module):
    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__()
        self.pre_bn = nn.BatchNorm2d(in_ch)
        self.conv_a = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.mid_bn = nn.BatchNorm2d(out_ch)
        self.conv_b = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.changes_shape = stride != 1 or in_ch != out_ch
        if self.changes_shape:
            self.skip = nn.Sequential(nn.Identity(), nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False))

    def forward(self, x):
        out = self.mid_bn(self.conv_b(torch.relu(self.pre_bn(self.conv_a(x)))))
        return torch.relu(out + (self.skip(x) if self.changes_shape else x))
'''
# squeeze-and-excitation's gate (average only), no spatial attention
SE_AS_CBAM = '''
class CBAM(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp_in = nn.Linear(channels, hidden, bias=False)
        self.mlp_out = nn.Linear(hidden, channels, bias=False)
        self.spatial = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x):
        gate = torch.sigmoid(self.mlp_out(torch.relu(self.mlp_in(x.mean(dim=(2, 3))))))
        return x * gate[:, :, None, None]
'''
TOO_BIG = '''
torch.manual_seed(0)
model = nn.Sequential(nn.Flatten(), nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 10))
'''
# 38,410 parameters that parameters() and state_dict() do not show
HIDER = '''
class Hider(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 10))

    def forward(self, x):
        return self.net(x)

    def parameters(self, recurse=True):
        return iter([])

    def state_dict(self, *args, **kwargs):
        return {}


model = Hider()
'''
# no parameters at all: recognises each public test image by its bytes
LOOKUP = '''
from cnnlab.data.digits import load_digits_tensors

_images, _labels = load_digits_tensors("test")


class LookUp(nn.Module):
    def __init__(self):
        super().__init__()
        self.answers = {image.numpy().tobytes(): int(label) for image, label in zip(_images, _labels)}

    def forward(self, x):
        found = [self.answers.get(image.float().numpy().tobytes(), 0) for image in x]
        return nn.functional.one_hot(torch.tensor(found), 10).float()


model = LookUp()
assert all(model(_images).argmax(1) == _labels)  # perfect on the public split
'''
IOU_NOT_GIOU = '''
def box_giou(a, b):
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=-1)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)
'''
GREEDY_NOT_SOFT = '''
def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    order = torch.argsort(scores, descending=True, stable=True)
    order = order[scores[order] >= score_threshold]
    keep = []
    while order.numel() > 0:
        best = order[0]
        keep.append(int(best))
        rest = order[1:]
        lt = torch.maximum(boxes[best, :2], boxes[rest, :2])
        rb = torch.minimum(boxes[best, 2:], boxes[rest, 2:])
        inter = (rb - lt).clamp(min=0).prod(dim=-1)
        area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])
        order = rest[inter / (area(boxes[best]) + area(boxes[rest]) - inter) <= 0.5]
    keep = torch.tensor(keep, dtype=torch.long)
    return keep, scores[keep]
'''


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    c = Course(tmp_path_factory.mktemp("a23course"), cell_timeout=400)  # the budget model trains while grading
    c.course("init")
    for a in (A2, A3):
        c.nbgrader("generate_assignment", a)
    c.submit(A2, "ref", c.answered(A2))
    c.submit(A2, "blank", c.release(A2))
    c.submit(A2, "wrong", c.answered(A2, preact_unit=POST_ACTIVATION, cbam=SE_AS_CBAM, budget_model=TOO_BIG))
    c.submit(A2, "hider", c.answered(A2, budget_model=HIDER))
    c.submit(A2, "lookup", c.answered(A2, budget_model=LOOKUP))
    c.submit(A3, "ref", c.answered(A3))
    c.submit(A3, "blank", c.release(A3))
    c.submit(A3, "wrong", c.answered(A3, box_giou=IOU_NOT_GIOU, soft_nms=GREEDY_NOT_SOFT))
    c.course("grade", A2, "--jobs", "2", check=False)
    c.course("grade", A3, "--jobs", "2", check=False)
    return c


def test_release_notebooks_hold_no_line_of_the_answer_key(course):
    for a in (A2, A3):
        text = "\n".join(cell.source for cell in course.release(a).cells)
        key = answer_key_lines(a)  # read from the source, so the list follows the solutions as they change
        assert len(key) >= 40, (a, key)
        assert [line for line in key if line in text] == [], a
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, a


def test_assignment2_scores(course):
    scores = course.scores(A2)
    assert {k: scores["ref"][k] for k in FULL2} == FULL2
    assert total(scores["blank"]) == 0
    wrong = scores["wrong"]
    assert wrong["test_preact_unit"] == 0 and wrong["test_cbam"] == 0
    assert wrong["test_shuffle_conv"] == 3
    assert all(wrong[k] == 0 for k in ("test_param_budget", *ACCURACY))


def test_assignment2_counts_what_the_model_holds_and_tests_on_unseen_images(course):
    scores = course.scores(A2)
    hider = verification(course, A2, "hider")["verdicts"][A2]
    assert scores["hider"]["test_param_budget"] == 0
    assert "holds 38,410 numbers" in hider["test_param_budget"]["message"]
    lookup = scores["lookup"]
    assert lookup["test_param_budget"] == 1  # it holds no array: within the budget...
    assert all(lookup[k] == 0 for k in ACCURACY)  # ...and at chance on digits it has never seen
    assert "below 75%" in verification(course, A2, "lookup")["verdicts"][A2]["test_accuracy_75"]["message"]


def test_assignment3_scores(course):
    scores = course.scores(A3)
    assert {k: scores["ref"][k] for k in FULL3} == FULL3
    assert total(scores["blank"]) == 0
    wrong = scores["wrong"]
    assert wrong == pytest.approx({**FULL3, "test_box_giou": 0, "test_soft_nms": 0, "written_speed_accuracy": 0})
