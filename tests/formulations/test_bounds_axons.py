"""The input-axon bounds (saturated classes, never-local senders) and the bound split by term.

Validity is tested, not argued: brute force on small layered instances whose
``a_max`` the in-degrees reach, the proven optima of the 10 minis, and feasible
mappings of larger instances.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snnmap import api
from snnmap.bks import BestKnown
from snnmap.formulations.bounds import (
    bound_terms,
    combinatorial_lower_bound,
    dominant_term,
    forced_destinations,
    min_cores,
)
from snnmap.formulations.bounds_axons import (
    class_cores,
    class_destinations,
    input_destinations,
    never_local,
    saturated_classes,
)
from snnmap.formulations.energy import TERMS, destination_pairs, evaluate
from snnmap.hardware import EnergyCosts, Hardware, Limits, load_hardware
from snnmap.instances import SpikingNetwork
from snnmap.prepare import hardware_of, prepared
from tests.helpers import brute_force


def _mesh(cores: int, **limits) -> Hardware:
    return Hardware(name="line", limits=Limits(**limits), mesh=(1, cores),
                    energy=EnergyCosts(e_spike=1.0, e_syn=1.0, e_local=0.1, e_route=2.0, e_hop=1.0, p_static=3.0))


def _two_layers() -> SpikingNetwork:
    """Inputs 0, 1 feed neurons 2, 3 (both), 4 has inputs 0 and 5; a_max = 2 saturates 2, 3 and 4."""
    pre = [0, 1, 0, 1, 0, 5]
    post = [2, 2, 3, 3, 4, 4]
    return SpikingNetwork.from_edges(6, pre, post, [2.0, 3.0, 0.0, 0.0, 0.0, 1.0], populations=[0, 0, 1, 1, 1, 0])


def test_saturated_classes_need_their_own_cores_and_reach_their_senders() -> None:
    net, hw = _two_layers(), _mesh(4, n_max=4, a_max=2)
    sets, sizes = saturated_classes(net, hw)
    assert sets.tolist() == [[0, 1], [0, 5]] and sizes.tolist() == [2, 1]
    assert class_cores(net, hw) == 2  # {2, 3} and {4} cannot share a core: 3 axons
    assert class_destinations(net, hw).tolist() == [2, 1, 0, 0, 0, 1]
    # 0's targets 2, 3, 4 have the inputs {0, 1, 5}: more than one core's 2 axons. 5 (one target with
    # 2 inputs) cannot beat its target count and is not counted.
    assert input_destinations(net, hw).tolist() == [2, 1, 0, 0, 0, 0]
    assert forced_destinations(net, hw)[0] == 2
    assert min_cores(net, hw, axons=True) == 2


def test_senders_whose_targets_cannot_share_their_core_pay_remote_prices() -> None:
    # 0 -> 1 -> 2 in three populations, a_max = 1: 1 and 2 together would need axons {0, 1}.
    net = SpikingNetwork.from_edges(3, [0, 1], [1, 2], [1.0, 1.0, 0.0], populations=[0, 1, 2])
    hw = _mesh(3, n_max=3, a_max=1)
    assert never_local(net, hw).tolist() == [False, True, False]
    # 0 may share a core with 1 (axons {0}); 1 must send to another core: 2 + 1 hop.
    assert bound_terms(net, hw)["comm"] == pytest.approx(1.0 * 0.1 + 1.0 * 3.0)


def test_disjoint_inputs_of_populations_with_a_common_source_are_counted_exactly() -> None:
    # Inputs 0-3 feed both 4 (via 0, 1) and 5 (via 2, 3): the populations share a source, the sets do not.
    net = SpikingNetwork.from_edges(6, [0, 1, 2, 3, 4], [4, 4, 5, 5, 5], [1.0] * 6, populations=[0, 0, 0, 0, 1, 2])
    remote = never_local(net, _mesh(4, n_max=4, a_max=4))
    assert remote.tolist() == [False, False, False, False, True, False]  # |{0, 1} | {2, 3, 4}| = 5 > a_max
    assert not never_local(net, _mesh(4, n_max=4, a_max=5)).any()


def test_dominant_term_names_the_largest_difference() -> None:
    bound = {"neuron": 1.0, "synapse": 1.0, "comm": 2.0, "static": 1.0}
    assert dominant_term({"neuron": 1.0, "synapse": 1.0, "comm": 2.5, "static": 3.0}, bound) == "static"
    assert dominant_term(dict(bound), bound) == "none"


@st.composite
def layered(draw: st.DrawFn) -> tuple[SpikingNetwork, Hardware, str]:
    """Two or three layers, in-degrees often equal to ``a_max`` (classes and never-local senders)."""
    sizes = draw(st.lists(st.integers(1, 3), min_size=2, max_size=3))
    n = sum(sizes)
    if n > 7:
        sizes = sizes[:2]
        n = sum(sizes)
    starts = np.cumsum([0, *sizes])
    pre, post = [], []
    for layer in range(len(sizes) - 1):
        for j in range(starts[layer + 1], starts[layer + 2]):
            for i in range(starts[layer], starts[layer + 1]):
                if draw(st.booleans()):
                    pre.append(i)
                    post.append(j)
    population = np.repeat(np.arange(len(sizes)), sizes)
    spikes = draw(st.lists(st.sampled_from([0.0, 1.0, 2.5, 4.0]), min_size=n, max_size=n))
    net = SpikingNetwork.from_edges(n, pre, post, spikes, populations=population.tolist())
    indeg = int(net.in_degree.max()) if net.num_synapses else 1
    k = draw(st.sampled_from([2, 3, 4]))
    hw = Hardware(name="t", limits=Limits(n_max=draw(st.integers(1, 4)), a_max=max(1, indeg - draw(st.integers(0, 1)))),
                  mesh=(1, k), energy=EnergyCosts(e_spike=1.0, e_syn=0.5, e_local=0.2, e_route=1.5, e_hop=0.7,
                                                  p_static=draw(st.sampled_from([0.0, 2.0]))))
    return net, hw, draw(st.sampled_from(["multicast", "unicast"]))


@settings(derandomize=True, max_examples=120, deadline=None)
@given(layered())
def test_axon_bounds_hold_on_every_feasible_mapping(case) -> None:
    net, hw, comm = case
    maps, energies = brute_force(net, hw, comm)
    feasible = maps[np.isfinite(energies)]
    if not feasible.size:
        return
    assert combinatorial_lower_bound(net, hw, comm) <= float(energies.min()) * (1 + 1e-9) + 1e-12
    dests, cores, remote = forced_destinations(net, hw), min_cores(net, hw, axons=True), never_local(net, hw)
    for m in feasible:
        pair_neuron, pair_core = destination_pairs(net, m, hw.num_cores)
        have = np.bincount(pair_neuron, minlength=net.num_neurons)
        assert np.all(dests <= have)
        assert cores <= np.unique(m).size
        assert not np.any(remote[pair_neuron] & (pair_core == m[pair_neuron]))


@st.composite
def skip_connections(draw: st.DrawFn) -> tuple[SpikingNetwork, Hardware]:
    """Inputs feeding a layer and the layer after it (a common source), so overlaps are counted exactly."""
    inputs, mid, last = draw(st.integers(2, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    n = inputs + mid + last
    edges = {(i, j) for i in range(inputs) for j in range(inputs, n) if draw(st.booleans())}
    edges |= {(i, j) for i in range(inputs, inputs + mid) for j in range(inputs + mid, n) if draw(st.booleans())}
    pre, post = zip(*sorted(edges)) if edges else ((), ())
    net = SpikingNetwork.from_edges(n, list(pre), list(post), [1.0] * n,
                                    populations=[0] * inputs + [1] * mid + [2] * last)
    indeg = int(net.in_degree.max()) if net.num_synapses else 1
    return net, _mesh(draw(st.integers(2, 3)), n_max=draw(st.integers(2, 4)), a_max=indeg + draw(st.integers(0, 1)))


@settings(derandomize=True, max_examples=80, deadline=None)
@given(skip_connections())
def test_exact_overlaps_keep_never_local_valid(case) -> None:
    net, hw = case
    maps, energies = brute_force(net, hw, "multicast")
    remote = never_local(net, hw)
    for m in maps[np.isfinite(energies)]:
        pair_neuron, pair_core = destination_pairs(net, m, hw.num_cores)
        assert not np.any(remote[pair_neuron] & (pair_core == m[pair_neuron]))


def test_bound_terms_sum_to_the_bound_and_fixed_terms_are_exact() -> None:
    net, hw = prepared("LeNet", "mini", "crossbar-mini")
    terms = bound_terms(net, hw)
    assert set(terms) == set(TERMS)
    assert sum(terms.values()) == pytest.approx(combinatorial_lower_bound(net, hw), rel=1e-12)
    rep = evaluate(net, hw, api.solve(net, hw, "sequential").mapping)
    for t in ("neuron", "synapse"):
        assert terms[t] == pytest.approx(rep.terms[t], rel=1e-12)


def test_bound_is_below_every_proven_mini_optimum() -> None:
    book = BestKnown.load()
    proven = [e for e in book.entries.values() if e.proven and e.scale == "mini"]
    assert len(proven) >= 10
    for entry in proven:
        hw = hardware_of(entry.hardware)
        net, _ = prepared(entry.instance, "mini", hw.name, hw.mesh)
        bound = combinatorial_lower_bound(net, hw)
        assert bound <= entry.energy * (1 + 1e-9), (entry.instance, bound, entry.energy)


@pytest.mark.parametrize("preset", ["crossbar128", "loihi"])
@pytest.mark.parametrize("app", ["HeartEstm", "DigitRecogSTDP"])
def test_bound_is_below_feasible_mappings_of_full_instances(app: str, preset: str) -> None:
    net, hw = prepared(app, "full", preset)
    bound = combinatorial_lower_bound(net, hw)
    rng = np.random.default_rng(0)
    seen = 0
    for method in ("sequential", "greedy", "random"):
        for seed in range(3 if method == "random" else 1):
            res = api.solve(net, hw, method, seed=int(rng.integers(2**31)) if seed else 0)
            rep = evaluate(net, hw, res.mapping)
            if rep.feasible:
                seen += 1
                assert bound <= rep.total * (1 + 1e-9)
    assert seen >= 2
    assert not math.isnan(bound)


def test_no_axon_limit_changes_nothing() -> None:
    net = _two_layers()
    hw = load_hardware("crossbar128", mesh=(2, 2), a_max=None)
    assert not never_local(net, hw).any() and class_cores(net, hw) == 0


def test_a_bound_above_a_feasible_energy_is_an_error() -> None:
    from snnmap.formulations.result import result_from_mapping

    net, hw = _two_layers(), _mesh(4, n_max=6)
    core_of = np.zeros(net.num_neurons, dtype=np.int64)
    energy = evaluate(net, hw, core_of).total
    ok = result_from_mapping(net, hw, core_of, method="t", status="feasible", runtime=0.0, lower_bound=energy)
    assert ok.lower_bound == energy
    with pytest.raises(RuntimeError, match="exceeds the evaluated energy"):
        result_from_mapping(net, hw, core_of, method="t", status="feasible", runtime=0.0, lower_bound=energy * 1.01)
