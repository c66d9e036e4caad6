"""Detection widgets: IoUExplorer, NMSStepper and DetectionsViewer states (no browser needed)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnlab.detection import box_iou, nms
from cnnlab.widgets import DetectionsViewer, IoUExplorer, NMSStepper

PNG = b"\x89PNG\r\n\x1a\n"


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
            assert box_iou(boxes[s["current"]], boxes[[j]])[0, 0] > 0.4
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


def test_views_build_without_a_browser():
    pytest.importorskip("ipywidgets")
    image, boxes, scores = scene()
    for ex in (IoUExplorer(), NMSStepper(image, boxes, scores),
               DetectionsViewer(image[None], [{"boxes": boxes, "scores": scores, "labels": np.zeros(25, int)}])):
        assert ex.widget is not None
        ex.refresh()
