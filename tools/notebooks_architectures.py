"""Write lecture notebooks 04-06 (building a CNN, architectures, augmentation and transfer) with nbformat.

Run ``.venv/bin/python tools/notebooks_architectures.py`` after editing; the notebooks are
stored without outputs. Prose and code live here so that a diff shows what changed.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nbwrite import ROOT, SETUP, code, md, write  # noqa: E402

# --------------------------------------------------------------------------- 04
BUILDING = [
    md("""
# 4. Building a CNN

The previous notebooks took the layers apart: convolution, padding, stride, pooling. Here we
stack them into a network that classifies images, train it, and look inside it.

**You will:** recognise the typical layout of a CNN, read a model summary and check every
parameter count by hand, train LeNet-5 on hand-written digits, and judge the result with
learning curves, a confusion matrix, the mistakes it makes, its filters and its feature maps.
"""),
    code(SETUP),
    md("""
## The typical stack

Almost every classification CNN follows the same recipe:

1. a few **convolution → ReLU** layers, then a **pooling** layer; repeat this block several times;
2. each block makes the feature maps **smaller** (pooling or stride 2) and **deeper** (more filters),
   so the network trades "where" for "what" as it goes up;
3. the last maps are **flattened** (or reduced by **global average pooling**) into a vector;
4. one or more **dense** layers follow, and a final dense layer with one unit per class and a
   **softmax** turns scores into probabilities.

Doubling the number of filters after each pooling keeps the amount of computation per layer
roughly constant: the maps have four times fewer positions, the filters have twice as many inputs
and there are twice as many of them.

![The typical CNN stack](../img/cnn_stack.png)
"""),
    md("""
## The lecture's example network

A 10-class classifier for 32×32 RGB images:
conv 32@3×3 "same" → max-pool 2 → conv 64@3×3 "valid" → max-pool 2 → conv 64@3×3 "valid" →
flatten → dense 64 → dense 10. `cnnlab.models.lecture_cnn` builds it, and
`cnnlab.models.summary` prints a Keras-style table (through `torchinfo`).
"""),
    code("""
from cnnlab import models

example = models.lecture_cnn(num_classes=10, in_channels=3)
models.summary(example, input_size=(1, 3, 32, 32))
"""),
    md("""
Check every number by hand. A conv layer has `(k·k·C_in + 1)·C_out` parameters (one bias per filter),
a dense layer `(n_in + 1)·n_out`:

| layer | output | parameters |
|---|---|---|
| conv 32@3×3, same | 32×32×32 | (3·3·3 + 1)·32 = 896 |
| max-pool 2 | 16×16×32 | 0 |
| conv 64@3×3, valid | 14×14×64 | (3·3·32 + 1)·64 = 18,496 |
| max-pool 2 | 7×7×64 | 0 |
| conv 64@3×3, valid | 5×5×64 | (3·3·64 + 1)·64 = 36,928 |
| flatten | 1,600 | 0 |
| dense 64 | 64 | (1600 + 1)·64 = 102,464 |
| dense 10 | 10 | (64 + 1)·10 = 650 |

Almost two thirds of the weights sit in the first dense layer, although it does the least
"vision". This is why later architectures replace flattening with global average pooling.
"""),
    code("""
by_hand = [(3*3*3 + 1)*32, (3*3*32 + 1)*64, (3*3*64 + 1)*64, (1600 + 1)*64, (64 + 1)*10]
print(by_hand, sum(by_hand), models.count_parameters(example))
print(f"multiply-adds for one image: {models.count_macs(example, (1, 3, 32, 32)):,}")
"""),
    md("""
## The running example: hand-written digits

scikit-learn ships 1,797 digits of 8×8 pixels. `cnnlab.data.digits` turns them into PyTorch
datasets with a fixed, stratified split (60% training, 20% validation, 20% test: the test images
are the same on every machine), and can resize them bilinearly to 32×32, the input size of LeNet-5.
"""),
    code("""
import matplotlib.pyplot as plt
from cnnlab.data import digits

train_loader, val_loader, test_loader = digits.digits_loaders(batch_size=32, size=32)
print(len(train_loader.dataset), "training,", len(val_loader.dataset), "validation,",
      len(test_loader.dataset), "test images")
x, y = next(iter(train_loader))
fig, axes = plt.subplots(1, 8, figsize=(9, 1.6))
for ax, img, label in zip(axes, x, y):
    ax.imshow(img[0], cmap="gray"); ax.set_title(int(label)); ax.axis("off")
"""),
    md("""
## LeNet-5

LeCun's network (1998) was built for exactly this job: 32×32 gray digits, two convolution +
subsampling stages, a third convolution whose 5×5 kernels cover the whole remaining 5×5 map
(so it acts as a dense layer of 120 units), a dense layer of 84 and 10 outputs. The original used
tanh-like activations and average pooling; we keep those.
"""),
    code("""
lenet = models.lenet5(num_classes=10, in_channels=1)
models.summary(lenet, input_size=(1, 1, 32, 32))
"""),
    md("""
### Training

`cnnlab.train.fit` runs the loop: for each batch, forward pass, cross-entropy loss, backward pass,
optimizer step (Adam here); after each epoch it measures the validation loss and accuracy. It is
seeded, so a CPU run repeats exactly. Small random shifts, rotations and zooms of each batch
(`cnnlab.augment`, notebook 6) make the 1,077 training digits go further.
"""),
    code("""
from cnnlab import augment, train

jitter = augment.Compose([augment.RandomAffine(shift=0.08, degrees=10, scale=(0.9, 1.1))], seed=0)
history = train.fit(lenet, train_loader, val_loader, epochs=20, lr=1e-3, augment=jitter, device=device)
print("test:", train.evaluate(lenet, test_loader))
"""),
    md("""
### Learning curves

Training and validation loss going down together means the network is still learning something
that generalises; a validation loss that turns back up while the training loss keeps falling is
the signature of overfitting (early stopping, `patience=...`, would stop there).
"""),
    code("""
train.plot_history(history, title="LeNet-5 on the digits");
"""),
    md("""
### Which digits get confused?

The confusion matrix counts, for each true class (row), how often each class was predicted
(column); the diagonal holds the correct answers.
"""),
    code("""
pred = train.predict(lenet, test_loader)
train.plot_confusion_matrix(pred["y_true"], pred["y_pred"]);
"""),
    code("""
train.plot_misclassified(pred["images"], pred["y_true"], pred["y_pred"], probs=pred["probs"]);
"""),
    md("""
Look at the mistakes before trusting the accuracy: are they digits a person would also hesitate
on, or does the network miss something obvious? With 360 test images, each mistake moves the
accuracy by 0.28 percentage points, so differences of a fraction of a percent between two models
mean little.

### What did it learn?

The first layer's six 5×5 filters act directly on pixels, so they can be shown as images: expect
edge and stroke detectors. Their feature maps show where in a digit each filter responds.
"""),
    code("""
train.plot_filters(lenet);
"""),
    code("""
image, label = test_loader.dataset[0]
train.plot_feature_maps(lenet, image);
train.plot_feature_maps(lenet, image, layer=lenet.features[3]);  # second convolution: 16 maps of 10x10
"""),
    md("""
### Keeping the result

A checkpoint stores the weights, the optimizer state and the history in one file. Loading it into
a network of another shape fails with a message that names the mismatching tensors.
"""),
    code("""
import tempfile
from pathlib import Path

path = Path(tempfile.mkdtemp()) / "lenet5_digits.pt"
train.save_checkpoint(path, lenet, history=history)
restored = models.lenet5()
info = train.load_checkpoint(path, restored)
print("restored test accuracy:", train.evaluate(restored, test_loader)["accuracy"], "after", info["history"].epochs, "epochs")
try:
    train.load_checkpoint(path, models.lenet5(num_classes=5))
except train.CheckpointError as err:
    print(err)
"""),
    md("""
## Summary

* A CNN is a stack of [conv → ReLU]×k → pool blocks, maps shrinking and deepening, then a small
  classifier on top; a summary table and two formulas account for every parameter.
* LeNet-5, 61,706 parameters, learns the digits to about 96–98% test accuracy (depending on the seed) in seconds on a CPU.
* Judge a classifier by its curves, its confusion matrix and its actual mistakes, not only by
  one number.

Next: the architectures that made CNNs win ImageNet.
"""),
]

# --------------------------------------------------------------------------- 05
ARCHITECTURES = [
    md("""
# 5. Architectures: from LeNet-5 to MobileNets

The ImageNet Large Scale Visual Recognition Challenge (ILSVRC, 2010–2017) asked for the class of
photographs among 1,000 categories. Its main metric is the **top-5 error**: a prediction counts as
correct when the true class is among the network's five most probable classes (many photos hold
several objects, and some classes, like dog breeds, are hard even for people).

Every network in this notebook is built by `cnnlab.models`, at its full ImageNet size (parameter
counts equal to the reference implementations) and in a small version that trains on the digits.
All numbers below are computed from the code, not copied.
"""),
    code(SETUP),
    code("""
from cnnlab import models

models.plot_ilsvrc_history();
"""),
    md("""
In 2011 the best entry still used hand-made features (25.8% top-5 error). In 2012 AlexNet, a CNN
trained on two GPUs, brought it down to about 16% (15.3% with extra training data; on the earlier
ILSVRC-2010 test set its paper reports 17.0% against 25.7% for the best previous method). Five
years later SENet reached 2.25%, below the roughly 5% measured for a trained human annotator.

## LeNet-5 (1998)

Seen in notebook 4: 32×32 input, conv 5×5 → pool → conv 5×5 → pool → conv 5×5 (120) → dense 84 →
10 outputs. 61,706 parameters. All later networks keep its plan: convolutions and pooling, then a classifier.

## AlexNet (2012)

Much larger and deeper: five convolutions (11×11 with stride 4 first, then 5×5 and three 3×3),
some stacked **directly** without pooling in between, then two dense layers of 4,096 units.
What made it work:

* **ReLU** activations, which train several times faster than tanh;
* **dropout** of 50% on the dense layers against overfitting;
* **data augmentation**: random crops, horizontal flips and lighting changes;
* **local response normalisation**: after ReLU, a strongly activated map inhibits the maps at
  the same position in neighbouring channels (`lrn=True` below; later networks dropped it).
"""),
    code("""
alexnet = models.alexnet(lrn=True)
print(alexnet.features)
print(f"AlexNet: {models.count_parameters(alexnet):,} parameters")
"""),
    md("""
**ZFNet** (2013 winner, 11.7%) and **OverFeat** kept AlexNet's design and tuned it: smaller first
filters and stride (7×7, stride 2) so fewer details are lost, wider middle layers; OverFeat also
used the network convolutionally over the whole image for localisation.

## VGGNet (2014, runner-up, 7.3%)

A very regular design: **only 3×3 convolutions** (stride 1, "same"), two to four of them before
each 2×2 max-pool, widths 64 → 128 → 256 → 512 → 512, then two dense layers of 4,096. Two stacked
3×3 convs see a 5×5 region with fewer weights (2·9·C² instead of 25·C²) and an extra
non-linearity; VGG showed that depth (16 or 19 weight layers) pays.
"""),
    code("""
import torch

for depth in (11, 16, 19):
    with torch.device("meta"):  # build the layers without allocating any memory
        net = models.create(f"vgg{depth}")
    dense = sum(p.numel() for p in net.classifier.parameters())
    print(f"VGG-{depth}: {models.count_parameters(net):>12,} parameters, {dense / models.count_parameters(net):.0%} in the dense layers")
"""),
    md("""
## GoogLeNet / Inception v1 (2014 winner, 6.7%)

22 layers deep, yet about **6 million parameters** against AlexNet's 60 million. The building block
is the **inception module**: four branches look at the same input — a 1×1 conv, a 3×3 conv, a 5×5
conv and a 3×3 max-pool — and their outputs are **concatenated along the depth**. Before the
expensive 3×3 and 5×5 convolutions, a **1×1 convolution** shrinks the depth (a *bottleneck*), and
after the pool another 1×1 conv limits how many maps it adds. At the end, **global average
pooling** replaces AlexNet's huge dense layers.

![Inception module](../img/inception_module.png)
"""),
    code("""
module = models.InceptionModule(192, 64, 96, 128, 16, 32, 32)
print(module(torch.zeros(1, 192, 28, 28)).shape, f"{models.count_parameters(module):,} parameters")
# what the 5x5 branch would cost without its 1x1 bottleneck (conv weights only)
print(f"5x5 conv on 192 maps directly: {192 * 32 * 25:,} weights; with the 1x1 bottleneck to 16 maps: {192 * 16 + 16 * 32 * 25:,}")
with torch.device("meta"):
    print(f"GoogLeNet: {models.count_parameters(models.googlenet()):,} parameters")
"""),
    md("""
A 1×1 convolution is a dense layer applied at every pixel: it mixes channels without looking at
neighbours. It changes the depth cheaply and adds a non-linearity.

## ResNet (2015 winner, 3.6%)

Stacking more plain layers eventually makes training *worse*, not just slower. ResNet's answer is
the **residual unit**: two (or three) conv layers compute F(x) and a **skip connection** adds the
input back, output = ReLU(F(x) + x). If a layer has nothing useful to add, it only needs to push
F towards zero; and the gradient flows back through the additions unchanged, so nets of 50, 101
or 152 layers train.

When a unit halves the map (stride 2) and doubles the depth, x no longer has the shape of F(x): the
shortcut becomes a **1×1 convolution with stride 2** (a projection). ResNet-50 and deeper use the
**bottleneck** unit 1×1 (reduce) → 3×3 → 1×1 (expand ×4) to keep the cost down.

![Residual units](../img/residual_unit.png)
"""),
    code("""
unit = models.ResidualUnit(64, 128, stride=2)
print(unit.shortcut)
print(unit(torch.zeros(1, 64, 56, 56)).shape)
"""),
    md("""
## Inception-v4, Inception-ResNet, ResNeXt (2016)

The two ideas merged: **Inception-v4** refined the modules, **Inception-ResNet** added residual
connections around them, and **ResNeXt** replaced the 3×3 conv of a bottleneck by 32 parallel
narrow paths (a *grouped* convolution: `Bottleneck(..., groups=32)` here). The 2016 winning entry
ensembled such networks (3.0%).

## Xception (2016): depthwise separable convolutions

A regular convolution learns spatial patterns and cross-channel patterns jointly. Xception
separates them: a **depthwise** conv applies one k×k filter to each input channel on its own, then
a **pointwise** 1×1 conv mixes the channels. Count the weights for 32 → 64 channels with 3×3 kernels:

![Depthwise separable convolution](../img/depthwise_separable.png)
"""),
    code("""
from torch import nn

regular = nn.Conv2d(32, 64, 3, padding=1, bias=False)
separable = models.SeparableConv2d(32, 64, kernel_size=3)
for name, layer in [("regular", regular), ("separable", separable)]:
    print(f"{name:>9}: {models.count_parameters(layer):6,} weights, "
          f"{models.count_macs(layer, (1, 32, 56, 56)):>11,} multiply-adds on a 56x56 map")
print("ratio 1/C_out + 1/k^2 =", 1/64 + 1/9)
"""),
    md("""
## SENet (2017 winner, 2.25%)

A **squeeze-and-excitation block** learns how much each feature map matters for the current
image: global average pooling squeezes each map to one number, a small dense layer with ReLU
(reduction 16) and a dense layer with sigmoid produce one weight in (0, 1) per map, and the maps
are multiplied by those weights. Inserted into each ResNet unit it adds about 10% parameters and
very little computation.
"""),
    code("""
se = models.SEBlock(256, reduction=16)
print(se, f"{models.count_parameters(se):,} parameters")
with torch.device("meta"):
    r50, se50 = models.resnet50(), models.se_resnet50()
print(f"ResNet-50 {models.count_parameters(r50):,} -> SE-ResNet-50 {models.count_parameters(se50):,}")
"""),
    md("""
## DenseNet, DPN and MobileNets (2017)

* **DenseNet**: inside a block every layer receives the concatenated maps of *all* earlier layers
  and adds only a few new ones (the growth rate, 32); features are reused, so it is accurate with
  few parameters (DenseNet-121: 8M).
* **DPN** (dual path networks) combine a ResNet path (features re-used through additions) with a
  DenseNet path (new features concatenated).
* **MobileNets** build the whole network from depthwise separable convolutions to run on phones;
  v2 adds *inverted residuals* (expand with 1×1, depthwise 3×3, project back with a linear 1×1).

## The zoo, side by side

Parameters and multiply-adds (one 224×224 image; 299×299 for Xception), computed by building each
network on PyTorch's "meta" device, which tracks shapes without allocating memory.
"""),
    code("""
rows = models.zoo_table()
print(models.format_table(rows))
models.plot_zoo(rows);
"""),
    md("""
Note the spread: VGG-16 needs 138M parameters and 15.5 billion multiply-adds; GoogLeNet gets a
better score with 6.6M and 1.5 billion; MobileNetV2 needs 0.3 billion. Parameters decide memory and
download size, multiply-adds decide speed.

## The small versions on the digits

Each builder also takes `small=True`: the same design at a width a CPU trains in seconds (a 3×3
stem instead of the 7×7/2 and max-pool, fewer filters). We train each for three epochs on the
digits. Nets with five pooling stages need 32×32 inputs; the global-pooling nets use 16×16.
"""),
    code("""
import time
from cnnlab import train
from cnnlab.data.digits import digits_loaders

results = []
for name, size, options in [("lenet5", 32, {}), ("vgg11", 32, {"batch_norm": True}), ("resnet18", 16, {}),
                            ("xception", 16, {})]:
    loaders = digits_loaders(batch_size=64, size=size)
    net = models.create(name, num_classes=10, in_channels=1, small=True, **options)
    start = time.perf_counter()
    train.fit(net, loaders[0], loaders[1], epochs=3, lr=3e-3, device=device, progress=False)
    results.append((name, models.count_parameters(net), time.perf_counter() - start,
                    train.evaluate(net, loaders[2])["accuracy"]))
for name, params, seconds, acc in results:
    print(f"{name:>13}: {params:>9,} parameters, {seconds:5.1f} s, test accuracy {acc:.1%}")
"""),
    md("""
Three epochs is a sprint, not a fair race: the ranking says how fast each design starts learning,
not where it ends, and 8×8 digits say little about ImageNet. (VGG is given batch norm here, which
later versions of it added: the plain 11-layer stack barely moves in three epochs.) Try
`"mobilenet_v2"` too: it needs the fewest multiply-adds of all, yet on a CPU its depthwise
convolutions run slowly in PyTorch; a MAC count is not a stopwatch. What the exercise shows is
that every design is a different arrangement of the same few layers.

## Summary

| year | network | key idea |
|---|---|---|
| 1998 | LeNet-5 | conv + pooling stages, then dense layers |
| 2012 | AlexNet | bigger and deeper, ReLU, dropout, augmentation, GPUs |
| 2014 | VGG | only 3×3 convs, depth |
| 2014 | GoogLeNet | inception modules, 1×1 bottlenecks, global average pooling |
| 2015 | ResNet | residual units, skip connections, 1×1 projection shortcuts |
| 2016 | Xception | depthwise separable convolutions |
| 2017 | SENet | channel reweighting by squeeze and excitation |
| 2017 | DenseNet, MobileNets | dense connectivity; efficiency for small devices |
"""),
]

# --------------------------------------------------------------------------- 06
TRANSFER = [
    md("""
# 6. Data augmentation and transfer learning

Deep networks need many labelled images; we usually have few. Two remedies:

* **data augmentation** makes more training images out of the ones we have, by changes that keep
  the label;
* **transfer learning** reuses a network trained on a bigger, related task.
"""),
    code(SETUP),
    md("""
## Augmentation

Shift, rotate, zoom, flip, change brightness and contrast: `cnnlab.augment` does these on whole
batches on the device, with random values drawn from a seeded generator. Try the sliders (they
work on the shipped photos and on a digit). The rule: **an augmented image should look like a real
example of its class**. A mirrored cat is still a cat; a mirrored "2" or a mirrored letter is not
a digit or a letter any more, so **no horizontal flips for text and digits**. Adding white noise
produces images no camera gives; it is not a useful augmentation for a CNN.
"""),
    code("""
from cnnlab.widgets import AugmentationPreview

preview = AugmentationPreview("china", size=128)
preview
"""),
    code("""
preview.set(dx=0.1, degrees=15, scale=1.1, contrast=1.3)
print(preview.warnings() or "looks real")
preview.set_image("digit").set(flip=True)
print(preview.warnings())
"""),
    md("""
### Does it help? A measurement

LeNet-5 trained on only 10 images per digit (100 in total), with and without random shifts,
rotations and zooms, everything else identical (seed, epochs, learning rate); tested on the full
test split.
"""),
    code("""
from cnnlab import augment, models, train
from cnnlab.data.digits import digits_loaders

few_train, val_loader, test_loader = digits_loaders(batch_size=50, size=32, per_class=10)
jitter = augment.Compose([augment.RandomAffine(shift=0.1, degrees=12, scale=(0.9, 1.1))], seed=0)
scores = {}
for label, aug in [("without augmentation", None), ("with augmentation", jitter)]:
    net = models.lenet5()
    train.fit(net, few_train, val_loader, epochs=60, lr=2e-3, augment=aug, device=device, progress=False)
    scores[label] = train.evaluate(net, test_loader)["accuracy"]
    print(f"{label:>22}: test accuracy {scores[label]:.1%}")
"""),
    md("""
## Loading a standard architecture in one line

Every architecture of notebook 5 is one call away, at ImageNet size or small:
"""),
    code("""
resnet = models.create("resnet50")                                  # ImageNet layout, 1000 classes
tiny = models.create("resnet18", num_classes=5, in_channels=1, small=True)
print(f"{models.count_parameters(resnet):,} and {models.count_parameters(tiny):,} parameters")
"""),
    md("""
Outside this course you would now download ImageNet weights (e.g. from torchvision or Keras).
Nothing is downloaded here: instead the course ships a small network pretrained on a related task,
produced by `python -m cnnlab.pretrained.build`: a narrow ResNet-18 trained on the **digits 0–4**.
Our new task is to recognise the **digits 5–9** from only **3 labelled examples of each**.
"""),
    code("""
from cnnlab import pretrained

base = pretrained.load("digits04_resnet", device=device)
target = list(range(5, 10))
few, val5, test5 = digits_loaders(batch_size=64, size=16, classes=target, per_class=3)
print(len(few.dataset), "training images;", len(test5.dataset), "test images of the digits 5-9")
"""),
    md("""
### Step 1: freeze the base, new head

The convolutional base keeps its weights (`freeze`: no gradients, batch norm keeps its statistics).
The old classifier answered "which of 0–4?"; we replace it by a new head for the 5 new classes:
global average pooling (already the last step of the base) and a fresh dense layer with softmax.
Only the head is trained, with a fairly high learning rate.
"""),
    code("""
train.freeze(base)
train.replace_head(base, num_classes=5)
print("trainable parameters:", train.trainable_parameters(base), "of", models.count_parameters(base))
head_history = train.fit(base, few, val5, epochs=30, lr=1e-2, device=device, progress=False)
head_only = train.evaluate(base, test5)["accuracy"]
"""),
    md("""
### Step 2: unfreeze and fine-tune

Now that the head gives sensible outputs, unfreeze everything and continue with a **small learning
rate**, so the pretrained features are adjusted, not destroyed.
"""),
    code("""
train.unfreeze(base)
fine_history = train.fit(base, few, val5, epochs=30, lr=3e-4, device=device, progress=False)
fine_tuned = train.evaluate(base, test5)["accuracy"]
"""),
    md("""
### Against training from scratch

The same architecture, randomly initialised, trained on the same 15 images for as many steps.
"""),
    code("""
scratch = models.create("resnet18", num_classes=5, in_channels=1, small=True, width=16)
train.fit(scratch, few, val5, epochs=60, lr=2e-3, device=device, progress=False)
from_scratch = train.evaluate(scratch, test5)["accuracy"]
for label, acc in [("from scratch", from_scratch), ("pretrained, head only", head_only),
                   ("pretrained, fine-tuned", fine_tuned)]:
    print(f"{label:>23}: {acc:.1%} on the digits 5-9")
train.plot_history(head_history.extend(fine_history), title="head (epochs 1-30), then fine-tuning");
"""),
    md("""
With so few labels the pretrained features give a head start: the strokes, curves and corners that
separate 0–4 also help with 5–9. On a real problem the gap grows with the size of the source data
set (ImageNet's 1.2 million images) and shrinks as the target task gets more labels or grows
less similar to the source.

## Summary

* Augment with changes the real data shows (small shifts, rotations, zooms, lighting; flips only
  when mirror images are valid); measure that it helps.
* Transfer learning: load a pretrained network, freeze its base, train a new head (GAP + dense
  softmax), then unfreeze and fine-tune with a small learning rate.
"""),
]


def main() -> None:
    for name, cells in [("04_building_a_cnn.ipynb", BUILDING), ("05_architectures.ipynb", ARCHITECTURES),
                        ("06_augmentation_and_transfer.ipynb", TRANSFER)]:
        print("wrote", write(name, cells).relative_to(ROOT))


if __name__ == "__main__":
    main()
