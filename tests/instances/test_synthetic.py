"""Synthetic benchmark networks: layer structure, fan limits, seeded."""

import numpy as np

from snnmap.instances.synthetic import conv_like, layered


def test_layered_joins_consecutive_layers_only_within_the_fan():
    sizes = [30, 50, 20]
    net = layered(sizes, fan=4, seed=3)
    layer = np.repeat(np.arange(len(sizes)), sizes)
    assert net.num_neurons == sum(sizes)
    assert np.all(layer[net.post] == layer[net.pre] + 1)
    assert net.out_degree.max() <= 4 and net.out_degree[:80].min() >= 1
    assert np.all(net.spikes >= 0)
    same = layered(sizes, fan=4, seed=3)
    np.testing.assert_array_equal(same.indices, net.indices)
    assert not np.array_equal(layered(sizes, fan=4, seed=4).indices, net.indices)


def test_conv_like_takes_at_most_fan_inputs_from_the_previous_layer():
    net = conv_like(1000, fan=9, layers=5, seed=0)
    size = 200
    assert net.num_neurons == 1000
    assert net.in_degree[:size].max() == 0 and net.in_degree[size:].max() <= 9
    assert np.all(net.post // size == net.pre // size + 1)
