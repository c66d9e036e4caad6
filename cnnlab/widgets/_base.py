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
