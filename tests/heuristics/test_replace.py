"""Settling a finished mapping: partial sums' targets regrouped, cores re-placed (heuristics.regroup, .replace)."""

import numpy as np

from snnmap.formulations.energy import evaluate
from snnmap.hardware import load_hardware
from snnmap.heuristics.regroup import hilbert_key, regroup_targets, sum_targets
from snnmap.heuristics.replace import replace_cores, settle_cores
from snnmap.instances import SpikingNetwork

PARTIAL_CORES = np.array([0, 7, 18, 29, 36, 47, 56, 63])  # spread over the 8 x 8 mesh


def partial_sums_case():
    """8 cores of 8 partial sums (2 per target, 4 targets per core) and 8 cores of 4 targets (the axon limit:
    2 x 4 = 8), each target core holding one target of 4 different partial cores, far apart."""
    targets = 32
    partial = np.arange(2 * targets) + targets  # partials of target t: 32 + 2t, 33 + 2t
    net = SpikingNetwork.from_edges(3 * targets, partial, np.repeat(np.arange(targets), 2),
                                    np.r_[np.full(targets, 1.0), np.full(2 * targets, 10.0)],
                                    populations=np.r_[np.zeros(targets, int), np.ones(2 * targets, int)],
                                    population_names=["conv", "conv/partial"])
    hw = load_hardware("crossbar128", mesh=(8, 8), n_max=8, a_max=8)
    core_of = np.empty(net.num_neurons, dtype=np.int64)
    core_of[partial] = PARTIAL_CORES[np.repeat(np.arange(targets) // 4, 2)]
    # Target t (of partial core t // 4) goes to target core (t % 4) * 2 + (t // 16): four partial cores each.
    target_cores = np.array([2, 4, 9, 14, 21, 26, 42, 60])
    core_of[:targets] = target_cores[(np.arange(targets) % 4) * 2 + np.arange(targets) // 16]
    return net, hw, core_of


def partial_hops(net, hw, core_of):
    """Hops per packet from the partial sums to their targets."""
    keep = net.population[net.pre] == 1
    return float(np.mean(hw.hops(core_of[net.pre[keep]], core_of[net.post[keep]])))


def test_sum_targets_are_the_neurons_fed_only_by_single_target_neurons():
    # 0 -> 2, 1 -> 2 (0 and 1 feed only 2); 3 -> 4, 3 -> 5 (3 feeds two); 6 has no input.
    net = SpikingNetwork.from_edges(7, [0, 1, 3, 3], [2, 2, 4, 5], np.ones(7))
    np.testing.assert_array_equal(sum_targets(net), [False, False, True, False, False, False, False])


def test_hilbert_key_walks_the_grid_in_unit_steps():
    r, c = np.divmod(np.arange(256), 16)
    key = hilbert_key(r, c, 4)
    assert np.array_equal(np.sort(key), np.arange(256))
    order = np.argsort(key)
    assert np.all(np.abs(np.diff(r[order])) + np.abs(np.diff(c[order])) == 1)


def test_settle_brings_targets_beside_their_partials_and_keeps_every_limit():
    net, hw, core_of = partial_sums_case()
    before = evaluate(net, hw, core_of, link_loads=False)
    assert before.feasible and partial_hops(net, hw, core_of) > 4.0
    settled = settle_cores(net, hw, core_of, seed=0)
    after = evaluate(net, hw, settled, link_loads=False)
    assert after.feasible
    # Each target core now holds the 4 targets of one partial core, on a core next to it: 1 hop is the floor.
    assert partial_hops(net, hw, settled) <= 1.5
    assert after.total < before.total
    assert np.unique(settled).size == np.unique(core_of).size  # as many cores: the same static energy
    np.testing.assert_array_equal(settled, settle_cores(net, hw, core_of, seed=0))  # deterministic


def test_regroup_alone_puts_the_targets_of_one_partial_core_together():
    net, hw, core_of = partial_sums_case()
    grouped = regroup_targets(net, hw, core_of)
    np.testing.assert_array_equal(grouped[32:], core_of[32:])  # the partials stay
    # Targets 4j..4j+3 share partial core j: after regrouping they share one target core.
    assert all(np.unique(grouped[4 * j:4 * j + 4]).size == 1 for j in range(8))
    assert evaluate(net, hw, grouped, link_loads=False).feasible


def test_replace_cores_keeps_core_contents_and_never_raises_the_energy():
    rng = np.random.default_rng(3)
    n = 120
    key = np.unique(rng.integers(0, n * n, 600))
    pre, post = np.divmod(key, n)
    keep = pre != post
    net = SpikingNetwork.from_edges(n, pre[keep], post[keep], rng.random(n) * 5)
    hw = load_hardware("crossbar128", mesh=(6, 6), n_max=8)
    core_of = rng.permutation(np.repeat(rng.choice(36, 15, replace=False), 8))
    moved = replace_cores(net, hw, core_of, seed=1)
    # The same groups of neurons, on other cores.
    same = {tuple(np.flatnonzero(core_of == c)) for c in np.unique(core_of)}
    assert same == {tuple(np.flatnonzero(moved == c)) for c in np.unique(moved)}
    e0 = evaluate(net, hw, core_of, link_loads=False).total
    e1 = evaluate(net, hw, moved, link_loads=False).total
    assert e1 <= e0 * (1 + 1e-12)
    assert e1 < e0  # a random placement of 15 cores on 36 is not a local optimum


def test_replace_cores_straightens_a_scattered_chain():
    # Cores 0..9 of a chain (each core's neurons feed the next core's) scattered over a 10 x 10 mesh.
    n = 10
    net = SpikingNetwork.from_edges(n, np.arange(n - 1), np.arange(1, n), np.ones(n))
    hw = load_hardware("crossbar128", mesh=(10, 10), n_max=1)
    core_of = np.random.default_rng(0).choice(100, n, replace=False)
    moved = replace_cores(net, hw, core_of, seed=0)
    hops = hw.hops(moved[:-1], moved[1:])
    assert hops.mean() <= 1.5 < hw.hops(core_of[:-1], core_of[1:]).mean()


def test_replace_cores_leaves_pinned_and_non_mesh_mappings_alone():
    net, hw, core_of = partial_sums_case()
    pinned = net.replace(pins=np.where(np.arange(net.num_neurons) == 0, core_of[0], -1))
    np.testing.assert_array_equal(replace_cores(pinned, hw, core_of), core_of)
    torus = load_hardware("crossbar128", mesh=(8, 8), n_max=8, a_max=8, topology="torus")
    np.testing.assert_array_equal(replace_cores(net, torus, core_of), core_of)
