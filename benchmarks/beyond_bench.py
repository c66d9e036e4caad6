"""Lecture 08's six models, trained as the notebook trains them: one line per model,
``<task>: <metric> = <value> in <seconds> s`` (wall seconds of training, data generation excluded;
the CPU seconds this process spent on the whole task follow in brackets, a figure a busy
machine inflates less than the wall time).

Targets (2 CPU cores, or a GPU via cnnlab.device()): segmentation mIoU >= 0.8, verification
accuracy >= 0.9 on held-out people's pairs, pose PCK@0.1 >= 0.9, captioning exact match >= 0.8
on held-out scenes, the GAN's Fréchet distance clearly below an untrained generator's, style
transfer's style loss reduced >= 10x; each within about 60 s.
Run: ``python benchmarks/beyond_bench.py [task ...]`` (tasks: segmentation verification style gan pose captioning).
"""
from __future__ import annotations

import sys
import time

import torch

import cnnlab
from cnnlab.beyond import best_threshold_accuracy, pck


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def segmentation() -> str:
    from cnnlab.beyond.segmentation import segmentation_data, segmentation_scores, train_segmenter

    x, y, _ = segmentation_data("train", 800)
    xt, yt, _ = segmentation_data("test", 300)
    (model, _), s = _timed(lambda: train_segmenter(x, y))
    r = segmentation_scores(model, xt, yt)
    return f"segmentation: mIoU = {r['miou']:.3f} in {s:.1f} s (pixel accuracy {r['pixel_accuracy']:.3f})"


def verification() -> str:
    from cnnlab.beyond.verification import embed, one_shot_accuracy, pair_distances, train_embedding, verification_pairs
    from cnnlab.data.faces import SyntheticFaces

    train, strangers = SyntheticFaces(60, 16, seed=0), SyntheticFaces(20, 10, seed=1)
    (model, _), s = _timed(lambda: train_embedding(train.images, train.labels))
    emb = embed(model, strangers.images)
    pairs, same = verification_pairs(strangers.labels, 1000)
    acc, _ = best_threshold_accuracy(pair_distances(emb, pairs), same)
    one_shot = one_shot_accuracy(emb, strangers.labels)
    return f"verification: verification accuracy = {acc:.3f} in {s:.1f} s (held-out people; one-shot {one_shot:.3f})"


def style() -> str:
    from cnnlab.beyond.style import RandomFeatureNet, style_transfer
    from cnnlab.data.photos import load_photo

    def run():  # as lecture 08: random multi-scale features, 150 steps from the content image
        net = RandomFeatureNet(seed=0)
        content = torch.tensor(load_photo("china", 64)).permute(2, 0, 1).float()
        style_img = torch.tensor(load_photo("flower", 64)).permute(2, 0, 1).float()
        return style_transfer(net, content, style_img, steps=150, style_weight=1e4, start="content")

    result, s = _timed(run)  # from the content image, the content loss starts at 0 and can only rise
    return (f"style transfer: style loss reduction = {result.reduction()['style']:.1f}x in {s:.1f} s "
            f"(content loss {result.content_loss[0]:.1e} -> {result.content_loss[-1]:.1e}; random feature net)")


def gan() -> str:
    from cnnlab.beyond.gan import Discriminator, Generator, feature_distance, train_digit_features, train_gan
    from cnnlab.data.digits import load_digits_tensors

    classifier, _ = train_digit_features()
    x, _ = load_digits_tensors("train", 16)
    xt, _ = load_digits_tensors("test", 16)
    torch.manual_seed(0)
    untrained, generator = Generator(), Generator()
    result = train_gan(generator, Discriminator(), x, epochs=20, lr=5e-4)  # lecture 08's setting
    fd = {name: feature_distance(classifier, g.sample(500, seed=1), xt)
          for name, g in (("trained", generator), ("untrained", untrained))}
    return (f"gan: Frechet distance = {fd['trained']:.1f} in {result.seconds:.1f} s "
            f"(untrained generator {fd['untrained']:.1f})")


def pose() -> str:
    from cnnlab.beyond.pose import predict_keypoints, train_pose
    from cnnlab.data.stick_figures import StickFigures

    train, test = StickFigures("train", 1000), StickFigures("test", 300)
    (model, _), s = _timed(lambda: train_pose(train.images, train.keypoints))
    pred = predict_keypoints(model, test.images)
    return (f"pose: PCK@0.1 = {pck(pred, test.keypoints, test.scales, 0.1):.3f} in {s:.1f} s "
            f"(PCK@0.05 {pck(pred, test.keypoints, test.scales, 0.05):.3f})")


def captioning() -> str:
    from cnnlab.beyond.captioning import caption_scores, greedy_captions, train_captioner
    from cnnlab.data.captioned_scenes import CaptionedScenes

    train, test = CaptionedScenes("train", 4000), CaptionedScenes("test", 300)
    (model, _), s = _timed(lambda: train_captioner(train.images, train.tokens, len(train.vocab)))
    r = caption_scores(greedy_captions(model, test.images, test.vocab), test.captions)
    return f"captioning: exact match = {r['exact_match']:.3f} in {s:.1f} s (BLEU-4 {r['bleu']:.3f})"


TASKS = {"segmentation": segmentation, "verification": verification, "style": style, "gan": gan, "pose": pose,
         "captioning": captioning}


def main(names: list[str]) -> None:
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        raise SystemExit(f"unknown task(s) {unknown}; choose from {list(TASKS)}")
    dev = cnnlab.device()
    print(f"device: {dev}, torch threads {torch.get_num_threads()} (fit trains on one CPU thread)")
    for name in names or TASKS:
        cnnlab.seed_everything(0)
        cpu = time.process_time()
        line = TASKS[name]()
        print(f"{line} [cpu {time.process_time() - cpu:.1f} s]", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
