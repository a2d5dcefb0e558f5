"""Array helpers shared by the evaluator and the heuristics."""

from __future__ import annotations

import numpy as np


def unique_ints(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array.

    Sort-and-mask is used instead of ``np.unique``: numpy 2.4's hash-based
    ``np.unique`` takes ~40x longer on millions of distinct int64 keys
    (0.67 s against 0.015 s for 10^6 keys on the 2-core reference machine).
    """
    out = np.sort(values, kind="stable" if values.dtype.itemsize <= 2 else "quicksort")
    if out.size < 2:
        return out
    keep = np.empty(out.size, dtype=bool)
    keep[0] = True
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]
