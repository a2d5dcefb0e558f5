"""component-milp: the compact MILP with the component cuts, against brute force and another exact method."""

from __future__ import annotations

import math

import numpy as np
import pytest

from snnmap.formulations import Status, evaluate
from snnmap.hardware import Limits
from snnmap.instances.synthetic import random_layered
from snnmap.prepare import exact_bench_hardware
from snnmap.registry import METHODS
from tests.helpers import brute_force, random_dense_network, toy_hardware

FRESH_SEED = int(np.random.SeedSequence().entropy % 10**6)  # drawn per run; pytest shows it in the test id


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


def test_unicast_is_the_compact_milp_and_says_so() -> None:
    net = random_layered(12, 3)
    hw = exact_bench_hardware(12, 4)
    res = METHODS["component-milp"](net, hw, comm="unicast", time_limit=60)
    ref = METHODS["milp"](net, hw, comm="unicast", time_limit=60)
    assert res.status == ref.status == Status.OPTIMAL
    assert res.energy == pytest.approx(ref.energy, rel=1e-9) and "no component cuts" in res.message


def test_bound_on_a_time_limit_is_the_component_bound_at_least() -> None:
    net, hw = random_layered(64, 64), exact_bench_hardware(64, 16)
    res = METHODS["component-milp"](net, hw, comm="multicast", time_limit=6, start="greedy")
    assert res.status == Status.TIME_LIMIT
    assert res.stats["component_bound"] <= res.lower_bound <= res.energy


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, FRESH_SEED])
@pytest.mark.parametrize("n, k", [(16, 4), (24, 4)])
def test_layered_agrees_with_cpsat_and_partition_bnb(n: int, k: int, seed: int) -> None:
    net, hw = random_layered(n, seed + n), exact_bench_hardware(n, k)
    ours = METHODS["component-milp"](net, hw, comm="multicast", time_limit=300, start="partition-refine")
    assert ours.status == Status.OPTIMAL, ours.message
    for other in ("cpsat", "partition-bnb"):
        res = METHODS[other](net, hw, comm="multicast", time_limit=120)
        assert res.energy >= ours.energy * (1 - 1e-9)  # nothing beats a proven optimum
        if res.status == Status.OPTIMAL:
            assert res.energy == pytest.approx(ours.energy, rel=1e-8)
