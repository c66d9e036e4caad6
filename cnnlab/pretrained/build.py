"""Train and save the shipped pretrained networks: ``python -m cnnlab.pretrained.build [name ...]``.

Deterministic on a CPU (seeded, single thread); prints validation and test accuracy.
"""
from __future__ import annotations

import sys
import time

import torch

from cnnlab import augment as A
from cnnlab.data.digits import digits_loaders
from cnnlab.pretrained import PRETRAINED, build_model, weights_path
from cnnlab.train import evaluate, fit


def build(name: str) -> dict:
    spec = PRETRAINED[name]
    torch.manual_seed(0)
    train, val, test = digits_loaders(batch_size=32, size=spec.input_size, classes=spec.classes)
    model = build_model(name)
    aug = A.Compose([A.RandomAffine(shift=0.08, degrees=10, scale=(0.9, 1.1))], seed=0)
    start = time.perf_counter()
    fit(model, train, val, epochs=spec.epochs, lr=2e-3, device="cpu", seed=0, augment=aug, progress=False)
    seconds = time.perf_counter() - start
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save(state, weights_path(name))
    return {"name": name, "seconds": round(seconds, 1), "val": evaluate(model, val)["accuracy"],
            "test": evaluate(model, test)["accuracy"], "bytes": weights_path(name).stat().st_size}


def main(argv: list[str]) -> None:
    torch.set_num_threads(1)
    for name in argv or sorted(PRETRAINED):
        print(build(name))


if __name__ == "__main__":
    main(sys.argv[1:])
