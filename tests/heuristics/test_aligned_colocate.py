"""Co-located tiles: a convolution's inputs on their output tiles, priced exactly as the evaluator prices them."""

from __future__ import annotations

import dataclasses

import numpy as np

from snnmap.formulations.energy import evaluate, fixed_energy
from snnmap.hardware import load_hardware
from snnmap.heuristics.colocate import (
    axis_terms,
    colocated_clusters,
    colocated_tiles,
    colocated_tilings,
    unplaced_energy,
)
from snnmap.heuristics.tiling import tiling_clusters
from snnmap.instances.geometry import conv_layers
from snnmap.instances.layers import NetBuilder, conv2d_edges
from snnmap.registry import METHODS
from tests.heuristics.test_aligned import geometry_net

SPEC = dict(name="edges", kind="conv", kernel=3, stride=1, padding=1, out=4)


def edge_net(size: int = 20) -> object:
    """An EdgeDet-like instance: input (1 x size x size) -> conv 3 x 3 / 1, 4 channels, one spike per input."""
    b = NetBuilder()
    pre, post, _, shape = conv2d_edges((1, size, size), SPEC["out"], 3, stride=1, padding=1)
    inp = b.add("input", (1, size, size))
    b.connect(inp, b.add("edges", shape), pre, post, 1.0)
    spikes = np.concatenate([np.ones(size * size), np.full(int(np.prod(shape)), 3.0)])
    return b.network(spikes, t_run=0.1, name="edge-test",
                     provenance={"params": {"channels": 1, "size": size, "specs": [SPEC]}})


def crossbar(mesh=(6, 6)):
    return load_hardware("crossbar128", mesh=mesh)


def test_axis_terms_count_the_tiles_each_window_meets_and_the_steps_from_home():
    # 20 inputs, 3-wide windows, tiles of 5: the windows of inputs 4 and 5 meet tiles 0 and 1 (one step from home).
    count, home, local, steps = axis_terms(20, 20, 3, 1, 1, 5)
    assert count.tolist() == [1, 1, 1, 1, 2] + [2, 1, 1, 1, 2] * 2 + [2, 1, 1, 1, 1]
    assert count[5] == 2 and home[5] == 1 and steps[5] == 1 and local.all()
    assert steps.tolist() == (count - 1).tolist()
    # Stride 2, 5 x 5 (ImgSmooth): 8 inputs are homed on each tile of 4 outputs.
    _, home, local, _ = axis_terms(32, 16, 5, 2, 2, 4)
    assert np.bincount(home).tolist() == [8, 8, 8, 8] and local.all()


def test_the_chosen_tiling_is_5x5_with_its_inputs_and_its_energy_the_hand_computed_one():
    net, hw = edge_net(), crossbar()
    (g,) = conv_layers(net)
    options = {(a, b): e for e, a, b, oy, ox in colocated_tilings(g, net.spikes[:400], hw, net.t_run)
               if not (oy or ox)}
    # Per axis, 6 of the 20 inputs reach two tiles (one step away): 26 tiles met, 6 steps.
    e = hw.energy
    comm = 400 * e.e_local + (26 * 26 - 400) * e.e_route + 2 * 6 * 26 * e.e_hop
    static = 16 * net.t_run * e.p_static
    assert np.isclose(options[5, 5], comm + static, rtol=1e-12)
    assert min(options, key=options.get) == (5, 5)
    # 4 x 5 x 5 outputs + 5 x 5 inputs = 125 neurons: 6 x 5 would be 150, over n_max.
    assert (6, 5) not in options and (5, 6) not in options
    label = colocated_tiles(net, hw)
    y, x = np.divmod(np.arange(400), 20)
    assert np.array_equal(label[:400], (y // 5) * 4 + x // 5)
    assert np.array_equal(label[400:].reshape(4, 20, 20), np.broadcast_to(label[:400].reshape(20, 20), (4, 20, 20)))
    # Laid out like the image (tile (i, j) on core (i, j)), the evaluator prices it exactly so.
    rows, cols = np.divmod(label, 4)
    rep = evaluate(net, hw, rows * hw.mesh[1] + cols, link_loads=False)
    assert rep.feasible and rep.cores_used == 16 and rep.core_axons.max() == 49
    assert np.isclose(rep.total - fixed_energy(net, hw), comm + static, rtol=1e-12)
    # Before placement the same deliveries without their hops (the outputs send nothing).
    assert np.isclose(unplaced_energy(net, hw, label, 16), comm - 2 * 6 * 26 * e.e_hop + static, rtol=1e-12)


def test_a_shift_puts_the_tile_borders_on_dark_inputs_and_is_priced_as_the_evaluator_prices_it():
    net, hw = edge_net(), crossbar()
    (g,) = conv_layers(net)
    y, x = np.divmod(np.arange(400), 20)
    # Inputs of columns 2 and 3 (mod 5) dark: tiles of columns 3..7, 8..12, ... split their windows there (and
    # take one more column of tiles).
    dark = np.isin(x % 5, (2, 3))
    spikes = net.spikes.copy()
    spikes[:400] = np.where(dark, 0.1, 20.0)
    net = dataclasses.replace(net, spikes=spikes)
    options = {t[1:]: t[0] for t in colocated_tilings(g, spikes[:400], hw, net.t_run)}
    assert min(options, key=options.get) == (5, 5, 0, 2) and options[5, 5, 0, 2] < options[5, 5, 0, 0]
    label = colocated_tiles(net, hw)
    assert np.array_equal(label[:400], (y // 5) * 5 + (x + 2) // 5)
    rows, cols = np.divmod(label, 5)
    rep = evaluate(net, hw, rows * hw.mesh[1] + cols, link_loads=False)
    assert rep.feasible and rep.cores_used == 20
    assert np.isclose(rep.total - fixed_energy(net, hw), options[5, 5, 0, 2], rtol=1e-12)


def test_colocated_clusters_are_feasible_and_none_without_geometry_or_room():
    net, hw = edge_net(), crossbar()
    cluster_of, k = tiling_clusters(net, hw)
    out, count = colocated_clusters(net, hw, cluster_of)
    assert count == 16 and evaluate(net, hw, out, link_loads=False).feasible
    assert colocated_clusters(dataclasses.replace(net, provenance={}), hw, cluster_of) is None
    assert colocated_clusters(net, crossbar((3, 5)), cluster_of) is None  # 16 tiles, 15 cores


def test_partition_refine_starts_from_the_colocated_tiles_where_cheaper_and_is_deterministic():
    net, hw = edge_net(), crossbar()
    runs = [METHODS["partition-refine"](net, hw, time_limit=10, seed=0, starts=("tiling",), ils_rounds=0)
            for _ in range(2)]
    assert runs[0].stats["start"] == "colocate" and runs[0].report.feasible
    assert np.array_equal(runs[0].mapping, runs[1].mapping)
    hand = evaluate(net, hw, np.divmod(colocated_tiles(net, hw), 4)[0] * 6 + colocated_tiles(net, hw) % 4,
                    link_loads=False).total
    assert runs[0].energy <= hand * (1 + 1e-12)


def test_every_layer_pair_the_busiest_inputs_first_each_pool_input_on_its_output_tile_within_every_limit():
    net, hw = geometry_net(), crossbar((8, 8))
    label = colocated_tiles(net, hw, pairs="busiest")
    # conv1 (2048 neurons) sends more spikes than the input (512): conv1 -> pool1 is tiled first, so the
    # input -> conv1 and pool1 -> conv2 pairs (which share a layer with it) are not; conv2 feeds nothing.
    assert (label[net.population == 1] >= 0).all() and (label[net.population == 2] >= 0).all()
    assert (label[(net.population == 0) | (net.population == 3)] == -1).all()
    to_pool = net.population[net.post] == 2
    assert np.array_equal(label[net.pre[to_pool]], label[net.post[to_pool]])
    cluster_of, _ = tiling_clusters(net, hw)
    out, count = colocated_clusters(net, hw, cluster_of, pairs="busiest")
    rep = evaluate(net, hw, out, link_loads=False)
    assert rep.feasible and count <= hw.num_cores and rep.core_axons.max() <= hw.limits.a_max
    assert colocated_tiles(net, hw) is not None and (colocated_tiles(net, hw)[net.population > 1] == -1).all()
