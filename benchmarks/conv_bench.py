"""Benchmark: the reference numpy convolution (cnnlab.course.reference, im2col) vs torch.nn.functional.conv2d.

Times forward and backward on two layer shapes in one process, numpy's BLAS and
torch limited to the same number of threads, and prints them side by side with
the ratio (ours / torch) and the target ratio. Each shape is measured in
``--rounds`` rounds, alternating ours and torch, and the fastest round's median
is kept: on a shared machine a round that another process slowed down is
dropped instead of averaged in. The load average before and after is printed.

Run it with OpenBLAS free to pick its own kernel for this CPU (some environments
pin an older one through OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE; the script only
reports them):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/conv_bench.py \\
        [--quick] [--threads T] [--rounds R] [--dtype float32|float64] [--naive]

``--naive`` also times the loop version (assignment 1's answer) on one image and
scales it to the batch (its cost is exactly proportional to the batch size).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _util import blas_report, median_time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from cnnlab.course import reference# noqa: E402

# name, (N, C_in, H, W), (C_out, kh, kw), padding, target forward ratio (ours / torch)
SHAPES = [
    ("A: N=32 16->32 32x32 3x3", (32, 16, 32, 32), (32, 3, 3), 1, 1.5),
    ("B: N=8 64->64 56x56 3x3", (8, 64, 56, 56), (64, 3, 3), 1, 2.5),
]
BACKWARD_SLACK = 2.0  # the backward target is this times the forward one


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def bench_shape(x_shape, w_shape, pad, dtype, repeat, rounds, naive):
    """Times in seconds: 'ours fwd', 'ours bwd', 'torch fwd', 'torch bwd' (and 'naive ...'), plus max errors."""
    rng = np.random.default_rng(0)
    n, c, h, w_ = x_shape
    k, kh, kw = w_shape
    x = rng.standard_normal(x_shape).astype(dtype)
    w = (rng.standard_normal((k, c, kh, kw)) / np.sqrt(c * kh * kw)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    params = {"padding": pad}
    out, cache = reference.conv2d_fast_forward(x, w, b, params)
    dout = rng.standard_normal(out.shape).astype(dtype)
    grads = reference.conv2d_fast_backward(dout, cache)

    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    out_t = F.conv2d(xt, wt, bt, padding=pad)
    dout_t = torch.tensor(dout)
    grads_t = torch.autograd.grad(out_t, (xt, wt, bt), dout_t, retain_graph=True)
    # what we time must be right: compare with torch
    errors = {"out": np.abs(out - out_t.detach().numpy()).max()}
    errors.update({name: np.abs(g - gt.numpy()).max() for name, g, gt in zip(("dx", "dw", "db"), grads, grads_t)})

    timed = {
        "ours fwd": lambda: reference.conv2d_fast_forward(x, w, b, params),
        "torch fwd": lambda: F.conv2d(xt.detach(), wt.detach(), bt.detach(), padding=pad),
        "ours bwd": lambda: reference.conv2d_fast_backward(dout, cache),
        "torch bwd": lambda: torch.autograd.grad(out_t, (xt, wt, bt), dout_t, retain_graph=True),
    }
    t = {key: float("inf") for key in timed}
    for _ in range(rounds):
        for key, fn in timed.items():
            t[key] = min(t[key], median_time(fn, repeat))

    if naive:
        xs, ds = x[:1], dout[:1]
        t["naive fwd"] = median_time(lambda: reference.conv2d_naive_forward(xs, w, b, params), 1, 0) * n
        _, cache_s = reference.conv2d_naive_forward(xs, w, b, params)
        t["naive bwd"] = median_time(lambda: reference.conv2d_naive_backward(ds, cache_s), 1, 0) * n
    return t, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first shape only, one round of 3 repeats")
    parser.add_argument("--threads", type=int, default=None, help="threads for numpy's BLAS and torch (default: torch's)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per shape; the fastest is kept (default 5)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--naive", action="store_true", help="also time the loops (one image, scaled to the batch)")
    args = parser.parse_args()

    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    shapes = SHAPES[:1] if args.quick else SHAPES
    repeat, rounds = (3, 1) if args.quick else (21, args.rounds)
    dtype = np.dtype(args.dtype).type
    with threadpool_limits(limits=threads, user_api="blas"):
        print(blas_report())
        print(f"threads: numpy BLAS={threads}, torch={torch.get_num_threads()}; {args.dtype}; "
              f"fastest of {rounds} round(s) of the median of {repeat} runs")
        print(f"before: {load()}")
        results = [(s, *bench_shape(s[1], s[2], s[3], dtype, repeat, rounds, args.naive)) for s in shapes]
        print(f"after:  {load()}\n")

    head = f"{'shape':26s} {'pass':4s} {'torch ms':>9s} {'ours ms':>9s} {'ours/torch':>10s} {'target':>7s}"
    print(head)
    print("-" * len(head))
    for (name, *_, target), t, _ in results:
        for p, slack in (("fwd", 1.0), ("bwd", BACKWARD_SLACK)):
            ratio, goal = t[f"ours {p}"] / t[f"torch {p}"], target * slack
            print(f"{name:26s} {p:4s} {t[f'torch {p}'] * 1e3:9.2f} {t[f'ours {p}'] * 1e3:9.2f} "
                  f"{ratio:9.2f}x {goal:6.1f}x{'' if ratio <= goal else '  (over)'}")
    print()
    for (name, *_), t, errors in results:
        print(f"{name}: max |ours - torch| " + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))
        if "naive fwd" in t:
            print(f"  naive loops (timed on 1 image, times N): forward {t['naive fwd']:.2f} s "
                  f"({t['naive fwd'] / t['ours fwd']:.0f}x ours), backward {t['naive bwd']:.2f} s "
                  f"({t['naive bwd'] / t['ours bwd']:.0f}x ours)")


if __name__ == "__main__":
    main()
