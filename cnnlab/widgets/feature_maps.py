"""FeatureMapsViewer: apply a bank of filters to one image and show every feature map.

The bank is either the preset kernels of ``cnnlab.data.samples.KERNELS`` or any weights
[K, C, kh, kw] (for instance a trained ``nn.Conv2d``'s ``weight``), so the same
viewer shows hand-made edge detectors here and learned filters later.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from . import _render as R
from ._base import Explorer
from .convolution import _as_chw
from ..data.samples import IMAGES, KERNELS, sample_image


def _as_bank(filters: Any, channels: int) -> tuple[list[str], np.ndarray]:
    """Names and weights [K, C, kh, kw] from None (presets), a {name: 2-D kernel} mapping, or an array/tensor."""
    if filters is None:
        filters = KERNELS
    if isinstance(filters, Mapping):
        names = [str(k) for k in filters]
        ks = [np.asarray(v, dtype=np.float64) for v in filters.values()]
        if any(k.ndim != 2 or k.shape != ks[0].shape for k in ks):
            raise ValueError("a mapping of filters must hold 2-D kernels that all have the same shape")
        bank = np.repeat(np.stack(ks)[:, None], channels, axis=1)
        return names, bank
    if hasattr(filters, "detach"):
        filters = filters.detach().cpu().numpy()
    bank = np.asarray(filters, dtype=np.float64)
    if bank.ndim == 3:
        bank = np.repeat(bank[:, None], channels, axis=1)
    if bank.ndim != 4:
        raise ValueError(f"filters must be [K, C, kh, kw] (or [K, kh, kw]), got shape {bank.shape}")
    if bank.shape[1] != channels:
        raise ValueError(f"the filters expect {bank.shape[1]} input channel(s) but the image has {channels}")
    return [f"filter {k}" for k in range(bank.shape[0])], bank


class FeatureMapsViewer(Explorer):
    """Every feature map of a filter bank on one image ("same" padding, stride 1), with an optional ReLU."""

    def __init__(self, image: str | np.ndarray = "photo (gray)", filters: Any = None, relu: bool = False,
                 size: int | None = 64, bias: Any = None):
        self.size = size
        self.relu = bool(relu)
        self._filters_arg = filters
        self.bias_arg = bias
        self._cache: np.ndarray | None = None
        self.set_image(image, _refresh=False)

    def set_image(self, image: str | np.ndarray, _refresh: bool = True) -> "FeatureMapsViewer":
        if isinstance(image, str):
            self.image_name, raw = image, sample_image(image, self.size)
        else:
            self.image_name, raw = "custom", image
        self.image = _as_chw(raw)
        self.names, self.filters = _as_bank(self._filters_arg, self.image.shape[0])
        return self._changed(_refresh)

    def set_relu(self, relu: bool, _refresh: bool = True) -> "FeatureMapsViewer":
        self.relu = bool(relu)
        return self._changed(_refresh)

    @property
    def maps(self) -> np.ndarray:
        """Feature maps [K, H, W] (``cnnlab.ops.conv2d`` with "same" padding, then ReLU if switched on)."""
        if self._cache is None:
            from cnnlab import ops

            k = self.filters.shape[0]
            b = np.zeros(k) if self.bias_arg is None else np.asarray(self.bias_arg, dtype=np.float64).reshape(k)
            out = ops.conv2d(self.image[None], self.filters, b, padding="same")[0]
            self._cache = np.maximum(out, 0.0) if self.relu else out
        return self._cache

    def render(self) -> dict[str, Any]:
        maps = self.maps
        cell = R.cell_size_for(maps.shape[1:], target=150, min_cell=1)
        pngs = []
        for m in maps:
            lo, hi = R.symmetric_limits(m)
            if self.relu:
                lo = 0.0
            pngs.append(R.png_bytes(R.upscale(R.to_rgb(m, "gray" if self.relu else "RdBu_r", lo, hi), cell)))
        img = self.image
        icell = R.cell_size_for(img.shape[1:], target=150, min_cell=1)
        rgb = R.to_rgb(np.moveaxis(img, 0, -1)) if img.shape[0] == 3 else R.to_rgb(img[0], "gray")
        return {"input": R.png_bytes(R.upscale(rgb, icell)), "maps": pngs, "names": list(self.names)}

    def _build_view(self):
        import ipywidgets as W

        self._w_image = self.bind(
            "image", W.Dropdown(description="image"), "image_name",
            lambda v: None if v == "custom" else self.set_image(v),
            lambda: {"options": list(IMAGES) + (["custom"] if self.image_name == "custom" else [])})
        self._w_relu = self.bind("relu", W.Checkbox(description="apply ReLU"), "relu", self.set_relu)
        self._w_input = W.Image(format="png")
        self._w_maps = [W.Image(format="png") for _ in self.names]
        tiles = [W.VBox([W.HTML(f"<b>{n}</b>"), im]) for n, im in zip(self.names, self._w_maps)]
        grid = W.GridBox(tiles, layout=W.Layout(grid_template_columns="repeat(4, 160px)", grid_gap="6px"))
        return W.VBox([W.HBox([self._w_image, self._w_relu]),
                       W.HBox([W.VBox([W.HTML("<b>input</b>"), self._w_input]), grid]),
                       W.HTML("red = positive response, blue = negative (without ReLU); each map has its own scale")])

    def _refresh_view(self) -> None:
        view = self.render()
        self._w_input.value = view["input"]
        for im, png in zip(self._w_maps, view["maps"]):
            im.value = png
