"""Fan-in unrolling: hand-checked trees, invariants on random networks, and crossbar feasibility."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from snnmap.hardware import load_hardware
from snnmap.heuristics.partition import fill_order
from snnmap.instances import NetworkError, SpikingNetwork, unroll_fanin


def test_single_neuron_tree_by_hand():
    # Neuron 5 reads 0..4; F=2: level 1 chunks {0,1}->6, {2,3}->7, {4}->8; 5 then
    # has 3 inputs, so level 2 chunks {6,7}->9, {8}->10, and 9, 10 feed 5.
    net = SpikingNetwork.from_edges(
        6, [0, 1, 2, 3, 4], [5] * 5, [1, 2, 3, 4, 0, 10], weights=[0.1, 0.2, 0.3, 0.4, 0.5],
        populations=["in"] * 5 + ["out"], name="toy", provenance={"builder": "test"},
    )
    u = unroll_fanin(net, 2)
    assert u.num_neurons == 11
    assert u.pre.tolist() == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert u.post.tolist() == [6, 6, 7, 7, 8, 9, 9, 10, 5, 5]
    assert u.weights.tolist() == [0.1, 0.2, 0.3, 0.4, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0]
    # Level 1 splits s_5 = 10 by input spikes 3 : 7 : 0; level 2 by 10 : 0.
    assert np.allclose(u.spikes, [1, 2, 3, 4, 0, 10, 3, 7, 0, 10, 0])
    assert u.population_labels.tolist() == ["in"] * 5 + ["out"] + ["out/partial"] * 5
    assert u.name == "toy+unroll2"
    assert u.provenance == {"builder": "test", "unroll": {"max_fanin": 2, "added_neurons": 5, "unrolled_neurons": 1}}


def test_new_neurons_ordered_by_level_chunk_target():
    # Targets 5 and 6 both read 0..4 (a dense layer); F=2.
    pre = np.tile(np.arange(5), 2)
    post = np.repeat([5, 6], 5)
    net = SpikingNetwork.from_edges(7, pre, post, [1, 1, 1, 1, 1, 4, 6], pins=[0, -1, -1, -1, -1, 1, -1])
    u = unroll_fanin(net, 2)
    # Level 1: chunk 0 -> 7 (of 5), 8 (of 6); chunk 1 -> 9, 10; chunk 2 -> 11, 12.
    # Level 2: chunk 0 -> 13 (of 5), 14 (of 6); chunk 1 -> 15, 16.
    edges = set(zip(u.pre.tolist(), u.post.tolist()))
    expected = {(0, 7), (1, 7), (2, 9), (3, 9), (4, 11), (0, 8), (1, 8), (2, 10), (3, 10), (4, 12),
                (7, 13), (9, 13), (11, 15), (8, 14), (10, 14), (12, 16),
                (13, 5), (15, 5), (14, 6), (16, 6)}
    assert edges == expected and u.num_synapses == len(expected)
    assert np.allclose(u.spikes[7:13], [1.6, 2.4, 1.6, 2.4, 0.8, 1.2])
    assert np.allclose(u.spikes[13:], [3.2, 4.8, 0.8, 1.2])
    assert u.pins.tolist() == [0, -1, -1, -1, -1, 1, -1] + [-1] * 10
    assert u.population_names == ("all", "all/partial")


def test_silent_inputs_split_spikes_evenly():
    net = SpikingNetwork.from_edges(4, [0, 1, 2], [3, 3, 3], [0, 0, 0, 6])
    u = unroll_fanin(net, 2)
    assert np.allclose(u.spikes[4:], [3, 3]) and u.weights is None and u.pins is None


def test_no_unrolling_returns_same_object():
    net = SpikingNetwork.from_edges(4, [0, 1, 2], [3, 3, 3], [1, 1, 1, 1])
    assert unroll_fanin(net, 3) is net


@pytest.mark.parametrize("bad", [1, 0, -5, 2.5, "128", True])
def test_bad_max_fanin(bad):
    net = SpikingNetwork.from_edges(4, [0, 1, 2], [3, 3, 3], [1, 1, 1, 1])
    with pytest.raises(NetworkError, match="max_fanin"):
        unroll_fanin(net, bad)


@st.composite
def networks(draw):
    n = draw(st.integers(2, 25))
    pairs = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=120))
    pre, post = (np.array(x, dtype=np.int64) for x in zip(*pairs)) if pairs else (np.zeros(0, np.int64),) * 2
    spikes = draw(st.lists(st.one_of(st.just(0.0), st.floats(0, 100)), min_size=n, max_size=n))
    weights = np.arange(1, len(pairs) + 1, dtype=np.float64)  # distinct, to follow each synapse
    return SpikingNetwork.from_edges(n, pre, post, spikes, weights=weights)


@given(net=networks(), F=st.integers(2, 5))
def test_unrolling_invariants(net, F):
    u = unroll_fanin(net, F)
    n = net.num_neurons
    assert u.in_degree.max(initial=0) <= F
    added = u.num_neurons - n
    assert added == (u.provenance["unroll"]["added_neurons"] if u is not net else 0)
    assert np.array_equal(u.spikes[:n], net.spikes)
    assert np.all(np.isfinite(u.spikes)) and np.all(u.spikes >= 0)
    # The CSR is built directly; it must equal the canonical one from_edges sorts into.
    canon = SpikingNetwork.from_edges(u.num_neurons, u.pre, u.post, u.spikes, weights=u.weights)
    assert canon.fingerprint == u.fingerprint and np.array_equal(canon.weights, u.weights)

    # Every partial has exactly one successor; follow chains to the original target.
    part = u.pre >= n
    assert np.array_equal(np.bincount(u.pre[part], minlength=u.num_neurons)[n:], np.ones(added))
    succ = np.arange(u.num_neurons)
    succ[u.pre[part]] = u.post[part]
    dest, depth = np.arange(u.num_neurons), np.zeros(u.num_neurons, dtype=np.int64)
    while np.any(dest >= n):
        deeper = dest >= n
        depth += deeper
        dest = succ[dest]
    assert np.all(u.weights[part] == 1.0)

    # Original synapses survive as paths i -> partial -> ... -> j, weight on the first edge.
    orig = ~part
    got = sorted(zip(u.pre[orig].tolist(), dest[u.post[orig]].tolist(), u.weights[orig].tolist()))
    want = sorted(zip(net.pre.tolist(), net.post.tolist(), net.weights.tolist()))
    assert got == want

    # Untouched neurons keep their incoming synapses exactly.
    unrolled = net.in_degree > F
    keep_old = ~unrolled[net.post]
    keep_new = (u.post < n) & ~unrolled[np.minimum(u.post, n - 1)]
    assert np.array_equal(net.pre[keep_old], u.pre[keep_new]) and np.array_equal(net.post[keep_old], u.post[keep_new])
    assert np.array_equal(net.weights[keep_old], u.weights[keep_new])

    # At every tree level the partials of target j emit s_j spikes in total.
    targets = np.flatnonzero(unrolled)
    assert set(dest[n:].tolist()) == set(targets.tolist())
    for j in targets:
        mine = np.flatnonzero(dest[n:] == j) + n
        for level in np.unique(depth[mine]):
            assert np.isclose(u.spikes[mine[depth[mine] == level]].sum(), net.spikes[j])
    if targets.size:
        assert all(name.endswith("/partial") for name in u.population_labels[n:])


def test_dense_layer_fits_crossbar128_only_after_unrolling():
    n_in, n_out = 300, 50
    pre = np.tile(np.arange(n_in), n_out)
    post = np.repeat(np.arange(n_in, n_in + n_out), n_in)
    spikes = np.random.default_rng(0).poisson(5.0, n_in + n_out)
    net = SpikingNetwork.from_edges(n_in + n_out, pre, post, spikes)
    hw = load_hardware("crossbar128", cores=64)
    _, _, problem = fill_order(net, hw)
    assert "a_max=128" in problem
    u = unroll_fanin(net, 128)
    assert u.num_neurons == n_in + n_out + 3 * n_out  # chunks of 128, 128 and 44 inputs
    _, cores, problem = fill_order(u, hw)
    assert problem == "" and cores <= hw.num_cores
