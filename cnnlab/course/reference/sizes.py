"""Reference (instructor only): assignment 1's output size and "same" padding, by counting.

Written independently of ``cnnlab.ops.padding`` (which students have): the sizes come from
sliding a window along a row of pixels and counting where it fits, not from the formulas.
"""
from __future__ import annotations


def _fits(width: int, f: int, s: int) -> int:
    """Number of start pixels 0, s, 2s, ... at which a window of ``f`` pixels fits in ``width``."""
    count, start = 0, 0
    while start + f <= width:
        count += 1
        start += s
    return count


def count_window_positions(n: int, f: int, p: int = 0, s: int = 1) -> int:
    """How many places a window of ``f`` pixels fits in ``n`` pixels padded by ``p`` per side, stepping ``s``."""
    if min(n, f, s) < 1 or p < 0:
        raise ValueError(f"need n, f, s >= 1 and p >= 0, got n={n}, f={f}, p={p}, s={s}")
    return _fits(n + 2 * p, f, s)


def same_padding_by_search(n: int, f: int, s: int = 1) -> tuple[int, int]:
    """(before, after): the least total padding giving one output per stride step; the odd pixel goes after."""
    if min(n, f, s) < 1:
        raise ValueError(f"need n, f, s >= 1, got n={n}, f={f}, s={s}")
    wanted = len(range(0, n, s))  # one output per start pixel 0, s, 2s, ... of the input
    total = 0
    while _fits(n + total, f, s) < wanted:
        total += 1
    return total // 2, total - total // 2
