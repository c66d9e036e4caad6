"""ReceptiveFieldExplorer: how far one unit of a conv stack sees, by formula and by back-propagated gradient.

Every layer of the stack has the same kernel size, stride and dilation. The picture is the absolute
gradient of the centre output unit with respect to the input (bright = reached by many paths), with
the receptive field from the formula outlined; the table lists the field and the jump after each layer.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _render as R
from ._base import Explorer

MAX_DRAWN = 129  # largest field drawn as a picture (pixels); larger ones are only tabulated


class ReceptiveFieldExplorer(Explorer):
    """A stack of ``layers`` identical layers (``kernel``, ``stride``, ``dilation``) on one channel."""

    def __init__(self, layers: int = 3, kernel: int = 3, stride: int = 1, dilation: int = 1):
        self.layers, self.kernel, self.stride, self.dilation = 3, 3, 1, 1
        self.set(layers=layers, kernel=kernel, stride=stride, dilation=dilation, _refresh=False)

    # ----------------------------------------------------------------- state
    def set(self, layers: int | None = None, kernel: int | None = None, stride: int | None = None,
            dilation: int | None = None, _refresh: bool = True) -> "ReceptiveFieldExplorer":
        """Change any of ``layers``, ``kernel``, ``stride``, ``dilation`` (positive integers)."""
        for name, value in (("layers", layers), ("kernel", kernel), ("stride", stride), ("dilation", dilation)):
            if value is None:
                continue
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
            setattr(self, name, int(value))
        return self._changed(_refresh)

    def specs(self) -> list:
        from cnnlab.ops.receptive_fields import LayerSpec

        return [LayerSpec(self.kernel, self.stride, self.dilation) for _ in range(self.layers)]

    def steps(self) -> list:
        """Receptive field and jump after each layer (``receptive_fields.receptive_field``)."""
        from cnnlab.ops.receptive_fields import receptive_field

        return receptive_field(self.specs())

    @property
    def field(self) -> int:
        return self.steps()[-1].size

    def support(self) -> np.ndarray | None:
        """|gradient| of the centre output unit w.r.t. the input, or None when the field is too large to draw."""
        from cnnlab.ops.receptive_fields import centred_input_size, gradient_support

        if self.field > MAX_DRAWN:
            return None
        return gradient_support(self.specs(), input_size=centred_input_size(self.specs(), margin=3))

    # ------------------------------------------------------------------ view
    def render(self) -> dict[str, Any]:
        support = self.support()
        if support is None:
            picture = R.png_bytes(np.full((40, 40, 3), 235, np.uint8))
            note = f"(field {self.field} pixels: too large to draw, see the table)"
        else:
            cell = R.cell_size_for(support.shape, target=300, min_cell=2)
            big = R.upscale(R.to_rgb(np.sqrt(support), "magma"), cell)
            rows = np.flatnonzero(support.sum(axis=1) > 0)
            cols = np.flatnonzero(support.sum(axis=0) > 0)
            R.draw_rect(big, cell, int(rows[0]), int(cols[0]), self.field, self.field, (255, 255, 255),
                        thickness=max(1, cell // 4))
            picture = R.png_bytes(big)
            covered = int(np.count_nonzero(support))
            note = (f"{covered} of the {self.field}² = {self.field ** 2} pixels in the field receive gradient"
                    f"{' (dilation leaves holes)' if covered < self.field ** 2 else ''}")
        rows_html = "".join(
            f"<tr><td>{i}</td><td>{s.layer.kernel}</td><td>{s.layer.stride}</td><td>{s.layer.dilation}</td>"
            f"<td>{s.jump}</td><td><b>{s.size}</b></td></tr>" for i, s in enumerate(self.steps()[1:], start=1))
        table = ("<table><tr><th>layer</th><th>kernel</th><th>stride</th><th>dilation</th><th>jump</th>"
                 f"<th>field</th></tr>{rows_html}</table>")
        summary = (f"<p>{self.layers} layer(s) of {self.kernel}×{self.kernel}, stride {self.stride}, dilation "
                   f"{self.dilation}: one output unit sees <b>{self.field}×{self.field}</b> input pixels. {note}.</p>")
        return {"picture": picture, "table": table, "summary": summary}

    def _build_view(self):
        import ipywidgets as W

        sliders = {}
        for name, top in (("layers", 8), ("kernel", 7), ("stride", 3), ("dilation", 4)):
            sliders[name] = self.bind(name, W.IntSlider(min=1, max=top, description=name), name,
                                      lambda v, name=name: self.set(**{name: v}))
        self._w_picture = W.Image(format="png")
        self._w_table = W.HTML()
        self._w_summary = W.HTML()
        return W.VBox([
            W.HBox([W.VBox([sliders["layers"], sliders["kernel"]]), W.VBox([sliders["stride"], sliders["dilation"]])]),
            W.HBox([W.VBox([W.HTML("<b>|gradient| of the centre unit (white: the field)</b>"), self._w_picture]),
                    self._w_table]),
            self._w_summary])

    def _refresh_view(self) -> None:
        view = self.render()
        self._w_picture.value = view["picture"]
        self._w_table.value = view["table"]
        self._w_summary.value = view["summary"]
