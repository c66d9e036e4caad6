"""Write lecture notebooks 00-03 (welcome, convolution, padding and stride, pooling) with nbformat.

Run ``.venv/bin/python tools/notebooks_convolution.py`` after editing; the notebooks are
stored without outputs.  Prose and code live here so that a diff shows what changed.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nbwrite import ROOT, SETUP, code, md, write  # noqa: E402

# --------------------------------------------------------------------------- 00
WELCOME = [
    md("""
# 00 · Welcome to cnnlab

This course teaches convolutional neural networks (CNNs) with notebooks you can run, change and break.
Every lecture is a notebook like this one: short explanations, small code cells that call the `cnnlab`
package, interactive widgets, and a few ungraded exercises at the end.

**How the course is organised**

| lectures | topic |
|---|---|
| 00 | this welcome: set-up, widgets, self-checks |
| 01 | the convolution operation |
| 02 | padding and stride |
| 03 | pooling |
| 04 – 07 | building and training a CNN, classic architectures, transfer learning and data augmentation, localisation and detection |

**Graded assignments** live in `notebooks/assignments/`. They are managed with
[nbgrader](https://nbgrader.readthedocs.io): your instructor releases them, you fill in the cells marked
`YOUR CODE HERE`, and the test cells below them tell you whether the answer is right before you submit.
The lecture exercises are **not** graded; they check themselves (see below).
"""),
    md("""
## 1. Check your set-up

Every notebook starts with the same cell. `cnnlab.hello()` seeds every random number generator (so your
numbers match the text), prints the versions of the libraries that matter, and returns the device that
PyTorch will compute on.
"""),
    code(SETUP),
    md("""
The device is a GPU (`cuda`) when one is available, Apple's `mps` on a recent Mac, and the CPU otherwise.
Everything in the lectures runs on a laptop CPU. To force a device, set the environment variable
`CNNLAB_DEVICE` (for example `CNNLAB_DEVICE=cpu make lab`) or ask for one directly:
"""),
    code("""
import os

import torch

print("CNNLAB_DEVICE =", os.environ.get("CNNLAB_DEVICE", "<not set>"))
print("devices this machine offers:", cnnlab.available_devices())
print("forced to the CPU:", cnnlab.device("cpu"))
"""),
    md("A tensor on that device, to prove it works:"),
    code("""
x = torch.arange(6.0, device=device).reshape(2, 3)
print(x.device, x.sum().item())
"""),
    md("""
## 2. Interactive widgets

Many lectures contain an *explorer*: a small interactive picture built with ipywidgets. Change a control and
the picture updates straight away (the computation runs in the notebook's kernel, so the kernel must be
running). Below is the convolution explorer of lecture 01: choose a kernel, move the **position** slider, or
press ▶ to watch the window sweep over the image. If you see a line of text instead of the widget, run the
cell again; if it still does not show, the page was opened without widget support (use `make lab`).
"""),
    code("""
from cnnlab.widgets import ConvolutionExplorer

ConvolutionExplorer("edges 6x6", "vertical edge")
"""),
    md("""
## 3. Self-checks

Each lecture ends with a few exercises. You write the answer in a cell and a function from
`cnnlab.exercises` checks it: it prints ✓ when you are right and otherwise stops with a message that says
what differs and gives a hint. Try it: how many numbers describe a 28×28 **colour** image?
"""),
    code("""
from cnnlab import exercises

pixels = 28 * 28 * 3  # height × width × channels (R, G, B)
exercises.check_pixel_count(pixels)
"""),
    md("Here is what a wrong answer looks like (we catch the error so that this notebook keeps running):"),
    code("""
try:
    exercises.check_pixel_count(28 * 28)
except AssertionError as err:
    print("the check says:", err)
"""),
    md("""
That is all the machinery. Continue with **01 · Convolution**.
"""),
]

# --------------------------------------------------------------------------- 01
CONVOLUTION = [
    md("""
# 01 · Convolution

A convolutional layer slides a small grid of weights (a **kernel** or **filter**) over an image and computes,
at every position, a weighted sum of the pixels under it. This lecture explains why that is a good idea for
images, then takes the operation apart: one output cell at a time, on a real photo, over colour channels,
with many filters, and in the tensor layouts of PyTorch and TensorFlow.
"""),
    code(SETUP),
    code("""
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from cnnlab import exercises, ops
from cnnlab.data.photos import load_photo
from cnnlab.widgets import ConvolutionExplorer, FeatureMapsViewer
from cnnlab.widgets.samples import KERNELS, edges_6x6, kernel, shift_image
"""),
    md("""
## 1. Why not a fully connected layer?

Take a one-megapixel colour photo: 1000 × 1000 pixels × 3 channels = 3 million inputs. A dense layer with
1000 units connects every input to every unit:
"""),
    code("""
inputs = 1000 * 1000 * 3
units = 1000
dense_weights = inputs * units
print(f"dense layer: {dense_weights:,} weights (+ {units:,} biases)")
print(f"as float32 that is {dense_weights * 4 / 1e9:.0f} GB for one layer")
"""),
    md("""
A convolutional layer with 64 filters of size 3×3 needs a weight per filter tap and per input channel, plus
one bias per filter, **whatever the size of the image**. PyTorch counts the same:
"""),
    code("""
conv = torch.nn.Conv2d(in_channels=3, out_channels=64, kernel_size=3)
conv_params = sum(p.numel() for p in conv.parameters())
print("conv layer:", conv_params, "=", "(3·3·3 + 1) · 64 =", (3 * 3 * 3 + 1) * 64)
print(f"the dense layer has {dense_weights / conv_params:,.0f} times more parameters")

small_dense = torch.nn.Linear(32 * 32 * 3, 100)  # a size PyTorch can allocate, checked against the formula
assert sum(p.numel() for p in small_dense.parameters()) == 32 * 32 * 3 * 100 + 100
"""),
    md("""
Three ideas make the difference:

* **Sparse connectivity.** Each output unit looks at a small *receptive field* (here 3×3), not at the
  whole image. Nearby pixels are strongly related; far-away ones mostly are not.
* **Parameter sharing.** The same kernel is used at every position, so a feature detector learned in one
  corner works everywhere.
* **Equivariance to translation.** Shift the input and the feature map shifts by the same amount.

![Sparse versus dense connections](../img/sparse_vs_dense.png)

A pleasant side effect: the layer does not care about the image size, so one network can process
pictures of different sizes.
"""),
    code("""
for h, w in [(32, 32), (48, 64), (100, 7)]:
    print((h, w), "->", tuple(conv(torch.zeros(1, 3, h, w)).shape))
"""),
    md("""
Equivariance, checked numerically: shifting the image two pixels to the right and then convolving gives the
same result as convolving and then shifting (away from the borders, where pixels enter and leave).
"""),
    code("""
image = load_photo("china", size=48, gray=True)
k = kernel("Sobel x")[None, None]
conv_then_shift = shift_image(ops.conv2d(image[None, None], k, padding="same")[0, 0], dx=2)
shift_then_conv = ops.conv2d(shift_image(image, dx=2)[None, None], k, padding="same")[0, 0]
inner = (slice(2, -2), slice(4, -2))
print("largest difference away from the borders:", np.abs(conv_then_shift[inner] - shift_then_conv[inner]).max())
"""),
    md("""
**Inspiration from the visual cortex.** Hubel and Wiesel found in the 1950s–60s that neurons in the visual
cortex respond to stimuli in a small region of the visual field (a local receptive field), that some
respond to lines of a particular orientation, and that higher-level neurons combine the outputs of
lower-level ones into more complex patterns. CNNs copy that layout: early layers detect edges, later layers
combine them into textures, parts and objects.

![A receptive field](../img/receptive_field.png)
"""),
    md("""
## 2. The operation, one output cell at a time

The classic example: a 6×6 image, bright (10) on the left and dark (0) on the right, and a 3×3
*vertical-edge* kernel with a column of 1s, a column of 0s and a column of −1s.
"""),
    code("""
image = edges_6x6()
k = kernel("vertical edge")
print(image)
print(k)
"""),
    md("""
To compute output cell (0, 1), put the kernel on the 3×3 patch whose top-left corner is at row 0, column 1,
multiply element by element, add everything up, and add the bias:
"""),
    code("""
bias = 0.0
patch = image[0:3, 1:4]
products = patch * k
print("patch:\\n", patch)
print("products:\\n", products)
print("sum + bias =", products.sum(), "+", bias, "=", products.sum() + bias)
"""),
    md("""
Do that at every position (4 × 4 of them: the kernel fits 6 − 3 + 1 = 4 times in each direction) and you get
the output map. The bright band in the middle columns is where the edge is:
"""),
    code("""
out = ops.conv2d(image[None, None], k[None, None])[0, 0]
print(out)
"""),
    md("""
The explorer below does the same computation interactively, like [CNN Explainer](https://poloclub.github.io/cnn-explainer/):
the orange window is the current receptive field, the tables show the patch, the kernel, the products and
their sum, and the output map fills in as the window moves. Try other kernels and images, edit the kernel's
numbers, and change padding, stride and dilation (lecture 02 explains those).
"""),
    code('ConvolutionExplorer("edges 6x6", "vertical edge")'),
    md("""
## 3. Edges in a real photo

The same kernels work on a photo. A vertical-edge kernel responds to changes from left to right (vertical
edges), a horizontal-edge kernel to changes from top to bottom. The Sobel kernels weight the centre row or
column twice, which makes them a little less sensitive to noise.
"""),
    code("""
photo = load_photo("china", size=160, gray=True)
names = ["vertical edge", "horizontal edge", "Sobel x", "Sobel y"]
bank = np.stack([kernel(n) for n in names])[:, None]  # [4 filters, 1 channel, 3, 3]
maps = ops.conv2d(photo[None, None], bank, padding="same")[0]

fig, axes = plt.subplots(1, 5, figsize=(15, 3.2))
axes[0].imshow(photo, cmap="gray")
axes[0].set_title("photo")
for ax, name, m in zip(axes[1:], names, maps):
    ax.imshow(np.abs(m), cmap="magma")
    ax.set_title(name)
for ax in axes:
    ax.axis("off")
plt.show()
"""),
    md("The Sobel responses combine into the gradient magnitude, an edge map that does not care about direction:"),
    code("""
magnitude = np.hypot(maps[2], maps[3])
plt.figure(figsize=(4, 3.2))
plt.imshow(magnitude, cmap="gray")
plt.axis("off")
plt.title("Sobel gradient magnitude")
plt.show()
"""),
    md("""
## 4. Cross-correlation or convolution?

What deep learning calls "convolution" is, strictly speaking, **cross-correlation**: the kernel is not
flipped. The mathematical convolution flips the kernel in both directions first. For a learned kernel the
difference does not matter (the network would simply learn the flipped weights), but it matters when you
compare with a signal-processing library.
"""),
    code("""
x = np.random.default_rng(0).normal(size=(1, 1, 7, 7))
w = kernel("Sobel x")[None, None]
true_conv = ops.conv2d(x, w, flip=True)
print("flip=True equals correlating with the flipped kernel:",
      np.allclose(true_conv, ops.conv2d(x, ops.flip_kernel(w))))
print("for this kernel, flipping changes the sign:", np.allclose(true_conv, -ops.conv2d(x, w)))
print("PyTorch's conv2d is cross-correlation too:",
      np.allclose(F.conv2d(torch.from_numpy(x), torch.from_numpy(w)).numpy(), ops.conv2d(x, w)))
print("a symmetric kernel (blur) does not care:",
      np.allclose(ops.conv2d(x, kernel("blur")[None, None], flip=True), ops.conv2d(x, kernel("blur")[None, None])))
"""),
    md("""
## 5. Convolution over a volume

A colour image has 3 channels, so a filter has depth 3: a 3×3×3 block of weights. At each position the 27
products are summed **over all channels** together, plus one bias: one filter gives one 2-D feature map,
however many channels the input has.

![Convolution over a volume](../img/conv_volume.png)
"""),
    code("""
rgb = load_photo("china", size=64)                 # H × W × 3
x = np.moveaxis(rgb, -1, 0)[None]                  # 1 × 3 × H × W (PyTorch's layout)
w = np.repeat(kernel("Sobel x")[None, None], 3, axis=1)  # 1 filter × 3 channels × 3 × 3
one_map = ops.conv2d(x, w, np.array([0.1]), padding="same")
print("input", x.shape, "filter", w.shape, "->", one_map.shape)
print("equals the sum of the three per-channel results + bias:",
      np.allclose(one_map[0, 0], sum(ops.conv2d(x[:, [c]], w[:, [c]], padding="same")[0, 0] for c in range(3)) + 0.1))
"""),
    md("""
In the explorer, pick the image **photo (RGB)**: the arithmetic shows one table per channel and adds the
three sums.

## 6. Many filters, a stack of feature maps

A layer has many filters; each produces a feature map, and the maps are stacked along the channel axis. A
layer with K filters on a C-channel input has weights of shape [K, C, kh, kw] and outputs K channels. The
viewer applies a bank of eight classic filters to one image; the next layer would see these eight maps as its
input channels.
"""),
    code('FeatureMapsViewer("photo (gray)", size=96)'),
    md("""
## 7. The neuron formula

Writing it out: the unit in row i, column j of feature map k of a convolutional layer computes

$$ z_{i,j,k} = b_k + \\sum_{u=0}^{f_h-1} \\sum_{v=0}^{f_w-1} \\sum_{k'=0}^{C-1} x_{i\\cdot s_h+u,\\; j\\cdot s_w+v,\\; k'} \\; w_{u,v,k',k} $$

where $x$ is the (padded) input in height × width × channel order, $w$ holds the weights as
[height, width, input channel, output channel], $b_k$ is filter k's bias and $s_h, s_w$ are the strides.
Here is the formula as plain loops, compared with `cnnlab.ops` and with PyTorch:
"""),
    code("""
def neuron_formula(x_hwc, w_hwio, b, s_h=1, s_w=1):
    f_h, f_w, c_in, c_out = w_hwio.shape
    out_h = (x_hwc.shape[0] - f_h) // s_h + 1
    out_w = (x_hwc.shape[1] - f_w) // s_w + 1
    z = np.zeros((out_h, out_w, c_out))
    for i in range(out_h):
        for j in range(out_w):
            for k in range(c_out):
                z[i, j, k] = b[k] + sum(x_hwc[i * s_h + u, j * s_w + v, kk] * w_hwio[u, v, kk, k]
                                        for u in range(f_h) for v in range(f_w) for kk in range(c_in))
    return z


rng = np.random.default_rng(1)
x_hwc = rng.normal(size=(9, 8, 3))      # height, width, channels
w_hwio = rng.normal(size=(3, 2, 3, 4))  # f_h, f_w, in, out
b = rng.normal(size=4)
z = neuron_formula(x_hwc, w_hwio, b, s_h=2, s_w=1)

x_nchw = np.moveaxis(x_hwc, -1, 0)[None]
w_oihw = ops.hwio_to_oihw(w_hwio)
z_ops = ops.conv2d(x_nchw, w_oihw, b, stride=(2, 1))
z_torch = F.conv2d(torch.from_numpy(x_nchw), torch.from_numpy(w_oihw), torch.from_numpy(b), stride=(2, 1))
print("formula vs cnnlab.ops:", np.abs(z - ops.nchw_to_nhwc(z_ops)[0]).max())
print("formula vs PyTorch:   ", np.abs(z - z_torch[0].permute(1, 2, 0).numpy()).max())
"""),
    md("""
## 8. Tensor layouts: PyTorch and TensorFlow

The same numbers can be stored in different orders:

| | activations | convolution weights |
|---|---|---|
| PyTorch (and `cnnlab.ops`) | NCHW: batch, channels, height, width | [out, in, kh, kw] |
| TensorFlow / Keras | NHWC: batch, height, width, channels | [kh, kw, in, out] |

Converting is a transpose; `cnnlab.ops` has the four conversions. Moving weights from one framework to the
other with the wrong transpose gives a network that runs but computes nonsense, so check the shapes.
"""),
    code("""
torch_conv = torch.nn.Conv2d(3, 16, kernel_size=(5, 3))
w_torch = torch_conv.weight.detach().numpy()
w_tf = ops.oihw_to_hwio(w_torch)
print("PyTorch weights", w_torch.shape, "-> TensorFlow weights", w_tf.shape)
print("same as transpose(2, 3, 1, 0):", np.array_equal(w_tf, w_torch.transpose(2, 3, 1, 0)))
print("and back:", np.array_equal(ops.hwio_to_oihw(w_tf), w_torch))

batch = np.zeros((8, 3, 32, 32))
print("NCHW", batch.shape, "-> NHWC", ops.nchw_to_nhwc(batch).shape)
"""),
    md("""
The filters above were chosen by hand. A trained network *learns* its filters; lecture 04 trains a CNN on
hand-written digits and shows its learned filters and feature maps with the same `FeatureMapsViewer`.

## Exercises (ungraded)

**1.** How many parameters (weights and biases) does a dense layer from a 32×32×3 image to 100 units have?
And a convolutional layer with 16 filters of size 3×3 on the same image?
"""),
    code("""
dense_params = 32 * 32 * 3 * 100 + 100
conv_params = (3 * 3 * 3 + 1) * 16
exercises.check_dense_vs_conv(dense_params, conv_params)
"""),
    md("""
**2.** Flip the edge example on its side: the image below is bright on top and dark at the bottom. Apply the
horizontal-edge kernel (`kernel("horizontal edge")`) with `ops.conv2d` and check the 4×4 result.
"""),
    code("""
top_bright = np.zeros((6, 6))
top_bright[:3] = 10
edges = ops.conv2d(top_bright[None, None], kernel("horizontal edge")[None, None])[0, 0]
print(edges)
exercises.check_horizontal_edges(edges)
"""),
    md("""
**3.** Write `correlate2d(image, kern)` yourself with two loops over the output positions (no padding,
stride 1). The check compares it with `cnnlab.ops` on random, non-square inputs.
"""),
    code("""
def correlate2d(image, kern):
    kh, kw = kern.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(image[i:i + kh, j:j + kw] * kern)
    return out


exercises.check_correlate2d(correlate2d)
"""),
    md("**4.** Convert PyTorch convolution weights [out, in, kh, kw] to TensorFlow's [kh, kw, in, out] with one transpose."),
    code("""
def torch_to_tf(w):
    return w.transpose(2, 3, 1, 0)


exercises.check_torch_to_tf_weights(torch_to_tf)
"""),
]

# --------------------------------------------------------------------------- 02
PADDING = [
    md("""
# 02 · Padding and stride

Two settings decide the size of a convolution's output: **padding** (extra zeros around the input) and
**stride** (how far the window jumps). This lecture derives the output-size formula, shows what the
frameworks mean by "valid", "same" and "full", and adds **dilation**.
"""),
    code(SETUP),
    code("""
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from cnnlab import exercises, ops
from cnnlab.data.photos import load_photo
from cnnlab.widgets import PaddingStrideExplorer
from cnnlab.widgets.samples import kernel
"""),
    md("""
## 1. Two problems without padding

Without padding an f×f kernel fits n − f + 1 times along an axis of n pixels: every layer shrinks the image
(6×6 → 4×4 with a 3×3 kernel), so a deep network would run out of pixels. Second, border pixels take part in
fewer windows than central ones. Count, for every pixel, how many 3×3 windows cover it:
"""),
    code("""
def coverage(n, f, padding):
    \"\"\"How many windows of an f×f kernel touch each pixel of an n×n image.\"\"\"
    pads = ops.resolve_padding(padding, f, input_size=n)
    ones_out = np.ones((1, 1, ops.conv_output_size(n, f, pads[:2]), ops.conv_output_size(n, f, pads[2:])))
    # the backward pass of a convolution spreads each output back over its window
    _, cache = ops.conv2d_fast_forward(np.ones((1, 1, n, n)), np.ones((1, 1, f, f)), None, {"padding": pads})
    return ops.conv2d_fast_backward(ones_out, cache)[0][0, 0]


print("valid:\\n", coverage(6, 3, "valid"))
print("same:\\n", coverage(6, 3, "same"))
"""),
    md("""
With "valid" padding a corner pixel is used once and a central one nine times; with "same" padding the corner
takes part in four windows. Padding keeps the edges in play.

## 2. Zero padding: valid, same, full

Padding adds p rows/columns of zeros on each side. The usual choices for an odd kernel size f:

* **valid**: p = 0, the output shrinks to n − f + 1;
* **same**: p = (f − 1)/2, the output has the input's size (at stride 1);
* **full**: p = f − 1, every input pixel meets every kernel weight; the output grows to n + f − 1.

![valid, same and full padding](../img/padding_modes.png)
"""),
    code("""
x = np.arange(1.0, 10.0).reshape(3, 3)
print(ops.pad2d(x, 1))
for name in ["valid", "same", "full"]:
    pads = ops.resolve_padding(name, kernel_size=3)
    out = ops.conv2d(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), padding=name)
    print(f"{name:5s}: pads (top, bottom, left, right) = {pads}, 5×5 input -> {out.shape[2]}×{out.shape[3]}")
"""),
    md("""
## 3. Stride and the output-size formula

With stride s the window jumps s pixels at a time. Along one axis with n pixels, padding p on each side and a
kernel of size f, the window fits

$$ n_{out} = \\left\\lfloor \\frac{n + 2p - f}{s} \\right\\rfloor + 1 $$

times. When n + 2p − f is not a multiple of s, the last few rows/columns cannot start another window and
are ignored: the **floor**.

![strides 1, 2 and 3](../img/stride_diagram.png)
"""),
    code("""
print(" n  f  p  s  formula  cnnlab.ops  PyTorch")
for n, f, p, s in [(6, 3, 0, 1), (5, 3, 1, 1), (7, 3, 0, 2), (6, 3, 1, 2), (7, 3, 0, 3), (224, 7, 3, 2)]:
    by_formula = (n + 2 * p - f) // s + 1
    by_torch = F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), stride=s, padding=p).shape[-1]
    print(f"{n:2d} {f:2d} {p:2d} {s:2d} {by_formula:6d} {ops.conv_output_size(n, f, p, s):10d} {by_torch:8d}")
"""),
    md("""
For (6, 3, 1, 2): (6 + 2 − 3)/2 = 2.5, rounded down to 2, plus 1 gives 3; the last padded column is
never used.

## 4. "same" with a stride larger than one

With stride s > 1 "same" cannot keep the size; TensorFlow defines it as "output = ⌈n/s⌉" and pads just
enough for that: a total of max((⌈n/s⌉ − 1)·s + f − n, 0) zeros, split in two with the **extra one at the
bottom/right** when the total is odd.
"""),
    code("""
for n in [10, 11]:
    pads = ops.resolve_padding("same", 3, stride=2, input_size=n)
    out = ops.conv2d(np.ones((1, 1, n, n)), np.ones((1, 1, 3, 3)), stride=2, padding="same")
    print(f"n={n}: pads (top, bottom, left, right) = {pads}, output {out.shape[-1]} = ceil({n}/2)")
"""),
    md("""
PyTorch refuses `padding="same"` with a stride above one, and its integer padding is always symmetric. To
reproduce TensorFlow's uneven padding in PyTorch, pad explicitly with `F.pad` first:
"""),
    code("""
x = torch.from_numpy(np.random.default_rng(0).normal(size=(1, 1, 10, 10)))
w = torch.from_numpy(kernel("Sobel x")[None, None])
try:
    F.conv2d(x, w, stride=2, padding="same")
except RuntimeError as err:
    print("PyTorch:", str(err).splitlines()[0])

tf_like = F.conv2d(F.pad(x, (0, 1, 0, 1)), w, stride=2)  # F.pad takes (left, right, top, bottom)
ours = ops.conv2d(x.numpy(), w.numpy(), stride=2, padding="same")
print("explicit uneven padding in PyTorch equals TensorFlow-style 'same':", np.allclose(tf_like.numpy(), ours))
print("symmetric padding=1 does not:", np.allclose(F.conv2d(x, w, stride=2, padding=1).numpy(), ours))
"""),
    md("""
## 5. Strided convolution as downsampling

A stride of 2 computes a quarter of the positions: the output has half the height and width. Networks use it
instead of (or with) pooling to shrink feature maps while the filters keep learning.
"""),
    code("""
photo = load_photo("grace_hopper", size=128, gray=True)
blur = kernel("blur")[None, None]
fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
for ax, s in zip(axes, [1, 2, 4]):
    out = ops.conv2d(photo[None, None], blur, stride=s, padding="same")[0, 0]
    ax.imshow(out, cmap="gray")
    ax.set_title(f"stride {s}: {out.shape[0]}×{out.shape[1]}")
    ax.axis("off")
plt.show()
"""),
    md("""
## 6. Dilation (atrous convolution)

A dilated kernel spreads its taps apart with gaps of d − 1 pixels. A 3×3 kernel with dilation 2 covers a
5×5 area with still only 9 weights: the receptive field grows without more parameters or lower
resolution. The formula uses the effective size f' = d·(f − 1) + 1 in place of f.
"""),
    code("""
x = np.random.default_rng(2).normal(size=(1, 1, 9, 9))
w = np.random.default_rng(3).normal(size=(1, 1, 3, 3))
for d in [1, 2, 3]:
    ours = ops.conv2d(x, w, dilation=d)
    theirs = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), dilation=d).numpy()
    print(f"dilation {d}: effective size {ops.effective_kernel_size(3, d)}, output {ours.shape[-1]}×{ours.shape[-1]},"
          f" equal to PyTorch: {np.allclose(ours, theirs)}")
"""),
    md("""
## 7. Explore

Pick a case from the conv-arithmetic guide (or set your own numbers). Blue is the input, white the zero
padding, orange the kernel's taps at the current position, green the output. The formula updates with the
numbers; settings where the kernel no longer fits are flagged.
"""),
    code('PaddingStrideExplorer("padding, strides (odd: floor)")'),
    md("""
## Exercises (ungraded)

**1.** Write `output_size(n, f, p, s)`, the number of positions of an f-wide window with padding p on each side
and stride s along n pixels.
"""),
    code("""
def output_size(n, f, p, s):
    return (n + 2 * p - f) // s + 1


exercises.check_output_size(output_size)
"""),
    md("""
**2.** TensorFlow's "same" padding for n = 10, f = 3, s = 2: how many rows of zeros go before (top) and after
(bottom)?
"""),
    code("""
same_pads = (0, 1)  # (before, after)
exercises.check_same_padding(same_pads)
"""),
]

# --------------------------------------------------------------------------- 03
POOLING = [
    md("""
# 03 · Pooling

A pooling layer shrinks feature maps by summarising each small window with one number: its maximum or its
average. It has **no parameters** to learn. This lecture shows what pooling computes, why networks use it,
the little invariance it buys, pooling across channels, global average pooling, and how it compares with a
strided convolution.
"""),
    code(SETUP),
    code("""
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from cnnlab import exercises, ops
from cnnlab.widgets import PoolingExplorer
from cnnlab.widgets.samples import kernel, sample_image, shift_image, stripes_for_pooling
"""),
    md("""
## 1. Max and average pooling

A window of a given **size** slides with a given **stride** (by default equal to the size, so windows do not
overlap) and optional **padding**; each channel is pooled separately. The common choice, 2×2 with stride 2,
halves height and width (rounded down) and keeps the number of channels.

![max and average pooling](../img/pooling_diagram.png)
"""),
    code("""
x = np.array([[1, 3, 2, 1], [4, 6, 5, 0], [3, 1, 1, 2], [0, 2, 4, 3]], dtype=float)[None, None]
print("max:\\n", ops.max_pool2d(x, 2)[0, 0])
print("average:\\n", ops.avg_pool2d(x, 2)[0, 0])
print("parameters of nn.MaxPool2d:", sum(p.numel() for p in torch.nn.MaxPool2d(2).parameters()))
for shape in [(1, 64, 56, 56), (1, 64, 55, 55), (1, 3, 7, 9)]:
    print(shape, "->", ops.max_pool2d(np.zeros(shape), 2).shape)
"""),
    md("""
## 2. Why pool?

* **Less computation and memory.** Halving height and width divides the number of positions, and so the
  work of the next convolutional layer and the memory of its activations, by four.
* **Fewer parameters** where the feature maps are flattened into a dense layer.
* **Less overfitting**, as a consequence of both.
* **Some invariance** to small shifts, rotations and changes of scale, because the maximum of a window
  does not care where in the window the strongest response was.
"""),
    code("""
conv = torch.nn.Conv2d(64, 128, 3, padding=1)
mults = lambda h, w: h * w * 128 * 64 * 3 * 3  # noqa: E731 - multiplications of the layer above
print(f"next conv layer on 56×56 maps: {mults(56, 56):,} multiplications")
print(f"after 2×2 max pooling (28×28): {mults(28, 28):,} (4× fewer)")
print(f"dense layer on the flattened 64×56×56 maps -> 100 units: {64 * 56 * 56 * 100:,} weights;"
      f" after pooling: {64 * 28 * 28 * 100:,}")
"""),
    md("""
## 3. Invariance to small translations

Max pooling is *invariant* to a shift that keeps each window's maximum inside the same window. The image
below has all its values in even columns (odd columns are 0). Shifting it one pixel to the right moves every
value into the right half of the same 2×2 window: the pooled output does not change at all. A shift of two
pixels moves values into the next window, and the output changes.
"""),
    code("""
img = stripes_for_pooling(8)
pool = lambda a: ops.max_pool2d(a[None, None], 2)[0, 0]  # noqa: E731
for dx in [0, 1, 2]:
    moved = shift_image(img, dx=dx)
    changed = int((~np.isclose(pool(moved), pool(img))).sum())
    print(f"shift by {dx}: {np.abs(moved - img).max():.2f} largest pixel change, "
          f"{changed} of 16 pooled cells changed")
"""),
    md("""
Contrast this with a convolution, which is *equivariant*: its output moves with the input, so a one-pixel
shift changes the map.
"""),
    code("""
conv_map = lambda a: ops.conv2d(a[None, None], kernel("blur")[None, None], padding="same")[0, 0]  # noqa: E731
print("conv output changed cells after a 1-pixel shift:",
      int((~np.isclose(conv_map(shift_image(img, 1)), conv_map(img))).sum()), "of 64")
"""),
    md("""
The same holds, approximately, for small rotations and changes of scale: pooled features of a slightly
rotated or enlarged digit are closer to the original's than the raw pixels are. "A little" is the word:
coarser pooling is more tolerant, but no amount of pooling makes a network recognise an upside-down 3.
"""),
    code("""
digit = sample_image("digit", 32)
variants = {"rotated 10°": ndimage.rotate(digit, 10, reshape=False, order=1),
            "scaled ×1.1": ndimage.zoom(digit, 1.1, order=1)[1:33, 1:33]}


def distance(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(a)


for name, other in variants.items():
    row = [f"pixels {distance(digit, other):.2f}"]
    for size in [2, 4]:
        pooled_a, pooled_b = ops.max_pool2d(digit[None, None], size), ops.max_pool2d(other[None, None], size)
        row.append(f"max-pool {size}: {distance(pooled_a, pooled_b):.2f}")
    print(f"{name}: relative distance to the original — " + ", ".join(row))
"""),
    md("""
## 4. Depthwise (channel) pooling

Pooling can also run across **channels** at each pixel instead of across space. Suppose four channels hold
the same edge detector at four orientations. Their maximum responds to an edge whatever its orientation:
max-pooling over those channels makes the network *invariant to rotation* of that feature, something spatial
pooling cannot do. `ops.depthwise_max_pool(x, size)` takes the maximum over groups of `size` consecutive
channels.
"""),
    code("""
k0 = kernel("Sobel x")
k45 = np.array([[2, 1, 0], [1, 0, -1], [0, -1, -2]], dtype=float)
bank = np.stack([k0, k45, k0.T, k45[:, ::-1]])[:, None]  # one edge detector at four orientations

edges = {"vertical edge": np.tile((np.arange(12) >= 6).astype(float), (12, 1)),
         "horizontal edge": np.tile((np.arange(12) >= 6).astype(float)[:, None], (1, 12)),
         "diagonal edge": np.triu(np.ones((12, 12))),
         "other diagonal": np.tril(np.ones((12, 12)))[:, ::-1]}
for name, im in edges.items():
    maps = np.abs(ops.conv2d(im[None, None], bank))       # 1 × 4 × 10 × 10, one channel per orientation
    pooled = ops.depthwise_max_pool(maps, 4)              # 1 × 1 × 10 × 10, max over the 4 channels
    print(f"{name:15s} strongest response per channel {maps.max(axis=(2, 3))[0]} -> after channel max {pooled.max():.0f}")
"""),
    md("""
Each single channel's response depends on the edge's orientation (from 0 to 4); after the maximum across the
four channels the answer is 4 for every orientation.

## 5. Global average pooling

Global average pooling averages each whole feature map to a single number: C maps become a vector of C
values, whatever the height and width. Modern architectures (GoogLeNet, ResNet) use it instead of flattening
into a large dense layer; it has no parameters and accepts any input size.
"""),
    code("""
maps = np.random.default_rng(0).normal(size=(2, 5, 7, 9))
gap, _ = ops.global_avg_pool_forward(maps)
print(maps.shape, "->", gap.shape)
print("equal to PyTorch's adaptive_avg_pool2d(x, 1):",
      np.allclose(gap, F.adaptive_avg_pool2d(torch.from_numpy(maps), 1).numpy()))
"""),
    md("""
## 6. Pooling or strided convolution?

Both halve the feature maps. A pooling layer is a fixed rule (max or mean) with no parameters; a strided
convolution learns *how* to downsample, at the price of weights and computation. Some architectures drop
pooling entirely and use stride-2 convolutions.
"""),
    code("""
pool_layer = torch.nn.MaxPool2d(2)
strided = torch.nn.Conv2d(64, 64, 3, stride=2, padding=1)
x = torch.zeros(1, 64, 56, 56)
for name, layer in [("max pooling 2×2", pool_layer), ("conv 3×3 stride 2", strided)]:
    n = sum(p.numel() for p in layer.parameters())
    print(f"{name:18s} output {tuple(layer(x).shape)}, parameters {n:,}")
"""),
    md("""
## 7. Explore

Choose max or average pooling, the window size and stride, and move the **shift** slider: the red squares mark
each window's winning pixel, and the rightmost picture outlines in red the pooled cells that the shift
changed.
"""),
    code('PoolingExplorer("stripes", "max", size=2)'),
    md("""
## Exercises (ungraded)

**1.** Write `max_pool_2x2(x)` for a 2-D array: 2×2 windows, stride 2, an odd last row or column is dropped.
"""),
    code("""
def max_pool_2x2(x):
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    return x[:h, :w].reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))


exercises.check_max_pool_2x2(max_pool_2x2)
"""),
    md("**2.** What is the shape after 2×2 max pooling (stride 2) of a batch of shape (8, 64, 55, 55)?"),
    code("""
pooled_shape = (8, 64, 27, 27)
exercises.check_pool_output_shape(pooled_shape)
"""),
]


def main() -> None:
    for name, cells in [("00_welcome.ipynb", WELCOME), ("01_convolution.ipynb", CONVOLUTION),
                        ("02_padding_and_stride.ipynb", PADDING), ("03_pooling.ipynb", POOLING)]:
        print("wrote", write(name, cells).relative_to(ROOT))


if __name__ == "__main__":
    main()
