"""How long one widget update takes (state change -> new pictures ready) on a 64x64 image.

The budget is 100 ms median per update.  Each widget's view is built once, then one
control changes per update and the whole view is re-rendered (PNG bytes included).
The reference is the same 64x64 picture drawn with matplotlib (imshow + savefig),
the obvious alternative to the numpy -> PNG path the widgets use.
"""
from __future__ import annotations

import io
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _util import blas_report, median_time  # noqa: E402

BUDGET_MS = 100.0


def main() -> None:
    print(blas_report())
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnnlab.widgets import ConvolutionExplorer, FeatureMapsViewer, PaddingStrideExplorer, PoolingExplorer
    from cnnlab.data.samples import sample_image

    image = sample_image("photo (gray)", 64)

    def matplotlib_reference():
        fig, ax = plt.subplots(figsize=(3, 3))
        ax.imshow(image, cmap="gray")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)

    ref = median_time(matplotlib_reference, repeat=9)

    conv = ConvolutionExplorer("photo (gray)", "Sobel x", padding="same", size=64)
    conv.widget
    positions = itertools.cycle(range(0, 4096, 37))
    biases = itertools.cycle([0.0, 0.5])
    conv_rgb = ConvolutionExplorer("photo (RGB)", "Sobel y", padding="same", size=64)
    conv_rgb.widget
    pad = PaddingStrideExplorer("padding, strides")
    pad.widget
    strides = itertools.cycle([1, 2, 3])
    pool = PoolingExplorer("photo (gray)", "max", 2, image_size=64)
    pool.widget
    shifts = itertools.cycle([0, 1, 2, 3])
    maps = FeatureMapsViewer("photo (gray)", size=64)
    maps.widget
    relus = itertools.cycle([True, False])

    cases = {
        "ConvolutionExplorer  move window (64x64 gray)": lambda: conv.set_position(next(positions)),
        "ConvolutionExplorer  change bias (recompute) ": lambda: conv.set_bias(next(biases)),
        "ConvolutionExplorer  move window (64x64 RGB) ": lambda: conv_rgb.set_position(next(positions)),
        "PaddingStrideExplorer change stride          ": lambda: pad.set(stride=next(strides)),
        "PoolingExplorer      change shift (64x64)    ": lambda: pool.set(shift=next(shifts)),
        "FeatureMapsViewer    toggle ReLU (8 maps)    ": lambda: maps.set_relu(next(relus)),
    }
    print(f"\nmatplotlib imshow+savefig of the 64x64 image (reference): {ref * 1e3:7.1f} ms")
    print(f"{'widget update':48s} {'median':>9s} {'vs ref':>7s}  budget {BUDGET_MS:.0f} ms")
    worst = 0.0
    for name, fn in cases.items():
        t = median_time(fn, repeat=15, warmup=2)
        worst = max(worst, t)
        flag = "ok" if t * 1e3 < BUDGET_MS else "OVER BUDGET"
        print(f"{name:48s} {t * 1e3:7.1f} ms {t / ref:6.2f}x  {flag}")
    print(f"\nslowest update: {worst * 1e3:.1f} ms ({'within' if worst * 1e3 < BUDGET_MS else 'over'} budget)")


if __name__ == "__main__":
    main()
