"""The exclusive-sender coupling of :mod:`snnmap.formulations.bounds_hops`: exact where hand-checked, below
brute-force optima, below feasible mappings of full instances, and its greedy fill equal to the LP optimum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from snnmap import api
from snnmap.formulations.bounds import combinatorial_lower_bound, communication_lower_bound, price_rows
from snnmap.formulations.bounds_axons import never_local
from snnmap.formulations.bounds_hops import exclusive_raise, exclusive_senders, fill_cost, input_shares
from snnmap.formulations.energy import evaluate
from snnmap.hardware import EnergyCosts, Hardware, Limits
from snnmap.instances import SpikingNetwork
from snnmap.prepare import prepared
from tests.helpers import brute_force

COSTS = EnergyCosts(e_spike=1.0, e_syn=0.5, e_local=0.2, e_route=1.5, e_hop=0.7, p_static=0.0)


def _fan_in(senders: int, spikes: list[float]) -> SpikingNetwork:
    """``senders`` neurons feeding neuron ``senders`` (the target), each with that one target."""
    return SpikingNetwork.from_edges(senders + 1, list(range(senders)), [senders] * senders, [*spikes, 0.0])


def test_three_senders_of_one_target_cannot_all_be_next_to_it() -> None:
    # One neuron per core on a line: the target's core has two neighbours, the third sender is two hops away.
    net = _fan_in(3, [3.0, 2.0, 1.0])
    hw = Hardware(name="line", limits=Limits(n_max=1), mesh=(1, 4), energy=COSTS)
    rows, own = price_rows(hw)
    per = np.where(net.out_degree > 0, COSTS.e_route + COSTS.e_hop, 0.0)
    gain, raised = exclusive_raise(net, hw, per, rows, own, never_local(net, hw))
    assert gain == pytest.approx(1.0 * COSTS.e_hop)  # the least spiking sender pays the second hop
    assert raised.tolist() == [True, True, True, False]
    _, energies = brute_force(net, hw, "multicast")
    best_comm = 6.0 * COSTS.e_route + (3.0 + 2.0 + 2 * 1.0) * COSTS.e_hop
    assert communication_lower_bound(net, hw) == pytest.approx(best_comm)
    assert combinatorial_lower_bound(net, hw) == pytest.approx(float(energies.min()))


def test_input_shares_share_each_input_among_the_senders_it_feeds() -> None:
    # Inputs 0, 1 feed sender 3; input 1 and 2 feed sender 4; 3 and 4 both feed target 5.
    net = SpikingNetwork.from_edges(6, [0, 1, 1, 2, 3, 4], [3, 3, 4, 4, 5, 5], [1.0] * 6)
    senders, targets = exclusive_senders(net)
    assert senders.tolist() == [0, 2, 3, 4] and targets.tolist() == [3, 4, 5, 5]  # inputs 0 and 2 have one target
    assert input_shares(net, senders, targets).tolist() == [0.0, 0.0, 1.5, 1.5]


@settings(derandomize=True, max_examples=40, deadline=None)
@given(st.integers(0, 10**6))
def test_greedy_fill_is_the_lp_optimum(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 6))
    weight = rng.integers(0, 4, m).astype(float)
    value = rng.choice([0.0, 1.0, 2.5, 4.0], m)
    eligible = rng.random(m) < 0.5
    own_cap, cap = float(rng.integers(0, 4)), float(rng.integers(1, 4))
    remote = np.sort(rng.choice([1.0, 2.0, 3.0, 5.0], 4))
    local = float(rng.choice([0.5, 1.0]))
    greedy = fill_cost(np.zeros(m, dtype=np.int64), weight, value, eligible, np.array([own_cap]), cap, local,
                       remote, 1)[0]
    # x[i, slot]: weight of member i on the own core (slot 0) or remote core r (slot r + 1).
    price = np.r_[local, remote]
    c = np.array([value[i] / weight[i] * price if weight[i] else 0 * price for i in range(m)]).ravel()
    slots = price.size
    a_eq = np.kron(np.eye(m), np.ones(slots))
    a_ub = np.kron(np.ones(m), np.eye(slots))
    bounds = [(0, 0 if (s == 0 and not eligible[i]) else None) for i in range(m) for s in range(slots)]
    if weight.sum() > own_cap * eligible.any() + cap * remote.size:
        return  # more weight than the slots: the fill leaves the rest unpriced, the LP is infeasible
    lp = linprog(c, A_ub=a_ub, b_ub=np.r_[own_cap, np.full(remote.size, cap)], A_eq=a_eq, b_eq=weight,
                 bounds=bounds, method="highs")
    assert lp.status == 0
    assert greedy == pytest.approx(lp.fun, abs=1e-9)


@st.composite
def partial_sums(draw: st.DrawFn) -> tuple[SpikingNetwork, Hardware, str]:
    """Inputs -> partial sums (one target each) -> one or two sums: the fan-in unrolling pattern, brute-forceable."""
    inputs, partials, sums = draw(st.integers(0, 3)), draw(st.integers(2, 4)), draw(st.integers(1, 2))
    n = inputs + partials + sums
    if n > 7:
        inputs = 7 - partials - sums
        n = 7
    pre, post = [], []
    for p in range(inputs, inputs + partials):
        for i in range(inputs):
            if draw(st.booleans()):
                pre.append(i)
                post.append(p)
        pre.append(p)
        post.append(inputs + partials + draw(st.integers(0, sums - 1)))
    spikes = draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, 4.0]), min_size=n, max_size=n))
    net = SpikingNetwork.from_edges(n, pre, post, spikes)
    a_max = draw(st.one_of(st.none(), st.integers(int(net.in_degree.max()), int(net.in_degree.max()) + 2)))
    mesh = draw(st.sampled_from([(1, 3), (1, 4), (2, 2)]))
    hw = Hardware(name="t", limits=Limits(n_max=draw(st.integers(1, 3)), a_max=a_max), mesh=mesh, energy=COSTS)
    return net, hw, draw(st.sampled_from(["multicast", "unicast"]))


@settings(derandomize=True, max_examples=150, deadline=None)
@given(partial_sums())
def test_bound_with_coupling_is_below_the_brute_force_optimum(case) -> None:
    net, hw, comm = case
    _, energies = brute_force(net, hw, comm)
    if np.isfinite(energies).any():
        assert combinatorial_lower_bound(net, hw, comm) <= float(energies.min()) * (1 + 1e-9) + 1e-12


def test_coupling_raises_the_bound_of_an_unrolled_mlp_and_stays_below_its_mappings() -> None:
    net, hw = prepared("DigitRecogMLP", "full", "crossbar128")
    rows, own = price_rows(hw)
    gain, raised = exclusive_raise(net, hw, np.zeros(net.num_neurons), rows, own, never_local(net, hw))
    assert gain > 0 and raised.any()
    bound = combinatorial_lower_bound(net, hw)
    for method in ("sequential", "greedy"):
        rep = evaluate(net, hw, api.solve(net, hw, method, seed=0).mapping, link_loads=False)
        assert rep.feasible and bound <= rep.total * (1 + 1e-9)
