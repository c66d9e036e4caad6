"""Shared view helpers for every widget: numpy arrays -> PNG bytes, colour maps, cell grids, highlights.

The widgets draw pictures as small numpy RGB arrays and send them to an
``ipywidgets.Image`` as PNG bytes; this is several times faster than a
matplotlib figure and keeps each update well under 100 ms.  Typical use::

    rgb = to_rgb(values, cmap="RdBu_r", vmin=-1, vmax=1)      # HxW -> HxWx3 uint8
    big = upscale(rgb, cell)                                  # each value becomes a cell x cell block
    draw_grid(big, cell)                                      # thin lines between cells
    draw_rect(big, cell, top=1, left=2, height=3, width=3)    # outline a window (in cell units)
    png = png_bytes(big)                                      # -> ipywidgets.Image(value=png)

Coordinates given to the drawing helpers are in *cells* (array indices), not pixels.
"""
from __future__ import annotations

import html
import io
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

Color = tuple[int, int, int]

HIGHLIGHT: Color = (255, 140, 0)   # orange: the current window / cell
WINNER: Color = (220, 20, 60)      # crimson: max-pool winners
GRID: Color = (150, 150, 150)      # thin grid lines
EMPTY: Color = (235, 235, 235)     # cells without a value yet (NaN)
PADDING: Color = (200, 225, 255)   # tint for zero-padding cells

__all__ = [
    "Color", "EMPTY", "GRID", "HIGHLIGHT", "PADDING", "WINNER",
    "array_to_png", "cell_size_for", "colormap_lut", "draw_grid", "draw_rect", "html_matrix",
    "mark_cells", "outline_cells", "png_bytes", "symmetric_limits", "tint_cells", "to_rgb", "upscale",
]


@lru_cache(maxsize=32)
def colormap_lut(name: str = "gray") -> np.ndarray:
    """A (256, 3) uint8 lookup table for a matplotlib colour map name (cached)."""
    import matplotlib

    try:
        cmap = matplotlib.colormaps[name]
    except KeyError:
        raise ValueError(f"unknown colour map {name!r}; use a matplotlib name such as 'gray', 'viridis' or 'RdBu_r'") from None
    lut = (cmap(np.linspace(0.0, 1.0, 256))[:, :3] * 255.0 + 0.5).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def symmetric_limits(values: np.ndarray, floor: float = 1e-12) -> tuple[float, float]:
    """Limits (-m, m) with m the largest absolute finite value: zero maps to the middle of a diverging map."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    m = float(np.abs(finite).max()) if finite.size else 1.0
    m = max(m, floor)
    return -m, m


def to_rgb(values: np.ndarray, cmap: str = "gray", vmin: float | None = None, vmax: float | None = None,
           nan_color: Color = EMPTY) -> np.ndarray:
    """Map values to an HxWx3 uint8 image.

    A 2-D array goes through the colour map ``cmap`` with limits ``vmin``/``vmax``
    (default: its finite min/max); NaN cells get ``nan_color``.  An HxWx3 array
    is taken as an RGB image with values in [vmin, vmax] (default [0, 1]).
    """
    a = np.asarray(values, dtype=np.float64)
    if a.ndim == 3 and a.shape[-1] == 3:
        lo = 0.0 if vmin is None else vmin
        hi = 1.0 if vmax is None else vmax
        scaled = (np.nan_to_num(a, nan=lo) - lo) / max(hi - lo, 1e-12)
        rgb = (np.clip(scaled, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        rgb[np.isnan(a).any(axis=-1)] = nan_color
        return rgb
    if a.ndim != 2:
        raise ValueError(f"to_rgb expects an HxW array or an HxWx3 RGB image, got shape {a.shape}")
    nan = np.isnan(a)
    finite = a[~nan]
    if vmin is None:
        vmin = float(finite.min()) if finite.size else 0.0
    if vmax is None:
        vmax = float(finite.max()) if finite.size else 1.0
    span = vmax - vmin
    if span <= 0:
        idx = np.full(a.shape, 128, dtype=np.intp)
    else:
        idx = ((np.nan_to_num(a, nan=vmin) - vmin) * (255.0 / span) + 0.5)
        idx = np.clip(idx, 0, 255).astype(np.intp)
    rgb = colormap_lut(cmap)[idx]
    if nan.any():
        rgb[nan] = nan_color
    return rgb


def upscale(rgb: np.ndarray, cell: int) -> np.ndarray:
    """Blow every pixel up into a ``cell`` x ``cell`` block (nearest neighbour, crisp edges)."""
    if cell < 1:
        raise ValueError(f"cell size must be at least 1 pixel, got {cell}")
    if cell == 1:
        return np.ascontiguousarray(rgb)
    return np.repeat(np.repeat(rgb, cell, axis=0), cell, axis=1)


def cell_size_for(shape: Sequence[int], target: int = 300, min_cell: int = 2, max_cell: int = 48) -> int:
    """A cell size in pixels so that an array of ``shape`` (rows, cols) spans about ``target`` pixels."""
    longest = max(int(shape[0]), int(shape[1]), 1)
    return int(np.clip(target // longest, min_cell, max_cell))


def draw_grid(img: np.ndarray, cell: int, color: Color = GRID) -> np.ndarray:
    """Draw 1-pixel lines between cells, in place (skipped when cells are smaller than 6 px)."""
    if cell >= 6:
        img[::cell, :] = color
        img[:, ::cell] = color
        img[-1, :] = color
        img[:, -1] = color
    return img


def draw_rect(img: np.ndarray, cell: int, top: int, left: int, height: int = 1, width: int = 1,
              color: Color = HIGHLIGHT, thickness: int | None = None) -> np.ndarray:
    """Outline the block of cells [top, top+height) x [left, left+width), in place; clipped to the image."""
    t = thickness if thickness is not None else max(1, min(3, cell // 4))
    h_px, w_px = img.shape[:2]
    y0, x0 = max(top * cell, 0), max(left * cell, 0)
    y1, x1 = min((top + height) * cell, h_px), min((left + width) * cell, w_px)
    if y0 >= y1 or x0 >= x1:
        return img
    img[y0:min(y0 + t, y1), x0:x1] = color
    img[max(y1 - t, y0):y1, x0:x1] = color
    img[y0:y1, x0:min(x0 + t, x1)] = color
    img[y0:y1, max(x1 - t, x0):x1] = color
    return img


def tint_cells(img: np.ndarray, cell: int, mask: np.ndarray, color: Color = HIGHLIGHT, alpha: float = 0.45) -> np.ndarray:
    """Blend ``color`` into every cell where the boolean ``mask`` (rows x cols) is True, in place."""
    if not np.any(mask):
        return img
    big = upscale(np.asarray(mask, dtype=bool)[..., None], cell)[..., 0]
    big = big[: img.shape[0], : img.shape[1]]
    blended = img[big].astype(np.float32) * (1.0 - alpha) + np.asarray(color, np.float32) * alpha
    img[big] = (blended + 0.5).astype(np.uint8)
    return img


def mark_cells(img: np.ndarray, cell: int, positions: Iterable[tuple[int, int]], color: Color = WINNER,
               fraction: float = 0.4) -> np.ndarray:
    """Put a filled square (``fraction`` of the cell) in the centre of each (row, col) cell, in place."""
    pos = np.asarray(list(positions), dtype=np.intp).reshape(-1, 2)
    if pos.size == 0:
        return img
    size = max(1, int(round(cell * fraction)))
    off = (cell - size) // 2
    rows, cols = img.shape[0] // cell, img.shape[1] // cell
    mask = np.zeros((rows, cols), dtype=bool)
    mask[pos[:, 0], pos[:, 1]] = True
    stamp = np.zeros((cell, cell), dtype=bool)
    stamp[off:off + size, off:off + size] = True
    big = np.kron(mask, stamp).astype(bool)
    img[: big.shape[0], : big.shape[1]][big] = color
    return img


def outline_cells(img: np.ndarray, cell: int, mask: np.ndarray, color: Color = HIGHLIGHT,
                  thickness: int = 2) -> np.ndarray:
    """Outline every cell where the boolean ``mask`` is True (vectorised; use for many cells), in place."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return img
    t = max(1, min(thickness, cell // 2))
    stamp = np.zeros((cell, cell), dtype=bool)
    stamp[:t, :] = stamp[-t:, :] = stamp[:, :t] = stamp[:, -t:] = True
    big = np.kron(mask, stamp).astype(bool)
    img[: big.shape[0], : big.shape[1]][big] = color
    return img


def png_bytes(rgb: np.ndarray, compress_level: int = 1) -> bytes:
    """Encode an HxWx3 uint8 array as PNG (fast, low compression: these images are small)."""
    from PIL import Image

    arr = np.ascontiguousarray(rgb, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"png_bytes expects an HxWx3 uint8 array, got shape {arr.shape}")
    buf = io.BytesIO()
    Image.fromarray(arr, mode="RGB").save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def array_to_png(values: np.ndarray, cmap: str = "gray", vmin: float | None = None, vmax: float | None = None,
                 cell: int | None = None, grid: bool = True, target: int = 300) -> bytes:
    """One call from an array to PNG bytes: colour map, upscale to about ``target`` px, optional grid."""
    rgb = to_rgb(values, cmap, vmin, vmax)
    cell = cell or cell_size_for(rgb.shape, target)
    big = upscale(rgb, cell)
    if grid:
        draw_grid(big, cell)
    return png_bytes(big)


def _fmt(v: float, digits: int) -> str:
    if not np.isfinite(v):
        return ""
    if float(v).is_integer() and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.{digits}f}"


def html_matrix(values: np.ndarray, title: str = "", digits: int = 2, highlight: np.ndarray | None = None,
                cmap: str | None = None, vmin: float | None = None, vmax: float | None = None) -> str:
    """A small HTML table of numbers (used for kernels, patches and products).

    ``highlight`` is an optional boolean mask of cells drawn bold with an orange
    border; ``cmap`` colours the cell backgrounds by value.
    """
    a = np.atleast_2d(np.asarray(values, dtype=np.float64))
    colours = None
    if cmap is not None:
        colours = to_rgb(a, cmap, vmin, vmax)
    rows = []
    for i in range(a.shape[0]):
        tds = []
        for j in range(a.shape[1]):
            style = "border:1px solid #bbb;padding:2px 5px;text-align:right;min-width:2.2em;font-family:monospace;"
            if colours is not None:
                r, g, b = (int(x) for x in colours[i, j])
                ink = "#000" if (0.299 * r + 0.587 * g + 0.114 * b) > 140 else "#fff"
                style += f"background:rgb({r},{g},{b});color:{ink};"
            if highlight is not None and highlight[i, j]:
                style += "outline:2px solid rgb(255,140,0);font-weight:bold;"
            tds.append(f'<td style="{style}">{html.escape(_fmt(a[i, j], digits))}</td>')
        rows.append("<tr>" + "".join(tds) + "</tr>")
    caption = f'<caption style="caption-side:top;font-weight:bold">{html.escape(title)}</caption>' if title else ""
    return f'<table style="border-collapse:collapse;display:inline-table;margin:2px 6px">{caption}{"".join(rows)}</table>'
