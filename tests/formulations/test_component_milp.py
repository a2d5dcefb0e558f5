"""component-milp: the compact MILP with the component cuts, against brute force and another exact method."""

from __future__ import annotations

import math

import numpy as np
import pytest

from snnmap.formulations import Status, component_milp, evaluate
from snnmap.hardware import Limits
from snnmap.instances import SpikingNetwork
from snnmap.instances.synthetic import random_layered
from snnmap.prepare import exact_bench_hardware
from snnmap.registry import METHODS
from tests.helpers import brute_force, random_dense_network, toy_hardware


@pytest.mark.parametrize("seed", range(12))
def test_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    net = random_dense_network(rng, int(rng.integers(3, 7)), density=0.35)
    hw = toy_hardware(limits=Limits(n_max=int(rng.integers(2, 4))), mesh=((1, 3), (2, 2))[seed % 2])
    _, energies = brute_force(net, hw, "multicast")
    best = float(energies.min())
    res = METHODS["component-milp"](net, hw, comm="multicast", time_limit=60)
    if not math.isfinite(best):
        assert res.status == Status.INFEASIBLE
        return
    assert res.status == Status.OPTIMAL, res.message
    assert res.energy == pytest.approx(best, rel=1e-9) and evaluate(net, hw, res.mapping, "multicast").feasible
    assert res.lower_bound <= best * (1 + 1e-9) and res.stats["component_bound"] <= best * (1 + 1e-9)


def test_unicast_without_splits_is_the_compact_milp_and_says_so() -> None:
    net = random_layered(12, 3)
    hw = exact_bench_hardware(12, 4)
    res = component_milp.solve(net, hw, comm="unicast", time_limit=60, splits=False)
    ref = METHODS["milp"](net, hw, comm="unicast", time_limit=60)
    assert res.status == ref.status == Status.OPTIMAL
    assert res.energy == pytest.approx(ref.energy, rel=1e-9) and "no split rows" in res.message


@pytest.mark.parametrize("seed", range(8))
def test_unicast_split_rows_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    net = random_dense_network(rng, int(rng.integers(5, 8)), density=0.4)
    hw = toy_hardware(limits=Limits(n_max=2), mesh=((1, 4), (2, 2))[seed % 2])  # tight: the splits have rows
    maps, energies = brute_force(net, hw, "unicast")
    best = float(energies.min())
    res = METHODS["component-milp"](net, hw, comm="unicast", time_limit=60)
    if not math.isfinite(best):
        assert res.status == Status.INFEASIBLE
        return
    assert res.status == Status.OPTIMAL, res.message
    assert res.energy == pytest.approx(best, rel=1e-9) and evaluate(net, hw, res.mapping, "unicast").feasible
    assert res.lower_bound <= best * (1 + 1e-9)
    # Every split's bound is at most the spikes crossing it at every feasible mapping (the rows cut no mapping off).
    sb = component_milp.split_bound(net, hw)
    assert sb.subsets and sb.proven and res.stats["split_rows"] == len(sb.subsets)
    feasible = maps[np.isfinite(energies)]
    s = np.asarray(net.spikes, float)[net.pre]
    for subset, spikes in zip(sb.subsets, sb.spikes):
        side = np.isin(feasible, subset)
        crossing = ((side[:, net.pre] != side[:, net.post]) * s).sum(axis=1)
        assert spikes <= crossing.min() + 1e-9


def test_split_bound_is_tight_on_a_two_cluster_network() -> None:
    # Two 4-cliques joined by one synapse of 5 spikes, 2 cores of 4: the least bisection cuts exactly that synapse.
    pre, post = [], []
    for base in (0, 4):
        for a in range(4):
            for b in range(4):
                if a != b:
                    pre.append(base + a)
                    post.append(base + b)
    pre.append(0)
    post.append(4)
    spikes = np.full(8, 7.0)
    spikes[0] = 5.0
    net = SpikingNetwork.from_edges(8, np.array(pre), np.array(post), spikes, t_run=1e-3)
    hw = toy_hardware(limits=Limits(n_max=4), mesh=(1, 2))
    sb = component_milp.split_bound(net, hw)
    assert sb.subsets == [(0,)] and sb.proven
    # Synapse 0 -> 4 and the clique synapses of neuron 0: the cut keeps the cliques whole, 5 spikes cross.
    assert sb.spikes == [pytest.approx(5.0)]


def test_bound_on_a_time_limit_is_the_component_bound_at_least() -> None:
    net, hw = random_layered(64, 64), exact_bench_hardware(64, 16)
    res = METHODS["component-milp"](net, hw, comm="multicast", time_limit=6, start="greedy")
    assert res.status == Status.TIME_LIMIT
    assert res.stats["component_bound"] <= res.lower_bound <= res.energy


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unicast_layered_proof_agrees_with_partition_bnb(seed: int) -> None:
    net, hw = random_layered(16, seed + 16), exact_bench_hardware(16, 4)
    ours = METHODS["component-milp"](net, hw, comm="unicast", time_limit=300, start="partition-refine")
    assert ours.status == Status.OPTIMAL, ours.message
    assert ours.stats["split_rows"] > 0
    ref = METHODS["partition-bnb"](net, hw, comm="unicast", time_limit=300)
    assert ref.energy >= ours.energy * (1 - 1e-9)  # nothing beats a proven optimum
    if ref.status == Status.OPTIMAL:
        assert ref.energy == pytest.approx(ours.energy, rel=1e-8)
