"""PaddingStrideExplorer: the convolution-arithmetic cases (padding, stride, dilation) as a live picture.

The picture follows the classic conv-arithmetic animations: the input (blue)
inside its zero padding (white with a dashed look), the kernel's taps on top
(orange), and the output grid (green) with the cell the window produces.  The
output-size formula is shown with the current numbers; settings that leave no
room for a window are flagged with a message instead of raising.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _render as R
from .. import ops
from ._base import Explorer, SlidingWindow, padding_options
from .convolution import size_formula

INPUT: R.Color = (110, 160, 220)
PAD: R.Color = (250, 250, 250)
PAD_LINE: R.Color = (190, 190, 190)
OUTPUT: R.Color = (120, 190, 120)
TAP: R.Color = (235, 120, 20)

# name -> (n, f, padding, stride, dilation); after Dumoulin & Visin's conv-arithmetic guide.
PRESETS: dict[str, tuple[int, int, Any, int, int]] = {
    "no padding, unit strides": (4, 3, 0, 1, 1),
    "arbitrary padding, unit strides": (5, 4, 2, 1, 1),
    "half (same) padding": (5, 3, "same", 1, 1),
    "full padding": (5, 3, "full", 1, 1),
    "no padding, strides": (5, 3, 0, 2, 1),
    "padding, strides": (5, 3, 1, 2, 1),
    "padding, strides (odd: floor)": (6, 3, 1, 2, 1),
    "same, stride 2 (uneven padding)": (6, 3, "same", 2, 1),
    "dilation 2 (atrous)": (7, 3, 0, 1, 2),
    "kernel too large (empty)": (3, 5, 0, 1, 1),
}


class PaddingStrideExplorer(SlidingWindow, Explorer):
    """A square n x n input, an f x f kernel, padding, stride and dilation; position steps through the output."""

    def __init__(self, preset: str | None = "padding, strides", n: int | None = None, f: int | None = None,
                 padding: Any = None, stride: int | None = None, dilation: int | None = None):
        self.n, self.f, self.padding, self.stride, self.dilation = PRESETS["no padding, unit strides"]
        self.position = 0
        self.preset = None
        if preset is not None:
            self.set_preset(preset, _refresh=False)
        self.set(n=n, f=f, padding=padding, stride=stride, dilation=dilation, _refresh=False)

    # ----------------------------------------------------------------- state
    def set_preset(self, name: str, _refresh: bool = True) -> "PaddingStrideExplorer":
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {list(PRESETS)}")
        n, f, p, s, d = PRESETS[name]
        self.set(n=n, f=f, padding=p, stride=s, dilation=d, _refresh=False)
        self.preset = name
        return self._changed(_refresh)

    def set(self, n: int | None = None, f: int | None = None, padding: Any = None, stride: int | None = None,
            dilation: int | None = None, _refresh: bool = True) -> "PaddingStrideExplorer":
        """Change any of input size ``n``, kernel size ``f``, ``padding``, ``stride``, ``dilation``."""
        for name, value in (("n", n), ("f", f), ("stride", stride), ("dilation", dilation)):
            if value is not None and (int(value) != value or value < 1):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if padding is not None:
            ops.resolve_padding(padding, 1)  # validates the spelling ("valid", "same", "full", ints)
        changed = {k: v for k, v in (("n", n), ("f", f), ("padding", padding), ("stride", stride),
                                      ("dilation", dilation)) if v is not None}
        if changed:
            self.preset = None
        for k, v in changed.items():
            setattr(self, k, v if k == "padding" else int(v))
        return self._changed(_refresh)

    # --------------------------------------------------------------- derived
    @property
    def pads(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) for the current padding (TensorFlow's rule for "same")."""
        return tuple(ops.resolve_padding(self.padding, self.f, self.stride, self.dilation, self.n))

    @property
    def effective_kernel(self) -> int:
        return ops.effective_kernel_size(self.f, self.dilation)

    @property
    def padded_size(self) -> tuple[int, int]:
        top, bottom, left, right = self.pads
        return self.n + top + bottom, self.n + left + right

    @property
    def output_shape(self) -> tuple[int, int]:
        """(rows, cols) of the output; (0, 0) when the kernel does not fit."""
        ph, pw = self.padded_size
        if self.effective_kernel > min(ph, pw):
            return (0, 0)
        top, bottom, left, right = self.pads
        return (ops.conv_output_size(self.n, self.f, (top, bottom), self.stride, self.dilation),
                ops.conv_output_size(self.n, self.f, (left, right), self.stride, self.dilation))

    def taps(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column indices (in the padded input) that the kernel touches at the current position."""
        i, j = self.cell
        offs = self.dilation * np.arange(self.f)
        return i * self.stride + offs, j * self.stride + offs

    def unused(self) -> tuple[int, int]:
        """Rows and columns at the bottom/right of the padded input that no window reaches (the floor's loss)."""
        if self.is_empty:
            return (0, 0)
        h, w = self.output_shape
        ph, pw = self.padded_size
        last_h = (h - 1) * self.stride + self.effective_kernel
        last_w = (w - 1) * self.stride + self.effective_kernel
        return ph - last_h, pw - last_w

    def size_text(self) -> str:
        top, bottom, _, _ = self.pads
        return size_formula(self.n, self.f, (top, bottom), self.stride, self.dilation)

    def message(self) -> str:
        if self.is_empty:
            ph, _ = self.padded_size
            return (f"Empty output: the kernel spans {self.effective_kernel} pixels (f = {self.f}, dilation "
                    f"{self.dilation}) but the padded input is only {ph} wide. Add padding or shrink the kernel.")
        notes = []
        lost = self.unused()[0]
        if lost:
            notes.append(f"(n + 2p − f)/s is not an integer: the last {lost} row(s)/column(s) are never covered "
                         f"(the floor drops them).")
        top, bottom, _, _ = self.pads
        if top != bottom:
            notes.append(f"Uneven padding: {top} before and {bottom} after (TensorFlow's 'same' puts the extra "
                         f"at the bottom/right).")
        return " ".join(notes)

    # ------------------------------------------------------------------ view
    def picture(self) -> np.ndarray:
        """The padded input with the current taps, next to the output grid, as an RGB array."""
        ph, pw = self.padded_size
        top, bottom, left, right = self.pads
        oh, ow = self.output_shape
        cell = int(np.clip(300 // max(ph, pw, 1), 12, 40))
        grid = np.empty((ph, pw, 3), np.uint8)
        grid[:] = PAD
        grid[top:top + self.n, left:left + self.n] = INPUT
        big = R.upscale(grid, cell)
        R.draw_grid(big, cell, PAD_LINE)
        if not self.is_empty:
            rows, cols = self.taps()
            mask = np.zeros((ph, pw), bool)
            mask[np.ix_(rows, cols)] = True
            R.tint_cells(big, cell, mask, TAP, alpha=0.7)
            R.draw_rect(big, cell, int(rows[0]), int(cols[0]), self.effective_kernel, self.effective_kernel,
                        (120, 60, 0), thickness=2)
        gap = np.full((big.shape[0], cell, 3), 255, np.uint8)
        out_rows = max(oh, 1)
        ocell = cell
        out = np.full((max(out_rows * ocell, big.shape[0]), max(ow, 1) * ocell, 3), 255, np.uint8)
        if not self.is_empty:
            o = np.empty((oh, ow, 3), np.uint8)
            o[:] = OUTPUT
            obig = R.upscale(o, ocell)
            R.draw_grid(obig, ocell, (80, 140, 80))
            i, j = self.cell
            R.tint_cells(obig, ocell, np.eye(1, oh * ow, self.position, dtype=bool).reshape(oh, ow), TAP, 0.7)
            out[: obig.shape[0], : obig.shape[1]] = obig
        height = max(big.shape[0], out.shape[0])
        canvas = np.full((height, big.shape[1] + gap.shape[1] + out.shape[1], 3), 255, np.uint8)
        canvas[: big.shape[0], : big.shape[1]] = big
        canvas[: out.shape[0], big.shape[1] + gap.shape[1]:] = out
        return canvas

    def render(self) -> dict[str, Any]:
        oh, ow = self.output_shape
        top, bottom, left, right = self.pads
        shape = "empty (0 x 0)" if self.is_empty else f"{oh} x {ow}"
        formula = (f'<div style="font-family:monospace">out = ⌊(n + p_before + p_after − f_eff)/s⌋ + 1, '
                   f'f_eff = d·(f − 1) + 1 = {self.effective_kernel}<br>{self.size_text()}<br>'
                   f'padding (top, bottom, left, right) = {(top, bottom, left, right)}<br>'
                   f'<b>input {self.n} x {self.n} → output {shape}</b></div>')
        msg = self.message()
        colour = "#b00" if self.is_empty else "#555"
        return {"picture": R.png_bytes(self.picture()), "formula": formula,
                "message": f'<p style="color:{colour}">{msg}</p>' if msg else "", "text": msg}

    def _build_view(self):
        import ipywidgets as W

        self._w_preset = self.bind("preset", W.Dropdown(options=["(custom)"] + list(PRESETS), description="case",
                                                        layout=W.Layout(width="24em")),
                                   lambda: self.preset or "(custom)",
                                   lambda v: None if v == "(custom)" else self.set_preset(v))
        self._w_n = self.bind("n", W.IntSlider(min=1, max=10, description="input n"), "n", lambda v: self.set(n=v))
        self._w_f = self.bind("f", W.IntSlider(min=1, max=6, description="kernel f"), "f", lambda v: self.set(f=v))
        self._w_padding = self.bind("padding", W.Dropdown(description="padding"), "padding",
                                    lambda v: self.set(padding=v), lambda: {"options": padding_options(self.padding)})
        self._w_stride = self.bind("stride", W.IntSlider(min=1, max=4, description="stride s"), "stride",
                                   lambda v: self.set(stride=v))
        self._w_dilation = self.bind("dilation", W.IntSlider(min=1, max=3, description="dilation d"), "dilation",
                                     lambda v: self.set(dilation=v))
        self._w_position = self.bind("position", W.IntSlider(min=0, description="position"), "position",
                                     self.set_position, self.position_limits)
        # the Play button drives the slider in the browser; the slider changes the state
        self._w_play = self.bind("play", W.Play(min=0, interval=500), "position", None, self.position_limits)
        W.jslink((self._w_play, "value"), (self._w_position, "value"))
        self._w_picture = W.Image(format="png")
        self._w_formula = W.HTML()
        self._w_message = W.HTML()
        controls = W.HBox([W.VBox([self._w_preset, self._w_n, self._w_f]),
                           W.VBox([self._w_padding, self._w_stride, self._w_dilation])])
        return W.VBox([controls, W.HTML("<b>padded input (blue = input, white = zero padding, orange = kernel taps)"
                                        " → output (green)</b>"),
                       self._w_picture, W.HBox([self._w_play, self._w_position]), self._w_formula, self._w_message])

    def _refresh_view(self) -> None:
        view = self.render()
        self._w_picture.value = view["picture"]
        self._w_formula.value = view["formula"]
        self._w_message.value = view["message"]
