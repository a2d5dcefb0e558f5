"""The served-sender bound (bounds_served): counts checked on every feasible mapping of small instances,
the whole bound below brute-force optima, and below the evaluated energies of a reservoir's mappings."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snnmap import api
from snnmap.formulations.bounds import (
    combinatorial_lower_bound,
    communication_lower_bound,
    forced_destinations,
    min_cores,
)
from snnmap.formulations.bounds_axons import class_destinations
from snnmap.formulations.bounds_served import reduced_sets, reduced_targets, served_capacity, served_destinations
from snnmap.formulations.energy import evaluate
from snnmap.hardware import EnergyCosts, Hardware, Limits
from snnmap.instances import SpikingNetwork
from snnmap.instances.apps.heartestm import reservoir_edges
from tests.helpers import brute_force

COSTS = EnergyCosts(e_spike=1.0, e_syn=0.5, e_local=0.1, e_route=2.0, e_hop=1.0, p_static=0.0)


def _line(cores: int, **limits) -> Hardware:
    return Hardware(name="line", limits=Limits(**limits), mesh=(1, cores), energy=COSTS)


def _ring(n: int) -> SpikingNetwork:
    """Neuron ``i`` sends to ``i - 1`` and ``i + 1`` (mod ``n``), one spike each."""
    pre = np.repeat(np.arange(n), 2)
    post = (pre + np.tile([-1, 1], n)) % n
    return SpikingNetwork.from_edges(n, pre, post, np.ones(n))


def _counts(net: SpikingNetwork, hw: Hardware) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Senders with a non-empty R(i), |R(i)|, r(i) and the mask of R's synapses."""
    keep = reduced_targets(net, hw)
    senders = np.flatnonzero(np.bincount(net.pre[keep], minlength=net.num_neurons) > 0)
    counts, ptr, _ = reduced_sets(net, hw, senders, keep)
    r = np.maximum.reduce([np.ones_like(counts), -(-np.diff(ptr) // hw.limits.a_max), -(-counts // hw.limits.n_max)])
    return senders, counts, r, keep


def test_a_ring_serves_at_most_one_sender_per_core() -> None:
    # Ring of 8, a_max = 3: serving i takes i's two targets and the axons {i - 2, i, i + 2}; no two senders'
    # axon sets fit 3 together, so each core serves one sender (two neurons): 4 of the 8 at most.
    net, hw = _ring(8), _line(4, n_max=2, a_max=3)
    senders, counts, r, _ = _counts(net, hw)
    assert senders.tolist() == list(range(8)) and counts.tolist() == [2] * 8 and r.tolist() == [1] * 8
    # 8 destinations forced (one each) and 4 more for the senders no core serves.
    assert served_destinations(net, hw, forced_destinations(net, hw), np.zeros(8, dtype=np.int64)) == 4
    assert served_capacity(net, hw, senders, np.ones(8, dtype=bool)) == pytest.approx(4.0)
    # The bound prices a second destination for the 4 senders no core can serve.
    hw_free = _line(4, n_max=2, a_max=6)  # every sender's axon set fits: nothing is forced
    assert served_capacity(net, hw_free, senders, np.ones(8, dtype=bool)) == pytest.approx(8.0)
    _, energies = brute_force(net, hw, "multicast")
    bound = combinatorial_lower_bound(net, hw, "multicast")
    assert communication_lower_bound(net, hw) > communication_lower_bound(net, hw_free)
    assert bound <= float(energies.min()) * (1 + 1e-9)


@st.composite
def local_graphs(draw: st.DrawFn) -> tuple[SpikingNetwork, Hardware]:
    """Neurons on a line sending to neighbours within 2 (reservoir-like), a_max near the target sets' inputs."""
    n = draw(st.integers(4, 7))
    edges = [(i, j) for i in range(n) for j in range(n) if 0 < abs(i - j) <= 2 and draw(st.integers(0, 3)) > 0]
    if not edges:
        edges = [(0, 1)]
    pre, post = zip(*edges)
    spikes = draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 5.0]), min_size=n, max_size=n))
    net = SpikingNetwork.from_edges(n, list(pre), list(post), spikes)
    indeg = int(net.in_degree.max())
    cores = draw(st.integers(2, 3 if n > 5 else 4))
    n_max = draw(st.integers(-(-n // cores), n))
    return net, _line(cores, n_max=n_max, a_max=draw(st.integers(indeg, indeg + 2)))


@settings(derandomize=True, max_examples=60, deadline=None)
@given(local_graphs())
def test_counts_and_capacity_hold_on_every_feasible_mapping(case) -> None:
    net, hw = case
    maps, energies = brute_force(net, hw, "multicast")
    feasible = maps[np.isfinite(energies)]
    if not feasible.size:
        return
    senders, counts, r, keep = _counts(net, hw)
    cd = class_destinations(net, hw)
    eligible = (r == 1) & (counts >= 2)
    capacity = served_capacity(net, hw, senders, eligible)
    forced = forced_destinations(net, hw)
    # have[p, i]: destination cores of neuron i under feasible mapping p.
    on = feasible[:, :, None] == np.arange(hw.num_cores)
    have = np.stack([on[:, net.post[net.pre == i]].any(axis=1).sum(axis=1) for i in range(net.num_neurons)], axis=1)
    assert np.all(have[:, senders] >= cd[senders] + r)
    assert np.all(have.sum(axis=1) >= int(forced.sum()) + served_destinations(net, hw, forced, cd))
    assert np.all((on.any(axis=1)).sum(axis=1) >= min_cores(net, hw, axons=True))
    # Served: every member of R(i) on one core; their spikes never exceed the capacity.
    where = [feasible[:, net.post[keep & (net.pre == i)]] for i in senders]
    served = np.stack([np.all(w == w[:, :1], axis=1) for w in where] or [np.zeros(len(feasible), bool)], axis=1)
    served = served[:, :senders.size] & eligible
    assert np.all(served.astype(float) @ net.spikes[senders] <= capacity * (1 + 1e-9) + 1e-12)
    assert combinatorial_lower_bound(net, hw, "multicast") <= float(energies.min()) * (1 + 1e-9) + 1e-12


def _reservoir(seed: int) -> tuple[SpikingNetwork, Hardware]:
    """A small Maass reservoir (4 x 4 x 3) fed by 3 inputs, a_max binding as on crossbar128."""
    rng = np.random.default_rng(seed)
    pre, post, _ = reservoir_edges([4, 4, 3], 2.0, rng)
    inputs = 3
    in_pre, in_post = np.nonzero(rng.random((inputs, 48)) < 0.3)
    n = inputs + 48
    net = SpikingNetwork.from_edges(n, np.r_[in_pre, pre + inputs], np.r_[in_post + inputs, post + inputs],
                                    rng.poisson(20.0, n).astype(float), populations=[0] * inputs + [1] * 48)
    hw = Hardware(name="grid", limits=Limits(n_max=16, a_max=24), mesh=(3, 4),
                  energy=EnergyCosts(e_spike=5e-11, e_syn=2e-11, e_local=1e-12, e_route=1.5e-11, e_hop=1e-11,
                                     p_static=1e-7))
    return net, hw


def test_reservoir_bound_rises_and_stays_below_its_mappings() -> None:
    net, hw = _reservoir(3)
    bound = combinatorial_lower_bound(net, hw)
    no_axons = _line(12, n_max=16, a_max=None).replace(energy=hw.energy, mesh=(3, 4))
    assert communication_lower_bound(net, hw) > communication_lower_bound(net, no_axons)
    seen = 0
    for method, seed in (("sequential", 0), ("greedy", 0), ("random", 1), ("random", 2)):
        rep = evaluate(net, hw, api.solve(net, hw, method, seed=seed).mapping, link_loads=False)
        if rep.feasible:
            seen += 1
            assert bound <= rep.total * (1 + 1e-9)
    rep = evaluate(net, hw, api.solve(net, hw, "partition-refine", seed=0, time_limit=1.0).mapping)
    assert rep.feasible and bound <= rep.total * (1 + 1e-9)
    assert seen >= 2 and not math.isnan(bound)


@pytest.mark.slow
def test_heartestm_bound_rises_and_stays_below_partition_refine() -> None:
    from snnmap.prepare import prepared

    net, hw = prepared("HeartEstm", "full", "crossbar128")
    bound = combinatorial_lower_bound(net, hw)
    rep = evaluate(net, hw, api.solve(net, hw, "partition-refine", seed=0, time_limit=10.0).mapping,
                   link_loads=False)
    assert rep.feasible and bound <= rep.total * (1 + 1e-9)
    assert communication_lower_bound(net, hw) > 2.5e-5  # 2.07e-5 before the served senders were priced
