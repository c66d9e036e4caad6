# ---
# jupyter:
#   jupytext:
#     formats: ipynb,.pct.py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 3 — detection essentials
#
# Four functions a modern detector needs, written in PyTorch, each one step beyond what lecture 07
# and `cnnlab.detection` show: the *generalised* IoU matrix (the overlap measure GIoU losses use),
# *soft* non-maximum suppression, decoding anchor offsets for a whole batch, and COCO-style
# average precision over ten IoU thresholds with crowd regions.
#
# **Rules**
# - Boxes are `(x1, y1, x2, y2)` float tensors of shape `(N, 4)`; keep the device and dtype of the
#   inputs (the grader runs your code in float64, and on a GPU when there is one).
# - **Do not hard-code sizes**: the hidden tests use other numbers of boxes, anchors, images and
#   thresholds.
# - Write the code yourself: calling `cnnlab.detection`, `torchvision`, `pycocotools` or
#   scikit-learn's metrics in an answer scores no points for it. The lecture's IoU, greedy NMS,
#   single-anchor decoding and AP are good starting points, but none of them answers these
#   questions as it stands.
# - **Imports:** the grader holds numpy, matplotlib, IPython, PyTorch and cnnlab's set-up helpers,
#   `cnnlab.data`, `cnnlab.train`, `cnnlab.augment` and `cnnlab.models` (no `cnnlab.detection`,
#   `cnnlab.widgets`, torchvision or scikit-learn); the set-up cell applies the same rule here, and
#   `python -m cnnlab.assignment_rules check a3_detection.ipynb` checks your notebook.
# - Run each test cell; hidden tests check many more random inputs.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import cnnlab
device = cnnlab.hello()

import math
import torch
from cnnlab.assignment_rules import use_rules
use_rules("a3_detection")  # imports the grader lacks fail here too


# %% [markdown]
# ## 1. Generalised IoU matrix (3 points)
#
# IoU is 0 for every pair of boxes that do not overlap, however far apart they are, so it gives a
# box regressor no direction to move in. The generalised IoU (Rezatofighi et al., 2019) subtracts
# the part of the *hull* — the smallest box enclosing both — that the union does not cover:
#
# $$\mathrm{GIoU}(A, B) = \mathrm{IoU}(A, B) - 
# rac{|\mathrm{hull}(A, B)| - |A \cup B|}{|\mathrm{hull}(A, B)|}.$$
#
# It lies in (-1, 1]: 1 for equal boxes, close to -1 for small boxes far apart. `box_giou(a, b)`
# returns the `(N, M)` matrix for every box of `a` `(N, 4)` against every box of `b` `(M, 4)`.
# No loops needed: broadcast `a[:, None, :]` against `b[None, :, :]`.

# %% nbgrader={"grade": false, "grade_id": "box_giou", "locked": false, "schema_version": 3, "solution": true, "task": false}
def box_giou(a, b):
    """Pairwise generalised IoU of xyxy boxes: (N, 4), (M, 4) -> (N, M)."""
    ### BEGIN SOLUTION

    lo = torch.maximum(a[:, None, :2], b[None, :, :2])
    hi = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (hi - lo).clamp(min=0).prod(dim=-1)
    area_a = (a[:, 2:] - a[:, :2]).prod(dim=-1)
    area_b = (b[:, 2:] - b[:, :2]).prod(dim=-1)
    union = area_a[:, None] + area_b[None, :] - inter
    hull_lo = torch.minimum(a[:, None, :2], b[None, :, :2])
    hull_hi = torch.maximum(a[:, None, 2:], b[None, :, 2:])
    hull = (hull_hi - hull_lo).prod(dim=-1)
    return inter / union - (hull - union) / hull
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_box_giou", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
a = torch.tensor([[0.0, 0.0, 2.0, 2.0]], dtype=torch.float64)
b = torch.tensor([[0.0, 0.0, 2.0, 2.0], [4.0, 0.0, 6.0, 2.0]], dtype=torch.float64)
giou = box_giou(a, b)
assert giou.shape == (1, 2)
assert abs(float(giou[0, 0]) - 1.0) < 1e-12, "a box against itself: GIoU = 1"
assert float(giou[0, 1]) < 0, "two disjoint boxes: GIoU is negative"

# %% [markdown]
# ## 2. Soft non-maximum suppression (3 points)
#
# Greedy NMS deletes every box overlapping a better one, which also deletes a second object
# standing close to the first. Soft-NMS (Bodla et al., 2017, the Gaussian rule) only lowers
# their scores. `soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001)`:
#
# 1. start with the boxes whose score is at least `score_threshold`;
# 2. pick the remaining box with the highest *current* score (equal scores: the lower index);
# 3. multiply the current score of every other remaining box by `exp(-IoU² / sigma)`, where IoU
#    is its (ordinary) IoU with the picked box, and remove those now **below** `score_threshold`;
# 4. repeat from 2 until no box remains.
#
# Return `(indices, kept_scores)`: the indices (into the original tensors, `torch.long`) in the
# order they were picked, and the current score each had when it was picked.

# %% nbgrader={"grade": false, "grade_id": "soft_nms", "locked": false, "schema_version": 3, "solution": true, "task": false}
def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    """Gaussian soft-NMS: (picked indices, their scores when picked)."""
    ### BEGIN SOLUTION

    def iou_with(box, others):
        lo = torch.maximum(box[:2], others[:, :2])
        hi = torch.minimum(box[2:], others[:, 2:])
        inter = (hi - lo).clamp(min=0).prod(dim=-1)
        area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])
        return inter / (area(box) + area(others) - inter)

    current = scores.clone()
    alive = (current >= score_threshold).nonzero().flatten()
    picked, picked_scores = [], []
    while alive.numel() > 0:
        best = alive[torch.argmax(current[alive])]  # argmax returns the first (lowest index) maximum
        picked.append(int(best))
        picked_scores.append(current[best])
        alive = alive[alive != best]
        current[alive] = current[alive] * torch.exp(-iou_with(boxes[best], boxes[alive]) ** 2 / sigma)
        alive = alive[current[alive] >= score_threshold]
    kept_scores = torch.stack(picked_scores) if picked_scores else scores.new_zeros(0)
    return torch.tensor(picked, dtype=torch.long, device=boxes.device), kept_scores
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_soft_nms", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=torch.float64)
scores = torch.tensor([0.9, 0.8, 0.7], dtype=torch.float64)
kept, kept_scores = soft_nms(boxes, scores, sigma=0.5, score_threshold=0.1)
assert kept.tolist()[0] == 0 and abs(float(kept_scores[0]) - 0.9) < 1e-12
assert 1 in kept.tolist(), "soft-NMS lowers the score of the overlapping box instead of deleting it"


# %% [markdown]
# ## 3. Decoding anchor offsets for a batch (3 points)
#
# Lecture 07 decodes the offsets of **one** anchor. A detector head predicts, for every image
# of a batch and every anchor, four numbers `(tx, ty, tw, th)`. Detectors usually divide them by
# fixed *box-coder weights* `(wx, wy, ww, wh)` first (Faster R-CNN uses `(10, 10, 5, 5)`). For an
# anchor with centre `(acx, acy)`, width `aw` and height `ah`:
#
# $$c_x = a_{cx} + 
# rac{t_x}{w_x} a_w,\quad c_y = a_{cy} + 
# rac{t_y}{w_y} a_h,\quad
# w = a_w\, e^{t_w / w_w},\quad h = a_h\, e^{t_h / w_h}.$$
#
# `decode_anchors(offsets, anchors, weights=(1, 1, 1, 1), image_size=None)` takes `offsets`
# `(B, A, 4)` and `anchors` `(A, 4)` in xyxy, and returns the boxes `(B, A, 4)` in xyxy. When
# `image_size = (H, W)` is given, clip the x coordinates to `[0, W]` and the y coordinates to
# `[0, H]`. No Python loop over images or anchors: broadcast.

# %% nbgrader={"grade": false, "grade_id": "decode_anchors", "locked": false, "schema_version": 3, "solution": true, "task": false}
def decode_anchors(offsets, anchors, weights=(1.0, 1.0, 1.0, 1.0), image_size=None):
    """Boxes (B, A, 4) xyxy from offsets (B, A, 4) relative to anchors (A, 4)."""
    ### BEGIN SOLUTION

    w = torch.as_tensor(weights, dtype=offsets.dtype, device=offsets.device)
    t = offsets / w
    size = anchors[:, 2:] - anchors[:, :2]
    centre = anchors[:, :2] + size / 2
    c = centre + t[..., :2] * size
    s = size * torch.exp(t[..., 2:])
    boxes = torch.cat([c - s / 2, c + s / 2], dim=-1)
    if image_size is not None:
        height, width = image_size
        upper = torch.tensor([width, height, width, height], dtype=offsets.dtype, device=offsets.device)
        boxes = torch.minimum(boxes.clamp(min=0), upper)
    return boxes
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_decode_anchors", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
anchors = torch.tensor([[8.0, 8.0, 24.0, 24.0]], dtype=torch.float64)
boxes = decode_anchors(torch.zeros(2, 1, 4, dtype=torch.float64), anchors)
assert boxes.shape == (2, 1, 4)
assert torch.allclose(boxes[1, 0], anchors[0]), "zero offsets give the anchor back"

# %% [markdown]
# ## 4. COCO-style average precision with crowd regions (3 points)
#
# `coco_ap(boxes, scores, gt_boxes, gt_crowd)` scores the detections of one class in one image.
# `gt_crowd` `(G,)` marks ground-truth boxes that are *crowd regions* (a group of objects labelled
# as one box): finding them is not required, and detections inside them are not punished. For
# each IoU threshold `t` in 0.50, 0.55, …, 0.95 (compute them as `(50 + 5k) / 100`):
#
# 1. visit the detections by decreasing score (equal scores: input order);
# 2. a detection claims the **unclaimed, non-crowd** ground-truth box with the highest IoU
#    `>= t` (equal IoUs: the lower index) and is a true positive;
# 3. if it claims none, but for some crowd box `intersection / area of the detection >= t`, it is
#    **ignored**: left out of the ranking altogether;
# 4. otherwise it is a false positive;
# 5. compute precision and recall after each counted detection (recall divides by the number of
#    non-crowd boxes), and for each recall level `r = k / 100`, `k = 0 … 100`, take the best
#    precision reached at a recall `>= r` (0 when none reaches it); AP at `t` is their mean.
#
# Return the mean of the ten APs as a Python float.

# %% nbgrader={"grade": false, "grade_id": "coco_ap", "locked": false, "schema_version": 3, "solution": true, "task": false}
def coco_ap(boxes, scores, gt_boxes, gt_crowd):
    """COCO-style AP over IoU thresholds 0.50:0.05:0.95, with crowd regions."""
    ### BEGIN SOLUTION

    lo = torch.maximum(boxes[:, None, :2], gt_boxes[None, :, :2])
    hi = torch.minimum(boxes[:, None, 2:], gt_boxes[None, :, 2:])
    inter = (hi - lo).clamp(min=0).prod(dim=-1)
    area_d = (boxes[:, 2:] - boxes[:, :2]).prod(dim=-1)
    area_g = (gt_boxes[:, 2:] - gt_boxes[:, :2]).prod(dim=-1)
    iou = inter / (area_d[:, None] + area_g[None, :] - inter)
    inside = inter / area_d[:, None]
    order = torch.argsort(scores, descending=True, stable=True).tolist()
    crowd = gt_crowd.bool()
    num_gt = int((~crowd).sum())
    levels = torch.arange(101, dtype=torch.float64) / 100
    total = 0.0
    for k in range(10):
        t = (50 + 5 * k) / 100
        free = ~crowd.clone()
        flags = []
        for d in order:
            candidates = torch.where(free & (iou[d] >= t), iou[d], torch.full_like(iou[d], -1.0))
            g = int(torch.argmax(candidates))
            if candidates[g] >= 0:
                free[g] = False
                flags.append(1.0)
            elif bool((crowd & (inside[d] >= t)).any()):
                continue
            else:
                flags.append(0.0)
        if not flags:
            continue
        tp = torch.tensor(flags, dtype=torch.float64).cumsum(0)
        precision = tp / torch.arange(1, len(flags) + 1, dtype=torch.float64)
        recall = tp / num_gt
        reached = recall[None, :] >= levels[:, None]
        best = torch.where(reached, precision[None, :], torch.zeros(1, dtype=torch.float64)).amax(dim=1)
        total += float(best.mean())
    return total / 10
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_coco_ap", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
gt = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]], dtype=torch.float64)
ap = coco_ap(gt.clone(), torch.tensor([0.9, 0.8], dtype=torch.float64), gt, torch.tensor([False, False]))
assert abs(ap - 1.0) < 1e-12, "two exact detections of two objects: AP = 1 at every threshold"
crowd_ap = coco_ap(gt.clone(), torch.tensor([0.9, 0.8], dtype=torch.float64), gt, torch.tensor([False, True]))
assert abs(crowd_ap - 1.0) < 1e-12, "a detection inside a crowd region is ignored, not a false positive"

# %% [markdown]
# ## 5. Speed versus accuracy (2 points, graded by hand)
#
# In three or four sentences: why is a single-shot detector such as YOLO faster than a two-stage
# detector such as Faster R-CNN, and what does it give up for that speed?

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_speed_accuracy", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# YOLO runs one network once over the whole image and reads every box from a fixed grid of
# predictions, while Faster R-CNN first proposes regions and then classifies and refines each
# one in a second stage. The single pass is much cheaper, but each cell predicts few boxes, so
# small or crowded objects are missed more often and localisation is coarser.
# ### END SOLUTION
