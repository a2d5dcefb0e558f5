"""The joint rows of the local LP (formulations/bounds_local.py, ``joint_rows``): inputs held interior, counted
beside the local room. Their counting rows on every box of feasible mappings, the LP's certified value against the
LP written out, and the bound below brute-force optima, random and heuristic mappings."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.optimize import linprog

from snnmap import api
from snnmap.formulations import bounds, bounds_local
from snnmap.formulations.bounds import bound_terms, combinatorial_lower_bound
from snnmap.formulations.bounds_local import (
    deep_windows,
    joint_rows,
    local_raise,
    local_rows,
    whole_cap,
)
from snnmap.formulations.bounds_tiles import full_windows, whole_positions
from snnmap.formulations.energy import destination_pairs, evaluate
from snnmap.hardware import EnergyCosts, Hardware, Limits
from snnmap.instances.geometry import conv_layers
from tests.formulations.test_bounds_local import C1, E_LOCAL, _grid, _random_mappings
from tests.formulations.test_bounds_tiles import conv_net, line_chip
from tests.helpers import brute_force

PRICES = np.array([C1] * 4 + [C1 + 0.5] * 8 + [C1 + 1.0] * 12)  # one, two and three hops


def _lp(net, hw, g):
    weight, floor = net.spikes.astype(float), np.full(net.num_neurons, E_LOCAL)
    lp = local_rows(net, hw, g, weight, floor, PRICES, E_LOCAL)
    return lp, joint_rows(hw, g, lp, C1, E_LOCAL)


def _check_counting_rows(net, hw, g, core: np.ndarray, lp: dict, jt: dict) -> int:
    """A feasible mapping's first pieces (its ``q`` above base, up to ``cap``) meet every counting row; returns the
    rows that bind with no slack to spare (the mapping's count equal to the row's)."""
    pair_neuron, pair_core = destination_pairs(net, core, hw.num_cores)
    d = np.bincount(pair_neuron, minlength=net.num_neurons)
    local = np.bincount(pair_neuron, weights=pair_core == core[pair_neuron], minlength=net.num_neurons)
    ins = np.arange(g.in_offset, g.in_offset + int(np.prod(g.in_shape)))
    q = C1 * d[ins] - (C1 - E_LOCAL) * local[ins]
    idx = jt["coupled"]
    t = np.clip(q[idx] - lp["base"][idx], 0.0, jt["cap"])
    cin, h, w = g.in_shape
    cy, cx = lp["cuts"]
    yy, xx = np.divmod(idx % (h * w), w)
    tight = 0
    for (y0, y1, x0, x1), rhs in zip(jt["boxes"], jt["rhs"]):
        inside = (cy[y0] <= yy) & (yy < cy[y1]) & (cx[x0] <= xx) & (xx < cx[x1])
        got = float(np.sum(t[inside] / jt["cap"][inside]))
        assert got >= rhs - 1e-9, ((y0, y1, x0, x1), got, rhs)
        tight += got <= rhs + 1e-9
    return tight


@pytest.mark.parametrize("in_shape, cout, kernel, stride, padding, n_max, a_max", [
    ((1, 8, 8), 2, (3, 3), (1, 1), (1, 1), 12, 14),   # a_max caps whole positions at 2 (n_max at 6): deep inputs
    ((1, 9, 9), 1, (3, 3), (1, 1), (0, 0), 9, None),  # n_max only
    ((2, 7, 7), 2, (3, 3), (2, 2), (1, 1), 12, 18),
    ((1, 9, 9), 1, (5, 5), (2, 2), (2, 2), 16, 30)])  # ImgSmooth's kernel, a_max binding
def test_counting_rows_hold_on_every_box_of_feasible_mappings(in_shape, cout, kernel, stride, padding, n_max,
                                                             a_max) -> None:
    net = conv_net(in_shape, cout, kernel, stride, padding)
    g = conv_layers(net)[0]
    hw = _grid(n_max, a_max)
    lp, jt = _lp(net, hw, g)
    assert jt["rhs"].size and jt["coupled"].size  # the rows are there to be checked
    checked = tight = 0
    for seed in range(3):
        for core in _random_mappings(net, g, n_max, seed):
            rep = evaluate(net, hw, core, link_loads=False) if core.max() < hw.num_cores else None
            if rep is not None and rep.feasible:
                tight += _check_counting_rows(net, hw, g, core, lp, jt)
                checked += 1
    assert checked >= 3


def test_whole_cap_and_deep_windows() -> None:
    net = conv_net((1, 8, 8), 2, (3, 3), (1, 1), (1, 1))
    g = conv_layers(net)[0]
    # Three positions' windows cover 15 inputs at least (a line: 3 x 5; an L: 4 x 4 less a corner), two 12:
    # a_max 14 allows 2 whole positions (the real f(3) = (sqrt(3) + 2)^2 = 13.9 allowed 3); n_max 12 alone 6.
    assert whole_positions(g, _grid(12, 14), 1) == 6 and whole_cap(g, _grid(12, 14), 1) == 2
    assert whole_cap(g, _grid(12, None), 1) == 6
    # Positions 1..6 have unclipped windows; input 1's window holds position 0, input 6's position 7.
    assert np.flatnonzero(deep_windows(8, 8, 3, 1, 1)).tolist() == [2, 3, 4, 5]
    assert np.flatnonzero(full_windows(8, 8, 3, 1, 1)).tolist() == [1, 2, 3, 4, 5, 6]
    # ImgSmooth's axis: positions 1..126 unclipped.
    deep = deep_windows(256, 128, 5, 2, 2)
    assert np.flatnonzero(~deep).tolist() == [0, 1, 2, 252, 253, 254, 255]


def test_joint_value_is_the_lp_optimum_and_above_the_local_lp(monkeypatch) -> None:
    net = conv_net((1, 12, 12), 2, (3, 3), (1, 1), (1, 1), spikes_seed=3)
    g = conv_layers(net)[0]
    hw = _grid(16, 14, side=12)
    weight, floor = net.spikes.astype(float), np.full(net.num_neurons, E_LOCAL)
    lp, jt = _lp(net, hw, g)
    sy, sx, boxes, last, rhs, cell, unit, span = (lp[k] for k in ("sy", "sx", "boxes", "last", "rhs", "cell",
                                                                  "unit", "span"))
    assert lp["groups"] == 1 and jt["rhs"].size
    # The primal written out: each input's pieces, then the coupled inputs' first cap as variables of their own.
    per = unit.size // lp["base"].size
    head = jt["coupled"] * per
    span = span.copy()
    span[head] -= jt["cap"]
    cost = np.concatenate([unit, unit[head]])
    var_cell = np.concatenate([cell, cell[head]])
    yy, xx = np.divmod(var_cell % (sy * sx), sx)
    local = ((boxes[:, 0:1] <= yy) & (yy < boxes[:, 1:2]) & (boxes[:, 2:3] <= xx) & (xx < boxes[:, 3:4]))
    jb = jt["boxes"]
    hy, hx = yy[unit.size:], xx[unit.size:]
    counting = np.zeros((jb.shape[0], cost.size))
    counting[:, unit.size:] = (((jb[:, 0:1] <= hy) & (hy < jb[:, 1:2]) & (jb[:, 2:3] <= hx) & (hx < jb[:, 3:4]))
                               / jt["cap"][None, :])
    a_ub = -np.vstack([local.astype(float), counting])
    direct = linprog(cost, A_ub=a_ub, b_ub=-np.concatenate([rhs, jt["rhs"]]),
                     bounds=list(zip(0 * cost, np.concatenate([span, jt["cap"]]))), method="highs").fun
    value = local_raise(net, hw, g, weight, floor, PRICES, E_LOCAL)
    assert 0 < value <= direct * (1 + 1e-9)
    assert value >= direct * (1 - 1e-6)
    monkeypatch.setattr(bounds_local, "JOINT", False)
    assert value > local_raise(net, hw, g, weight, floor, PRICES, E_LOCAL) * (1 + 1e-6)


@pytest.mark.parametrize("length, kernel, n_max, a_max, cores, raised", [
    (6, 3, 3, 3, 3, False), (5, 2, 3, None, 3, False), (6, 2, 4, 3, 3, True)])
def test_bound_is_below_the_brute_force_optimum(length, kernel, n_max, a_max, cores, raised, monkeypatch) -> None:
    net = conv_net((1, 1, length), 1, (1, kernel), (1, 1), (0, 0), spikes_seed=length)
    hw = line_chip(cores, n_max, a_max=a_max, local=0.25)
    _, energies = brute_force(net, hw, "multicast")
    best = float(energies.min())
    joint = combinatorial_lower_bound(net, hw)
    assert joint <= best * (1 + 1e-9)
    monkeypatch.setattr(bounds_local, "JOINT", False)
    bounds.bound_terms.cache_clear()
    old = combinatorial_lower_bound(net, hw)
    bounds.bound_terms.cache_clear()
    assert old <= joint * (1 + 1e-9)  # the rows only add
    assert (joint > old * (1 + 1e-9)) == raised  # 116 against 115 on (6, 2, 4, 3, 3)


@pytest.mark.parametrize("in_shape, cout, kernel, stride, padding, n_max, a_max", [
    ((1, 12, 12), 2, (3, 3), (1, 1), (1, 1), 16, 14),
    ((1, 14, 14), 1, (5, 5), (2, 2), (2, 2), 20, 40)])
def test_bound_is_below_random_and_heuristic_mappings(in_shape, cout, kernel, stride, padding, n_max,
                                                      a_max) -> None:
    net = conv_net(in_shape, cout, kernel, stride, padding, spikes_seed=7)
    g = conv_layers(net)[0]
    hw = _grid(n_max, a_max, side=12)
    bounds.bound_terms.cache_clear()
    terms = bound_terms(net, hw)
    total = float(sum(terms.values()))
    checked = 0
    maps = _random_mappings(net, g, n_max, 0)
    maps += [np.asarray(api.solve(net, hw, m, time_limit=1.0, seed=0).mapping) for m in ("greedy", "partition-refine")]
    for core in maps:
        rep = evaluate(net, hw, core, link_loads=False) if core.max() < hw.num_cores else None
        if rep is not None and rep.feasible:
            assert terms["comm"] <= rep.terms["comm"] * (1 + 1e-9)
            assert total <= rep.total * (1 + 1e-9)
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("cin, cout, length, mesh, n_max, a_max, costs, spikes", [
    # (e_local, e_route, e_hop): a padded line, a vertical line with e_local just below c1 and zero spikes, a
    # dearer hop than a packet, two channels; uneven spikes (heavy tails, zeros, tenths).
    (1, 2, 3, (1, 3), 5, 3, (1.0, 2.0, 0.5), [2, 7, 0, 2, 2, 8, 7, 3, 0, 3, 6]),
    (1, 1, 6, (3, 1), 10, 3, (2.4, 0.5, 2.0), [0, 54, 0, 53, 52, 37, 0, 8, 0, 0, 0]),
    (1, 2, 4, (1, 3), 7, 3, (2.4, 2.0, 2.0), [3.2, 8.4, 4.2, 0, 1, 54, 2.4, 2, 2, 77.7]),
    (2, 1, 4, (1, 3), 10, 6, (0.25, 2.0, 0.5), [1.6, 4.5, 7.8, 20.2, 1.2, 5.2, 134.8, 36.7, 4.8, 12, 5.1])])
def test_raised_bound_meets_the_brute_force_optimum_without_passing_it(cin, cout, length, mesh, n_max, a_max, costs,
                                                                        spikes, monkeypatch) -> None:
    """Random small lines (found by a sweep of about 1500 brute-forced instances) where the joint rows raise the
    bound: it reaches the optimum exactly, and never passes it."""
    pad = 1 if length == 3 else 0
    net = conv_net((cin, 1, length), cout, (1, 2), (1, 1), (0, pad))
    net = dataclasses.replace(net, spikes=np.asarray(spikes, dtype=float))
    e_local, e_route, e_hop = costs
    hw = Hardware(name="line", limits=Limits(n_max=n_max, a_max=a_max), mesh=mesh,
                  energy=EnergyCosts(e_spike=1.0, e_syn=1.0, e_local=e_local, e_route=e_route, e_hop=e_hop))
    _, energies = brute_force(net, hw, "multicast")
    best = float(energies.min())
    bounds.bound_terms.cache_clear()
    joint = combinatorial_lower_bound(net, hw)
    monkeypatch.setattr(bounds_local, "JOINT", False)
    bounds.bound_terms.cache_clear()
    old = combinatorial_lower_bound(net, hw)
    bounds.bound_terms.cache_clear()
    assert joint <= best * (1 + 1e-9)
    assert joint > old * (1 + 1e-6)  # the joint rows set the bound here
    assert joint >= best * (1 - 1e-9)  # and it is tight: any overshoot of the rows would show


def _rectangle_mapping(net, g, n_max: int, a_max: int | None, rng: np.random.Generator) -> np.ndarray:
    """Output positions whole in random rectangles of at most ``n_max // C_out`` positions, each shrunk until its
    windows fit ``a_max`` (so the cores along the clipped border hold more), each input on the core of one of its
    targets where there is room, the rest packed."""
    cin, h, w = g.in_shape
    cout, ho, wo = g.out_shape
    most = max(n_max // cout, 1)
    pos_core = np.full((ho, wo), -1)
    cores = 0
    for y in range(ho):
        for x in range(wo):
            if pos_core[y, x] >= 0:
                continue
            ty = int(rng.integers(1, most + 1))
            tx = int(rng.integers(1, most // ty + 1))
            while True:  # shrunk until its windows fit a_max (the border's clipped windows fit more positions)
                block = pos_core[y:y + ty, x:x + tx]
                free = np.argwhere(block < 0) + [y, x]
                axons = np.unique(net.pre[np.isin(net.post, g.out_offset + free[:, 0] * wo + free[:, 1])]).size
                if a_max is None or axons <= a_max or ty * tx == 1:
                    break
                ty, tx = (ty - 1, tx) if ty > tx else (ty, tx - 1)
            block[block < 0] = cores
            cores += 1
    core = np.full(net.num_neurons, -1, dtype=np.int64)
    core[g.out_offset:g.out_offset + cout * ho * wo] = np.tile(pos_core.ravel(), cout)
    room = n_max - np.bincount(pos_core.ravel(), minlength=cores) * cout
    for i in rng.permutation(np.arange(g.in_offset, g.in_offset + cin * h * w)):
        targets = net.post[net.pre == i]
        if targets.size and rng.random() < 0.8:
            c = core[rng.choice(targets)]
            if room[c] > 0:
                core[i], room[c] = c, room[c] - 1
    rest = np.flatnonzero(core < 0)
    core[rest] = cores + np.arange(rest.size) // n_max
    return core


@pytest.mark.parametrize("in_shape, cout, kernel, stride, padding, n_max, a_max", [
    ((3, 7, 7), 1, (3, 2), (2, 1), (1, 1), 6, None),  # rectangular kernel and stride, three channels
    ((1, 8, 8), 2, (2, 3), (1, 1), (1, 2), 12, 10),  # a_max caps whole positions at 3 (n_max at 6): deep inputs
    ((1, 8, 8), 3, (2, 3), (1, 1), (1, 2), 12, 16),  # no cap below n_max's 4
    ((2, 1, 12), 2, (1, 3), (1, 1), (0, 1), 6, 8)])  # a line, padded: a_max caps at 2 (n_max at 3)
def test_counting_rows_hold_on_rectangle_mappings(in_shape, cout, kernel, stride, padding, n_max, a_max) -> None:
    net = conv_net(in_shape, cout, kernel, stride, padding, spikes_seed=11)
    g = conv_layers(net)[0]
    hw = _grid(n_max, a_max, side=12)
    lp, jt = _lp(net, hw, g)
    assert jt["rhs"].size and jt["coupled"].size
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(40):
        core = _rectangle_mapping(net, g, n_max, a_max, rng)
        rep = evaluate(net, hw, core, link_loads=False) if core.max() < hw.num_cores else None
        if rep is not None and rep.feasible:
            _check_counting_rows(net, hw, g, core, lp, jt)
            checked += 1
    assert checked >= 5
