"""ConvolutionExplorer: slide a kernel over an image and see one output cell's arithmetic at a time.

Like CNN Explainer, it shows the (padded) input with the current receptive field,
the kernel's numbers, the element-wise products and their sum plus bias, and the
output map filling in as the window moves.  All numbers come from ``cnnlab.ops``.

    >>> ex = ConvolutionExplorer("edges 6x6", "vertical edge")
    >>> ex.output_shape
    (4, 4)
    >>> ex.set_cell(0, 1).arithmetic()["value"]
    30.0
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..data.samples import IMAGES, KERNELS, sample_image
from . import _render as R
from ._base import Explorer, SlidingWindow, padding_options

def _as_chw(image: np.ndarray) -> np.ndarray:
    """HxW -> 1xHxW, HxWx3 -> 3xHxW (float64); anything else is refused with a clear message."""
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 2:
        return a[None]
    if a.ndim == 3 and a.shape[-1] in (1, 3):
        return np.moveaxis(a, -1, 0).copy()
    raise ValueError(f"image must be HxW (gray) or HxWx3 (RGB), got shape {a.shape}")


def size_formula(n: int, f: int, pads: tuple[int, int], s: int, d: int = 1, axis: str = "") -> str:
    """The output-size formula with the numbers substituted, e.g. ``⌊(6 + 2·1 − 3)/1⌋ + 1 = 6``.

    Returns the text ending in "= empty" when the (dilated) kernel is larger than the padded input.
    """
    before, after = pads
    eff = ops.effective_kernel_size(f, d)
    pad_txt = f"2·{before}" if before == after else f"{before} + {after}"
    f_txt = str(f) if d == 1 else f"({d}·({f}−1)+1)"
    head = f"{axis}: " if axis else ""
    expr = f"{head}⌊({n} + {pad_txt} − {f_txt})/{s}⌋ + 1"
    padded = n + before + after
    if eff > padded:
        return f"{expr} = empty (kernel {eff} > padded input {padded})"
    return f"{expr} = ⌊{padded - eff}/{s}⌋ + 1 = {ops.conv_output_size(n, f, pads, s, d)}"


def output_length(n: int, f: int, pads: tuple[int, int], s: int, d: int = 1) -> int:
    """``ops.conv_output_size`` along one axis, or 0 where the kernel does not fit (an empty output)."""
    if ops.effective_kernel_size(f, d) > n + pads[0] + pads[1]:
        return 0
    return ops.conv_output_size(n, f, pads, s, d)


class ConvolutionExplorer(SlidingWindow, Explorer):
    """Interactive 2-D convolution (cross-correlation, as deep learning uses it) of one image with one kernel.

    Parameters: ``image`` (a name from ``cnnlab.data.samples.IMAGES`` or an HxW / HxWx3 array),
    ``kernel`` (a name from ``cnnlab.data.samples.KERNELS`` or a 2-D array; an RGB image uses the
    same 2-D pattern in each of its 3 channels, i.e. a kernel of depth 3), ``padding``
    ("valid", "same", "full", an int or a (top, bottom, left, right) tuple), ``stride``,
    ``dilation``, ``bias`` and ``size`` (side of the sample image in pixels).
    """

    def __init__(self, image: str | np.ndarray = "edges 6x6", kernel: str | np.ndarray = "vertical edge",
                 padding: Any = "valid", stride: int = 1, dilation: int = 1, bias: float = 0.0,
                 size: int | None = None):
        self.size = size
        self.stride = 1
        self.dilation = 1
        self.padding: Any = "valid"
        self.bias = 0.0
        self.position = 0
        self._cache: dict[str, Any] | None = None
        self.set_image(image, _refresh=False)
        self.set_kernel(kernel, _refresh=False)
        self.set_padding(padding, _refresh=False)
        self.set_stride(stride, _refresh=False)
        self.set_dilation(dilation, _refresh=False)
        self.set_bias(bias, _refresh=False)

    # ----------------------------------------------------------------- state
    def set_image(self, image: str | np.ndarray, _refresh: bool = True) -> "ConvolutionExplorer":
        """Use a sample image by name, or an HxW / HxWx3 array."""
        if isinstance(image, str):
            self.image_name = image
            self.image = _as_chw(sample_image(image, self.size))
        else:
            self.image_name = "custom"
            self.image = _as_chw(image)
        if self.image.shape[1] < 1 or self.image.shape[2] < 1:
            raise ValueError(f"image must have at least one pixel, got shape {self.image.shape}")
        return self._changed(_refresh)

    def set_kernel(self, kernel: str | np.ndarray, _refresh: bool = True) -> "ConvolutionExplorer":
        """Use a preset kernel by name (see ``cnnlab.data.samples.KERNELS``) or a 2-D array of weights."""
        if isinstance(kernel, str):
            if kernel not in KERNELS:
                raise ValueError(f"unknown kernel {kernel!r}; choose one of {sorted(KERNELS)} or pass a 2-D array")
            self.kernel_name, k = kernel, KERNELS[kernel]
        else:
            self.kernel_name, k = "custom", kernel
        k = np.array(k, dtype=np.float64)
        if k.ndim != 2 or min(k.shape) < 1:
            raise ValueError(f"kernel must be a 2-D array such as 3x3, got shape {k.shape}")
        self.kernel = k
        return self._changed(_refresh)

    def set_kernel_value(self, row: int, col: int, value: float, _refresh: bool = True) -> "ConvolutionExplorer":
        """Edit one weight of the kernel (the preset becomes "custom")."""
        k = self.kernel.copy()
        k[row, col] = float(value)
        self.kernel_name, self.kernel = "custom", k
        return self._changed(_refresh)

    def set_padding(self, padding: Any, _refresh: bool = True) -> "ConvolutionExplorer":
        """"valid", "same", "full", an int, (ph, pw) or (top, bottom, left, right)."""
        ops.resolve_padding(padding, self.kernel.shape, 1, 1, self.image.shape[1:])  # validates
        self.padding = padding
        return self._changed(_refresh)

    def set_stride(self, stride: int, _refresh: bool = True) -> "ConvolutionExplorer":
        if int(stride) != stride or stride < 1:
            raise ValueError(f"stride must be a positive integer, got {stride!r}")
        self.stride = int(stride)
        return self._changed(_refresh)

    def set_dilation(self, dilation: int, _refresh: bool = True) -> "ConvolutionExplorer":
        if int(dilation) != dilation or dilation < 1:
            raise ValueError(f"dilation must be a positive integer (1 = no gaps), got {dilation!r}")
        self.dilation = int(dilation)
        return self._changed(_refresh)

    def set_bias(self, bias: float, _refresh: bool = True) -> "ConvolutionExplorer":
        self.bias = float(bias)
        return self._changed(_refresh)

    # --------------------------------------------------------------- derived
    @property
    def channels(self) -> int:
        return self.image.shape[0]

    @property
    def weights(self) -> np.ndarray:
        """The full weight tensor [out=1, in=C, kh, kw] (the 2-D kernel repeated over the input channels)."""
        return np.repeat(self.kernel[None, None], self.channels, axis=1)

    @property
    def pads(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) for the current padding."""
        return tuple(ops.resolve_padding(self.padding, self.kernel.shape, self.stride, self.dilation,
                                         self.image.shape[1:]))

    def _computed(self) -> dict[str, Any]:
        if self._cache is not None:
            return self._cache
        top, bottom, left, right = self.pads
        _, h, w = self.image.shape
        kh, kw = self.kernel.shape
        out_h = output_length(h, kh, (top, bottom), self.stride, self.dilation)
        out_w = output_length(w, kw, (left, right), self.stride, self.dilation)
        padded = np.pad(self.image, ((0, 0), (top, bottom), (left, right)))
        if out_h > 0 and out_w > 0:
            out = ops.conv2d(self.image[None], self.weights, np.array([self.bias]), stride=self.stride,
                             padding=(top, bottom, left, right), dilation=self.dilation)[0, 0]
        else:
            out = np.zeros((max(out_h, 0), max(out_w, 0)))
        self._cache = {"padded": padded, "output": np.asarray(out, dtype=np.float64), "shape": (out_h, out_w)}
        return self._cache

    @property
    def output(self) -> np.ndarray:
        """The whole output map (out_h x out_w), computed with ``cnnlab.ops.conv2d``."""
        return self._computed()["output"]

    @property
    def padded_input(self) -> np.ndarray:
        """The zero-padded input, C x (H + top + bottom) x (W + left + right)."""
        return self._computed()["padded"]

    @property
    def output_shape(self) -> tuple[int, int]:
        return self._computed()["shape"]

    def window(self) -> tuple[np.ndarray, np.ndarray]:
        """Row and column indices, in the padded input, of the taps of the current window."""
        i, j = self.cell
        kh, kw = self.kernel.shape
        rows = i * self.stride + self.dilation * np.arange(kh)
        cols = j * self.stride + self.dilation * np.arange(kw)
        return rows, cols

    def arithmetic(self) -> dict[str, Any]:
        """The current cell's computation: patch (C,kh,kw), weights, products, their sum, bias and value."""
        if self.is_empty:
            raise ValueError(self.message())
        rows, cols = self.window()
        patch = self.padded_input[:, rows][:, :, cols]
        weights = self.weights[0]
        products = patch * weights
        total = float(products.sum())
        return {"cell": self.cell, "patch": patch, "weights": weights, "products": products,
                "sum": total, "bias": self.bias, "value": total + self.bias}

    def size_text(self) -> str:
        """The output-size formula for both axes with the current numbers substituted."""
        top, bottom, left, right = self.pads
        _, h, w = self.image.shape
        kh, kw = self.kernel.shape
        lines = [size_formula(h, kh, (top, bottom), self.stride, self.dilation, "height"),
                 size_formula(w, kw, (left, right), self.stride, self.dilation, "width")]
        return "\n".join(lines)

    def message(self) -> str:
        """Empty string, or a plain explanation of why the output is empty."""
        if not self.is_empty:
            return ""
        kh, kw = self.kernel.shape
        eff = (self.dilation * (kh - 1) + 1, self.dilation * (kw - 1) + 1)
        ph, pw = self.padded_input.shape[1:]
        return (f"No output: the kernel covers {eff[0]}x{eff[1]} pixels (with dilation {self.dilation}) but the "
                f"padded input is only {ph}x{pw}. Add padding, or use a smaller dilation or image.")

    # ------------------------------------------------------------------ view
    def render(self) -> dict[str, Any]:
        """PNG bytes for the input and output pictures and HTML for the arithmetic and the formula."""
        padded = self.padded_input
        c, ph, pw = padded.shape
        top, bottom, left, right = self.pads
        cell = R.cell_size_for((ph, pw), target=300)
        if c == 3:
            rgb = R.to_rgb(np.moveaxis(padded, 0, -1), vmin=0.0, vmax=max(1.0, float(padded.max())))
        else:
            lo, hi = float(self.image.min()), float(self.image.max())
            rgb = R.to_rgb(padded[0], "gray", min(lo, 0.0), hi if hi > lo else lo + 1)
        big = R.upscale(rgb, cell)
        pad_mask = np.ones((ph, pw), dtype=bool)
        pad_mask[top:ph - bottom, left:pw - right] = False
        R.tint_cells(big, cell, pad_mask, R.PADDING, alpha=0.55)
        R.draw_grid(big, cell)
        out_full = self.output
        out_view = np.full(self.output_shape, np.nan)
        if not self.is_empty:
            rows, cols = self.window()
            taps = np.zeros((ph, pw), dtype=bool)
            taps[np.ix_(rows, cols)] = True
            R.tint_cells(big, cell, taps, R.HIGHLIGHT, alpha=0.45)
            R.draw_rect(big, cell, int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1),
                        int(cols[-1] - cols[0] + 1), R.HIGHLIGHT)
            out_view.flat[: self.position + 1] = out_full.flat[: self.position + 1]
        if self.is_empty:
            out_png = R.png_bytes(R.upscale(np.full((1, 1, 3), 235, np.uint8), 60))
        else:
            vmin, vmax = R.symmetric_limits(out_full)
            orgb = R.to_rgb(out_view, "RdBu_r", vmin, vmax, nan_color=(185, 185, 185))
            ocell = R.cell_size_for(orgb.shape, target=240)
            obig = R.upscale(orgb, ocell)
            R.draw_grid(obig, ocell)
            i, j = self.cell
            R.draw_rect(obig, ocell, i, j, 1, 1, R.HIGHLIGHT, thickness=max(2, ocell // 6))
            out_png = R.png_bytes(obig)
        return {"input": R.png_bytes(big), "output": out_png, "arithmetic": self._arithmetic_html(),
                "formula": self._formula_html(), "message": self.message()}

    def _arithmetic_html(self) -> str:
        if self.is_empty:
            return f'<p style="color:#b00">{self.message()}</p>'
        a = self.arithmetic()
        i, j = a["cell"]
        names = ["R", "G", "B"] if self.channels == 3 else [""] * self.channels
        rows = []
        for ch in range(self.channels):
            label = f"<b>{names[ch]}</b> " if names[ch] else ""
            rows.append(
                f'<div>{label}{R.html_matrix(a["patch"][ch], "patch")}<span style="font-size:150%">⊙</span>'
                f'{R.html_matrix(a["weights"][ch], "kernel", cmap="RdBu_r", vmin=-5, vmax=5)}'
                f'<span style="font-size:150%">=</span>'
                f'{R.html_matrix(a["products"][ch], "products")}'
                f'<span> sum = {a["products"][ch].sum():.4g}</span></div>')
        over = f" over {self.channels} channels" if self.channels > 1 else ""
        total = (f'<div style="font-family:monospace">output[{i}, {j}] = sum of products{over} + bias = '
                 f'{a["sum"]:.4g} + {a["bias"]:.4g} = <b>{a["value"]:.4g}</b></div>')
        return "".join(rows) + total

    def _formula_html(self) -> str:
        h, w = self.output_shape
        lines = "<br>".join(self.size_text().split("\n"))
        shape = f"output {h} x {w}" if not self.is_empty else "output empty"
        return (f'<div style="font-family:monospace">out = ⌊(n + p_before + p_after − f)/s⌋ + 1'
                f'<br>{lines}<br><b>{shape}</b></div>')

    def _build_view(self):
        import ipywidgets as W

        def image_options() -> dict[str, Any]:
            return {"options": list(IMAGES) + (["custom"] if self.image_name == "custom" else [])}

        self._w_image = self.bind("image", W.Dropdown(description="image"), "image_name",
                                  lambda v: None if v == "custom" else self.set_image(v), image_options)
        self._w_kernel = self.bind("kernel", W.Dropdown(options=list(KERNELS) + ["custom"], description="kernel"),
                                   "kernel_name", lambda v: None if v == "custom" else self.set_kernel(v))
        self._w_padding = self.bind("padding", W.Dropdown(description="padding"), "padding", self.set_padding,
                                    lambda: {"options": padding_options(self.padding)})
        self._w_stride = self.bind("stride", W.IntSlider(min=1, max=4, description="stride"), "stride",
                                   self.set_stride)
        self._w_dilation = self.bind("dilation", W.IntSlider(min=1, max=3, description="dilation"), "dilation",
                                     self.set_dilation)
        self._w_bias = self.bind("bias", W.FloatSlider(min=-10, max=10, step=0.5, description="bias"), "bias",
                                 self.set_bias)
        self._w_position = self.bind("position", W.IntSlider(min=0, description="position", continuous_update=True),
                                     "position", self.set_position, self.position_limits)
        # the Play button drives the slider in the browser; the slider changes the state
        self._w_play = self.bind("play", W.Play(min=0, interval=400, description="play the sweep"), "position",
                                 None, self.position_limits)
        W.jslink((self._w_play, "value"), (self._w_position, "value"))
        self._w_cell = W.HTML()
        self._w_input = W.Image(format="png")
        self._w_output = W.Image(format="png")
        self._w_kernel_grid = W.GridBox(layout=W.Layout(grid_gap="2px"))
        self._w_arith = W.HTML()
        self._w_formula = W.HTML()
        self._kernel_shape: tuple[int, int] = (0, 0)

        caption = lambda t: W.HTML(f"<b>{t}</b>")  # noqa: E731
        left = W.VBox([caption("input (blue = zero padding, orange = window)"), self._w_input])
        middle = W.VBox([caption("kernel (editable)"), self._w_kernel_grid])
        right = W.VBox([caption("output map (dark grey = not computed yet)"), self._w_output, self._w_cell])
        controls = W.HBox([W.VBox([self._w_image, self._w_kernel, self._w_padding]),
                           W.VBox([self._w_stride, self._w_dilation, self._w_bias])])
        return W.VBox([controls, W.HBox([left, middle, right]), W.HBox([self._w_play, self._w_position]),
                       self._w_arith, self._w_formula], layout=W.Layout(width="100%"))

    def _rebuild_controls(self) -> None:
        """One bound text box per kernel weight, rebuilt when the kernel changes shape."""
        import ipywidgets as W

        if self._kernel_shape == self.kernel.shape:
            return
        for r, c in np.ndindex(*self._kernel_shape):
            self.unbind(f"kernel[{r},{c}]")
        kh, kw = self._kernel_shape = self.kernel.shape
        cells = [self.bind(f"kernel[{r},{c}]", W.FloatText(layout=W.Layout(width="4.5em")),
                           lambda r=r, c=c: round(float(self.kernel[r, c]), 4),
                           lambda v, r=r, c=c: self.set_kernel_value(r, c, v))
                 for r, c in np.ndindex(kh, kw)]
        self._w_kernel_grid.children = cells
        self._w_kernel_grid.layout.grid_template_columns = f"repeat({kw}, 4.8em)"

    def _refresh_view(self) -> None:
        view = self.render()
        self._w_input.value = view["input"]
        self._w_output.value = view["output"]
        self._w_arith.value = view["arithmetic"]
        self._w_formula.value = view["formula"]
        if self.is_empty:
            self._w_cell.value = '<span style="color:#b00">empty output</span>'
        else:
            i, j = self.cell
            self._w_cell.value = f"cell ({i}, {j}) = {self.output[i, j]:.4g}"
