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
