"""What every explorer shares: plain-Python state, ``render()``, and controls bound to the state.

How to write an explorer (every widget in this package follows it)::

    class Thing(Explorer):
        def __init__(self, k=3):
            self.k = k

        def set_k(self, k, _refresh=True):          # the public API: validate, store, redraw
            if k < 1:
                raise ValueError(...)
            self.k = int(k)
            return self._changed(_refresh)          # drops self._cache, then refresh()

        def render(self):                           # everything the view shows; tests call it
            return {"picture": png_bytes, "summary": html}

        def _build_view(self):                      # once, on first access to .widget
            import ipywidgets as W
            self._w_picture = W.Image(format="png")
            k = self.bind("k", W.IntSlider(min=1, max=9, description="k"), get="k", set=self.set_k)
            return W.VBox([k, self._w_picture])

        def _refresh_view(self):                    # push render() into the output widgets
            self._w_picture.value = self.render()["picture"]

``bind(name, control, get, set, attrs)`` is the one binding mechanism: a change of the control
calls ``set(new_value)``; every ``refresh()`` (so every ``set_*`` made from code) writes
``get()`` back into the control, after the traits ``attrs()`` returns (a slider's ``max``, a
dropdown's ``options``) so the value always fits; a slider's range stretches to a value set from
code beyond it. ``get`` is an attribute name or a callable;
``set=None`` makes a display-only control. Writes made while syncing are not echoed back.
``controls[name]`` is the bound control (tests drive the widget through it). Sliding-window
explorers add the ``SlidingWindow`` mixin (``position``, ``set_position``, ``cell``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Binding", "Explorer", "PADDING_CHOICES", "SlidingWindow", "padding_options"]

# the padding dropdown of every explorer that has one
PADDING_CHOICES: list[tuple[str, Any]] = [
    ("valid", "valid"), ("same", "same"), ("full", "full"), ("0", 0), ("1", 1), ("2", 2), ("3", 3),
]


def padding_options(current: Any) -> list[tuple[str, Any]]:
    """The padding choices, plus ``current`` when code set a value the list lacks (e.g. ``(1, 0, 1, 0)``)."""
    options = list(PADDING_CHOICES)
    if not any(_same(current, v) for _, v in options):
        options.append((str(current), current))
    return options


def _same(a: Any, b: Any) -> bool:
    """Equality that tells 0 from False and "0" from 0, and never returns an array."""
    return type(a) is type(b) and bool(np.all(a == b)) if not isinstance(a, str) else a == b


def _widen_range(control: Any, value: Any) -> None:
    """Stretch a slider's range to a value set from code, so the slider shows it instead of clipping it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not hasattr(control, "max"):
        return
    if value > control.max:
        control.max = value
    if value < control.min:
        control.min = value


@dataclass
class Binding:
    """One control linked to the state (see the module docstring)."""

    control: Any
    get: Callable[[], Any]
    set: Callable[[Any], Any] | None
    attrs: Callable[[], dict[str, Any]] | None


class Explorer:
    """Base class: state in attributes, ``render()`` for the pictures, ``bind`` for the controls."""

    _widget = None
    _cache: Any = None
    _syncing = False  # True while the state writes itself into the controls (no feedback loops)

    def render(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _build_view(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _refresh_view(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------- bindings
    @property
    def controls(self) -> dict[str, Any]:
        """The bound controls by name (the view is built on first access)."""
        self.widget
        return {name: b.control for name, b in self._bindings().items()}

    def _bindings(self) -> dict[str, Binding]:
        if "_bound" not in self.__dict__:
            self._bound: dict[str, Binding] = {}
        return self._bound

    def bind(self, name: str, control: Any, get: str | Callable[[], Any],
             set: Callable[[Any], Any] | None = None,
             attrs: Callable[[], dict[str, Any]] | None = None) -> Any:
        """Link ``control`` to the state under ``name``; returns the control (for the layout)."""
        getter = (lambda: getattr(self, get)) if isinstance(get, str) else get
        binding = Binding(control, getter, set, attrs)
        self._bindings()[name] = binding
        if set is not None:
            control.observe(lambda change: self._from_control(binding, change["new"]), names="value")
        self._sync_one(binding)
        return control

    def unbind(self, name: str) -> None:
        """Forget a control (its observer stays but no longer changes the state)."""
        binding = self._bindings().pop(name, None)
        if binding is not None:
            binding.set = None

    def _from_control(self, binding: Binding, value: Any) -> None:
        if self._syncing or binding.set is None:
            return
        try:
            binding.set(value)
        except ValueError:
            self.sync_controls()  # refuse the value: the control goes back to the state
            raise

    def _sync_one(self, binding: Binding) -> None:
        previous, self._syncing = self._syncing, True
        try:
            if binding.attrs is not None:
                for trait, value in binding.attrs().items():
                    if getattr(binding.control, trait) != (tuple(value) if isinstance(value, list) else value):
                        setattr(binding.control, trait, value)
            value = binding.get()
            _widen_range(binding.control, value)
            if not _same(binding.control.value, value):
                binding.control.value = value
        finally:
            self._syncing = previous

    def sync_controls(self) -> None:
        """Write the state into every bound control."""
        for binding in list(self._bindings().values()):
            self._sync_one(binding)

    # ----------------------------------------------------------------- view
    @property
    def widget(self):
        """The ipywidgets view (built on first access)."""
        if self._widget is None:
            self._widget = self._build_view()
            self.refresh()
        return self._widget

    def refresh(self) -> None:
        """Bring the controls and the pictures up to date with the state (a no-op until the view exists)."""
        if self._widget is not None:
            self._rebuild_controls()
            self.sync_controls()
            self._refresh_view()

    def _rebuild_controls(self) -> None:
        """Hook for explorers whose set of controls follows the state (one text box per kernel weight)."""

    def _changed(self, refresh: bool = True):
        """The state changed: drop cached results and, unless told otherwise, redraw. Returns self."""
        self._cache = None
        if refresh:
            self.refresh()
        return self

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class SlidingWindow:
    """Mixin for explorers that sweep a window over an output grid.

    The subclass provides ``output_shape`` (rows, cols); this keeps ``position`` (the current
    output cell in row-major order, always clamped to the output) and derives the rest.
    """

    output_shape: tuple[int, int]
    _position = 0

    @property
    def n_positions(self) -> int:
        h, w = self.output_shape
        return h * w

    @property
    def position(self) -> int:
        """The current output cell, row-major; clamped to the output when the settings shrink it."""
        return int(min(self._position, max(self.n_positions - 1, 0)))

    @position.setter
    def position(self, value: int) -> None:
        self._position = max(int(value), 0)

    def set_position(self, position: int, _refresh: bool = True):
        """Move the window to output cell number ``position`` (row-major order), clamped to the output."""
        self.position = int(np.clip(int(position), 0, max(self.n_positions - 1, 0)))
        if _refresh:
            self.refresh()
        return self

    def set_cell(self, row: int, col: int):
        """Move the window to output cell (row, col)."""
        h, w = self.output_shape
        if not (0 <= row < h and 0 <= col < w):
            raise ValueError(f"cell ({row}, {col}) is outside the {h}x{w} output")
        return self.set_position(row * w + col)

    def position_limits(self) -> dict[str, int]:
        """The position slider's range for the current output."""
        return {"max": max(self.n_positions - 1, 0)}

    @property
    def is_empty(self) -> bool:
        """True when the settings leave no room for a single window (the output would be 0 x 0)."""
        return self.n_positions == 0

    @property
    def cell(self) -> tuple[int, int]:
        """(row, col) of the current output cell."""
        return divmod(self.position, max(self.output_shape[1], 1))
