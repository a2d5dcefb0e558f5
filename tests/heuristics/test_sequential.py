"""PACMAN-style sequential fill."""

from __future__ import annotations

import numpy as np
import pytest

from snnmap.formulations import evaluate
from snnmap.hardware import load_hardware
from snnmap.heuristics.partition import fill_order
from snnmap.heuristics.sequential import solve
from snnmap.instances import SpikingNetwork
from tests.helpers import random_network, toy_hardware


def test_fills_in_index_order_and_opens_cores_on_any_limit():
    # Core 1 takes neurons 2 and 3: their presynaptic neurons are {0} and {0, 1, 2}: 3 axons.
    net = SpikingNetwork.from_edges(5, [0, 1, 2, 0, 4], [3, 3, 3, 2, 0], [1, 1, 1, 1, 1])
    cluster_of, runs, problem = fill_order(net, toy_hardware(n_max=2, a_max=3))
    assert problem == "" and cluster_of.tolist() == [0, 0, 1, 1, 2] and runs == 3
    # Neurons 0..2 receive from {4, 0} (2 axons); with 4 per core the axon limit cuts after 2.
    cluster_of, runs, problem = fill_order(net, toy_hardware(n_max=4, a_max=3))
    assert problem == "" and cluster_of.tolist() == [0, 0, 0, 1, 1] and runs == 2
    _, _, problem = fill_order(net, toy_hardware(n_max=4, a_max=2))
    assert problem == "neuron 3 has 3 presynaptic neurons, more than a_max=2"


def test_respects_every_limit_on_random_networks():
    net = random_network(400, 3000, seed=3)
    hw = load_hardware("crossbar128", mesh=(7, 8), n_max=40, a_max=60, syn_max=300)
    r = solve(net, hw)
    assert r.status == "feasible" and r.report.feasible
    assert r.report.total == pytest.approx(evaluate(net, hw, r.mapping).total)
    assert r.lower_bound <= r.report.total
    assert np.all(np.diff(r.mapping) >= 0)  # index order, row-major cores


def test_reports_cores_needed_when_the_chip_is_too_small():
    net = random_network(400, 3000, seed=3)
    r = solve(net, load_hardware("crossbar128", mesh=(1, 2), n_max=40, a_max=10**6, syn_max=10**6))
    assert r.status == "infeasible" and r.mapping is None
    assert "needs 10 cores" in r.message and "has 2" in r.message


def test_neuron_that_fits_no_core():
    net = SpikingNetwork.from_edges(4, [0, 1, 2], [3, 3, 3], [1, 1, 1, 1])
    r = solve(net, toy_hardware(syn_max=2))
    assert r.status == "infeasible" and "neuron 3 has 3 synapses, more than syn_max=2" in r.message
