"""Staggered co-located tiles: bands offset like bricks, each input on its cheapest target core, no diagonal hop."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from snnmap.formulations.energy import evaluate, fixed_energy
from snnmap.hardware import load_hardware
from snnmap.heuristics.colocate import colocated_tiles
from snnmap.heuristics.staggered import _mapping, band_layout, band_offsets, host_inputs, staggered_mapping
from snnmap.instances.geometry import conv_layers
from snnmap.instances.layers import NetBuilder, conv2d_edges
from snnmap.registry import METHODS
from tests.heuristics.test_aligned import geometry_net
from tests.heuristics.test_aligned_colocate import crossbar, edge_net


def smooth_net(size: int = 32, seed: int = 0) -> object:
    """An ImgSmooth-like instance: input (1 x size x size) -> conv 5 x 5 / 2, padding 2, random spikes."""
    b = NetBuilder()
    pre, post, _, shape = conv2d_edges((1, size, size), 1, 5, stride=2, padding=2)
    inp = b.add("input", (1, size, size))
    b.connect(inp, b.add("smooth", shape), pre, post, 1.0)
    rng = np.random.default_rng(seed)
    spikes = np.concatenate([rng.uniform(0.0, 10.0, size * size), np.ones(int(np.prod(shape)))])
    spec = dict(name="smooth", kind="conv", kernel=5, stride=2, padding=2, out=1)
    return b.network(spikes, t_run=0.1, name="smooth-test",
                     provenance={"params": {"channels": 1, "size": size, "specs": [spec]}})


def test_each_input_sits_on_the_target_core_that_makes_its_packets_cheapest():
    net, hw = edge_net(), crossbar()
    (g,) = conv_layers(net)
    rng = np.random.default_rng(1)
    core_of = rng.integers(0, hw.num_cores, net.num_neurons)
    out, cost = host_inputs(net, hw, core_of, np.arange(400))
    assert np.array_equal(out[400:], core_of[400:])
    for i in range(400):
        cores = np.unique(core_of[net.post[net.pre == i]])
        each = [float(np.where(cores == c, hw.energy.e_local, hw.packet_cost(np.full(cores.size, c), cores)).sum())
                for c in cores]
        least = np.isclose(each, min(each), rtol=1e-12, atol=0)
        assert out[i] == cores[least][0] and np.isclose(cost[i], min(each), rtol=1e-12)
    # The costs are what the evaluator charges the inputs (the outputs send nothing).
    rep = evaluate(net, hw, out, link_loads=False)
    assert np.isclose(rep.terms["comm"], float(net.spikes @ cost), rtol=1e-12)


def test_bricks_of_5x5_tiles_send_their_packets_one_hop_and_beat_the_square_tiles():
    net, hw = edge_net(40), crossbar((9, 9))
    net = dataclasses.replace(net, t_run=1e-4)  # static small beside the packets: one more tile a band pays
    (g,) = conv_layers(net)
    mapping = staggered_mapping(net, hw)
    rep = evaluate(net, hw, mapping, link_loads=False)
    # The square co-located tiles laid out like the image: the corners' diagonal packets take two hops.
    label = colocated_tiles(net, hw)
    square = evaluate(net, hw, (label // 8) * 9 + label % 8, link_loads=False)
    assert square.feasible and square.hop_packets - square.packets > 100
    # Only the short last tile of an offset band (x 38..39, nothing above it) meets a diagonal tile.
    assert rep.feasible and rep.packets > 0 and rep.hop_packets - rep.packets <= 14
    assert rep.total < square.total
    assert np.array_equal(mapping, staggered_mapping(net, hw))  # deterministic
    # Each band's tiles under the band above: tile of band 1 under the band-0 tile holding its centre column.
    layout = band_layout(g, hw, 5, 5, 0, (0, 2))
    assert layout is not None
    cores = layout.reshape(4, 40, 40)[0]
    assert cores[5, 0] == 9 + 0 and cores[5, 3] == 9 + 1 and cores[5, 8] == 9 + 2  # x 3..7 centred on x 5


def test_the_band_offsets_are_the_best_of_every_offset_sequence_as_the_evaluator_prices_them():
    net = smooth_net(24)
    hw = crossbar((8, 8))
    (g,) = conv_layers(net)
    fixed = fixed_energy(net, hw)
    for oy in range(2):
        best = band_offsets(net, hw, g, 4, 4, oy)
        assert best is not None
        priced = {}
        bands = (12 - 1 + oy) // 4 + 1
        for offsets in itertools.product(range(4), repeat=bands):
            layout = band_layout(g, hw, 4, 4, oy, offsets)
            if layout is not None:
                priced[offsets] = evaluate(net, hw, _mapping(net, hw, g, layout)[0], link_loads=False).total - fixed
        assert np.isclose(priced[best], min(priced.values()), rtol=1e-9)


def test_staggered_tiles_only_for_one_convolution_on_a_mesh_of_one_core_per_router():
    net = edge_net()
    assert staggered_mapping(net, load_hardware("loihi")) is None
    assert staggered_mapping(geometry_net(), crossbar((8, 8))) is None
    assert staggered_mapping(dataclasses.replace(net, provenance={}), crossbar()) is None
    assert staggered_mapping(net, crossbar((3, 3))) is None  # no room for the bands


def test_partition_refine_starts_from_the_staggered_tiles_where_cheaper_and_is_deterministic():
    net, hw = dataclasses.replace(edge_net(40), t_run=1e-4), crossbar((9, 9))
    runs = [METHODS["partition-refine"](net, hw, time_limit=10, seed=0, starts=("tiling",), ils_rounds=0)
            for _ in range(2)]
    assert runs[0].stats["start"] == "staggered" and runs[0].report.feasible
    assert np.array_equal(runs[0].mapping, runs[1].mapping)
    assert runs[0].energy <= evaluate(net, hw, staggered_mapping(net, hw), link_loads=False).total * (1 + 1e-12)
