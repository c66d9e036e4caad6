"""Tensor layouts: PyTorch (NCHW, weights OIHW) vs TensorFlow/Keras (NHWC, weights HWIO).

* Activations: PyTorch stores a batch as (N, C, H, W), TensorFlow as (N, H, W, C).
* Convolution weights: PyTorch as (out, in, kh, kw) = "OIHW", TensorFlow as
  (kh, kw, in, out) = "HWIO".

The converters only move axes (and return contiguous copies); the numbers stay
where they belong.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import check_4d


def _as_4d(arr: Any, name: str, axes: str) -> np.ndarray:
    arr = np.asarray(arr)
    check_4d(arr, name, axes)
    return arr


def nhwc_to_nchw(x: Any) -> np.ndarray:
    """(N, H, W, C) -> (N, C, H, W)."""
    return np.ascontiguousarray(_as_4d(x, "x", "(N, H, W, C)").transpose(0, 3, 1, 2))


def nchw_to_nhwc(x: Any) -> np.ndarray:
    """(N, C, H, W) -> (N, H, W, C)."""
    return np.ascontiguousarray(_as_4d(x, "x", "(N, C, H, W)").transpose(0, 2, 3, 1))


def hwio_to_oihw(w: Any) -> np.ndarray:
    """TensorFlow weights (kh, kw, in, out) -> PyTorch weights (out, in, kh, kw)."""
    return np.ascontiguousarray(_as_4d(w, "w", "(kh, kw, in, out)").transpose(3, 2, 0, 1))


def oihw_to_hwio(w: Any) -> np.ndarray:
    """PyTorch weights (out, in, kh, kw) -> TensorFlow weights (kh, kw, in, out)."""
    return np.ascontiguousarray(_as_4d(w, "w", "(out, in, kh, kw)").transpose(2, 3, 1, 0))
