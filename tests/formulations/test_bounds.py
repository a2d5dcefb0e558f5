"""Lower bounds: hand-checked values, and never above the brute-force optimum."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from snnmap.formulations.bounds import (
    combinatorial_lower_bound,
    communication_lower_bound,
    min_cores,
    min_destinations,
)
from snnmap.formulations.energy import evaluate, fixed_energy
from snnmap.hardware import EnergyCosts, Hardware, Limits
from snnmap.instances import SpikingNetwork
from tests.helpers import brute_force, instances, random_network


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


def test_access_energy_is_in_the_bound_as_in_every_mapping() -> None:
    net, hw = _star().replace(time_steps=9), _line()
    with_access = hw.replace(e_access=0.25)
    shift = net.num_neurons * 9 * 0.25
    assert combinatorial_lower_bound(net, with_access) == pytest.approx(combinatorial_lower_bound(net, hw) + shift)
    core = np.array([1, 0, 1, 2, 2, 0])
    assert evaluate(net, with_access, core).total == pytest.approx(evaluate(net, hw, core).total + shift)


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
    """Tens of thousands of cores: the bound prices packets from a central core
    instead of building a K x K table (gigabytes), and stays valid."""
    from snnmap.formulations.bounds import combinatorial_lower_bound
    from snnmap.formulations.energy import evaluate
    from snnmap.hardware import load_hardware
    from snnmap.heuristics.sequential import solve as sequential

    net = random_network(3000, 20000, seed=11)
    hw = load_hardware("crossbar128", mesh=(50, 50), n_max=4)
    bound = combinatorial_lower_bound(net, hw)
    assert "cost_matrix" not in vars(hw)  # the K x K table was never built
    res = sequential(net, hw)
    assert res.report.feasible and bound <= evaluate(net, hw, res.mapping).total


@pytest.mark.parametrize("preset, mesh, topology", [("crossbar128", (7, 10), "mesh"), ("crossbar128", (6, 5), "torus"),
                                                   ("loihi", (3, 4), "mesh")])
@pytest.mark.parametrize("comm", ["multicast", "unicast"])
def test_central_core_prices_give_the_full_table_bound(preset, mesh, topology, comm, monkeypatch):
    """The one-row prices used above BOUND_TABLE_CORES: the central core's sorted
    prices are element-wise below every core's, so its bound equals the minimum
    over every sender core of the full table."""
    import snnmap.formulations.bounds as bounds
    from snnmap.hardware import load_hardware

    hw = load_hardware(preset, mesh=mesh, topology=topology, n_max=3)
    cost = np.asarray(hw.cost_matrix)
    monkeypatch.setattr(bounds, "BOUND_TABLE_CORES", 0)  # force the one-row prices
    rows, own = bounds.price_rows(hw)
    central = np.sort(np.delete(rows[0], own[0]))
    for c in range(hw.num_cores):
        assert np.all(central <= np.sort(np.delete(cost[c], c)) + 1e-30)
    net = random_network(60, 400, seed=5)
    one_row = communication_lower_bound(net, hw, comm)
    monkeypatch.setattr(bounds, "BOUND_TABLE_CORES", 10**6)
    assert one_row == pytest.approx(communication_lower_bound(net, hw, comm), rel=1e-12)
