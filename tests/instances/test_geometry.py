"""Convolution geometry recovered from a built-in application's provenance (instances/geometry.py)."""

from __future__ import annotations

import numpy as np

from snnmap.instances import SpikingNetwork
from snnmap.instances.geometry import conv_layers
from snnmap.prepare import network


def test_lenet_mini_layers_are_recovered_and_match_the_synapses() -> None:
    net = network("LeNet", "mini")
    layers = conv_layers(net)
    names = [net.population_names[g.target] for g in layers]
    assert names == ["C1", "S2"]
    c1 = layers[0]
    assert c1.in_shape == (1, 3, 3) and c1.out_shape == (2, 2, 2) and c1.kernel == (2, 2) and not c1.depthwise
    assert layers[1].depthwise


def test_a_network_whose_synapses_differ_from_its_plan_gets_no_geometry() -> None:
    net = network("EdgeDet", "mini")
    assert len(conv_layers(net)) == 1
    keep = np.ones(net.num_synapses, dtype=bool)
    keep[0] = False  # one synapse fewer than the convolution
    edited = SpikingNetwork.from_edges(net.num_neurons, net.pre[keep], net.post[keep], net.spikes,
                                       populations=net.population, population_names=net.population_names,
                                       provenance=net.provenance)
    assert conv_layers(edited) == ()


def test_networks_without_a_plan_get_no_geometry() -> None:
    net = SpikingNetwork.from_edges(3, [0, 1], [2, 2], [1.0, 1.0, 0.0])
    assert conv_layers(net) == ()
    assert conv_layers(net.replace(provenance={"params": {"specs": "not a plan"}})) == ()
