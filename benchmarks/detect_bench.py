"""Detection benchmark: train the grid detector from scratch on CPU, report mAP and wall time,
and compare speed and accuracy of the single-shot grid detector with sliding windows + NMS.

Run: ``python benchmarks/detect_bench.py [--threads 2] [--device cpu]``. The target is
mAP@0.5 >= 0.8 on the held-out synthetic test set within 3 minutes on 2 CPU cores.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import torch  # noqa: E402
from _util import blas_report, median_time  # noqa: E402

from cnnlab.data.shapes import ShapesDetection  # noqa: E402
from cnnlab.detection import mean_average_precision  # noqa: E402
from cnnlab import pretrained  # noqa: E402
from cnnlab.pretrained.recipes import train_grid_detector  # noqa: E402
from cnnlab.detection.sliding import sliding_window_detect  # noqa: E402
from cnnlab.detection.train import evaluate_detector  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="cpu (the target) or cuda")
    parser.add_argument("--sliding-images", type=int, default=100, help="test images for the sliding-window mAP")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(blas_report())

    start = time.perf_counter()
    epochs = 10
    model, _ = train_grid_detector(device=args.device, progress=False, epochs=epochs)
    test = ShapesDetection("test")
    scores = evaluate_detector(model, test.images, test.targets)
    wall = time.perf_counter() - start
    print(f"\ngrid detector: trained {epochs} epochs (data generation included) in {wall:.1f} s "
          f"on {args.threads} thread(s), device {args.device}")
    print(f"  test set ({len(test)} images): mAP@0.5 (VOC) = {scores['map_50']:.3f}, "
          f"COCO mAP@[.5:.95] = {scores['coco_map']:.3f}, COCO AP50 = {scores['coco_map_50']:.3f}  "
          f"[target mAP@0.5 >= 0.8 within 180 s: {'met' if scores['map_50'] >= 0.8 and wall <= 180 else 'NOT met'}]")

    model = model.to("cpu").eval()
    # One 64x64 image is a tiny workload: with 2 threads the OpenMP hand-offs cost more than the maths
    # (measured: 130 ms vs 20 ms per image on a busy 2-core machine), so latency is timed on one thread.
    torch.set_num_threads(1)
    classifier = pretrained.load("window_classifier", "cpu")
    one = test.images[:1]
    t_grid = median_time(lambda: model.detect(one), repeat=15)
    t_slide = median_time(lambda: sliding_window_detect(classifier, one[0], iou_threshold=0.3), repeat=7)
    n = args.sliding_images
    slide_preds = [sliding_window_detect(classifier, im, iou_threshold=0.3) for im in test.images[:n]]
    grid_preds = [{k: v for k, v in d.items()} for d in model.detect(test.images[:n])]
    rows = [("sliding windows (16/24/32 px, stride 4) + NMS", t_slide, slide_preds),
            ("grid detector (one pass) + NMS", t_grid, grid_preds)]
    print(f"\nspeed/accuracy on the first {n} test images, one image at a time on CPU, 1 thread:")
    for name, t, preds in rows:
        print(f"  {name:48s} {t * 1e3:8.2f} ms/image   mAP@0.5 = "
              f"{mean_average_precision(preds, test.targets[:n], 'voc'):.3f}   COCO mAP = "
              f"{mean_average_precision(preds, test.targets[:n], 'coco'):.3f}")
    print(f"  ratio: the grid detector is {t_slide / t_grid:.0f}x faster per image")


if __name__ == "__main__":
    main()
