"""The evaluator, pinned by tiny networks worked out by hand, and by properties.

Costs of ``toy_hardware`` (tests/helpers.py): e_spike=1, e_syn=2, e_local=3,
e_route=10, e_hop=100, p_static=1000, t_run=1; 2 x 2 mesh with cores
0=(0,0), 1=(0,1), 2=(1,0), 3=(1,1).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from snnmap.formulations import MappingError, evaluate, fixed_energy
from snnmap.instances import SpikingNetwork
from tests.helpers import instances as exact_instances
from tests.helpers import toy_hardware


def chain() -> SpikingNetwork:
    return SpikingNetwork.from_edges(4, [0, 1, 2], [1, 2, 3], [4, 3, 2, 1])


def fan_out() -> SpikingNetwork:
    return SpikingNetwork.from_edges(4, [0, 0, 0], [1, 2, 3], [5, 0, 0, 0])


def test_chain_across_four_cores(toy):
    """Chain 0->1->2->3, spikes [4,3,2,1], mapping [0,1,3,2].

    neuron  = (4+3+2+1) * 1 = 10
    synapse = (4+3+2) * 2 = 18                (neuron 3 has no synapse)
    comm    = each hop is one mesh hop: (4+3+2) * (10 + 100) = 990
              (0->1: core0->core1; 1->2: core1->core3; 2->3: core3->core2)
    static  = 4 cores * 1000 * 1 s = 4000
    total   = 5018; 9 packets, 9 hop-packets; single targets: unicast equal.
    """
    net = chain()
    for comm in ("multicast", "unicast"):
        r = evaluate(net, toy, [0, 1, 3, 2], comm)
        assert r.terms == pytest.approx({"neuron": 10, "synapse": 18, "comm": 990, "static": 4000})
        assert r.total == pytest.approx(5018)
        assert (r.packets, r.local_packets, r.hop_packets) == (9, 0, 9)
        assert r.feasible and r.cores_used == 4


def test_fan_out_multicast_versus_unicast(toy):
    """Neuron 0 (5 spikes) targets 1, 2, 3; mapping [0,0,3,3].

    neuron  = 5; synapse = 5 * 3 targets * 2 = 30; static = 2 cores * 1000 = 2000
    multicast: D(0) = {core 0, core 3}: 5*3 (local) + 5*(10 + 2 hops*100) = 15 + 1050 = 1065
               total = 5 + 30 + 1065 + 2000 = 3100
    unicast: synapse to 1 local 15; to 2 and 3 remote 2 * 1050 = 2100 -> comm 2115
               total = 5 + 30 + 2115 + 2000 = 4150
    """
    net = fan_out()
    m = evaluate(net, toy, [0, 0, 3, 3], "multicast")
    u = evaluate(net, toy, [0, 0, 3, 3], "unicast")
    assert m.terms["comm"] == pytest.approx(1065) and m.total == pytest.approx(3100)
    assert u.terms["comm"] == pytest.approx(2115) and u.total == pytest.approx(4150)
    assert (m.packets, m.local_packets, m.hop_packets) == (5, 5, 10)
    assert (u.packets, u.local_packets, u.hop_packets) == (10, 5, 20)


def test_access_energy_every_neuron_every_step(toy):
    """e_access = 0.5 per neuron per step: 4 neurons x T steps x 0.5 joins E_neuron, whatever the mapping.

    T is the network's time_steps, else t_run in 1 ms steps (t_run = 1 s: 1000 steps).
    """
    hw = toy.replace(e_access=0.5)
    base = evaluate(chain(), toy, [0, 1, 3, 2])
    for net, steps in ((chain(), 1000), (chain().replace(time_steps=7), 7), (chain().replace(t_run=0.02), 20)):
        for core in ([0, 1, 3, 2], [0, 0, 0, 0]):
            r = evaluate(net, hw, core)
            assert r.terms["neuron"] == 4 * steps * 0.5 + 10 * 1.0
            assert r.total == pytest.approx(evaluate(net, toy, core).total + 4 * steps * 0.5, rel=1e-15)
        assert fixed_energy(net, hw) == r.terms["neuron"] + r.terms["synapse"]
    # time_steps is not in the fingerprint: it prices the run, the graph and spikes are the same.
    assert chain().replace(time_steps=7).fingerprint == chain().fingerprint
    assert base.terms["neuron"] == 10.0


def test_axon_and_neuron_limit_violations():
    """Neurons 0, 1, 3 all target neuron 2; spikes [1,2,0,3]; everything on core 0.

    neuron = 6; synapse = (1+2+3)*2 = 12; comm = all local: (1+2+3)*3 = 18;
    static = 1 core = 1000; total = 1036 for both models.
    Core 0 receives 3 distinct presynaptic neurons (a_max=2 broken) and holds
    4 neurons (n_max=3 broken); syn_max=3 holds exactly.
    """
    net = SpikingNetwork.from_edges(4, [0, 1, 3], [2, 2, 2], [1, 2, 0, 3])
    hw = toy_hardware(n_max=3, a_max=2, syn_max=3)
    for comm in ("multicast", "unicast"):
        r = evaluate(net, hw, [0, 0, 0, 0], comm)
        assert r.total == pytest.approx(1036)
        assert not r.feasible
        broken = {v.limit: (v.where.tolist(), v.amount.tolist(), v.allowed) for v in r.violations}
        assert broken == {"n_max": ([0], [4], 3), "a_max": ([0], [3], 2)}
        assert r.core_axons[0] == 3 and r.core_synapses[0] == 3


def test_power_gating_and_one_core():
    """Chain [4,3,2,1] all on core 0: comm = (4+3+2) local * 3 = 27, no hops.

    gated:   10 + 18 + 27 + 1 * 1000 = 1055
    ungated: 10 + 18 + 27 + 4 * 1000 = 4055 (idle cores leak too)
    """
    net = chain()
    gated = evaluate(net, toy_hardware(), [0, 0, 0, 0])
    ungated = evaluate(net, toy_hardware(power_gating=False), [0, 0, 0, 0])
    assert gated.total == pytest.approx(1055) and ungated.total == pytest.approx(4055)
    assert gated.hop_packets == 0 and gated.packets == 0 and gated.local_packets == 9


def test_separate_xy_hop_costs_and_link_loads():
    """One synapse 0->1, spikes [2, 0]; neuron 0 on core 1 (0,1), neuron 1 on core 2 (1,0).

    XY route: west along row 0 (link between columns 0 and 1), then south in
    column 0. e_hop_x=100, e_hop_y=1000: comm = 2 * (10 + 100 + 1000) = 2220.
    """
    net = SpikingNetwork.from_edges(2, [0], [1], [2, 0])
    hw = toy_hardware(e_hop_x=100.0, e_hop_y=1000.0)
    r = evaluate(net, hw, [1, 2])
    assert r.terms["comm"] == pytest.approx(2220)
    assert r.link_load["west"].tolist() == [[2.0], [0.0]]
    assert r.link_load["south"].tolist() == [[2.0, 0.0]]
    assert r.link_load["east"].sum() == 0 and r.link_load["north"].sum() == 0
    assert r.max_link_load == 2


def test_destination_and_fanin_limits(toy):
    """Neuron 0 targets 1, 2, 3 on three different cores: 3 destinations > dest_max=2;
    neuron 3 receives from 0, 1, 2: fan-in 3 > fanin_max=2."""
    net = SpikingNetwork.from_edges(4, [0, 0, 0, 1, 2], [1, 2, 3, 3, 3], [1, 1, 1, 1])
    r = evaluate(net, toy_hardware(dest_max=2, fanin_max=2), [0, 1, 2, 3])
    broken = {v.limit: (v.where.tolist(), v.amount.tolist()) for v in r.violations}
    assert broken == {"dest_max": ([0], [3]), "fanin_max": ([3], [3])}


def test_pins_are_checked(toy):
    net = chain().replace(pins=np.array([2, -1, -1, -1]))
    assert evaluate(net, toy, [2, 0, 0, 0]).feasible
    r = evaluate(net, toy, [0, 0, 0, 0])
    assert [v.limit for v in r.violations] == ["pin"]


@pytest.mark.parametrize(
    "mapping, message",
    [([0, 0, 0], "3 entries but the network has 4"), ([0, 0, 0, 4], "core 4, which does not exist"),
     ([0, 0, 0, -1], "does not exist"), ([0.5, 0, 0, 0], "whole core")],
)
def test_bad_mappings_are_refused(toy, mapping, message):
    with pytest.raises(MappingError, match=message):
        evaluate(chain(), toy, mapping)


def test_unknown_comm_model(toy):
    with pytest.raises(MappingError, match="multicast"):
        evaluate(chain(), toy, [0, 0, 0, 0], "broadcast")


# ------------------------------------------------------------------ properties
@st.composite
def instances(draw, max_neurons: int = 10):
    n = draw(st.integers(2, max_neurons))
    pairs = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))
    pre = [p for p, _ in sorted(pairs)]
    post = [q for _, q in sorted(pairs)]
    spikes = draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    rows, cols = draw(st.sampled_from([(2, 2), (2, 3), (3, 3), (1, 4)]))
    core_of = draw(st.lists(st.integers(0, rows * cols - 1), min_size=n, max_size=n))
    net = SpikingNetwork.from_edges(n, pre, post, spikes)
    hw = toy_hardware(mesh=(rows, cols), e_hop=draw(st.sampled_from([0.0, 7.0, 100.0])))
    return net, hw, np.array(core_of)


@given(instances())
def test_multicast_never_costs_more_than_unicast(case):
    net, hw, core_of = case
    m = evaluate(net, hw, core_of, "multicast")
    u = evaluate(net, hw, core_of, "unicast")
    assert m.terms["comm"] <= u.terms["comm"] + 1e-9
    # Equal exactly when no spiking neuron has two targets on one core.
    key = net.pre * hw.num_cores + core_of[net.post]
    shared = np.unique(key).size < key.size
    spiking_shared = any(
        net.spikes[i] > 0 and np.unique(core_of[net.post[net.pre == i]]).size < np.count_nonzero(net.pre == i)
        for i in range(net.num_neurons)
    )
    if not shared:
        assert m.terms["comm"] == pytest.approx(u.terms["comm"])
    if spiking_shared:
        assert m.terms["comm"] < u.terms["comm"]


@given(instances(), st.sampled_from(["flip_rows", "flip_cols", "rotate"]))
def test_mesh_symmetry_preserves_energy(case, symmetry):
    net, hw, core_of = case
    rows, cols = hw.mesh
    r, c = core_of // cols, core_of % cols
    if symmetry == "flip_rows":
        mirrored = (rows - 1 - r) * cols + c
    elif symmetry == "flip_cols":
        mirrored = r * cols + (cols - 1 - c)
    else:  # 180-degree rotation
        mirrored = (rows - 1 - r) * cols + (cols - 1 - c)
    for comm in ("multicast", "unicast"):
        a = evaluate(net, hw, core_of, comm)
        b = evaluate(net, hw, mirrored, comm)
        assert b.total == pytest.approx(a.total) and b.hop_packets == a.hop_packets
        assert b.max_link_load == pytest.approx(a.max_link_load)


@given(instances())
def test_one_core_has_no_hops(case):
    net, hw, _ = case
    core = net.num_neurons % hw.num_cores
    for comm in ("multicast", "unicast"):
        r = evaluate(net, hw, np.full(net.num_neurons, core), comm)
        assert r.hop_packets == 0 and r.packets == 0 and r.max_link_load == 0
        assert r.terms["static"] == pytest.approx(1000.0)


@given(instances())
def test_link_loads_add_up_to_hop_packets(case):
    net, hw, core_of = case
    for comm in ("multicast", "unicast"):
        r = evaluate(net, hw, core_of, comm)
        assert sum(a.sum() for a in r.link_load.values()) == pytest.approx(r.hop_packets)
        assert r.core_neurons.sum() == net.num_neurons and r.core_synapses.sum() == net.num_synapses


@given(exact_instances())
def test_terms_add_up_and_the_fixed_part_is_mapping_independent(case):
    net, hw, comm = case
    rng = np.random.default_rng(net.num_neurons)
    fixed = fixed_energy(net, hw)
    e = hw.energy
    assert fixed == pytest.approx(net.num_neurons * net.steps * e.e_access + net.spikes.sum() * e.e_spike
                                  + np.dot(net.spikes, net.out_degree) * e.e_syn, rel=1e-12, abs=1e-12)
    for _ in range(3):
        r = evaluate(net, hw, rng.integers(0, hw.num_cores, net.num_neurons), comm)
        assert r.terms["neuron"] + r.terms["synapse"] == pytest.approx(fixed, rel=1e-12, abs=1e-12)
        assert r.total == pytest.approx(sum(r.terms.values()), rel=1e-12)
