"""The instructor's references for assignments 1 and 3 against independent implementations:
pycocotools (COCO AP with crowd regions), the student package's IoU, greedy NMS and padding
helpers (each written differently), the anchor encoding written out, and hand-computed values."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from cnnlab.course.reference import detection, sizes
from cnnlab.detection import batched_nms, pairwise_iou
from cnnlab.ops import conv_output_size, resolve_padding


def _boxes(rng, n, size=64.0):
    xy = rng.uniform(0, size * 0.8, (n, 2))
    return torch.from_numpy(np.concatenate([xy, xy + rng.uniform(2, size * 0.4, (n, 2))], axis=1))


def test_giou_by_hand_and_against_iou():
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]], dtype=torch.float64)
    b = torch.tensor([[0.0, 0.0, 2.0, 2.0], [4.0, 0.0, 6.0, 2.0], [1.0, 1.0, 3.0, 3.0]], dtype=torch.float64)
    # disjoint: hull 6 x 2 = 12, union 8 -> -4/12; overlapping: IoU 1/7, hull 9, union 7 -> 1/7 - 2/9
    torch.testing.assert_close(detection.box_giou(a, b), torch.tensor([[1.0, -1 / 3, 1 / 7 - 2 / 9]],
                                                                       dtype=torch.float64))
    rng = np.random.default_rng(0)
    x, y = _boxes(rng, 7), _boxes(rng, 5)
    giou, iou = detection.box_giou(x, y), pairwise_iou(x, y)
    assert (giou <= iou + 1e-12).all() and (giou > -1).all()


def test_soft_nms_with_a_tiny_sigma_is_greedy_nms_at_threshold_zero():
    rng = np.random.default_rng(1)
    for _ in range(5):
        boxes = _boxes(rng, 12)
        scores = torch.from_numpy(rng.permutation(12) / 12 + 0.01)
        kept, kept_scores = detection.soft_nms(boxes, scores, sigma=1e-9, score_threshold=1e-3)
        greedy = batched_nms(boxes, scores, torch.zeros(12, dtype=torch.long), 0.0)
        assert kept.tolist() == greedy.tolist()
        torch.testing.assert_close(kept_scores, scores[greedy])


def test_soft_nms_decays_by_hand():
    boxes = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 5]], dtype=torch.float64)  # IoU 0.5
    kept, kept_scores = detection.soft_nms(boxes, torch.tensor([0.9, 0.8], dtype=torch.float64), sigma=0.5)
    assert kept.tolist() == [0, 1]
    torch.testing.assert_close(kept_scores, torch.tensor([0.9, 0.8 * np.exp(-0.25 / 0.5)], dtype=torch.float64))


def _encode(anchor: list[float], box: list[float]) -> list[float]:
    """Faster R-CNN's regression targets of one box relative to one anchor, written out."""
    aw, ah, bw, bh = anchor[2] - anchor[0], anchor[3] - anchor[1], box[2] - box[0], box[3] - box[1]
    acx, acy, bcx, bcy = anchor[0] + aw / 2, anchor[1] + ah / 2, box[0] + bw / 2, box[1] + bh / 2
    return [(bcx - acx) / aw, (bcy - acy) / ah, float(np.log(bw / aw)), float(np.log(bh / ah))]


def test_decode_anchors_inverts_the_encoding_for_every_image():
    rng = np.random.default_rng(2)
    anchors = _boxes(rng, 6)
    targets = torch.stack([_boxes(rng, 6) for _ in range(3)])
    offsets = torch.tensor([[_encode(a, b) for a, b in zip(anchors.tolist(), image)] for image in targets.tolist()],
                           dtype=torch.float64)
    torch.testing.assert_close(detection.decode_anchors(offsets, anchors), targets)
    weights = (10.0, 10.0, 5.0, 5.0)
    scaled = offsets * torch.tensor(weights, dtype=torch.float64)
    torch.testing.assert_close(detection.decode_anchors(scaled, anchors, weights), targets)
    clipped = detection.decode_anchors(offsets, anchors, image_size=(40.0, 50.0))
    torch.testing.assert_close(clipped, torch.minimum(targets.clamp(min=0),
                                                      torch.tensor([50.0, 40.0, 50.0, 40.0], dtype=torch.float64)))


def _pycocotools_ap(boxes, scores, gt, crowd):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def xywh(b):
        return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]

    anns = [{"id": i + 1, "image_id": 0, "category_id": 1, "bbox": xywh(g), "iscrowd": int(c),
             "area": float((g[2] - g[0]) * (g[3] - g[1]))} for i, (g, c) in enumerate(zip(gt.tolist(), crowd.tolist()))]
    results = [{"image_id": 0, "category_id": 1, "bbox": xywh(b), "score": float(s)}
               for b, s in zip(boxes.tolist(), scores.tolist())]
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {"images": [{"id": 0, "width": 100, "height": 100}], "annotations": anns,
                        "categories": [{"id": 1, "name": "thing"}]}
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(results), "bbox")
        ev.params.areaRng, ev.params.areaRngLbl = [ev.params.areaRng[0]], ["all"]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats[0]


@pytest.mark.parametrize("seed", range(6))
def test_coco_ap_with_crowd_regions_equals_pycocotools(seed):
    """One image, one class: crowd boxes (iscrowd=1) absorb detections inside them. Three or seven
    boxes count, so no recall lands exactly on a level k / 100 other than 0 and 1."""
    rng = np.random.default_rng(seed)
    counted = int(rng.choice([3, 7]))
    gt = _boxes(rng, counted + 2, size=90)
    crowd = torch.tensor([False] * counted + [True, True])
    crowd_big = gt[counted:].clone()
    crowd_big[:, 2:] = crowd_big[:, :2] + 30
    gt[counted:] = crowd_big
    near = gt[rng.integers(0, counted + 2, 14)] + torch.from_numpy(rng.normal(0, 2.0, (14, 4)))
    near[:, 2:] = torch.maximum(near[:, 2:], near[:, :2] + 1)
    boxes = torch.cat([near, _boxes(rng, 4, size=90)])
    scores = torch.from_numpy(rng.permutation(len(boxes)) / len(boxes) + 0.01)
    assert detection.coco_ap(boxes, scores, gt, crowd) == pytest.approx(_pycocotools_ap(boxes, scores, gt, crowd),
                                                                        abs=1e-9)


def test_sizes_agree_with_the_packages_formulas():
    rng = np.random.default_rng(3)
    for _ in range(200):
        f, s, d = (int(v) for v in rng.integers(1, 5, 3))
        n = int(rng.integers(d * (f - 1) + 1, 30))
        before, after = (int(v) for v in rng.integers(0, 4, 2))
        got = sizes.count_window_positions((n, n + 1), (f, 1), (s, 1), (before, after, 0, 0), (d, 1))
        assert got == (conv_output_size(n, f, (before, after), s, d), n + 1)
        assert sizes.same_padding_by_search((n, n), f, s, d) == resolve_padding("same", f, s, d, input_size=(n, n))


def test_padding_for_a_target_size_is_the_least_that_reaches_it():
    for n, f, s, d, target in [(6, 3, 1, 1, 8), (9, 3, 1, 2, 10), (7, 3, 2, 1, 5), (10, 4, 3, 1, 3)]:
        top, bottom, _, _ = sizes.same_padding_by_search((n, n), f, s, d, out_hw=(target, target))
        assert bottom - top in (0, 1)
        assert conv_output_size(n, f, (top, bottom), s, d) == target
        if top + bottom:
            assert conv_output_size(n, f, (top + bottom - 1, 0), s, d) < target
    with pytest.raises(ValueError, match="cannot be reached"):
        sizes.same_padding_by_search((9, 9), 3, 1, 1, out_hw=(4, 9))
