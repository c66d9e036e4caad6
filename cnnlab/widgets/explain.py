"""ExplanationViewer: pick an image, a method (saliency, Grad-CAM, occlusion) and a layer; see where the
network looks.

By default it explains the shipped ``digits04_resnet`` (a narrow ResNet-18 trained on the digits 0-4)
on the digits' test split; any classifier and images can be passed instead. Every map is computed by
``cnnlab.explain`` on the current image only, so an update takes a few tens of milliseconds.
"""
from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from . import _render as R
from ._base import Explorer
from ..explain._common import eval_mode

METHODS = ("saliency", "grad-cam", "occlusion")
PREDICTED = -1  # the target control's value for "the predicted class"

__all__ = ["ExplanationViewer", "METHODS"]


def _default_data() -> tuple[nn.Module, torch.Tensor, torch.Tensor, tuple, list[str]]:
    from cnnlab import pretrained
    from cnnlab.data.digits import load_digits_tensors

    spec = pretrained.PRETRAINED["digits04_resnet"]
    model = pretrained.load("digits04_resnet")
    x, y = load_digits_tensors("test", size=spec.input_size, classes=spec.classes)
    layers = ["stem", "stages.0", "stages.1", "stages.2", "stages.3"]
    return model, x, y, tuple(str(c) for c in spec.classes), layers


class ExplanationViewer(Explorer):
    """One image, its prediction and one explanation map; ``set_index``, ``set_method``, ``set_layer``,
    ``set_patch``, ``set_target`` change the state (and the controls follow)."""

    def __init__(self, model: nn.Module | None = None, images: torch.Tensor | None = None,
                 labels: torch.Tensor | Sequence[int] | None = None, class_names: Sequence[str] | None = None,
                 layers: Sequence[str] | None = None, method: str = "grad-cam", layer: str | None = None,
                 index: int = 0, patch: int = 3, target: int | None = None):
        if model is None:
            model, images, labels, class_names, default_layers = _default_data()
            layers = layers or default_layers
        if images is None:
            raise ValueError("give the images to explain ([N, C, H, W]) with your model")
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            raise ValueError(f"images must be a tensor [N, C, H, W], got "
                             f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
        self.model, self.images = model, images
        self.labels = None if labels is None else torch.as_tensor(labels).long().reshape(-1)
        if self.labels is not None and len(self.labels) != len(images):
            raise ValueError(f"give one label per image: {len(images)} images, {len(self.labels)} labels")
        self.layers = list(layers) if layers else [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
        if not self.layers:
            raise ValueError("the model has no Conv2d layer for Grad-CAM: pass layers=[...] (dotted module names)")
        with eval_mode(model), torch.no_grad():
            n_classes = model(images[:1]).shape[1]
        self.class_names = list(class_names) if class_names is not None else [str(k) for k in range(n_classes)]
        if len(self.class_names) != n_classes:
            raise ValueError(f"{len(self.class_names)} class names for a model with {n_classes} outputs")
        self.index, self.method, self.layer, self.patch, self.target = 0, "grad-cam", self.layers[-1], 3, None
        self._cache = None
        self.set(index=index, method=method, layer=layer or self._default_layer(), patch=patch, _refresh=False)
        self.set_target(target, _refresh=False)

    def _default_layer(self) -> str:
        """The deepest layer whose maps are still larger than 2x2 (Grad-CAM's usual compromise)."""
        sizes = self.layer_sizes()
        good = [name for name in self.layers if min(sizes[name]) > 2]
        return good[-1] if good else self.layers[-1]

    # ----------------------------------------------------------------- state
    def set(self, index: int | None = None, method: str | None = None, layer: str | None = None,
            patch: int | None = None, _refresh: bool = True) -> "ExplanationViewer":
        """Change any of the image ``index``, the ``method``, the Grad-CAM ``layer``, the occlusion ``patch``."""
        if index is not None:
            if int(index) != index or not 0 <= index < len(self.images):
                raise ValueError(f"index must be an image number 0..{len(self.images) - 1}, got {index!r}")
            self.index = int(index)
        if method is not None:
            if method not in METHODS:
                raise ValueError(f"method must be one of {METHODS}, got {method!r}")
            self.method = method
        if layer is not None:
            if layer not in self.layers:
                raise ValueError(f"layer must be one of {self.layers}, got {layer!r}")
            self.layer = layer
        if patch is not None:
            side = min(self.images.shape[-2:])
            if int(patch) != patch or not 1 <= patch <= side:
                raise ValueError(f"the occlusion patch must be a whole number of pixels 1..{side}, got {patch!r}")
            self.patch = int(patch)
        return self._changed(_refresh)

    def set_index(self, index: int, _refresh: bool = True) -> "ExplanationViewer":
        return self.set(index=index, _refresh=_refresh)

    def set_method(self, method: str, _refresh: bool = True) -> "ExplanationViewer":
        return self.set(method=method, _refresh=_refresh)

    def set_layer(self, layer: str, _refresh: bool = True) -> "ExplanationViewer":
        return self.set(layer=layer, _refresh=_refresh)

    def set_patch(self, patch: int, _refresh: bool = True) -> "ExplanationViewer":
        return self.set(patch=patch, _refresh=_refresh)

    def set_target(self, target: int | None, _refresh: bool = True) -> "ExplanationViewer":
        """Explain class ``target`` (an index into ``class_names``) or, with None, the predicted class."""
        if target is not None and (int(target) != target or not 0 <= target < len(self.class_names)):
            raise ValueError(f"target must be None (the predicted class) or a class 0..{len(self.class_names) - 1}, "
                             f"got {target!r}")
        self.target = None if target is None else int(target)
        return self._changed(_refresh)

    # --------------------------------------------------------------- derived
    @property
    def image(self) -> torch.Tensor:
        """The current image [1, C, H, W] (on the model's device)."""
        param = next(iter(self.model.parameters()), None)
        x = self.images[self.index:self.index + 1]
        return x.to(param.device) if param is not None else x

    def layer_sizes(self) -> dict[str, tuple[int, int]]:
        """(h, w) of each layer's output for these images (one forward pass with hooks, all removed)."""
        sizes: dict[str, tuple[int, int]] = {}
        handles = [self.model.get_submodule(name).register_forward_hook(
            lambda _m, _i, out, name=name: sizes.__setitem__(name, tuple(out.shape[-2:]))) for name in self.layers]
        try:
            with eval_mode(self.model), torch.no_grad():
                self.model(self.image)
        finally:
            for h in handles:
                h.remove()
        return sizes

    def _compute(self) -> dict[str, Any]:
        if self._cache is None:
            from cnnlab import explain

            x = self.image
            with eval_mode(self.model), torch.no_grad():
                probs = self.model(x).softmax(1)[0].cpu().double().numpy()
            target = int(np.argmax(probs)) if self.target is None else self.target
            if self.method == "saliency":
                m = explain.saliency_map(self.model, x, target)
            elif self.method == "grad-cam":
                m = explain.grad_cam(self.model, x, self.layer, target)
            else:
                m = explain.occlusion_map(self.model, x, target, patch=self.patch, stride=1)
            self._cache = {"map": m[0].detach().cpu().double().numpy(), "probs": probs, "target": target}
        return self._cache

    @property
    def map(self) -> np.ndarray:
        """The current explanation [H, W] (float64, on the CPU)."""
        return self._compute()["map"]

    @property
    def probabilities(self) -> np.ndarray:
        """The softmax output for the current image."""
        return self._compute()["probs"]

    @property
    def explained_class(self) -> int:
        """The class the map explains (the predicted one unless a target was set)."""
        return self._compute()["target"]

    def describe(self) -> str:
        """One sentence on what the current map shows."""
        name = self.class_names[self.explained_class]
        if self.method == "saliency":
            return f"|d score('{name}') / d pixel|: where a small change of one pixel moves the score most"
        if self.method == "grad-cam":
            h, w = self.layer_sizes()[self.layer]
            return (f"Grad-CAM of '{name}' at {self.layer} ({h}x{w} cells, resized to the image): "
                    f"relu(sum of its feature maps weighted by their mean gradient)")
        return (f"occlusion: drop of score('{name}') when a {self.patch}x{self.patch} black patch covers the "
                f"pixel (red: the score falls, blue: it rises)")

    # ------------------------------------------------------------------ view
    def render(self) -> dict[str, Any]:
        c = self._compute()
        img = self.images[self.index].detach().cpu().double().numpy()
        gray = img.mean(0)
        cell = R.cell_size_for(gray.shape, target=160, min_cell=1)
        rgb_in = R.to_rgb(np.moveaxis(img, 0, -1)) if img.shape[0] == 3 else R.to_rgb(gray, "gray", 0.0, 1.0)
        m = c["map"]
        if self.method == "occlusion":
            lo, hi = R.symmetric_limits(m)
            heat = R.to_rgb(m, "RdBu_r", lo, hi)
        else:
            heat = R.to_rgb(m, "inferno", 0.0, max(float(m.max()), 1e-12))
        base = R.to_rgb(gray, "gray", 0.0, 1.0).astype(np.float64)
        overlay = (0.45 * base + 0.55 * heat).astype(np.uint8)
        probs = c["probs"]
        pred = int(np.argmax(probs))
        truth = "" if self.labels is None else f" · true class <b>{html.escape(self.class_names[int(self.labels[self.index])])}</b>"
        bars = "".join(
            f"<div style='font-family:monospace'>{html.escape(n):>3} "
            f"<span style='display:inline-block;background:{'#d95f02' if k == c['target'] else '#999'};"
            f"width:{int(round(120 * p))}px;height:0.8em'></span> {p:.1%}</div>"
            for k, (n, p) in enumerate(zip(self.class_names, probs)))
        summary = (f"<div>image {self.index}: predicted <b>{html.escape(self.class_names[pred])}</b> "
                   f"({probs[pred]:.1%}){truth}</div>{bars}<div style='margin-top:4px'>{html.escape(self.describe())}</div>")
        return {"input": R.png_bytes(R.upscale(rgb_in, cell)), "map": R.png_bytes(R.upscale(heat, cell)),
                "overlay": R.png_bytes(R.upscale(overlay, cell)), "summary": summary}

    def _build_view(self):
        import ipywidgets as W

        index = self.bind("index", W.IntSlider(min=0, max=len(self.images) - 1, description="image"), "index",
                          self.set_index)
        method = self.bind("method", W.Dropdown(options=list(METHODS), description="method"), "method",
                           self.set_method)
        layer = self.bind("layer", W.Dropdown(description="layer"), "layer", self.set_layer,
                          lambda: {"options": list(self.layers), "disabled": self.method != "grad-cam"})
        patch = self.bind("patch", W.IntSlider(min=1, max=min(self.images.shape[-2:]) // 2, description="patch"),
                          "patch", self.set_patch, lambda: {"disabled": self.method != "occlusion"})
        target = self.bind(
            "target", W.Dropdown(description="explain"),
            lambda: PREDICTED if self.target is None else self.target,
            lambda v: self.set_target(None if v == PREDICTED else v),
            lambda: {"options": [("predicted class", PREDICTED)] + [(n, k) for k, n in enumerate(self.class_names)]})
        self._w_input, self._w_map, self._w_overlay = (W.Image(format="png") for _ in range(3))
        self._w_summary = W.HTML()
        pictures = W.HBox([W.VBox([W.HTML(f"<b>{t}</b>"), im]) for t, im in
                           (("input", self._w_input), ("map", self._w_map), ("overlay", self._w_overlay))])
        return W.VBox([W.HBox([index, method]), W.HBox([layer, patch, target]), pictures, self._w_summary])

    def _refresh_view(self) -> None:
        view = self.render()
        self._w_input.value = view["input"]
        self._w_map.value = view["map"]
        self._w_overlay.value = view["overlay"]
        self._w_summary.value = view["summary"]
