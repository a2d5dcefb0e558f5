"""Lower bounds: hand-checked values, and never above the brute-force optimum."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from formulations.bounds import (
    combinatorial_lower_bound, communication_lower_bound, min_cores, min_destinations,
)
from formulations.energy import fixed_energy
from hardware import EnergyCosts, Hardware, Limits
from instances import SpikingNetwork
from tests.formulations.test_exact import brute_force, instances


def _line(cores: int = 4, **limits) -> Hardware:
    limits.setdefault("n_max", 2)
    return Hardware(name="line", limits=Limits(**limits), mesh=(1, cores),
                    energy=EnergyCosts(e_spike=1.0, e_syn=1.0, e_local=0.5, e_route=2.0, e_hop=1.0, p_static=10.0))


def _star(targets: int = 5, spikes: float = 3.0) -> SpikingNetwork:
    return SpikingNetwork.from_edges(targets + 1, [0] * targets, list(range(1, targets + 1)),
                                     [spikes] + [0.0] * targets)


def test_star_needs_several_destination_cores() -> None:
    net, hw = _star(), _line()
    assert min_destinations(net, hw).tolist() == [3, 0, 0, 0, 0, 0]
    # multicast from the middle core 1: own core (0.5) + cores 0 and 2 (2 + 1 hop each).
    assert communication_lower_bound(net, hw, "multicast") == pytest.approx(3.0 * 6.5)
    # unicast: one target beside the hub (0.5), two on each neighbour core (3 each).
    assert communication_lower_bound(net, hw, "unicast") == pytest.approx(3.0 * (0.5 + 4 * 3.0))
    # 6 neurons, 2 per core: 3 cores of static energy.
    assert min_cores(net, hw) == 3
    expected = fixed_energy(net, hw) + 3 * 10.0 + 3.0 * 6.5
    assert combinatorial_lower_bound(net, hw, "multicast") == pytest.approx(expected)


def test_synapse_limit_spreads_targets() -> None:
    # Targets 1..4 each have 3 inputs (12 synapses); syn_max=6 keeps at most two per core.
    pre = [0, 0, 0, 0, 5, 5, 5, 5, 6, 6, 6, 6]
    post = [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]
    net = SpikingNetwork.from_edges(7, pre, post, [1.0] * 7)
    hw = _line(n_max=7, syn_max=6)
    assert min_destinations(net, hw)[0] == 2
    assert min_cores(net, hw) == 2


def test_self_loop_forces_a_local_delivery() -> None:
    net = SpikingNetwork.from_edges(2, [0, 0], [0, 1], [2.0, 0.0])
    hw = _line(n_max=2).replace(e_local=5.0)  # local dearer than remote: the loop still pays it
    assert communication_lower_bound(net, hw, "multicast") == pytest.approx(2.0 * 5.0)


def test_no_power_gating_charges_every_core() -> None:
    net, hw = _star(), _line().replace(power_gating=False)
    assert combinatorial_lower_bound(net, hw) == pytest.approx(
        fixed_energy(net, hw) + 4 * 10.0 + communication_lower_bound(net, hw))


@settings(derandomize=True, max_examples=60, deadline=None)
@given(instances())
def test_bounds_never_exceed_the_optimum(case) -> None:
    net, hw, comm = case
    maps, energies = brute_force(net, hw, comm)
    best = float(energies.min())
    if not math.isfinite(best):
        return
    assert combinatorial_lower_bound(net, hw, comm) <= best + 1e-9 * abs(best)
    feasible = maps[np.isfinite(energies)]
    used = np.array([np.unique(m).size for m in feasible])
    assert min_cores(net, hw) <= used.min()
    dests = min_destinations(net, hw)
    for m in feasible[:: max(1, len(feasible) // 200)]:
        have = np.zeros(net.num_neurons, dtype=np.int64)
        for i in range(net.num_neurons):
            have[i] = np.unique(m[net.indices[net.indptr[i]:net.indptr[i + 1]]]).size
        assert np.all(dests <= have)


def test_bound_on_a_large_chip_needs_no_cost_table():
    """Tens of thousands of cores: the bound prices remote packets at the cheapest
    remote price instead of building a K x K table (gigabytes), and stays valid."""
    from formulations.bounds import combinatorial_lower_bound
    from formulations.energy import evaluate
    from hardware import load_hardware
    from heuristics.sequential import solve as sequential
    from tests.conftest import random_network

    net = random_network(3000, 20000, seed=11)
    hw = load_hardware("crossbar128", mesh=(50, 50), n_max=4)
    bound = combinatorial_lower_bound(net, hw)
    assert "cost_matrix" not in vars(hw)  # the K x K table was never built
    res = sequential(net, hw)
    assert res.report.feasible and bound <= evaluate(net, hw, res.mapping).total
