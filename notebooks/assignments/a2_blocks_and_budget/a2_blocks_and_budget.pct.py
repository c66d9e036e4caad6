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
# # Assignment 2 — building blocks and a CNN on a budget
#
# You will write three blocks of modern CNNs as PyTorch modules — a *pre-activation* residual
# unit, a CBAM attention block (channel and spatial attention), and a ShuffleNet-style grouped
# convolution with a channel shuffle — and then design a small CNN that recognises hand-written
# digits **even when they are shifted, turned and zoomed**, holding at most **8,000 numbers**.
# Lectures 04 and 05 built the post-activation residual block, squeeze-and-excitation and the
# depthwise-separable convolution; each block here changes one idea of those.
#
# **Rules**
# - Use exactly the attribute names and layer types given: the grader loads the same weights into
#   your module and into its own and compares outputs (in float64).
# - **Do not hard-code sizes**: the hidden tests build your blocks with other channel counts,
#   strides, groups and kernel sizes, on rectangular inputs.
# - Write the blocks yourself: using `cnnlab.models` in your answer scores no points.
# - **Imports:** the grader holds numpy, matplotlib, IPython, PyTorch, scikit-learn, `cnnlab.data`,
#   `cnnlab.train` and `cnnlab.augment` (no `cnnlab.models` or `cnnlab.plots`); the set-up cell applies
#   the same rule here, and `python -m cnnlab.assignment_rules check a2_blocks_and_budget.ipynb` checks your notebook.
# - The network is graded on digits it has never seen: the held-out **test** split of
#   `cnnlab.data.digits`, moved by a random augmentation the grader draws when it grades. Do not
#   train on the test split; ≥ 75 %, ≥ 85 % and ≥ 92 % accuracy on the moved digits each earn points.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import cnnlab
device = cnnlab.hello()

import torch
from torch import nn
from cnnlab.assignment_rules import use_rules
use_rules("a2_blocks_and_budget")  # imports the grader lacks fail here too


# %% [markdown]
# ## 1. Pre-activation residual unit (4 points)
#
# He et al. (2016, "Identity mappings in deep residual networks") moved batch norm and ReLU
# *before* each convolution, so the shortcut carries `x` untouched and nothing follows the
# addition. `PreActUnit(in_ch, out_ch, stride=1)`:
#
# - `z = relu(pre_bn(x))` with `pre_bn = nn.BatchNorm2d(in_ch)`;
# - the residual branch: `conv_a` (3×3, stride `stride`, padding 1, no bias) → `mid_bn`
#   (`nn.BatchNorm2d(out_ch)`) → ReLU → `conv_b` (3×3, padding 1, no bias);
# - the shortcut: `x` itself when `stride == 1` and `in_ch == out_ch`; otherwise `skip(z)`, where
#   `skip = nn.Sequential(nn.AvgPool2d(stride, ceil_mode=True), nn.Conv2d(in_ch, out_ch, 1, bias=False))`
#   averages each `stride × stride` window before the 1×1 convolution instead of skipping pixels
#   (ResNet-D's projection); when the shape is kept, create no `skip` at all (the grader compares
#   parameter names);
# - `out = branch + shortcut`, **no** ReLU after the addition.

# %% nbgrader={"grade": false, "grade_id": "preact_unit", "locked": false, "schema_version": 3, "solution": true, "task": false}
class PreActUnit(nn.Module):
    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__()
        ### BEGIN SOLUTION
        self.pre_bn = nn.BatchNorm2d(in_ch)
        self.conv_a = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.mid_bn = nn.BatchNorm2d(out_ch)
        self.conv_b = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.changes_shape = stride != 1 or in_ch != out_ch
        if self.changes_shape:
            self.skip = nn.Sequential(nn.AvgPool2d(stride, ceil_mode=True), nn.Conv2d(in_ch, out_ch, 1, bias=False))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        z = torch.relu(self.pre_bn(x))
        branch = self.conv_b(torch.relu(self.mid_bn(self.conv_a(z))))
        return branch + (self.skip(z) if self.changes_shape else x)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_preact_unit", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
unit = PreActUnit(4, 8, stride=2)
assert unit(torch.randn(2, 4, 6, 6)).shape == (2, 8, 3, 3)
assert unit(torch.randn(2, 4, 5, 7)).shape == (2, 8, 3, 4), "odd sizes: the pooled shortcut must match conv_a"

# %% [markdown]
# ## 2. CBAM: channel and spatial attention (3 points)
#
# Squeeze-and-excitation (lecture 05) gates the channels from their *average* only. CBAM (Woo et
# al., 2018) uses the average and the maximum, then also gates the *positions*.
# `CBAM(channels, reduction=16, kernel_size=7)`:
#
# - one shared MLP, `mlp(v) = mlp_out(relu(mlp_in(v)))` with
#   `mlp_in = nn.Linear(channels, max(1, channels // reduction), bias=False)` and
#   `mlp_out = nn.Linear(that, channels, bias=False)`;
# - channel gate: `sigmoid(mlp(mean of x over H, W) + mlp(max of x over H, W))`, one number per
#   channel; `x1 = x * gate`;
# - spatial gate: stack the mean and the max of `x1` over the channels into a `(N, 2, H, W)`
#   tensor (mean first), apply `spatial = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)`
#   and a sigmoid; return `x1 * spatial gate`.

# %% nbgrader={"grade": false, "grade_id": "cbam", "locked": false, "schema_version": 3, "solution": true, "task": false}
class CBAM(nn.Module):
    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__()
        ### BEGIN SOLUTION
        hidden = max(1, channels // reduction)
        self.mlp_in = nn.Linear(channels, hidden, bias=False)
        self.mlp_out = nn.Linear(hidden, channels, bias=False)
        self.spatial = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        def mlp(v):
            return self.mlp_out(torch.relu(self.mlp_in(v)))

        gate = torch.sigmoid(mlp(x.mean(dim=(2, 3))) + mlp(x.amax(dim=(2, 3))))
        x = x * gate[:, :, None, None]
        where = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(where))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_cbam", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert CBAM(16, 4)(torch.randn(2, 16, 5, 6)).shape == (2, 16, 5, 6)
assert sum(p.numel() for p in CBAM(16, 4).parameters()) == 16 * 4 * 2 + 2 * 49

# %% [markdown]
# ## 3. Grouped convolution with a channel shuffle (3 points)
#
# A grouped 1×1 convolution is cheap, but each output group only sees one input group; ShuffleNet
# (Zhang et al., 2018) shuffles the channels so the next layer mixes the groups.
# `ShuffleConv(in_ch, out_ch, groups=2, kernel_size=3, stride=1)` (both channel counts are
# multiples of `groups`):
#
# - `group_conv = nn.Conv2d(in_ch, out_ch, 1, groups=groups, bias=False)`;
# - the channel shuffle: view the `out_ch` channels as `(groups, out_ch // groups)`, swap these two
#   axes and flatten back (so channel `i` of group `g` moves to position `i * groups + g`);
# - `depthwise = nn.Conv2d(out_ch, out_ch, kernel_size, stride=stride, padding=kernel_size // 2, groups=out_ch, bias=False)`.

# %% nbgrader={"grade": false, "grade_id": "shuffle_conv", "locked": false, "schema_version": 3, "solution": true, "task": false}
class ShuffleConv(nn.Module):
    def __init__(self, in_ch, out_ch, groups=2, kernel_size=3, stride=1):
        super().__init__()
        ### BEGIN SOLUTION
        self.groups = groups
        self.group_conv = nn.Conv2d(in_ch, out_ch, 1, groups=groups, bias=False)
        self.depthwise = nn.Conv2d(out_ch, out_ch, kernel_size, stride=stride, padding=kernel_size // 2,
                                   groups=out_ch, bias=False)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        y = self.group_conv(x)
        n, c, h, w = y.shape
        y = y.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)
        return self.depthwise(y)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_shuffle_conv", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
block = ShuffleConv(4, 6, groups=2)
assert block(torch.randn(1, 4, 5, 5)).shape == (1, 6, 5, 5)
assert sum(p.numel() for p in block.parameters()) == 4 * 6 // 2 + 6 * 9

# %% [markdown]
# ## 4. A robust CNN holding at most 8,000 numbers (1 + 1 + 1 + 2 points)
#
# Design `model` for the 8×8 digits (input `(N, 1, 8, 8)`, output 10 scores per image) and train it
# on the **train** split only (use `val` to tune). The grader counts every number your model holds
# — parameters *and* buffers such as batch norm's running statistics, read from the model itself —
# and tests it on the held-out digits moved by up to one pixel, turned by up to 10° and zoomed by
# 0.9–1.1, drawn anew at grading time. A network trained on the plain digits loses many of them:
# train with random moves of your own (`cnnlab.augment.RandomAffine`). Keep training under a
# minute on a CPU. You may use your blocks above.

# %%
from cnnlab.augment import RandomAffine
from cnnlab.data.digits import digits_loaders
train_loader, val_loader, _ = digits_loaders(batch_size=64)

# %% nbgrader={"grade": false, "grade_id": "budget_model", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
torch.manual_seed(0)
move = RandomAffine(shift=0.125, degrees=10, scale=(0.9, 1.1))


def conv_bn_relu(cin, cout, k=3):
    return [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


model = nn.Sequential(
    *conv_bn_relu(1, 16), *conv_bn_relu(16, 24), nn.MaxPool2d(2),
    nn.Conv2d(24, 24, 3, padding=1, groups=24, bias=False), *conv_bn_relu(24, 40, k=1),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(40, 10),
)
epochs = 8
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=epochs * len(train_loader))
for epoch in range(epochs):
    model.train()
    for images, labels in train_loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(move(images)), labels).backward()
        optimizer.step()
        schedule.step()
model.eval()
with torch.no_grad():
    correct = sum((model(move(x)).argmax(1) == y).sum().item() for x, y in val_loader)
print(f"validation accuracy on moved digits: {correct / len(val_loader.dataset):.1%}")
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_param_budget", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
n_numbers = sum(t.numel() for name, t in model.state_dict().items() if not name.endswith("num_batches_tracked"))
print(f"{n_numbers:,} numbers in the state dict")
assert n_numbers <= 8_000, f"{n_numbers:,} numbers: over the budget of 8,000"

# %% nbgrader={"grade": true, "grade_id": "test_accuracy_75", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# The grader measures the accuracy on held-out digits moved at grading time (at least 75% earns these points).

# %% nbgrader={"grade": true, "grade_id": "test_accuracy_85", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# The grader measures the accuracy on held-out digits moved at grading time (at least 85% earns these points).

# %% nbgrader={"grade": true, "grade_id": "test_accuracy_92", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# The grader measures the accuracy on held-out digits moved at grading time (at least 92% earns these points).

# %% [markdown]
# ## 5. Why shuffle? (2 points, graded by hand)
#
# Count, with code or by hand, the weights of a regular 1×1 convolution from 64 to 128 channels and
# of `ShuffleConv(64, 128, groups=4)`'s grouped 1×1 convolution. In two or three sentences: where
# does the saving come from, and what would go wrong if you stacked grouped convolutions without
# the shuffle?

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_shuffle", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# A regular 1×1 convolution from 64 to 128 channels has 64·128 = 8,192 weights; with 4 groups each
# output channel sees only the 16 channels of its group, 4 times fewer weights (2,048). Stacked
# without a shuffle, every group would only ever see its own slice of the input channels, as four
# separate narrow networks side by side; the shuffle hands each group channels from all the others.
# ### END SOLUTION
