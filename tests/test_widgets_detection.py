"""Detection widgets: IoUExplorer, NMSStepper and DetectionsViewer states (no browser needed)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab.detection import pairwise_iou
from cnnlab.widgets import DetectionsViewer, IoUExplorer, NMSStepper

PNG = b"\x89PNG\r\n\x1a\n"


def nms(boxes: torch.Tensor, scores: torch.Tensor, threshold: float) -> torch.Tensor:
    """Greedy NMS by its definition, written out with loops (an independent reference)."""
    def iou(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
        return w * h / union if union > 0 else 0.0

    kept: list[int] = []
    for i in sorted(range(len(scores)), key=lambda k: -float(scores[k])):
        if all(iou(boxes[i].tolist(), boxes[j].tolist()) <= threshold for j in kept):
            kept.append(i)
    return torch.tensor(kept, dtype=torch.long)


def test_iou_explorer_numbers_follow_the_sliders():
    ex = IoUExplorer(a=(0, 0, 10, 10), b=(5, 0, 10, 10))
    v = ex.numbers()
    assert v["intersection"] == 50 and v["union"] == 150 and ex.iou == pytest.approx(1 / 3)
    ex.set(b_x=20)
    assert ex.iou == 0.0
    ex.set(b_x=0, b_w=20, b_h=20)
    assert ex.iou == pytest.approx(100 / 400)
    view = ex.render()
    assert view["image"].startswith(PNG) and "0.250" in view["summary"]


def test_iou_explorer_shows_that_mse_is_a_poor_metric():
    small = IoUExplorer(a=(0, 0, 4, 4), b=(2, 2, 4, 4))
    big = IoUExplorer(a=(0, 0, 40, 40), b=(2, 2, 40, 40))
    assert small.numbers()["mse"] == big.numbers()["mse"]          # same error in the four numbers...
    assert small.iou < 0.2 < 0.8 < big.iou                          # ...very different boxes


def test_iou_explorer_rejects_bad_controls():
    with pytest.raises(ValueError, match="unknown control 'c_x'"):
        IoUExplorer().set(c_x=3)
    with pytest.raises(ValueError, match="negative width"):
        IoUExplorer(a=(0, 0, -3, 4))


def scene():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 40, (25, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(8, 20, (25, 2))], axis=1)
    return torch.rand(3, 64, 64), boxes, rng.uniform(0, 1, 25)


def test_nms_stepper_walks_to_the_nms_result():
    image, boxes, scores = scene()
    st = NMSStepper(image, boxes, scores, iou_threshold=0.4)
    assert st.status()["waiting"] == list(range(25)) and st.render()["image"].startswith(PNG)
    while st.step < st.num_steps:
        st.next()
        s = st.status()
        assert sorted(s["kept"] + s["current"] + s["suppressed_now"] + s["suppressed_before"] + s["waiting"]) \
            == list(range(25))
        for j in s["suppressed_now"]:
            assert pairwise_iou(boxes[s["current"]], boxes[[j]])[0, 0] > 0.4
    final = st.status()
    assert final["kept"] + final["current"] == nms(boxes, scores, 0.4).tolist() and final["waiting"] == []
    assert "IoU" in st.render()["summary"]
    st.set_threshold(0.9)
    assert st.step == 0 and st.num_steps == len(nms(boxes, scores, 0.9))
    st.previous()
    assert st.step == 0


def test_detections_viewer_threshold_moves_along_precision_and_recall():
    target = {"boxes": torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30]]), "labels": torch.tensor([0, 1])}
    pred = {"boxes": torch.tensor([[0.0, 0, 10, 10], [21, 20, 30, 30], [40, 40, 50, 50]]),
            "scores": torch.tensor([0.9, 0.4, 0.6]), "labels": torch.tensor([0, 1, 0])}
    viewer = DetectionsViewer(torch.rand(1, 3, 64, 64), [pred], [target], class_names=["a", "b"])
    assert viewer.counts() == {"tp": 1, "fp": 1, "missed": 1}
    viewer.set(score_threshold=0.3)
    assert viewer.counts() == {"tp": 2, "fp": 1, "missed": 0}
    viewer.set(score_threshold=0.95)
    assert viewer.counts() == {"tp": 0, "fp": 0, "missed": 2}
    assert viewer.render()["image"].startswith(PNG)
    with pytest.raises(ValueError, match="outside"):
        viewer.set(index=3)


def test_iou_explorer_controls_and_state_stay_in_sync():
    ex = IoUExplorer(a=(0, 0, 10, 10), b=(5, 0, 10, 10))
    c = ex.controls
    assert [c[f"b_{f}"].value for f in "xywh"] == [5, 0, 10, 10]
    ex.set(a_x=3, b_h=20)
    assert c["a_x"].value == 3 and c["b_h"].value == 20
    before = ex._w_summary.value
    c["b_x"].value = 40  # the slider moves box B right, away from A: no overlap
    assert ex.b == (40, 0, 10, 20) and ex.iou == 0.0 and ex._w_summary.value != before


def test_nms_stepper_controls_and_state_stay_in_sync():
    image, boxes, scores = scene()
    st = NMSStepper(image, boxes, scores, iou_threshold=0.4)
    c = st.controls
    assert c["step"].max == st.num_steps == len(nms(boxes, scores, 0.4))
    st.next().next()
    assert c["step"].value == 2
    c["step"].value = 1
    assert st.step == 1 and st.status()["current"] == [nms(boxes, scores, 0.4)[0].item()]
    c["iou_threshold"].value = 0.9  # a new threshold replays from step 0
    assert st.iou_threshold == 0.9 and st.step == 0 and c["step"].value == 0
    assert c["step"].max == len(nms(boxes, scores, 0.9))
    st.set_threshold(0.2)
    assert c["iou_threshold"].value == 0.2


def test_detections_viewer_controls_and_state_stay_in_sync():
    image, boxes, scores = scene()
    images = torch.stack([image, image.flip(-1)])
    preds = [{"boxes": boxes, "scores": scores, "labels": np.zeros(25, int)}] * 2
    viewer = DetectionsViewer(images, preds, score_threshold=0.5)
    c = viewer.controls
    viewer.set(index=1, score_threshold=0.8)
    assert (c["index"].value, c["score_threshold"].value) == (1, 0.8)
    c["score_threshold"].value = 0.0
    assert viewer.score_threshold == 0.0 and len(viewer.visible()["boxes"]) == 25
    c["index"].value = 0
    assert viewer.index == 0
