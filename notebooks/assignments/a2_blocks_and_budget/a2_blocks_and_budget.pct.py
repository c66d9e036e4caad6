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
# # Assignment 2 — building blocks and a CNN on a budget
#
# You will write three blocks of modern CNNs as PyTorch modules — a residual unit with a
# projection shortcut, a squeeze-and-excitation block, a depthwise-separable convolution — and
# then design a small CNN for the hand-written digits that must stay under **20,000 parameters**.
#
# **Rules**
# - Use exactly the attribute names and layer types given: the grader loads the same weights into
#   your module and into its own and compares outputs (in float64).
# - **Do not hard-code sizes**: the hidden tests build your blocks with other channel counts,
#   strides and kernel sizes, on rectangular inputs.
# - Write the blocks yourself: using `cnnlab.models.blocks` in your answer scores no points.
# - The network is graded on the held-out **test** split of `cnnlab.data.digits`, which you must
#   not train on: ≥ 80 %, ≥ 90 % and ≥ 95 % accuracy each earn points.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import cnnlab
device = cnnlab.hello()

import torch
from torch import nn


# %% [markdown]
# ## 1. Residual unit (4 points)
#
# `ResidualUnit(in_ch, out_ch, stride=1)`: `conv1` (3×3, stride `stride`, padding 1, no bias) →
# `bn1` → ReLU → `conv2` (3×3, padding 1, no bias) → `bn2`; add `shortcut(x)`; ReLU. The
# `shortcut` is `nn.Identity()` when `stride == 1` and `in_ch == out_ch`, otherwise
# `nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch))`.

# %% nbgrader={"grade": false, "grade_id": "residual_unit", "locked": false, "schema_version": 3, "solution": true, "task": false}
class ResidualUnit(nn.Module):
    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        if stride == 1 and in_ch == out_ch:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_ch))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_residual_unit", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
unit = ResidualUnit(4, 8, stride=2)
assert unit(torch.randn(2, 4, 6, 6)).shape == (2, 8, 3, 3)

# %% [markdown]
# ## 2. Squeeze-and-excitation (3 points)
#
# `SEBlock(channels, reduction=16)`: global average pool each map to one number (squeeze), then
# `fc1 = nn.Linear(channels, max(1, channels // reduction))` + ReLU and
# `fc2 = nn.Linear(that, channels)` + sigmoid (excite), and multiply each input channel by its gate.

# %% nbgrader={"grade": false, "grade_id": "se_block", "locked": false, "schema_version": 3, "solution": true, "task": false}
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        ### BEGIN SOLUTION
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        s = x.mean(dim=(2, 3))
        gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))
        return x * gate[:, :, None, None]
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_se_block", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert SEBlock(16, 4)(torch.randn(2, 16, 5, 5)).shape == (2, 16, 5, 5)

# %% [markdown]
# ## 3. Depthwise-separable convolution (3 points)
#
# `SeparableConv2d(in_ch, out_ch, kernel_size=3, stride=1, padding=1)`: `depthwise` is a
# `kernel_size` convolution with one filter per input channel (`groups=in_ch`), then `pointwise`
# is a 1×1 convolution to `out_ch` channels; neither has a bias.

# %% nbgrader={"grade": false, "grade_id": "separable_conv", "locked": false, "schema_version": 3, "solution": true, "task": false}
class SeparableConv2d(nn.Module):
    def __init__(self, in_ch, out_ch, kernel_size=3, stride=1, padding=1):
        super().__init__()
        ### BEGIN SOLUTION
        self.depthwise = nn.Conv2d(in_ch, in_ch, kernel_size, stride=stride, padding=padding, groups=in_ch,
                                   bias=False)
        self.pointwise = nn.Conv2d(in_ch, out_ch, 1, bias=False)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.pointwise(self.depthwise(x))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_separable_conv", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
sep = SeparableConv2d(3, 8)
assert sum(p.numel() for p in sep.parameters()) == 3 * 9 + 3 * 8

# %% [markdown]
# ## 4. A CNN under 20,000 parameters (1 + 1 + 1 + 2 points)
#
# Design `model` for the 8×8 digits (input `(N, 1, 8, 8)`, output 10 scores per image) and train it
# on the **train** split only (use `val` to tune). Keep training under a minute on a CPU. You may
# use your blocks above.

# %%
from cnnlab.data.digits import digits_loaders
train_loader, val_loader, _ = digits_loaders(batch_size=64)

# %% nbgrader={"grade": false, "grade_id": "budget_model", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
    nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for epoch in range(12):
    model.train()
    for images, labels in train_loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
model.eval()
with torch.no_grad():
    correct = sum((model(x).argmax(1) == y).sum().item() for x, y in val_loader)
print(f"validation accuracy: {correct / len(val_loader.dataset):.1%}")
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_param_budget", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
n_params = sum(p.numel() for p in model.parameters())
print(f"{n_params:,} parameters")
assert n_params <= 20_000, f"{n_params:,} parameters: over the budget of 20,000"

# %% nbgrader={"grade": true, "grade_id": "test_accuracy_80", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# The grader measures the accuracy on the held-out test split (at least 80% earns these points).

# %% nbgrader={"grade": true, "grade_id": "test_accuracy_90", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# The grader measures the accuracy on the held-out test split (at least 90% earns these points).

# %% nbgrader={"grade": true, "grade_id": "test_accuracy_95", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# The grader measures the accuracy on the held-out test split (at least 95% earns these points).

# %% [markdown]
# ## 5. Why separable? (2 points, graded by hand)
#
# Count, with code or by hand, the weights of a regular 3×3 convolution from 64 to 128 channels
# and of your `SeparableConv2d(64, 128)`. In two or three sentences: where does the saving come
# from, and what assumption about images does the separable version make?

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_separable", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# ### BEGIN SOLUTION
# A regular 3×3 convolution from 64 to 128 channels has 64·128·9 = 73,728 weights; the separable
# one has 64·9 + 64·128 = 8,768. The depthwise part looks at space once per channel and the 1×1
# part mixes channels once per position, instead of learning every (space, channel) combination:
# it assumes spatial and cross-channel correlations can be learned separately.
# ### END SOLUTION
