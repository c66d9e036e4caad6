"""Retrain and save the shipped networks: ``python -m cnnlab.pretrained.build [name ...]`` (default: all).

Deterministic on a CPU (seeded, ``--threads`` torch threads); prints each network's held-out
scores, training time and file size. Weights are saved in float16.
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from cnnlab.pretrained import PRETRAINED, weights_path
from cnnlab.pretrained.recipes import RECIPES


def save(model: nn.Module, name: str) -> None:
    """Store ``model``'s weights as the shipped ``name`` (floating-point tensors in float16)."""
    state = {k: v.detach().cpu().half() if v.is_floating_point() else v.cpu() for k, v in model.state_dict().items()}
    torch.save(state, weights_path(name))


def build(name: str) -> dict:
    start = time.perf_counter()
    model, scores = RECIPES[name](device="cpu")
    seconds = time.perf_counter() - start
    save(model, name)
    return {"name": name, "seconds": round(seconds, 1), **scores, "bytes": weights_path(name).stat().st_size}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=sorted(PRETRAINED), metavar="name",
                        help=f"networks to rebuild (default: all of {', '.join(sorted(PRETRAINED))})")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for name in args.names or sorted(PRETRAINED):
        print(build(name))


if __name__ == "__main__":
    main()
