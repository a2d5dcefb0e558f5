"""Expanders against direct convolution, and the simulator against hand-computed counts."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.signal import correlate2d

from snnmap.instances.layers import conv2d_count, conv2d_edges, dense_edges
from snnmap.instances.network import NetworkError
from snnmap.instances.simulator import simulate


def _taps_1d(n, k, s, p):
    """Independent count: valid (output, tap) pairs along one axis, by brute force."""
    out = (n + 2 * p - k) // s + 1
    return sum(1 for o in range(out) for d in range(k) if 0 <= o * s + d - p < n)


@pytest.mark.parametrize("shape,cout,k,s,p",
                         [((1, 6, 6), 2, 3, 1, 0), ((3, 9, 7), 4, 3, 2, 1), ((2, 13, 13), 3, 5, 4, 2)])
def test_conv_edges_match_direct_convolution(shape, cout, k, s, p):
    rng = np.random.default_rng(1)
    w = rng.normal(size=(cout, shape[0], k, k))
    x = rng.normal(size=shape)
    pre, post, kidx, out = conv2d_edges(shape, cout, k, s, p)
    n_syn, out2 = conv2d_count(shape, cout, k, s, p)
    assert out == out2 and pre.size == n_syn
    assert n_syn == cout * shape[0] * _taps_1d(shape[1], k, s, p) * _taps_1d(shape[2], k, s, p)
    a = sp.csr_matrix((w.ravel()[kidx], (pre, post)), shape=(x.size, int(np.prod(out))))
    y = (x.ravel() @ a).reshape(out)
    xp = np.pad(x, ((0, 0), (p, p), (p, p)))
    ref = np.stack([sum(correlate2d(xp[c], w[o, c], mode="valid") for c in range(shape[0]))[::s, ::s]
                    for o in range(cout)])
    np.testing.assert_allclose(y, ref, atol=1e-12)
    assert np.unique(pre * 10**6 + post).size == pre.size  # no parallel synapses


def test_pool_and_dense_edges():
    pre, post, _, out = conv2d_edges((2, 4, 4), 0, 2, 2, 0, depthwise=True)
    assert out == (2, 2, 2) and pre.size == 32
    assert np.all(post // 4 == pre // 16)  # channels stay separate
    pre, post, kidx = dense_edges(3, 4)
    assert pre.size == 12 and set(zip(pre, post)) == {(i, j) for i in range(3) for j in range(4)}


def test_conv_too_large_kernel_is_refused():
    with pytest.raises(NetworkError, match="does not fit"):
        conv2d_edges((1, 3, 3), 1, 5)


def test_if_chain_counts_by_hand():
    # input -> a (w 0.5) -> b (w 1): input fires every step; a every second step; b follows a one step later.
    w = sp.csr_matrix(([0.5, 1.0], ([0, 1], [1, 2])), shape=(3, 3))
    res = simulate(w, [0], np.ones((1, 1)), 10, record_times=True)
    assert res.counts.tolist() == [[10, 4, 4]]
    a_times = res.times[res.times[:, 2] == 1, 0]
    b_times = res.times[res.times[:, 2] == 2, 0]
    np.testing.assert_array_equal(b_times, a_times + 1)


def test_rate_coding_and_leak():
    w = sp.csr_matrix((1, 1))
    assert simulate(w, [0], np.full((1, 1), 0.25), 40).counts[0, 0] == 10
    # Leak 0.5 with input 0.6 per step saturates at 1.2 > 1: fires; input 0.4 saturates at 0.8: never.
    w2 = sp.csr_matrix(([0.6, 0.4], ([0, 0], [1, 2])), shape=(3, 3))
    c = simulate(w2, [0], np.ones((1, 1)), 50, leak=np.array([1, 0.5, 0.5])).counts[0]
    assert c[1] > 0 and c[2] == 0


def test_poisson_is_seeded():
    w = sp.csr_matrix(([1.0], ([0], [1])), shape=(2, 2))
    a = simulate(w, [0], np.full((1, 1), 0.3), 200, encoding="poisson", seed=3).counts
    b = simulate(w, [0], np.full((1, 1), 0.3), 200, encoding="poisson", seed=3).counts
    c = simulate(w, [0], np.full((1, 1), 0.3), 200, encoding="poisson", seed=4).counts
    assert np.array_equal(a, b) and not np.array_equal(a, c) and 30 < a[0, 0] < 90


def test_bad_rates_refused():
    w = sp.csr_matrix((2, 2))
    with pytest.raises(NetworkError, match=r"\[0, 1\]"):
        simulate(w, [0], np.full((1, 1), 1.5), 5)
    with pytest.raises(NetworkError, match="columns"):
        simulate(w, [0], np.ones((1, 2)), 5)
