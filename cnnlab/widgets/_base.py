"""The pattern every explorer follows: plain-Python state and ``render()``, plus a lazily built ipywidgets view."""
from __future__ import annotations

from typing import Any


class Explorer:
    """Base class: subclasses keep their state in attributes, compute a ``render()`` dict, and build a view.

    * ``render()`` returns everything the view shows (PNG bytes, HTML strings); tests call it directly.
    * ``_build_view()`` creates the ipywidgets (once); ``_refresh_view()`` pushes ``render()`` into them.
    * ``.widget`` is the top-level ipywidgets container; displaying the explorer displays it.
    """

    _widget = None
    _syncing = False  # True while the view writes state back into its controls (no feedback loops)

    def render(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _build_view(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _refresh_view(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def widget(self):
        """The ipywidgets view (built on first access)."""
        if self._widget is None:
            self._widget = self._build_view()
            self._refresh_view()
        return self._widget

    def refresh(self) -> None:
        """Redraw the view after the state changed (a no-op until the view exists)."""
        if self._widget is not None:
            self._refresh_view()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class SlidingWindow:
    """Mixin for explorers that sweep a window over an output grid.

    The subclass provides ``output_shape`` (rows, cols) and an integer ``position``
    (the current output cell in row-major order); this derives the rest.
    """

    output_shape: tuple[int, int]
    position: int

    @property
    def n_positions(self) -> int:
        h, w = self.output_shape
        return h * w

    @property
    def is_empty(self) -> bool:
        """True when the settings leave no room for a single window (the output would be 0 x 0)."""
        return self.n_positions == 0

    @property
    def cell(self) -> tuple[int, int]:
        """(row, col) of the current output cell."""
        return divmod(self.position, max(self.output_shape[1], 1))
