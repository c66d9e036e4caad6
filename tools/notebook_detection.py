"""Write lecture notebook 07 (localization and detection, plus a tour of further applications) with nbformat.

Run ``.venv/bin/python tools/notebook_detection.py`` after editing; the notebook is stored
without outputs. Heavy lifting lives in ``cnnlab.detection``; cells stay short.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _nbwrite import ROOT, code, md, write  # noqa: E402

NAME = "07_localization_and_detection.ipynb"

CELLS = [
    md("""
# 07 · Localization and object detection

So far a network looked at an image and said *what* it shows. Now it must also say *where*.
This lecture builds that up step by step on small synthetic images (so that everything trains
on a laptop CPU in seconds):

1. classification, localization and detection, and how a box is described by four numbers;
2. Intersection over Union (IoU), the way boxes are compared;
3. sliding a classifier over the image, and non-max suppression (NMS) to remove duplicates;
4. region-based detectors (R-CNN family, R-FCN) and single-shot detectors (YOLO, SSD);
5. training a grid detector, and measuring it with precision, recall and mean average precision;
6. the speed/accuracy trade-off, measured on our own models;
7. a short tour of further applications: segmentation, pose, faces, style transfer, colorization,
   captioning and GANs.
"""),
    code("import cnnlab\n\ndevice = cnnlab.hello()"),
    code("""
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from cnnlab.data.shapes import SHAPE_CLASSES, ShapesDetection, ShapesLocalization
from cnnlab.detection import (box_convert, box_iou, batched_nms, evaluate_detections, mean_average_precision,
                              nms, precision_recall_curve, average_precision, encode_grid, decode_grid,
                              make_anchors, match_anchors)
from cnnlab.detection.draw import show_detections

torch.set_num_threads(1)    # small tensors: one thread avoids contention on a busy 2-core machine
test = ShapesDetection("test")          # 300 held-out images, 64x64, 1-4 shapes each
SHAPE_CLASSES
"""),
    md("""
## 1. Classification, localization, detection

![classification, localization and detection](../img/detection_tasks.png)

* **Classification**: one label for the whole image.
* **Classification with localization**: one object; predict its class *and* a box around it.
* **Detection**: any number of objects, each with a class and a box. The number of outputs
  is not known in advance, which is what makes detection harder than the other two.

Our data are seeded synthetic images: squares, circles, triangles and crosses of several
colours on a noisy background, with the exact box and mask of every object.
"""),
    code("""
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
for ax, i in zip(axes, range(4)):
    image, target = test[i]
    show_detections(image, target["boxes"], target["labels"], class_names=SHAPE_CLASSES, ax=ax)
"""),
    md("""
## 2. A box is four numbers

To localize one object the network adds a regression head to its classifier: besides the
class scores it outputs **four numbers**, usually the box centre, width and height
$(c_x, c_y, w, h)$ divided by the image size so that they lie in $[0, 1]$. Three formats are
common, and mixing them up is the classic detection bug:

![box formats](../img/box_formats.png)
"""),
    code("""
box = np.array([[10.0, 20.0, 50.0, 40.0]])            # xyxy: corners
print("xywh  ", box_convert(box, "xyxy", "xywh"))      # COCO's format
print("cxcywh", box_convert(box, "xyxy", "cxcywh"))    # what a network regresses
"""),
    md("""
### A localizer: classification + box regression

`ShapeLocalizer` is a small CNN with two heads on the same features: a linear layer for the
class (cross-entropy loss) and a linear layer + sigmoid for the four box numbers (squared-error
loss). The total loss is their weighted sum. A short run shows the loss falling:
"""),
    code("""
from cnnlab.detection.models import ShapeLocalizer
from cnnlab.detection.pretrained import load_localizer
from cnnlab.detection.train import localizer_mean_iou, train_localizer

cnnlab.seed_everything(0)
loc_train, loc_test = ShapesLocalization("train", size=300), ShapesLocalization("test", size=200)
quick = ShapeLocalizer()
history = train_localizer(quick, loc_train.images, loc_train.labels, loc_train.boxes, epochs=3,
                          batch_size=32, device=device)
print("loss per epoch:", [round(h["loss"], 2) for h in history])
"""),
    md("""
Three epochs on 300 images are not enough. The shipped localizer was trained the same way on
2000 images for 10 epochs (`python -m cnnlab.detection.pretrained`); we measure its accuracy and
the **mean IoU** between its boxes and the true ones on held-out images:
"""),
    code("""
localizer = load_localizer()
localizer_mean_iou(localizer, loc_test.images, loc_test.labels, loc_test.boxes)
"""),
    code("""
labels, boxes = localizer.predict(loc_test.images[:4])
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
for ax, k in zip(axes, range(4)):
    show_detections(loc_test.images[k], boxes[k:k + 1], labels[k:k + 1], class_names=SHAPE_CLASSES, ax=ax)
"""),
    md("""
## 3. Intersection over Union

How good is a predicted box? The standard answer is the **IoU**, the area of the overlap
divided by the area of the union:

$$\\mathrm{IoU}(A, B) = \\frac{|A \\cap B|}{|A \\cup B|} \\in [0, 1].$$

By convention a prediction is *correct* when its IoU with the true box is at least 0.5.

![IoU examples](../img/iou_examples.png)

The squared error between the four numbers is a fine **loss** (smooth, easy to differentiate)
but a poor **metric**: the same error means very different things for a small and a large box.
"""),
    code("""
small_true, small_pred = np.array([[0, 0, 4, 4.]]), np.array([[2, 2, 6, 6.]])
large_true, large_pred = np.array([[0, 0, 40, 40.]]), np.array([[2, 2, 42, 42.]])
for name, t, p in [("small", small_true, small_pred), ("large", large_true, large_pred)]:
    mse = np.mean((box_convert(t, "xyxy", "cxcywh") - box_convert(p, "xyxy", "cxcywh")) ** 2)
    print(f"{name} box: MSE of (cx, cy, w, h) = {mse:.1f}, IoU = {box_iou(t, p)[0, 0]:.2f}")
"""),
    md("""
Same squared error, yet the small prediction misses (IoU 0.14) while the large one is nearly
perfect (IoU 0.82). Move the boxes yourself:
"""),
    code("""
from cnnlab.widgets import IoUExplorer

IoUExplorer()
"""),
    md("""
## 4. Sliding a classifier over the image, and its duplicates

The oldest way to detect is to reuse a classifier: cut the image into windows of several
sizes at a fixed stride, classify every window (with an extra *background* class), and keep
the windows that look like an object. Our classifier was trained on such windows (script:
`python -m cnnlab.detection.pretrained`); we load its small saved weights.
"""),
    code("""
from cnnlab.detection.pretrained import load_detector, load_window_classifier
from cnnlab.detection.sliding import sliding_window_detect, sliding_windows

classifier = load_window_classifier()
print(len(sliding_windows(64)), "windows per 64x64 image (sizes 16, 24, 32; stride 4)")
image, target = test[3]
raw = sliding_window_detect(classifier, image, score_threshold=0.5)
print(len(raw["boxes"]), "windows fire for", len(target["boxes"]), "objects")
"""),
    md("""
Every object is found many times by neighbouring windows. **Non-max suppression** keeps the
best-scoring box, removes all boxes that overlap it by more than a threshold (IoU > 0.3 here),
and repeats with the best box left. Done per class (`batched_nms`), boxes of different
classes never suppress each other.
"""),
    code("""
keep = batched_nms(raw["boxes"], raw["scores"], raw["labels"], iou_threshold=0.3)
fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
show_detections(image, raw["boxes"], raw["labels"], ax=axes[0], title=f"raw: {len(raw['boxes'])} boxes")
show_detections(image, raw["boxes"][keep], raw["labels"][keep], raw["scores"][keep],
                class_names=SHAPE_CLASSES, ax=axes[1], title=f"after NMS: {len(keep)} boxes");
"""),
    md("""
Step through the greedy algorithm yourself: orange is the box kept at this step, red the boxes
it suppresses (with their IoUs), green the boxes kept earlier. Move the threshold and watch
duplicates survive (threshold too high) or neighbours vanish (too low).
"""),
    code("""
from cnnlab.widgets import NMSStepper

NMSStepper.from_detections(image, raw, iou_threshold=0.3)
"""),
    md("""
Sliding windows work, but they are slow (hundreds of classifier runs per image, most of the
computation repeated on overlapping pixels) and their boxes are only as precise as the window
grid. Modern detectors fix both problems.

## 5. Region-based detectors

![region-based detectors](../img/region_based_detectors.png)

* **R-CNN**: an external algorithm proposes about 2000 regions; each is warped to a fixed size
  and classified by a CNN, with a regressor refining its box. Accurate but very slow.
* **Fast R-CNN**: the CNN runs *once* on the whole image; each proposal is cut out of the
  feature map by *RoI pooling*; one network outputs class and box.
* **Faster R-CNN**: a **region proposal network** (RPN) replaces the external proposals. At
  each position of the feature map it scores a set of *anchor boxes* (object or not) and
  regresses offsets from them; the best proposals go to the second stage.
* **R-FCN**: makes the second stage almost free. The last convolution outputs, for each class,
  $k \\times k$ *position-sensitive score maps* (one for "top-left part of the object", one for
  "top-centre", ...). A region is split into $k \\times k$ cells, each cell is pooled from its
  own map, and the cells vote.

These *two-stage* detectors first decide where to look, then what is there.

## 6. Single-shot detectors: YOLO and SSD

![single-shot detectors](../img/single_shot_detectors.png)

**YOLO** ("you only look once") predicts everything in one pass: the image is divided into an
$S \\times S$ grid and every cell outputs an objectness score, a box and class probabilities.
The cell that contains an object's centre is responsible for it. This is fast enough for
real-time video. **SSD** makes predictions from several feature maps: fine maps with small
anchors for small objects, coarse maps with large anchors for large ones, and several aspect
ratios at every position.

Our `GridDetector` is a YOLO-style detector with an $8 \\times 8$ grid on $64 \\times 64$ images.
Here is the target a grid cell must learn (`[objectness, x, y, w, h, one-hot class]`, with
$x, y$ the centre's position inside the cell and $w, h$ square-rooted sizes relative to the image):
"""),
    code("""
image, target = test[0]
grid = encode_grid(target["boxes"], target["labels"], image_size=64, grid_size=8, num_classes=4)
rows, cols = torch.nonzero(grid[..., 0]).T
for r, c in zip(rows.tolist(), cols.tolist()):
    print(f"cell ({r}, {c}):", [round(v, 2) for v in grid[r, c].tolist()])
print("decoded back:", decode_grid(grid, 64)[0])
print("true boxes:  ", target["boxes"])
"""),
    md("""
SSD-style anchors work the same way, with several boxes per cell: each anchor is matched to the
true box it overlaps with IoU ≥ 0.5, and every true box also claims its best anchor.
"""),
    code("""
anchors = make_anchors(feature_size=8, image_size=64, scales=(0.2, 0.4), aspect_ratios=(1.0, 2.0, 0.5))
match = match_anchors(anchors, target["boxes"], iou_threshold=0.5)
print(len(anchors), "anchors;", int((match >= 0).sum()), "matched to an object:", match[match >= 0].tolist())
"""),
    md("""
### Training the grid detector

The loss has three parts (`cnnlab.detection.train.grid_loss`): binary cross-entropy on
objectness in every cell (empty cells down-weighted, since most cells are empty), squared error
on the box numbers of the responsible cells (weighted up), and cross-entropy on their class.
A short run shows the loss falling:
"""),
    code("""
from cnnlab.detection.models import GridDetector
from cnnlab.detection.train import evaluate_detector, grid_targets, train_detector

cnnlab.seed_everything(0)
small_train = ShapesDetection("train", size=300)
demo = GridDetector()
history = train_detector(demo, small_train.images, grid_targets(small_train.targets, 64, 8, 4),
                         epochs=3, batch_size=64, device=device)
[round(h["loss"], 2) for h in history]
"""),
    md("""
A full run (1200 images, 10 epochs) takes one to three minutes on a CPU
(`python benchmarks/detect_bench.py`), so we load the result, trained by
`python -m cnnlab.detection.pretrained`:
"""),
    code("""
detector = load_detector()
predictions = detector.detect(test.images, score_threshold=0.05)
from cnnlab.widgets import DetectionsViewer

DetectionsViewer(test.images, predictions, test.targets, class_names=SHAPE_CLASSES, score_threshold=0.5)
"""),
    md("""
## 7. Precision, recall and mean average precision

Sort all detections of one class by score. Going down the list, a detection is a **true
positive** if it overlaps a not-yet-claimed true box with IoU ≥ 0.5, otherwise a **false
positive** (a duplicate or a miss). After each detection,

$$\\text{precision} = \\frac{TP}{TP + FP}, \\qquad \\text{recall} = \\frac{TP}{\\#\\text{objects}}.$$

The **average precision** (AP) is the area under the precision–recall curve (with precision
first replaced by its running maximum from the right). The **mAP** averages AP over classes.
PASCAL VOC integrates at every recall point at IoU 0.5; COCO samples 101 recall levels and also
averages over IoU thresholds 0.50, 0.55, …, 0.95, rewarding precise boxes.
(`cnnlab.detection.metrics` reproduces pycocotools' numbers exactly; the tests check it.)
"""),
    code("""
from cnnlab.detection import match_detections

cls = 2    # triangles
scores, flags, num_gt = [], [], 0
for p, t in zip(predictions, test.targets):
    mine = p["labels"] == cls
    flags.append(match_detections(p["boxes"][mine], p["scores"][mine], t["boxes"][t["labels"] == cls], 0.5))
    scores.append(p["scores"][mine].numpy())
    num_gt += int((t["labels"] == cls).sum())
precision, recall = precision_recall_curve(np.concatenate(scores), np.concatenate(flags), num_gt)
plt.figure(figsize=(4, 3))
plt.plot(recall, precision)
plt.xlabel("recall"); plt.ylabel("precision"); plt.title(f"{SHAPE_CLASSES[cls]}s")
print(f"AP (VOC, all points) = {average_precision(precision, recall, 'voc'):.3f}; "
      f"AP (COCO, 101 points) = {average_precision(precision, recall, 'coco'):.3f}")
"""),
    code("""
voc = evaluate_detections(predictions, test.targets, "voc")
coco = evaluate_detections(predictions, test.targets, "coco")
print(f"mAP@0.5 (VOC) = {voc['map']:.3f};  COCO mAP@[.5:.95] = {coco['map']:.3f};  COCO AP75 = {coco['map_75']:.3f}")
"""),
    md("""
## 8. The speed/accuracy trade-off, measured

Same images, same CPU, one image at a time: the sliding-window detector runs its classifier
on every window; the grid detector runs one forward pass.
"""),
    code("""
def per_image_seconds(fn, images, repeat=3):
    fn(images[0])
    start = time.perf_counter()
    for _ in range(repeat):
        for im in images:
            fn(im)
    return (time.perf_counter() - start) / (repeat * len(images))

subset = test.images[:20]
t_slide = per_image_seconds(lambda im: sliding_window_detect(classifier, im, iou_threshold=0.3), subset, 1)
t_grid = per_image_seconds(lambda im: detector.detect(im[None]), subset)
slide_preds = [sliding_window_detect(classifier, im, iou_threshold=0.3) for im in subset]
for name, t, preds in [("sliding windows", t_slide, slide_preds), ("grid detector", t_grid, predictions[:20])]:
    print(f"{name:16s} {1e3 * t:7.1f} ms/image   mAP@0.5 = {mean_average_precision(preds, test.targets[:20]):.3f}")
"""),
    md("""
On real data the picture is the same in spirit: two-stage detectors such as Faster R-CNN have
long been the most accurate, single-shot detectors such as YOLO and SSD the fastest, and each new
design moves along that trade-off. Always measure both numbers on your own data and hardware.

## 9. Further applications (a short tour)

### Semantic and instance segmentation

Segmentation labels every **pixel**. *Semantic* segmentation gives each pixel a class;
*instance* segmentation also separates the objects of one class.

![semantic vs instance segmentation](../img/segmentation_types.png)

A **fully convolutional network** (FCN) does this: no fully connected layer, so the output is
a map; it downsamples to gather context, then upsamples (transposed convolution) back to the
input size, producing one score per class per pixel.
"""),
    code("""
from torch import nn

fcn = nn.Sequential(
    nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),                # 64 -> 32
    nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),               # 32 -> 16
    nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ReLU(),      # 16 -> 32
    nn.ConvTranspose2d(16, 5, 4, stride=2, padding=1),                  # 32 -> 64: 4 shapes + background
)
image, target = test[0]
semantic = torch.full((64, 64), 4)                                      # background = 4
for mask, label in zip(target["masks"], target["labels"]):
    semantic[mask] = label
with torch.no_grad():
    scores = fcn(image[None])
print("FCN output:", tuple(scores.shape), " target: a class per pixel", tuple(semantic.shape))
print("pixel-wise cross-entropy (untrained):", float(nn.functional.cross_entropy(scores, semantic[None])))
"""),
    md("""
### Human pose estimation

Pose estimation localizes **keypoints** (wrists, elbows, knees…). A common design predicts one
heatmap per keypoint and reads the location at its peak; 3D pose adds depth, often lifted from
the 2D keypoints.
"""),
    code("""
ys, xs = np.mgrid[0:32, 0:32]
heatmap = np.exp(-((xs - 20) ** 2 + (ys - 9) ** 2) / (2 * 2.0 ** 2))    # a predicted 'left wrist' map
row, col = np.unravel_index(heatmap.argmax(), heatmap.shape)
print("keypoint at x =", col, ", y =", row)
"""),
    md("""
### Face recognition: one-shot learning and the triplet loss

A face-recognition system must recognize a person from **one** photo. Instead of a classifier
with one output per person, a network maps faces to embeddings so that the same person's faces
are close and different people's far apart. The **triplet loss** takes an anchor $a$, a positive
$p$ (same person) and a negative $n$ (someone else):

$$L = \\max\\big(\\lVert f(a) - f(p)\\rVert^2 - \\lVert f(a) - f(n)\\rVert^2 + \\alpha,\\ 0\\big).$$

A new person is then recognized by comparing embedding distances to one stored photo.
**Facial expression recognition** is, in contrast, an ordinary classification problem
(happy, sad, surprised, …) on face crops.
"""),
    code("""
anchor, positive, negative = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.9, 0.1]]), torch.tensor([[0.2, 0.8]])
alpha = 0.2
d_ap, d_an = (anchor - positive).pow(2).sum(), (anchor - negative).pow(2).sum()
print(f"by hand: max({d_ap:.2f} - {d_an:.2f} + {alpha}, 0) = {torch.clamp(d_ap - d_an + alpha, min=0):.2f}")
hard_negative = torch.tensor([[0.95, 0.0]])                         # too close to the anchor: loss > 0
d_hn = (anchor - hard_negative).pow(2).sum()
print(f"hard negative: {torch.clamp(d_ap - d_hn + alpha, min=0):.4f}")
"""),
    md("""
### Neural style transfer

Style transfer optimizes an image so that its deep features match a *content* image while the
**Gram matrices** of its features (correlations between channels, which ignore where things
are) match a *style* image.
"""),
    code("""
from cnnlab.data.photos import load_photo

photo = torch.tensor(load_photo("china", size=64), dtype=torch.float32).permute(2, 0, 1)[None]
features = detector.features(photo)                               # (1, C, h, w) from our detector's backbone
C = features.shape[1]
F_ = features.reshape(C, -1)
gram = F_ @ F_.T / F_.shape[1]
print("features", tuple(features.shape), "-> Gram matrix", tuple(gram.shape))
"""),
    md("""
### Colorization, captioning and GANs

* **Colorization**: a network takes the lightness channel of an image (1 channel) and predicts
  the two colour channels; training pairs are free, since any colour photo can be turned to
  gray. Video colorization adds consistency between frames.
* **Image captioning**: a CNN *encoder* turns the image into a feature vector; a language
  *decoder* (a recurrent network or a transformer) generates the sentence word by word,
  conditioned on it.
* **Generative adversarial networks**: a *generator* turns random noise into images; a
  *discriminator* tries to tell them from real ones. They are trained against each other:
  the discriminator to classify correctly, the generator to fool it.
"""),
    code("""
gray = photo.mean(dim=1, keepdim=True)
print("colorization: input", tuple(gray.shape), "-> predicted colour channels", (1, 2, 64, 64))

generator = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 3 * 16 * 16), nn.Sigmoid())
discriminator = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 64), nn.ReLU(), nn.Linear(64, 1))
fake = generator(torch.randn(4, 8)).reshape(4, 3, 16, 16)
real = nn.functional.interpolate(test.images[:4], size=16)
bce = nn.functional.binary_cross_entropy_with_logits
d_loss = bce(discriminator(real), torch.ones(4, 1)) + bce(discriminator(fake.detach()), torch.zeros(4, 1))
g_loss = bce(discriminator(fake), torch.ones(4, 1))                 # the generator wants 'real'
print(f"discriminator loss {d_loss.item():.3f}, generator loss {g_loss.item():.3f}")
"""),
    md("""
## Summary

* Localization = classification + four box numbers; detection = any number of such outputs.
* IoU compares boxes; squared error trains them.
* Sliding windows find objects many times over; non-max suppression keeps one box each.
* Two-stage detectors (R-CNN → Fast → Faster R-CNN with an RPN → R-FCN) propose regions, then
  classify them; single-shot detectors (YOLO's grid, SSD's multi-scale anchors) predict
  everything in one pass and are faster.
* Detectors are compared by mAP: VOC at IoU 0.5, COCO averaged over IoU 0.50–0.95.
"""),
]


def main() -> Path:
    return write(NAME, CELLS)


if __name__ == "__main__":
    print(main())
