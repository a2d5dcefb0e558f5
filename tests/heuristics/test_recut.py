"""Re-cut staggered bands: the cut and column programs against brute force, hosting within n_max, the mapping."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from snnmap.formulations.energy import evaluate
from snnmap.hardware import load_hardware
from snnmap.heuristics.recut import _read, band_cuts, host_within, mesh_columns, recut_mapping, staggered_bands, widest
from snnmap.heuristics.staggered import host_inputs, staggered_mapping
from snnmap.instances.geometry import conv_layers
from snnmap.registry import METHODS
from tests.heuristics.test_aligned_colocate import crossbar, edge_net
from tests.heuristics.test_staggered import smooth_net


def striped_net(size: int = 38) -> object:
    """EdgeDet-like, with dark input columns and rows (the borders' cheap places) and little static energy."""
    net = edge_net(size)
    y, x = np.divmod(np.arange(size * size), size)
    rng = np.random.default_rng(0)
    spikes = np.where((x % 7 == 3) | (y % 9 == 4), 0.2, rng.uniform(5.0, 10.0, size * size))
    return dataclasses.replace(net, spikes=np.concatenate([spikes, net.spikes[size * size:]]), t_run=1e-3)


def _compositions(total: int, most: int):
    """Every sequence of widths 1..most summing to total."""
    if total == 0:
        yield []
    for b in range(1, min(most, total) + 1):
        for rest in _compositions(total - b, most):
            yield [b] + rest


def test_band_cuts_is_the_least_of_every_cut_sequence():
    rng = np.random.default_rng(3)
    for net in (edge_net(12), smooth_net(20)):
        (g,) = conv_layers(net)
        wo, w = g.out_shape[2], g.in_shape[2]
        width = min(widest(g, crossbar(), 2), 5)
        for _ in range(3):
            prefix = np.concatenate([[0.0], rng.uniform(0.0, 5.0, w).cumsum()])
            penalty = np.r_[0.0, rng.uniform(0.0, 3.0, wo - 1), 0.0]

            def price(widths):
                ends = np.cumsum(widths)
                reads = [prefix[hi] - prefix[lo] for lo, hi in
                         (_read(e - b, e - 1, w, g.kernel[1], g.stride[1], g.padding[1]) for e, b in zip(ends, widths))]
                return sum(reads) + 2.0 * len(widths) + penalty[ends].sum()

            best = band_cuts(prefix, g, width, 2.0, penalty)
            assert sum(best) == wo and max(best) <= width
            assert np.isclose(price(best), min(price(c) for c in _compositions(wo, width)), rtol=1e-12)


def test_mesh_columns_is_the_least_of_every_increasing_column_choice():
    rng = np.random.default_rng(5)
    for count, cols in ((3, 6), (4, 5), (1, 4)):
        unary = rng.uniform(0.0, 4.0, (count, cols))
        shape = (count - 1, cols, cols)
        pair = np.where(rng.random(shape) < 0.2, np.inf, rng.uniform(0.0, 4.0, shape))
        pair[:, np.arange(cols)[:, None] >= np.arange(cols)[None, :]] = np.inf
        options = {c: unary[np.arange(count), list(c)].sum() + sum(pair[t, c[t], c[t + 1]] for t in range(count - 1))
                   for c in itertools.combinations(range(cols), count)}
        out = mesh_columns(unary, pair)
        least = min(options.values())
        if not np.isfinite(least):
            assert out is None
        else:
            assert np.all(np.diff(out) > 0) and np.isclose(options[tuple(out)], least, rtol=1e-12)
    assert mesh_columns(np.zeros((3, 2)), np.full((2, 2, 2), np.inf)) is None


def test_hosting_within_n_max_is_the_cheapest_hosting_where_there_is_room_and_fits_where_there_is_not():
    net = edge_net(20)
    (g,) = conv_layers(net)
    inputs = np.arange(400)
    hw = crossbar()
    core_of = staggered_mapping(net, hw)
    core_of[inputs] = core_of[g.out_offset + np.arange(400)]  # every input home: 100 outputs and 25 inputs a core
    free, _ = host_inputs(net, hw, core_of, inputs)
    roomy = dataclasses.replace(hw, limits=dataclasses.replace(hw.limits, n_max=200))
    free_total = evaluate(net, hw, free, link_loads=False).total
    assert np.isclose(evaluate(net, roomy, host_within(net, roomy, core_of, inputs), link_loads=False).total,
                      free_total, rtol=1e-12)  # with room everywhere, as cheap as the free choice (ties stay home)
    home = evaluate(net, hw, core_of, link_loads=False).total
    for n_max in (125, 126, 128):
        tight = dataclasses.replace(hw, limits=dataclasses.replace(hw.limits, n_max=n_max))
        out = host_within(net, tight, core_of, inputs)
        assert np.bincount(out).max() <= n_max and np.array_equal(out[400:], core_of[400:])
        for i in range(0, 400, 7):  # each input still on one of its targets' cores
            assert out[i] in core_of[net.post[net.pre == i]]
        rep = evaluate(net, tight, out, link_loads=False)
        assert rep.feasible and rep.total <= home * (1 + 1e-12)
        assert rep.total >= free_total * (1 - 1e-12)


def test_recut_bands_are_feasible_cheaper_by_the_evaluator_and_deterministic():
    net, hw = striped_net(), crossbar((9, 9))
    (g,) = conv_layers(net)
    start = staggered_mapping(net, hw)
    bands = staggered_bands(g, hw, start)
    assert bands is not None and [sum(widths) for _, _, widths in bands] == [38] * len(bands)
    out = recut_mapping(net, hw, start)
    assert out is not None and np.array_equal(out, recut_mapping(net, hw, start))
    rep, base = evaluate(net, hw, out, link_loads=False), evaluate(net, hw, start, link_loads=False)
    assert rep.feasible and rep.total < base.total and rep.cores_used < base.cores_used
    assert rep.hop_packets <= 1.02 * rep.packets  # still laid out with one hop per packet nearly everywhere
    # Banded again: every output position's channels on one core, bands on mesh rows.
    assert staggered_bands(g, hw, out) is not None
    # Not banded, not one convolution: nothing.
    assert recut_mapping(net, hw, np.arange(net.num_neurons) % hw.num_cores) is None
    assert recut_mapping(net, load_hardware("loihi"), start) is None


def test_partition_refine_starts_from_the_recut_bands_where_cheaper():
    net, hw = striped_net(), crossbar((9, 9))
    run = METHODS["partition-refine"](net, hw, time_limit=10, seed=0, starts=("tiling",), ils_rounds=0)
    assert run.stats["start"] == "recut" and run.report.feasible
    assert run.energy <= evaluate(net, hw, recut_mapping(net, hw, staggered_mapping(net, hw)),
                                  link_loads=False).total * (1 + 1e-12)
