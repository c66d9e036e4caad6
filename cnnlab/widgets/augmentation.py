"""AugmentationPreview: see what shifts, rotations, zoom, flips and lighting changes do to a real image.

The state (``AugmentationPreview`` without its view) applies ``cnnlab.augment`` to a
shipped photo or a digit and reports whether the result is still a plausible example
of its class: a flipped digit is not a digit any more, and white noise produces
images the camera never gives. ``samples(n)`` shows a seeded random batch of the
kind a training loop would see.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import augment as A
from . import _render as R
from ._base import Explorer

IMAGES = ("china", "flower", "grace_hopper", "digit")
_TEXT_LIKE = ("digit",)

STRONG_NOISE = 0.2  # noise std (images in [0, 1]) above which the preview warns


def _load(name: str, size: int) -> np.ndarray:
    if name == "digit":
        from cnnlab.data.digits import load_digits_tensors

        x, _ = load_digits_tensors("test", size=32)
        return np.repeat(x[2, 0].numpy()[..., None], 3, axis=2).astype(np.float64)
    if name not in IMAGES:
        raise ValueError(f"unknown image {name!r}; choose one of {list(IMAGES)}")
    from cnnlab.data.photos import load_photo

    return load_photo(name, size=size)


class AugmentationPreview(Explorer):
    """Preview augmentations on one image; every parameter is also a slider in the view."""

    PARAMS = {  # name: (identity value, slider min, slider max, step)
        "dx": (0.0, -0.3, 0.3, 0.02), "dy": (0.0, -0.3, 0.3, 0.02), "degrees": (0.0, -45.0, 45.0, 1.0),
        "scale": (1.0, 0.5, 1.5, 0.05), "brightness": (0.0, -0.5, 0.5, 0.05), "contrast": (1.0, 0.2, 2.0, 0.05),
        "noise": (0.0, 0.0, 0.5, 0.02),
    }

    def __init__(self, image: str = "china", size: int = 128, seed: int = 0, **params: Any):
        self.size, self.seed = size, seed
        self.image_name, self.image = image, _load(image, size)
        self.values = {k: v[0] for k, v in self.PARAMS.items()}
        self.flip = False
        self.set(**params, _refresh=False)

    # ----------------------------------------------------------------- state
    def set(self, _refresh: bool = True, **params: Any) -> AugmentationPreview:
        """Change ``dx``/``dy`` (fractions of the size), ``degrees``, ``scale``, ``brightness``,
        ``contrast``, ``noise`` (std of white noise) and ``flip`` (bool)."""
        for k, v in params.items():
            if k == "flip":
                self.flip = bool(v)
            elif k in self.PARAMS:
                lo, hi = self.PARAMS[k][1:3]
                if not lo <= float(v) <= hi:
                    raise ValueError(f"{k} must be between {lo} and {hi}, got {v}")
                self.values[k] = float(v)
            else:
                raise ValueError(f"unknown parameter {k!r}; expected one of {sorted([*self.PARAMS, 'flip'])}")
        return self._changed(_refresh)

    def set_image(self, name: str, _refresh: bool = True) -> AugmentationPreview:
        self.image_name, self.image = name, _load(name, self.size)
        return self._changed(_refresh)

    def reset(self) -> AugmentationPreview:
        """Back to the identity (the augmented image equals the original)."""
        return self.set(flip=False, **{k: v[0] for k, v in self.PARAMS.items()})

    def _tensor(self) -> torch.Tensor:
        return torch.from_numpy(self.image).permute(2, 0, 1)[None].float()

    def augmented(self) -> np.ndarray:
        """The image with the current settings applied, HxWx3 in [0, 1]."""
        v = self.values
        h, w = self.image.shape[:2]
        x = A.affine(self._tensor(), dx=v["dx"] * w, dy=v["dy"] * h, degrees=v["degrees"], scale=v["scale"],
                     flip=self.flip)
        x = A.adjust_contrast(A.adjust_brightness(x, v["brightness"]), v["contrast"])
        if v["noise"] > 0:
            gen = torch.Generator().manual_seed(self.seed)
            x = (x + v["noise"] * torch.randn(x.shape, generator=gen)).clamp(0, 1)
        return x[0].permute(1, 2, 0).double().numpy()

    def warnings(self) -> list[str]:
        """Why the current augmentation may produce unrealistic training images."""
        out = []
        if self.flip and self.image_name in _TEXT_LIKE:
            out.append("A mirrored digit is not a digit: never flip text or digits horizontally.")
        if self.values["noise"] > STRONG_NOISE:
            out.append(f"Noise above {STRONG_NOISE} drowns fine detail: mild noise keeps the label and is used "
                       "for robustness, strong noise can change what the image shows.")
        if abs(self.values["degrees"]) > 30 and self.image_name in _TEXT_LIKE:
            out.append("Large rotations turn a 6 into a 9: keep rotations of digits small.")
        if self.values["scale"] < 0.7 or abs(self.values["dx"]) > 0.25 or abs(self.values["dy"]) > 0.25:
            out.append("Large black borders: the object may leave the frame.")
        return out

    def samples(self, n: int = 8, shift: float = 0.1, degrees: float = 15.0, scale=(0.9, 1.1), flip: bool = False,
                brightness: float = 0.1, contrast=(0.8, 1.2)) -> np.ndarray:
        """``n`` random augmentations (seeded), shape (n, H, W, 3): what a training batch sees."""
        pipeline = A.Compose([A.RandomAffine(shift, degrees, scale, flip), A.RandomBrightness(brightness),
                              A.RandomContrast(*contrast)], seed=self.seed)
        x = pipeline(self._tensor().expand(n, -1, -1, -1).contiguous())
        return x.permute(0, 2, 3, 1).double().numpy()

    # ------------------------------------------------------------------ view
    def render(self) -> dict[str, Any]:
        def png(img):
            rgb = (np.clip(img, 0, 1) * 255).round().astype(np.uint8)
            cell = max(1, 256 // max(rgb.shape[:2]))
            return R.png_bytes(R.upscale(rgb, cell))

        warn = self.warnings()
        html = ("<p style='color:#b00'>" + "<br>".join(warn) + "</p>") if warn else \
            "<p style='color:#070'>Still looks like a real example of its class.</p>"
        strip = np.concatenate(list(self.samples(6)), axis=1)
        return {"original": png(self.image), "augmented": png(self.augmented()), "samples": png(strip),
                "summary": html}

    def _build_view(self):
        import ipywidgets as W

        self._w_image = self.bind("image", W.Dropdown(options=list(IMAGES), description="image"), "image_name",
                                  self.set_image)
        self._w_flip = self.bind("flip", W.Checkbox(description="horizontal flip"), "flip",
                                 lambda v: self.set(flip=v))
        self._w_sliders = {k: self.bind(k, W.FloatSlider(min=lo, max=hi, step=st, description=k,
                                                         continuous_update=False),
                                        lambda k=k: self.values[k], lambda v, k=k: self.set(**{k: v}))
                           for k, (_, lo, hi, st) in self.PARAMS.items()}
        self._w_original, self._w_augmented, self._w_samples = (W.Image(format="png") for _ in range(3))
        self._w_summary = W.HTML()
        cap = lambda t: W.HTML(f"<b>{t}</b>")  # noqa: E731
        return W.VBox([
            W.HBox([W.VBox([self._w_image, self._w_flip, *list(self._w_sliders.values())[:3]]),
                    W.VBox(list(self._w_sliders.values())[3:])]),
            W.HBox([W.VBox([cap("original"), self._w_original]), W.VBox([cap("augmented"), self._w_augmented])]),
            self._w_summary, cap("six random augmentations (seeded)"), self._w_samples])

    def _refresh_view(self) -> None:
        view = self.render()
        self._w_original.value = view["original"]
        self._w_augmented.value = view["augmented"]
        self._w_samples.value = view["samples"]
        self._w_summary.value = view["summary"]
