"""Benchmark: the reference convolutions (naive loops, fast im2col; cnnlab.course.reference) vs torch.nn.functional.conv2d.

Times forward and backward on two layer shapes in one process, numpy's BLAS and
torch limited to the same number of threads. The naive loops are far too slow
for a full batch: they run on a reduced batch and the time is scaled up
linearly (their cost is exactly proportional to the batch size).

    python benchmarks/conv_bench.py [--quick] [--threads T] [--dtype float32|float64]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _util import blas_report, median_time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from cnnlab.course import reference  # noqa: E402

# name, (N, C_in, H, W), (C_out, kh, kw), padding
SHAPES = [
    ("A: N=32 16->32 32x32 3x3 pad1", (32, 16, 32, 32), (32, 3, 3), 1),
    ("B: N=8 64->64 56x56 3x3 pad1", (8, 64, 56, 56), (64, 3, 3), 1),
]


def gflops(flop: float, seconds: float) -> float:
    return flop / seconds / 1e9


def bench_shape(name, x_shape, w_shape, pad, dtype, repeat, naive_batch, run_naive_backward):
    rng = np.random.default_rng(0)
    n, c, h, w_ = x_shape
    k, kh, kw = w_shape
    x = rng.standard_normal(x_shape).astype(dtype)
    w = (rng.standard_normal((k, c, kh, kw)) / np.sqrt(c * kh * kw)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    params = {"padding": pad}
    out, cache = reference.conv2d_fast_forward(x, w, b, params)
    dout = rng.standard_normal(out.shape).astype(dtype)
    flop_fwd = 2.0 * out.size * c * kh * kw
    flop_bwd = 2 * flop_fwd  # dx and dw each cost one forward's worth of multiply-adds

    t = {}
    t["fast fwd"] = median_time(lambda: reference.conv2d_fast_forward(x, w, b, params), repeat)
    t["fast bwd"] = median_time(lambda: reference.conv2d_fast_backward(dout, cache), repeat)

    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    t["torch fwd"] = median_time(lambda: F.conv2d(xt.detach(), wt.detach(), bt.detach(), padding=pad), repeat)
    out_t = F.conv2d(xt, wt, bt, padding=pad)
    dout_t = torch.tensor(dout)
    t["torch bwd"] = median_time(
        lambda: torch.autograd.grad(out_t, (xt, wt, bt), dout_t, retain_graph=True), repeat
    )

    # correctness of what we time, against torch
    err = np.abs(out - out_t.detach().numpy()).max()

    xs, ds = x[:naive_batch], dout[:naive_batch]
    scale = n / naive_batch
    t["naive fwd"] = median_time(lambda: reference.conv2d_naive_forward(xs, w, b, params), 1, 0) * scale
    if run_naive_backward:
        _, cache_s = reference.conv2d_naive_forward(xs, w, b, params)
        t["naive bwd"] = median_time(lambda: reference.conv2d_naive_backward(ds, cache_s), 1, 0) * scale

    print(f"\n{name}  ({np.dtype(dtype).name}, forward {flop_fwd / 1e9:.2f} GFLOP, max |fast - torch| = {err:.1e})")
    print(f"  {'':10s} {'forward ms':>11s} {'GFLOP/s':>8s} {'backward ms':>12s} {'GFLOP/s':>8s}")
    for impl in ("torch", "fast", "naive"):
        fwd, bwd = t.get(f"{impl} fwd"), t.get(f"{impl} bwd")
        row = f"  {impl:10s} {fwd * 1e3:11.2f} {gflops(flop_fwd, fwd):8.2f}"
        row += f" {bwd * 1e3:12.2f} {gflops(flop_bwd, bwd):8.2f}" if bwd else f" {'(skipped)':>12s}"
        if impl == "naive":
            row += f"   <- timed on N={naive_batch}, scaled x{scale:g} to N={n}"
        print(row)
    print(f"  ratio fast/torch : forward {t['fast fwd'] / t['torch fwd']:.2f}x, backward {t['fast bwd'] / t['torch bwd']:.2f}x")
    line = f"  ratio naive/fast : forward {t['naive fwd'] / t['fast fwd']:.0f}x"
    if "naive bwd" in t:
        line += f", backward {t['naive bwd'] / t['fast bwd']:.0f}x"
    print(line)
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first shape only, fewer repeats, naive forward only")
    parser.add_argument("--threads", type=int, default=None, help="threads for numpy's BLAS and torch (default: torch's)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args()

    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    with threadpool_limits(limits=threads, user_api="blas"):
        print(blas_report())
        print(f"threads: numpy BLAS={threads}, torch={torch.get_num_threads()}; median of repeats")
        shapes = SHAPES[:1] if args.quick else SHAPES
        repeat = 3 if args.quick else 7
        for name, x_shape, w_shape, pad in shapes:
            bench_shape(name, x_shape, w_shape, pad, np.dtype(args.dtype).type, repeat,
                        naive_batch=1, run_naive_backward=not args.quick)


if __name__ == "__main__":
    main()
