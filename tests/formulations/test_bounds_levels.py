"""Two sharpenings of the local LP (formulations/bounds_local.py): the least union of a whole number of positions
(``union_least``, bounds_tiles.py) and the local rows on the bright parts of a layer (``level_masks``); and the joint
rows with a free local delivery (``e_local = 0``)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from snnmap.formulations import bounds, bounds_local
from snnmap.formulations.bounds import combinatorial_lower_bound
from snnmap.formulations.bounds_local import (
    inside_positions,
    joint_rows,
    level_masks,
    local_raise,
    local_rows,
)
from snnmap.formulations.bounds_tiles import union_least, union_per_core
from snnmap.formulations.energy import destination_pairs, evaluate
from snnmap.hardware import EnergyCosts, Hardware, Limits
from snnmap.instances.geometry import conv_layers
from tests.formulations.test_bounds_local import C1, E_LOCAL, _grid, _random_mappings
from tests.formulations.test_bounds_tiles import conv_net, line_chip
from tests.helpers import brute_force

PRICES = np.array([C1] * 4 + [C1 + 0.5] * 8 + [C1 + 1.0] * 12)


@pytest.mark.parametrize("kernel, stride, grid", [((3, 3), (1, 1), (4, 4)), ((5, 5), (2, 2), (4, 4)),
                                                  ((2, 3), (1, 2), (6, 3)), ((3, 2), (2, 1), (3, 6))])
def test_union_least_is_the_least_union_over_every_set_of_positions(kernel, stride, grid) -> None:
    """Every subset of a grid of positions (windows unclipped): the least union per size is union_least (the grid
    long where rows or columns are cheap, so that the least down-sets fit)."""
    net = conv_net((1, 12, 12), 1, kernel, stride, (0, 0))
    g = conv_layers(net)[0]
    (kh, kw), (sh, sw) = kernel, stride
    gy, gx = grid
    cover = np.zeros((gy * gx, (gy - 1) * sh + kh, (gx - 1) * sw + kw), dtype=bool)
    for p, (y, x) in enumerate(itertools.product(range(gy), range(gx))):
        cover[p, y * sh:y * sh + kh, x * sw:x * sw + kw] = True
    subsets = ((np.arange(1 << gy * gx)[:, None] >> np.arange(gy * gx)) & 1).astype(np.float32)
    union = np.count_nonzero(subsets @ cover.reshape(gy * gx, -1).astype(np.float32) > 0.5, axis=1)
    size = subsets.sum(axis=1).astype(np.int64)
    least = np.full(gy * gx + 1, np.inf)
    np.minimum.at(least, size, union)
    m = np.arange(1, gy * gx + 1)
    assert np.array_equal(union_least(g, m), least[1:])
    assert np.all(union_least(g, m) >= union_per_core(g, m) - 1e-9)
    assert union_least(g, 0) == 0.0


def _checked_level_rows(net, hw: Hardware, g, core: np.ndarray, lp: dict) -> int:
    """A feasible mapping's ``q`` above base, summed over each bright set, meets the set's row; returns the rows."""
    pair_neuron, pair_core = destination_pairs(net, core, hw.num_cores)
    d = np.bincount(pair_neuron, minlength=net.num_neurons)
    local = np.bincount(pair_neuron, weights=pair_core == core[pair_neuron], minlength=net.num_neurons)
    ins = np.arange(g.in_offset, g.in_offset + int(np.prod(g.in_shape)))
    q = C1 * d[ins] - (C1 - E_LOCAL) * local[ins]
    got = lp["sets"] @ np.maximum(q - lp["base"], 0.0)
    assert np.all(got >= lp["set_rhs"] - 1e-9), (got, lp["set_rhs"])
    return int(lp["set_rhs"].size)


@pytest.mark.parametrize("in_shape, cout, kernel, stride, padding, n_max, a_max", [
    ((1, 9, 9), 2, (3, 3), (1, 1), (1, 1), 12, 14),
    ((1, 9, 9), 1, (3, 3), (1, 1), (0, 0), 9, None),
    ((2, 8, 8), 2, (3, 3), (2, 2), (1, 1), 12, 18),
    ((1, 10, 10), 1, (5, 5), (2, 2), (2, 2), 16, 30)])
def test_level_rows_hold_on_feasible_mappings(in_shape, cout, kernel, stride, padding, n_max, a_max,
                                              monkeypatch) -> None:
    monkeypatch.setattr(bounds_local, "LEVEL_RADIUS", 1)
    net = conv_net(in_shape, cout, kernel, stride, padding, spikes_seed=5)
    if in_shape[1] == 9:
        net = _bright_triangle(net, 9)
    g = conv_layers(net)[0]
    hw = _grid(n_max, a_max)
    lp = local_rows(net, hw, g, net.spikes.astype(float), np.full(net.num_neurons, E_LOCAL), PRICES, E_LOCAL)
    assert lp["set_rhs"].size  # rows to check
    masks = level_masks(g, net.spikes[g.in_offset:g.in_offset + int(np.prod(g.in_shape))])
    assert all(np.all(a >= b) for a, b in zip(masks, masks[1:]))  # nested: the LP sums them by bands
    checked = 0
    for seed in range(2):
        for core in _random_mappings(net, g, n_max, seed):
            rep = evaluate(net, hw, core, link_loads=False) if core.max() < hw.num_cores else None
            if rep is not None and rep.feasible:
                checked += _checked_level_rows(net, hw, g, core, lp) > 0
    assert checked >= 3


def test_inside_positions_counted_one_by_one() -> None:
    net = conv_net((1, 9, 9), 1, (5, 3), (2, 1), (2, 1))
    g = conv_layers(net)[0]
    rng = np.random.default_rng(1)
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    for _ in range(20):
        mask = rng.random((9, 9)) < 0.8
        count = 0
        for y, x in itertools.product(range(g.out_shape[1]), range(g.out_shape[2])):
            y0, x0 = y * sh - ph, x * sw - pw
            if y0 >= 0 and x0 >= 0 and y0 + kh <= 9 and x0 + kw <= 9:
                count += bool(mask[y0:y0 + kh, x0:x0 + kw].all())
        assert inside_positions(g, mask) == count


def _bright_triangle(net, side: int):
    """The inputs ten times brighter below the anti-diagonal (a region no box fits), a little uneven."""
    y, x = np.mgrid[0:side, 0:side]
    spikes = net.spikes.copy()
    ins = side * side
    spikes[:ins] = np.where((y + x >= side).ravel(), 10.0, 1.0) * (1 + 0.1 * (spikes[:ins] % 3))
    return dataclasses.replace(net, spikes=spikes)


def test_level_value_is_the_lp_optimum(monkeypatch) -> None:
    """The certified value equals the LP written out with every local, counting and level row; the level rows
    raise it."""
    monkeypatch.setattr(bounds_local, "LEVEL_RADIUS", 1)
    net = conv_net((1, 12, 12), 2, (3, 3), (1, 1), (1, 1), spikes_seed=3)
    net = _bright_triangle(net, 12)
    g = conv_layers(net)[0]
    hw = _grid(16, 14, side=12)
    weight, floor = net.spikes.astype(float), np.full(net.num_neurons, E_LOCAL)
    lp = local_rows(net, hw, g, weight, floor, PRICES, E_LOCAL)
    jt = joint_rows(hw, g, lp, C1, E_LOCAL)
    assert lp["set_rhs"].size and jt["rhs"].size
    sy, sx, boxes, rhs, cell, unit, span = (lp[k] for k in ("sy", "sx", "boxes", "rhs", "cell", "unit", "span"))
    per = unit.size // lp["base"].size
    head = jt["coupled"] * per
    span = span.copy()
    span[head] -= jt["cap"]
    cost = np.concatenate([unit, unit[head]])
    var_cell = np.concatenate([cell, cell[head]])
    var_input = np.concatenate([np.arange(unit.size) // per, jt["coupled"]])
    yy, xx = np.divmod(var_cell % (sy * sx), sx)
    local = ((boxes[:, 0:1] <= yy) & (yy < boxes[:, 1:2]) & (boxes[:, 2:3] <= xx) & (xx < boxes[:, 3:4]))
    jb = jt["boxes"]
    hy, hx = yy[unit.size:], xx[unit.size:]
    counting = np.zeros((jb.shape[0], cost.size))
    counting[:, unit.size:] = (((jb[:, 0:1] <= hy) & (hy < jb[:, 1:2]) & (jb[:, 2:3] <= hx) & (hx < jb[:, 3:4]))
                               / jt["cap"][None, :])
    level = lp["sets"].toarray()[:, var_input]
    a_ub = -np.vstack([local.astype(float), counting, level])
    b_ub = -np.concatenate([rhs, jt["rhs"], lp["set_rhs"]])
    direct = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=list(zip(0 * cost, np.concatenate([span, jt["cap"]]))),
                     method="highs").fun
    value = local_raise(net, hw, g, weight, floor, PRICES, E_LOCAL)
    assert 0 < value <= direct * (1 + 1e-9)
    assert value >= direct * (1 - 1e-6)
    monkeypatch.setattr(bounds_local, "LEVELS", 0)
    assert value > local_raise(net, hw, g, weight, floor, PRICES, E_LOCAL) * (1 + 1e-6)


@pytest.mark.parametrize("length, kernel, n_max, a_max, cores", [(6, 3, 3, 3, 3), (6, 2, 4, 3, 3), (5, 2, 3, 3, 3)])
def test_bound_with_level_rows_is_below_the_brute_force_optimum(length, kernel, n_max, a_max, cores,
                                                                monkeypatch) -> None:
    """Lines (no smoothing, every quantile a row): the level rows never pass the optimum."""
    monkeypatch.setattr(bounds_local, "LEVEL_RADIUS", 0)
    net = conv_net((1, 1, length), 1, (1, kernel), (1, 1), (0, 0), spikes_seed=length + kernel)
    hw = line_chip(cores, n_max, a_max=a_max, local=0.25)
    lp = local_rows(net, hw, conv_layers(net)[0], net.spikes.astype(float), np.full(net.num_neurons, 0.25),
                    PRICES, 0.25)
    assert lp["set_rhs"].size  # the level rows are there
    _, energies = brute_force(net, hw, "multicast")
    bounds.bound_terms.cache_clear()
    assert combinatorial_lower_bound(net, hw) <= float(energies.min()) * (1 + 1e-9)
    bounds.bound_terms.cache_clear()


def test_joint_rows_couple_with_a_free_local_delivery(monkeypatch) -> None:
    """With ``e_local = 0`` an input's base is 0 though it has targets: the joint rows still count it (``most``)."""
    net = conv_net((1, 12, 12), 2, (3, 3), (1, 1), (1, 1), spikes_seed=3)
    g = conv_layers(net)[0]
    hw = Hardware(name="grid", limits=Limits(n_max=16, a_max=14), mesh=(12, 12),
                  energy=EnergyCosts(e_spike=1.0, e_syn=1.0, e_local=0.0, e_route=2.0, e_hop=0.5))
    weight, floor = net.spikes.astype(float), np.zeros(net.num_neurons)
    lp = local_rows(net, hw, g, weight, floor, PRICES, 0.0)
    assert np.all(lp["base"] == 0.0)
    jt = joint_rows(hw, g, lp, C1, 0.0)
    assert jt["coupled"].size and jt["rhs"].size
    assert np.allclose(jt["cap"], C1)  # two destinations: q >= c1, all of the first piece
    joint = local_raise(net, hw, g, weight, floor, PRICES, 0.0)
    monkeypatch.setattr(bounds_local, "JOINT", False)
    assert joint > local_raise(net, hw, g, weight, floor, PRICES, 0.0) * (1 + 1e-6)  # they raise it
    monkeypatch.setattr(bounds_local, "JOINT", True)
    bounds.bound_terms.cache_clear()
    total = combinatorial_lower_bound(net, hw)
    bounds.bound_terms.cache_clear()
    for core in _random_mappings(net, g, 16, 0):
        rep = evaluate(net, hw, core, link_loads=False) if core.max() < hw.num_cores else None
        if rep is not None and rep.feasible:
            assert total <= rep.total * (1 + 1e-9)
