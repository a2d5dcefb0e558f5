"""The sort-based unique that replaces np.unique on hot paths."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from snnmap.formulations.arrays import unique_ints


@given(st.lists(st.integers(-50, 50), max_size=200))
def test_matches_numpy_unique(values):
    a = np.asarray(values, dtype=np.int64)
    u, inv = unique_ints(a, return_inverse=True)
    expect_u, expect_inv = np.unique(a, return_inverse=True)
    assert np.array_equal(u, expect_u) and np.array_equal(inv, expect_inv.ravel())
    assert np.array_equal(unique_ints(a), expect_u)
