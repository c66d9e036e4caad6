"""LeNet-5 on the embedded digits (32×32), CPU: test accuracy and wall time.

Targets: test accuracy >= 97% and under 30 s on 2 cores. The reference run in the same
process is the identical training without augmentation, so the ratio shows what the
batched augmentation costs.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _util import blas_report  # noqa: E402

import torch  # noqa: E402

from cnnlab import augment  # noqa: E402
from cnnlab.data.digits import digits_loaders  # noqa: E402
from cnnlab.models import lenet5  # noqa: E402
from cnnlab.train import evaluate, fit  # noqa: E402

EPOCHS = 20


def run(with_augmentation: bool) -> tuple[float, float]:
    train, val, test = digits_loaders(batch_size=32, size=32)
    torch.manual_seed(0)
    model = lenet5()
    jitter = augment.Compose([augment.RandomAffine(shift=0.08, degrees=10, scale=(0.9, 1.1))], seed=0)
    start = time.perf_counter()
    fit(model, train, val, epochs=EPOCHS, lr=1e-3, device="cpu", progress=False,
        augment=jitter if with_augmentation else None)
    seconds = time.perf_counter() - start
    return evaluate(model, test)["accuracy"], seconds


def main() -> None:
    print(blas_report())
    acc, seconds = run(True)
    ref_acc, ref_seconds = run(False)
    print(f"LeNet-5, digits 32x32, {EPOCHS} epochs, CPU (fit uses 1 torch thread)")
    print(f"  with augmentation:    test accuracy {acc:.2%}  wall {seconds:.1f} s   (targets >= 97%, < 30 s)")
    print(f"  without augmentation: test accuracy {ref_acc:.2%}  wall {ref_seconds:.1f} s")
    print(f"  time ratio with/without augmentation: {seconds / ref_seconds:.2f}")
    print("  accuracy target met" if acc >= 0.97 else "  accuracy target MISSED")


if __name__ == "__main__":
    main()
