"""Array helpers shared by the evaluator and the heuristics."""

from __future__ import annotations

import numpy as np


def unique_ints(values: np.ndarray, return_inverse: bool = False):
    """Sorted distinct values of an integer array (and, optionally, the inverse index).

    Sort-and-mask is used instead of ``np.unique``: numpy 2.4's hash-based
    ``np.unique`` takes ~40x longer on millions of distinct int64 keys
    (0.67 s against 0.015 s for 10^6 keys on the 2-core reference machine).
    """
    values = np.asarray(values)
    if return_inverse:
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        new = np.empty(ordered.size, dtype=bool)
        new[:1] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        inverse = np.empty(values.size, dtype=np.int64)
        inverse[order] = np.cumsum(new) - 1
        return ordered[new], inverse
    out = np.sort(values)
    if out.size < 2:
        return out
    keep = np.empty(out.size, dtype=bool)
    keep[0] = True
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]
