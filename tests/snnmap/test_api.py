"""The public API names users and later checks rely on (issue 2, item 6)."""

from __future__ import annotations

import numpy as np
import pytest

import snnmap


def test_public_api_end_to_end():
    net = snnmap.SpikingNetwork.from_edges(6, [0, 0, 1, 2, 3, 4], [2, 3, 4, 5, 5, 5], [9, 1, 4, 3, 2, 0], t_run=0.5)
    assert (net.num_neurons, net.num_synapses, net.t_run) == (6, 6, 0.5)
    assert net.pre.tolist() == [0, 0, 1, 2, 3, 4] and net.spikes.tolist() == [9, 1, 4, 3, 2, 0]
    hw = snnmap.load_hardware("crossbar128", mesh=(2, 2), n_max=2, e_hop=1e-12, comm="unicast")
    assert hw.num_cores == 4 and hw.distance.shape == (4, 4) and hw.limits.n_max == 2
    assert hw.energy.e_hop == 1e-12 and hw.comm == "unicast" and hw.power_gating
    assert {hw.limits.a_max, hw.limits.syn_max} and hw.energy.e_spike >= 0
    res = snnmap.solve(net, hw, method="sequential", time_limit=None, seed=0)
    assert res.status == "feasible" and res.method == "sequential" and res.seed == 0 and res.runtime >= 0
    assert isinstance(res.mapping, np.ndarray) and res.mapping.tolist() == [0, 0, 1, 1, 2, 2]
    rep = snnmap.evaluate(net, hw, res.mapping)
    assert set(rep.terms) == {"neuron", "synapse", "comm", "static"}
    assert rep.total == pytest.approx(sum(rep.terms.values())) == pytest.approx(res.report.total)
    assert rep.feasible and rep.violations == ()
    assert res.lower_bound is not None and res.lower_bound <= rep.total
    # The multicast evaluation of the same mapping differs only in communication.
    multi = snnmap.evaluate(net, hw, res.mapping, comm="multicast")
    assert multi.terms["comm"] <= rep.terms["comm"] and multi.terms["static"] == rep.terms["static"]


def test_fit_hardware_picks_the_smallest_mesh():
    net = snnmap.SpikingNetwork.from_edges(10, [0, 1], [1, 2], np.ones(10))
    hw = snnmap.fit_hardware(net, snnmap.load_hardware("crossbar128", n_max=3))
    assert hw.num_cores == 4 and hw.mesh == (2, 2)
    assert snnmap.solve(net, hw, method="sequential").status == "feasible"


def test_auto_proves_small_instances_and_scales_to_large():
    net = snnmap.load_network("VGG16:mini")
    hw = snnmap.load_hardware("crossbar-mini")
    res = snnmap.solve(net, hw, time_limit=60)  # method="auto" is the default
    assert res.method == "auto:cpsat" and res.status == "optimal"
    heuristic = snnmap.solve(net, hw, method="partition-refine")
    assert res.energy <= heuristic.energy * (1 + 1e-9)
    big = snnmap.SpikingNetwork.from_edges(300, np.arange(299), np.arange(1, 300), np.ones(300))
    res = snnmap.solve(big, snnmap.load_hardware("crossbar128", mesh=(2, 2)), time_limit=5)
    assert res.method == "auto:partition-refine" and res.report.feasible
