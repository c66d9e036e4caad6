# ---
# jupyter:
#   jupytext:
#     formats: ipynb,.pct.py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Assignment 3 — detection essentials
#
# Four small functions every detector needs, written in PyTorch: the IoU matrix between two sets
# of boxes, greedy non-maximum suppression, decoding a YOLO-style grid into boxes, and the average
# precision of a ranked list of detections.
#
# **Rules**
# - Boxes are `(x1, y1, x2, y2)` float tensors of shape `(N, 4)`; keep the device and dtype of the
#   inputs (the grader runs your code in float64, and on a GPU when there is one).
# - **Do not hard-code sizes**: the hidden tests use other numbers of boxes, grid sizes and classes.
# - Write the code yourself: calling `cnnlab.detection`, `torchvision` or scikit-learn's metrics
#   for the function you are asked to write scores no points for it.
# - Run each test cell; hidden tests check many more random inputs.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import cnnlab
device = cnnlab.hello()

import torch


# %% [markdown]
# ## 1. IoU matrix (3 points)
#
# `box_iou(a, b)` returns the `(N, M)` matrix of intersection over union between every box of `a`
# `(N, 4)` and every box of `b` `(M, 4)`. Boxes that do not overlap have IoU 0. No loops needed:
# broadcast `a[:, None, :]` against `b[None, :, :]`.

# %% nbgrader={"grade": false, "grade_id": "box_iou", "locked": false, "schema_version": 3, "solution": true, "task": false}
def box_iou(a, b):
    """Pairwise IoU of xyxy boxes: (N, 4), (M, 4) -> (N, M)."""
    ### BEGIN SOLUTION

    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_box_iou", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
a = torch.tensor([[0.0, 0.0, 2.0, 2.0]], dtype=torch.float64)
b = torch.tensor([[1.0, 1.0, 3.0, 3.0], [5.0, 5.0, 6.0, 6.0]], dtype=torch.float64)
iou = box_iou(a, b)
assert iou.shape == (1, 2)
assert abs(float(iou[0, 0]) - 1 / 7) < 1e-12 and float(iou[0, 1]) == 0.0

# %% [markdown]
# ## 2. Greedy non-maximum suppression (3 points)
#
# `nms(boxes, scores, iou_threshold)` keeps the highest-scoring box, removes every remaining box
# whose IoU with it is **greater than** the threshold, and repeats. Return the indices (into the
# original tensors, dtype `torch.long`) of the kept boxes, by decreasing score.

# %% nbgrader={"grade": false, "grade_id": "nms", "locked": false, "schema_version": 3, "solution": true, "task": false}
def nms(boxes, scores, iou_threshold):
    """Indices of the boxes greedy NMS keeps."""
    ### BEGIN SOLUTION

    order = torch.argsort(scores, descending=True, stable=True)
    keep = []
    while order.numel() > 0:
        best = order[0]
        keep.append(int(best))
        overlap = box_iou(boxes[best][None], boxes[order[1:]])[0]
        order = order[1:][overlap <= iou_threshold]
    return torch.tensor(keep, dtype=torch.long, device=boxes.device)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_nms", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=torch.float64)
scores = torch.tensor([0.9, 0.8, 0.7], dtype=torch.float64)
assert nms(boxes, scores, 0.5).tolist() == [0, 2]

# %% [markdown]
# ## 3. Decoding a YOLO grid (3 points)
#
# A grid of shape `(S_h, S_w, 5 + C)` holds, per cell, `[objectness, tx, ty, tw, th, p_0 … p_{C-1}]`:
# the box centre is at `((col + tx) / S_w · W, (row + ty) / S_h · H)`, its width and height are
# `tw² · W` and `th² · H` (YOLOv1 predicts square roots), and its score is
# `objectness · max_c p_c` with label `argmax_c p_c`. Here the image is square: `W = H = image_size`.
# Return `(boxes (K, 4) xyxy, scores (K,), labels (K,))` for the cells whose score is **strictly
# above** `score_threshold`, ordered by decreasing score.

# %% nbgrader={"grade": false, "grade_id": "decode_grid", "locked": false, "schema_version": 3, "solution": true, "task": false}
def decode_grid(grid, image_size, score_threshold=0.0):
    """Boxes, scores and labels of the cells scoring above the threshold."""
    ### BEGIN SOLUTION

    s_h, s_w = grid.shape[:2]
    rows = torch.arange(s_h, dtype=grid.dtype, device=grid.device)[:, None].expand(s_h, s_w)
    cols = torch.arange(s_w, dtype=grid.dtype, device=grid.device)[None, :].expand(s_h, s_w)
    cx = (cols + grid[..., 1]) / s_w * image_size
    cy = (rows + grid[..., 2]) / s_h * image_size
    w = grid[..., 3] ** 2 * image_size
    h = grid[..., 4] ** 2 * image_size
    boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1).reshape(-1, 4)
    class_prob, labels = grid[..., 5:].max(dim=-1)
    scores = (grid[..., 0] * class_prob).reshape(-1)
    keep = (scores > score_threshold).nonzero().flatten()
    keep = keep[torch.argsort(scores[keep], descending=True, stable=True)]
    return boxes[keep], scores[keep], labels.reshape(-1)[keep]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_decode_grid", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
grid = torch.zeros(2, 2, 7, dtype=torch.float64)
grid[0, 1] = torch.tensor([0.9, 0.5, 0.5, 0.5, 0.25, 0.1, 0.9])
boxes, scores, labels = decode_grid(grid, 64, score_threshold=0.1)
assert boxes.shape == (1, 4) and labels.tolist() == [1]

# %% [markdown]
# ## 4. Average precision (3 points)
#
# Given detection `scores (K,)`, flags `is_tp (K,)` (was each detection a true positive?) and the
# number of ground-truth objects `num_gt`, rank the detections by decreasing score, compute the
# precision and recall after each one, replace precision by its envelope (the best precision at
# any higher recall) and return the area under that curve (VOC's all-point rule) as a float.

# %% nbgrader={"grade": false, "grade_id": "average_precision", "locked": false, "schema_version": 3, "solution": true, "task": false}
def average_precision(scores, is_tp, num_gt):
    """VOC all-point average precision."""
    ### BEGIN SOLUTION

    order = torch.argsort(scores, descending=True, stable=True)
    tp = is_tp[order].double()
    ctp, cfp = tp.cumsum(0), (1 - tp).cumsum(0)
    precision, recall = ctp / (ctp + cfp), ctp / num_gt
    zero = torch.zeros(1, dtype=torch.float64, device=scores.device)
    mrec = torch.cat([zero, recall, zero + 1])
    mpre = torch.cat([zero, precision, zero])
    for i in range(mpre.numel() - 2, -1, -1):
        mpre[i] = torch.maximum(mpre[i], mpre[i + 1])
    return float(((mrec[1:] - mrec[:-1]) * mpre[1:]).sum())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_average_precision", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
ap = average_precision(torch.tensor([0.9, 0.8, 0.7], dtype=torch.float64), torch.tensor([True, True, True]), 3)
assert abs(ap - 1.0) < 1e-12, "three correct detections of three objects: AP = 1"

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
