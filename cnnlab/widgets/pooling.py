"""PoolingExplorer: max or average pooling, which input wins each window, and what a shift changes.

The shift slider translates the input to the right (filling with zeros) and
counts how many pooled cells differ from the unshifted result: with 2x2 max
pooling on the "stripes" image, a shift of one pixel changes nothing and a
shift of two changes the output, the classic demonstration of the small
translation invariance that max pooling gives.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _render as R
from ._base import Explorer
from ..data.samples import sample_image, shift_image, stripes_for_pooling

POOL_IMAGES = ("stripes", "square", "digit", "photo (gray)")


def _load(image: str | np.ndarray, size: int | None) -> tuple[str, np.ndarray]:
    if isinstance(image, str):
        if image == "stripes":
            return image, stripes_for_pooling(size or 8)
        if image not in POOL_IMAGES:
            raise ValueError(f"unknown image {image!r}; choose one of {list(POOL_IMAGES)} or pass an HxW array")
        return image, sample_image(image, size)
    a = np.asarray(image, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"PoolingExplorer expects a gray HxW image, got shape {a.shape}")
    return "custom", a


class PoolingExplorer(Explorer):
    """Pool one gray image: ``mode`` "max" or "avg", window ``size``, ``stride`` (None = size), ``padding``, ``shift``."""

    def __init__(self, image: str | np.ndarray = "stripes", mode: str = "max", size: int = 2,
                 stride: int | None = None, padding: int = 0, shift: int = 0, image_size: int | None = None):
        self.image_size = image_size
        self.image_name, self.image = _load(image, image_size)
        self.mode, self.size, self.stride, self.padding, self.shift = "max", 2, None, 0, 0
        self._cache: dict[str, Any] | None = None
        self.set(mode=mode, size=size, stride=stride, padding=padding, shift=shift, _refresh=False)

    # ----------------------------------------------------------------- state
    def set_image(self, image: str | np.ndarray, _refresh: bool = True) -> "PoolingExplorer":
        self.image_name, self.image = _load(image, self.image_size)
        return self._changed(_refresh)

    def set(self, mode: str | None = None, size: int | None = None, stride: int | None = None,
            padding: int | None = None, shift: int | None = None, _refresh: bool = True) -> "PoolingExplorer":
        """Change any of ``mode``, ``size``, ``stride`` (0 or None = size), ``padding``, ``shift`` (pixels right)."""
        if mode is not None:
            if mode not in ("max", "avg"):
                raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
            self.mode = mode
        if size is not None:
            if int(size) != size or size < 1:
                raise ValueError(f"size must be a positive integer, got {size!r}")
            self.size = int(size)
        if stride is not None:
            if int(stride) != stride or stride < 0:
                raise ValueError(f"stride must be a positive integer (0 = same as the size), got {stride!r}")
            self.stride = int(stride) or None
        if padding is not None:
            if int(padding) != padding or padding < 0:
                raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
            self.padding = int(padding)
        if shift is not None:
            self.shift = int(shift)
        return self._changed(_refresh)

    # --------------------------------------------------------------- derived
    @property
    def step(self) -> int:
        """The stride actually used (the window size when no stride was given)."""
        return self.stride or self.size

    def problem(self) -> str:
        """Empty string, or why these settings cannot pool this image."""
        h, w = self.image.shape
        if 2 * self.padding > self.size:
            return f"padding {self.padding} is more than half the window ({self.size}); frameworks refuse this."
        if self.size > min(h, w) + 2 * self.padding:
            return f"the {self.size}x{self.size} window does not fit in the {h}x{w} image (padding {self.padding})."
        return ""

    def _pool(self, img: np.ndarray) -> np.ndarray:
        from cnnlab import ops

        fn = ops.max_pool2d if self.mode == "max" else ops.avg_pool2d
        return fn(img[None, None], self.size, self.step, self.padding)[0, 0]

    def _computed(self) -> dict[str, Any]:
        if self._cache is None:
            if self.problem():
                empty = np.zeros((0, 0))
                self._cache = {"shifted": shift_image(self.image, self.shift), "pooled": empty,
                               "pooled_shifted": empty}
            else:
                shifted = shift_image(self.image, self.shift)
                self._cache = {"shifted": shifted, "pooled": self._pool(self.image),
                               "pooled_shifted": self._pool(shifted)}
        return self._cache

    @property
    def shifted(self) -> np.ndarray:
        """The input moved ``shift`` pixels to the right (zeros enter on the left)."""
        return self._computed()["shifted"]

    @property
    def pooled(self) -> np.ndarray:
        """Pooling of the unshifted image (``cnnlab.ops``)."""
        return self._computed()["pooled"]

    @property
    def output(self) -> np.ndarray:
        """Pooling of the shifted image (what the picture shows)."""
        return self._computed()["pooled_shifted"]

    def changed_mask(self) -> np.ndarray:
        """Boolean map of the output cells that the shift changed."""
        return ~np.isclose(self.output, self.pooled, rtol=1e-12, atol=1e-12)

    @property
    def n_changed(self) -> int:
        return int(self.changed_mask().sum())

    def winners(self) -> list[tuple[int, int]]:
        """For max pooling: the (row, col) in the shifted input of each window's maximum (first one in a tie)."""
        out = self.output
        if out.size == 0:
            return []
        from numpy.lib.stride_tricks import sliding_window_view

        p, k, s = self.padding, self.size, self.step
        oh, ow = out.shape
        padded = np.pad(self.shifted, p, constant_values=-np.inf)
        windows = sliding_window_view(padded, (k, k))[: (oh - 1) * s + 1: s, : (ow - 1) * s + 1: s]
        u, v = np.divmod(windows.reshape(oh, ow, k * k).argmax(axis=-1), k)
        rows = np.arange(oh)[:, None] * s + u - p
        cols = np.arange(ow)[None, :] * s + v - p
        return list(zip(rows.ravel().tolist(), cols.ravel().tolist()))

    # ------------------------------------------------------------------ view
    def render(self) -> dict[str, Any]:
        img = self.shifted
        h, w = img.shape
        cell = R.cell_size_for((h, w), target=280, min_cell=3)
        lo, hi = float(self.image.min()), float(self.image.max())
        big = R.upscale(R.to_rgb(img, "gray", min(lo, 0.0), hi if hi > lo else lo + 1), cell)
        R.draw_grid(big, cell, (60, 60, 60))
        out = self.output
        problem = self.problem()
        if not problem:
            p, k, s = self.padding, self.size, self.step
            if s == k and k > 1:  # windows tile the image: draw their borders as one grid
                edges = (np.arange(out.shape[0] + 1) * k - p) * cell
                for e in edges[(edges >= 0) & (edges < big.shape[0])]:
                    big[e:e + 2, :] = (70, 130, 230)
                edges = (np.arange(out.shape[1] + 1) * k - p) * cell
                for e in edges[(edges >= 0) & (edges < big.shape[1])]:
                    big[:, e:e + 2] = (70, 130, 230)
            elif out.size <= 400:
                for i in range(out.shape[0]):
                    for j in range(out.shape[1]):
                        R.draw_rect(big, cell, i * s - p, j * s - p, k, k, (70, 130, 230), thickness=1)
            if self.mode == "max":
                R.mark_cells(big, cell, [(r, c) for r, c in self.winners() if 0 <= r < h and 0 <= c < w])
        pooled_pngs = []
        for values, mark in ((self.pooled, None), (out, self.changed_mask())):
            if values.size == 0:
                pooled_pngs.append(R.png_bytes(np.full((40, 40, 3), 235, np.uint8)))
                continue
            ocell = R.cell_size_for(values.shape, target=160, min_cell=4)
            obig = R.upscale(R.to_rgb(values, "gray", min(lo, 0.0), hi if hi > lo else lo + 1), ocell)
            R.draw_grid(obig, ocell, (60, 60, 60))
            if mark is not None:
                R.outline_cells(obig, ocell, mark, R.WINNER, thickness=max(2, ocell // 8))
            pooled_pngs.append(R.png_bytes(obig))
        if problem:
            summary = f'<p style="color:#b00">Cannot pool: {problem}</p>'
        else:
            total = out.size
            oh, ow = out.shape
            summary = (f"<p>{self.mode} pooling {self.size}x{self.size}, stride {self.step}, padding {self.padding}: "
                       f"{h}x{w} → {oh}x{ow}, no parameters to learn.<br>"
                       f"shift of {self.shift} pixel(s): <b>{self.n_changed} of {total}</b> output cells changed"
                       f"{' (red outlines)' if self.n_changed else ' — the pooled output is unchanged'}.</p>")
        return {"input": R.png_bytes(big), "pooled": pooled_pngs[0], "pooled_shifted": pooled_pngs[1],
                "summary": summary}

    def _build_view(self):
        import ipywidgets as W

        self._w_image = self.bind(
            "image", W.Dropdown(description="image"), "image_name",
            lambda v: None if v == "custom" else self.set_image(v),
            lambda: {"options": list(POOL_IMAGES) + (["custom"] if self.image_name == "custom" else [])})
        self._w_mode = self.bind("mode", W.ToggleButtons(options=[("max", "max"), ("average", "avg")],
                                                         description="mode"), "mode", lambda v: self.set(mode=v))
        self._w_size = self.bind("size", W.IntSlider(min=1, max=4, description="size"), "size",
                                 lambda v: self.set(size=v))
        self._w_stride = self.bind("stride", W.IntSlider(min=0, max=4, description="stride (0=size)"),
                                   lambda: self.stride or 0, lambda v: self.set(stride=v))
        self._w_padding = self.bind("padding", W.IntSlider(min=0, max=2, description="padding"), "padding",
                                    lambda v: self.set(padding=v))
        self._w_shift = self.bind("shift", W.IntSlider(min=-4, max=4, description="shift →"), "shift",
                                  lambda v: self.set(shift=v))
        self._w_input = W.Image(format="png")
        self._w_pooled = W.Image(format="png")
        self._w_shifted = W.Image(format="png")
        self._w_summary = W.HTML()
        cap = lambda t: W.HTML(f"<b>{t}</b>")  # noqa: E731
        return W.VBox([
            W.HBox([W.VBox([self._w_image, self._w_mode, self._w_shift]),
                    W.VBox([self._w_size, self._w_stride, self._w_padding])]),
            W.HBox([W.VBox([cap("input (shifted; blue = windows, red = max winners)"), self._w_input]),
                    W.VBox([cap("pooled, no shift"), self._w_pooled]),
                    W.VBox([cap("pooled, shifted (red = changed)"), self._w_shifted])]),
            self._w_summary])

    def _refresh_view(self) -> None:
        view = self.render()
        self._w_input.value = view["input"]
        self._w_pooled.value = view["pooled"]
        self._w_shifted.value = view["pooled_shifted"]
        self._w_summary.value = view["summary"]
