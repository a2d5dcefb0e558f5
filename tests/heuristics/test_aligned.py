"""Geometry-aligned tiles: the tiling start sends exactly the best aligned tiling's messages per convolution."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from snnmap.formulations.energy import destination_pairs, evaluate
from snnmap.hardware import load_hardware
from snnmap.heuristics.aligned import aligned_tiles, image_layout
from snnmap.heuristics.placement import cluster_flow, place_clusters, placement_cost
from snnmap.heuristics.tiling import tiling_clusters
from snnmap.instances.geometry import aligned_tilings, conv_layers
from snnmap.instances.layers import NetBuilder, conv2d_edges
from snnmap.registry import METHODS

SPECS = [dict(name="conv1", kind="conv", kernel=3, stride=1, padding=1, out=8),
         dict(name="pool1", kind="pool", kernel=2, stride=2, padding=0, out=8),
         dict(name="conv2", kind="conv", kernel=3, stride=1, padding=1, out=8)]


def geometry_net(size: int = 16) -> object:
    """input (2 x size x size) -> conv 3x3 -> pool 2x2 -> conv 3x3, with the layer plan in its provenance."""
    b = NetBuilder()
    shape = (2, size, size)
    prev = b.add("input", shape)
    for spec in SPECS:
        pre, post, _, shape = conv2d_edges(shape, spec["out"], spec["kernel"], stride=spec["stride"],
                                           padding=spec["padding"], depthwise=spec["kind"] == "pool")
        layer = b.add(spec["name"], shape)
        b.connect(prev, layer, pre, post, 1.0)
        prev = layer
    spikes = np.random.default_rng(0).integers(1, 20, b.num_neurons).astype(float)
    return b.network(spikes, t_run=0.1, name="geometry-test",
                     provenance={"params": {"channels": 2, "size": size, "specs": SPECS}})


def chip():
    return load_hardware("loihi", mesh=(4, 4), n_max=128)


def test_aligned_tiles_label_whole_positions_in_tiles_of_at_most_n_max():
    net, hw = geometry_net(), chip()
    assert len(conv_layers(net)) == 3
    label = aligned_tiles(net, hw)
    assert np.all(label >= 0) and np.bincount(label).max() <= hw.limits.n_max
    # The inputs (both channels) each with the tile of their window's centre, apart from the outputs.
    inputs = label[net.population == 0].reshape(2, 16, 16)
    assert np.unique(inputs).size == 16 and np.unique(inputs[:, 4:8, 8:12]).size == 1
    assert not np.isin(inputs, label[net.population > 0]).any()
    # conv1 (8 channels, 16 x 16): 16 positions a tile, all channels of a position together, 4 x 4 tiles.
    conv1 = label[net.population == 1].reshape(8, 16, 16)
    assert np.all(conv1 == conv1[:1]) and np.unique(conv1).size == 16
    assert np.unique(conv1[0, :4, :4]).size == 1
    assert aligned_tiles(geometry_net(), hw) is not None and np.array_equal(aligned_tiles(geometry_net(), hw), label)


@pytest.mark.parametrize("mesh", [(4, 4), (3, 3)])
def test_tiling_start_sends_the_best_aligned_tilings_messages_per_convolution(mesh):
    # On 3 x 3 tiles (36 cores) the inputs beside their tiles (16 clusters) would not fit: they stay grown.
    net, hw = geometry_net(), load_hardware("loihi", mesh=mesh, n_max=128)
    cluster_of, k = tiling_clusters(net, hw)
    assert k <= hw.num_cores and (np.unique(cluster_of[net.population == 0]).size == 16) == (mesh == (4, 4))
    assert evaluate(net, hw, cluster_of, link_loads=False).feasible
    sender, _ = destination_pairs(net, cluster_of, k)
    dests = np.bincount(sender, minlength=net.num_neurons)
    for g in conv_layers(net):
        ids = slice(g.in_offset, g.in_offset + int(np.prod(g.in_shape)))
        positions = hw.limits.n_max // (1 if g.depthwise else g.out_shape[0])
        best = min(aligned_tilings(g, net.spikes[ids], positions))[0]
        assert float(net.spikes[ids] @ dests[ids]) == best


def test_partition_refine_on_a_geometry_net_is_deterministic_and_feasible():
    net, hw = geometry_net(12), chip()
    runs = [METHODS["partition-refine"](net, hw, time_limit=30, seed=0, starts=("tiling",), ils_rounds=0)
            for _ in range(2)]
    assert runs[0].report.feasible and np.array_equal(runs[0].mapping, runs[1].mapping)


def test_image_layout_puts_each_tile_at_its_centre_and_the_placement_beside_its_inputs():
    net, hw = geometry_net(), chip()
    cluster_of, k = tiling_clusters(net, hw)
    flow = cluster_flow(net, cluster_of, k, hw.comm)
    xy = image_layout(net, cluster_of, k, flow)
    conv1 = np.flatnonzero(net.population == 1).reshape(8, 16, 16)
    for i, j in ((0, 0), (1, 3), (3, 2)):
        assert np.allclose(xy[cluster_of[conv1[0, 4 * i, 4 * j]]], [(4 * i + 2) / 16, (4 * j + 2) / 16])
    assert image_layout(conv_net_without_plan(), cluster_of, k, flow) is None
    # Bisection by the image: every input cluster within one hop of the conv1 tile it feeds most.
    pos = place_clusters(flow, hw, method="bisect", layout=xy)
    assert placement_cost(flow, hw, pos) <= placement_cost(flow, hw, place_clusters(flow, hw, method="bisect"))
    inputs = np.flatnonzero(net.population == 0).reshape(2, 16, 16)
    for i, j in ((0, 0), (2, 1), (3, 3)):
        here, there = pos[cluster_of[inputs[0, 4 * i + 1, 4 * j + 1]]], pos[cluster_of[conv1[0, 4 * i, 4 * j]]]
        assert hw.hops(here, there) <= 1


def conv_net_without_plan() -> object:
    """The same layers with no layer plan in the provenance: no geometry."""
    net = geometry_net()
    return dataclasses.replace(net, provenance={})


def test_aligned_tiles_read_at_most_a_max_inputs():
    net = geometry_net()
    hw = load_hardware("loihi", mesh=(8, 8), n_max=128, a_max=40)
    label = aligned_tiles(net, hw)
    # conv2 reads 8 channels: one 3 x 3 window is 72 inputs, so it gets no aligned tile (its grown tiles stay).
    assert np.all(label[net.population == 3] == -1)
    for p in (1, 2):
        post = net.population[net.post] == p
        tiles = label[net.post[post]]
        pairs = np.unique(np.stack([tiles, net.pre[post]]), axis=1)
        assert np.bincount(pairs[0]).max() <= 40
    # conv1 reads both input channels: windows of at most 20 positions, e.g. 2 x 3 outputs (4 x 5 inputs).
    conv1 = label[net.population == 1].reshape(8, 16, 16)[0]
    assert 1 < np.bincount(conv1.ravel() - conv1.min()).max() <= 6
