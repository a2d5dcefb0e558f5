"""The local-room bound (formulations/bounds_local.py): its box rows on every box of feasible mappings, its LP's
certified value, and the bound below brute-force optima and feasible mappings of full applications."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from snnmap.formulations import bounds, bounds_local
from snnmap.formulations.bounds import bound_terms, combinatorial_lower_bound, communication_lower_bound, min_cores
from snnmap.formulations.bounds_local import (
    channel_groups,
    cost_pieces,
    inner_axons,
    local_raise,
    local_rates,
    local_rows,
    window_cores,
)
from snnmap.formulations.energy import destination_pairs, evaluate
from snnmap.hardware import EnergyCosts, Hardware, Limits
from snnmap.instances.geometry import ConvGeometry, conv_layers
from snnmap.instances.layers import NetBuilder, conv2d_edges
from snnmap.prepare import prepared
from tests.formulations.test_bounds_tiles import conv_net, line_chip, tile_mapping
from tests.helpers import brute_force

C1, E_LOCAL = 2.5, 0.25  # the chips below: e_route 2 + e_hop 0.5, e_local 0.25


def _grid(n_max: int, a_max: int | None, side: int = 9) -> Hardware:
    return Hardware(name="grid", limits=Limits(n_max=n_max, a_max=a_max), mesh=(side, side),
                    energy=EnergyCosts(e_spike=1.0, e_syn=1.0, e_local=E_LOCAL, e_route=2.0, e_hop=0.5))


def _inside(g: ConvGeometry, y0: int, y1: int, x0: int, x1: int) -> int:
    """Output positions whose whole window (unclipped) lies in input rows ``y0..y1-1`` and columns ``x0..x1-1``,
    counted one by one."""
    (_, h, w), (_, ho, wo) = g.in_shape, g.out_shape
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    count = 0
    for oy in range(ho):
        for ox in range(wo):
            ry, rx = oy * sh - ph, ox * sw - pw  # the window's first input row and column
            if (0 <= ry and ry + kh <= h and 0 <= rx and rx + kw <= w and y0 <= ry and ry + kh <= y1
                    and x0 <= rx and rx + kw <= x1):
                count += 1
    return count


def _check_every_box(net, hw: Hardware, g: ConvGeometry, core: np.ndarray) -> None:
    """Every box of inputs pays ``sum (c1 d - (c1 - e_local) l) >= rho_lam C_out |R(B)| - lam |B|``."""
    pair_neuron, pair_core = destination_pairs(net, core, hw.num_cores)
    d = np.bincount(pair_neuron, minlength=net.num_neurons)
    local = np.bincount(pair_neuron, weights=pair_core == core[pair_neuron], minlength=net.num_neurons)
    cin, h, w = g.in_shape
    cout = g.out_shape[0]
    ins = np.arange(g.in_offset, g.in_offset + cin * h * w)
    z = (C1 * d[ins] - (C1 - E_LOCAL) * local[ins]).reshape(cin, h, w).sum(axis=0)
    lam, rho = local_rates(g, hw, C1, E_LOCAL, int(net.in_degree[g.out_offset:].min()))
    for y0 in range(h):
        for y1 in range(y0 + 1, h + 1):
            for x0 in range(w):
                for x1 in range(x0 + 1, w + 1):
                    forced = np.max(rho * cout * _inside(g, y0, y1, x0, x1) - lam * cin * (y1 - y0) * (x1 - x0))
                    assert z[y0:y1, x0:x1].sum() >= forced - 1e-9, (y0, y1, x0, x1)


def _random_mappings(net, g: ConvGeometry, n_max: int, seed: int) -> list[np.ndarray]:
    """Tilings of the outputs with the inputs beside their tile where there is room, under several tiles and
    shifts, then random packings (most are infeasible under ``a_max``: the caller keeps the feasible)."""
    rng = np.random.default_rng(seed)
    maps = [tile_mapping(net, g, (ty, tx), n_max, shift) for ty in (1, 2, 3) for tx in (1, 2, 3) for shift in (0, 1)]
    for _ in range(20):
        core = np.empty(net.num_neurons, dtype=np.int64)
        core[rng.permutation(net.num_neurons)] = np.arange(net.num_neurons) // rng.integers(2, n_max + 1)
        maps.append(core)
    return maps


@pytest.mark.parametrize("in_shape, cout, kernel, stride, padding, n_max, a_max", [
    ((1, 6, 6), 2, (3, 3), (1, 1), (0, 0), 10, 12),
    ((1, 7, 7), 1, (3, 3), (2, 2), (1, 1), 8, 9),
    ((2, 5, 5), 2, (2, 2), (1, 1), (0, 0), 12, 16),
    ((1, 1, 12), 3, (1, 3), (1, 1), (0, 0), 9, 6)])
def test_box_rows_hold_on_every_box_of_feasible_mappings(in_shape, cout, kernel, stride, padding, n_max,
                                                         a_max) -> None:
    net = conv_net(in_shape, cout, kernel, stride, padding)
    g = conv_layers(net)[0]
    hw = _grid(n_max, a_max)
    checked = 0
    for seed in range(2):
        for core in _random_mappings(net, g, n_max, seed):
            rep = evaluate(net, hw, core, link_loads=False) if core.max() < hw.num_cores else None
            if rep is not None and rep.feasible:
                _check_every_box(net, hw, g, core)
                assert rep.cores_used >= window_cores(net, hw)[0]
                checked += 1
    assert checked >= 3


def test_lp_value_is_the_lp_optimum_and_raises_the_bound(monkeypatch) -> None:
    monkeypatch.setattr(bounds_local, "JOINT", False)  # the local rows alone (the joint rows: test_bounds_joint.py)
    net = conv_net((1, 12, 12), 2, (3, 3), (1, 1), (1, 1), spikes_seed=3)
    g = conv_layers(net)[0]
    hw = _grid(16, 14, side=12)
    weight, floor = net.spikes.astype(float), np.full(net.num_neurons, E_LOCAL)
    prices = np.array([C1] * 4 + [C1 + 0.5] * 8 + [C1 + 1.0] * 12)  # one, two and three hops
    lp = local_rows(net, hw, g, weight, floor, prices, E_LOCAL)
    sy, sx, boxes, last, rhs, cell, unit, span = (lp[k] for k in ("sy", "sx", "boxes", "last", "rhs", "cell",
                                                                  "unit", "span"))
    assert rhs.size and np.all(rhs > 0) and not lp["ounit"].size
    # The primal written out: each box's variables (input pieces in its super-cells and groups) summed directly.
    grp, (yy, xx) = cell // (sy * sx), np.divmod(cell % (sy * sx), sx)
    rows = ((boxes[:, 0:1] <= yy) & (yy < boxes[:, 1:2]) & (boxes[:, 2:3] <= xx) & (xx < boxes[:, 3:4])
            & (grp <= last[:, None]))
    direct = linprog(unit, A_ub=-rows.astype(float), b_ub=-rhs, bounds=list(zip(0 * span, span)), method="highs").fun
    value = local_raise(net, hw, g, weight, floor, prices, E_LOCAL)
    assert 0 < value <= direct * (1 + 1e-9)
    assert value >= direct * (1 - 1e-6)
    # Dearer further destinations only raise it.
    assert value > local_raise(net, hw, g, weight, floor, prices[:1], E_LOCAL)
    # Wired into the communication bound: above the bound without the local rows.
    with_rows = communication_lower_bound(net, hw)
    monkeypatch.setattr(bounds, "local_raise", lambda *args, **kwargs: 0.0)
    assert with_rows > communication_lower_bound(net, hw)


def test_dark_inputs_take_the_extra_cost_and_zero_weight_gives_nothing(monkeypatch) -> None:
    monkeypatch.setattr(bounds_local, "JOINT", False)  # the local rows alone
    net = conv_net((1, 12, 12), 2, (3, 3), (1, 1), (1, 1), flat=True)
    g = conv_layers(net)[0]
    hw = _grid(16, 14, side=12)
    floor = np.full(net.num_neurons, E_LOCAL)
    ones = np.ones(net.num_neurons)
    assert local_raise(net, hw, g, 0 * ones, floor, np.array([C1]), E_LOCAL) == 0.0
    dark = ones.copy()
    dark[g.in_offset:g.in_offset + 144:2] = 0.0  # every other input dark: each super-cell holds one
    one = np.array([C1])
    assert local_raise(net, hw, g, dark, floor, one, E_LOCAL) < 1e-9 < local_raise(net, hw, g, ones, floor, one,
                                                                                     E_LOCAL)
    # With the joint rows (test_bounds_joint.py) the bright inputs cannot all keep a single destination.
    monkeypatch.setattr(bounds_local, "JOINT", True)
    assert local_raise(net, hw, g, 0 * ones, floor, one, E_LOCAL) == 0.0
    assert local_raise(net, hw, g, dark, floor, one, E_LOCAL) > 10 * C1


@pytest.mark.parametrize("length, kernel, n_max, a_max, cores", [(6, 3, 3, 3, 3), (5, 2, 3, None, 3),
                                                                 (6, 2, 4, 3, 3)])
def test_bound_is_below_the_brute_force_optimum_with_a_cheap_local_delivery(length, kernel, n_max, a_max,
                                                                          cores) -> None:
    net = conv_net((1, 1, length), 1, (1, kernel), (1, 1), (0, 0))
    hw = line_chip(cores, n_max, a_max=a_max, local=0.25)
    _, energies = brute_force(net, hw, "multicast")
    assert combinatorial_lower_bound(net, hw) <= float(energies.min()) * (1 + 1e-9)


# ImgSmooth's bound takes about 25 s: its rows run with the slow tests (EdgeDet keeps the check in the default run).
@pytest.mark.parametrize("app, tile", [("EdgeDet", (5, 5)),
                                       pytest.param("ImgSmooth", (4, 4), marks=pytest.mark.slow),
                                       pytest.param("ImgSmooth", (3, 5), marks=pytest.mark.slow)])
def test_bound_is_below_tilings_of_full_applications_with_local_inputs(app: str, tile: tuple[int, int]) -> None:
    net, hw = prepared(app, "full", "crossbar128")
    g = conv_layers(net)[0]
    core = tile_mapping(net, g, tile, hw.limits.n_max)
    rep = evaluate(net, hw, core, link_loads=False)
    assert rep.feasible and rep.local_packets > 0.3 * rep.packets  # the adversary: many deliveries local
    terms = bound_terms(net, hw)
    assert terms["comm"] <= rep.terms["comm"] * (1 + 1e-9)
    assert terms["static"] <= rep.terms["static"] * (1 + 1e-9)


def test_window_cores_count_what_a_max_leaves_per_core() -> None:
    net, hw = prepared("ImgSmooth", "full", "crossbar128")
    need, why = window_cores(net, hw)
    # 16 positions (4 x 4) cover 11 x 11 = 121 inputs, 17 at least 131 (union_least): the real (2 sqrt(17) + 3)^2
    # = 126.5 allowed 17.
    assert need == -(-126 * 126 // 16) and "at most 16" in why
    assert min_cores(net, hw, axons=True) == need > min_cores(net, hw)
    assert window_cores(net, hw.replace(a_max=None)) == (0, "")


@pytest.mark.parametrize("floor_extra", [0.0, 1.0, 4.0, 40.0])
def test_pieces_price_every_destination_count_at_most_its_cost(floor_extra: float) -> None:
    prices = np.array([C1] * 4 + [C1 + 1.0] * 3 + [C1 + 3.0] * 2 + [C1 + 4.0] * 3)
    most = np.arange(0, 10)
    base, span, slope = cost_pieces(prices, E_LOCAL, most, np.full(most.size, E_LOCAL + floor_extra))
    for i, top in enumerate(most):
        for d in range(1, top + 1):
            for local in (0, 1):
                q = C1 * d - (C1 - E_LOCAL) * local
                cost = max(E_LOCAL + floor_extra, E_LOCAL * local + prices[:d - local].sum())
                assert q <= base[i] + span[i].sum() + 1e-9
                fill = np.clip(q - base[i] - np.concatenate([[0.0], np.cumsum(span[i])[:-1]]), 0.0, span[i])
                assert E_LOCAL + floor_extra + fill @ slope[i] <= cost + 1e-9, (top, d, local)


@pytest.mark.parametrize("in_shape, kernel, stride, n_max, a_max, cores", [
    ((2, 1, 3), (1, 2), (1, 1), 4, 3, 3), ((2, 1, 4), (1, 3), (1, 1), 5, 4, 2)])
def test_bound_is_below_the_brute_force_optimum_of_small_poolings(in_shape, kernel, stride, n_max, a_max,
                                                                  cores) -> None:
    # Depthwise windows (a pooling: each output reads its own channel) take the per-channel rows.
    net = conv_net(in_shape, in_shape[0], kernel, stride, (0, 0), pool=True)
    assert conv_layers(net)[0].depthwise
    hw = line_chip(cores, n_max, a_max=a_max, local=0.25)
    _, energies = brute_force(net, hw, "multicast")
    assert combinatorial_lower_bound(net, hw) <= float(energies.min()) * (1 + 1e-9)


def test_bound_is_below_feasible_mappings_of_an_overlapping_pooling() -> None:
    net = conv_net((2, 7, 7), 2, (3, 3), (2, 2), (0, 0), pool=True)
    g = conv_layers(net)[0]
    hw = _grid(10, 18)
    terms = bound_terms(net, hw)
    checked = 0
    for seed in range(2):
        for core in _random_mappings(net, g, 10, seed):
            rep = evaluate(net, hw, core, link_loads=False) if core.max() < hw.num_cores else None
            if rep is not None and rep.feasible:
                assert terms["comm"] <= rep.terms["comm"] * (1 + 1e-9)
                assert terms["static"] <= rep.terms["static"] * (1 + 1e-9)
                checked += 1
    assert checked >= 3


def _chain_net(length: int, channels: int, k1: int, k2: int, s2: int, seed: int, dark: int | None = None):
    """input (1 x length) -> conv (``channels`` outputs, kernel ``k1``) -> pooling (kernel ``k2``, stride ``s2``):
    the pooling's inputs have inputs of their own. ``dark``: a conv channel that never spikes."""
    nb = NetBuilder()
    src = nb.add("input", (1, 1, length))
    pre, post, _, shape = conv2d_edges((1, 1, length), channels, (1, k1), (1, 1), (0, 0), depthwise=False)
    conv = nb.add("conv", shape)
    nb.connect(src, conv, pre, post, 1.0)
    pre, post, _, pooled = conv2d_edges(shape, channels, (1, k2), (1, s2), (0, 0), depthwise=True)
    nb.connect(conv, nb.add("pool", pooled), pre, post, 1.0)
    spikes = np.random.default_rng(seed).integers(1, 9, nb.num_neurons).astype(float)
    if dark is not None:
        spikes[length + dark * shape[2]:length + (dark + 1) * shape[2]] = 0.0
    params = {"channels": 1, "length": length, "specs": [
        {"kind": "conv", "name": "conv", "out": channels, "kernel": (1, k1), "stride": (1, 1), "padding": (0, 0)},
        {"kind": "pool", "name": "pool", "out": channels, "kernel": (1, k2), "stride": (1, s2), "padding": (0, 0)}]}
    return nb.network(spikes, t_run=1.0, name="chain", provenance={"params": params})


def test_inner_axons_count_the_local_inputs_own_windows() -> None:
    net = _chain_net(8, 2, 3, 2, 2, seed=0)
    conv, pool = conv_layers(net)
    assert inner_axons(net, conv, 4) is None  # the network's inputs have no inputs
    # L conv outputs stand at ceil(L / 2) positions at least, whose windows cover that + 2 inputs of the one channel.
    assert np.allclose(inner_axons(net, pool, 4), [0.0, 3.0, 3.0, 4.0, 4.0])
    hw = _grid(8, 4)  # one pooled output: 2 axons for its window, 2 left, fewer than a local input's 3
    lam, plain = local_rates(pool, hw, C1, E_LOCAL, 2)
    _, inner = local_rates(pool, hw, C1, E_LOCAL, 2, inner_axons(net, pool, 8))
    assert np.all(inner >= plain - 1e-12) and np.any(inner > plain + 1e-9)


@pytest.mark.parametrize("length, channels, k1, k2, s2, n_max, a_max, cores, dark", [
    (4, 1, 2, 2, 1, 3, 3, 3, None), (4, 1, 2, 2, 2, 4, 3, 3, None), (5, 1, 3, 2, 1, 4, 4, 3, None),
    (3, 2, 2, 2, 1, 4, 4, 3, 1), (3, 2, 2, 2, 1, 3, 3, 3, 0)])
def test_bound_is_below_the_brute_force_optimum_of_small_chains(length, channels, k1, k2, s2, n_max, a_max, cores,
                                                                dark) -> None:
    net = _chain_net(length, channels, k1, k2, s2, seed=length + channels, dark=dark)
    assert len(conv_layers(net)) == 2
    hw = line_chip(cores, n_max, a_max=a_max, local=0.25)
    _, energies = brute_force(net, hw, "multicast")
    assert combinatorial_lower_bound(net, hw) <= float(energies.min()) * (1 + 1e-9)


def _inside_mask(g: ConvGeometry, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """The output positions (``ho x wo``) whose whole window lies in the box, one by one."""
    (_, h, w), (_, ho, wo) = g.in_shape, g.out_shape
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    ry, rx = np.arange(ho)[:, None] * sh - ph, np.arange(wo)[None, :] * sw - pw
    return ((0 <= ry) & (ry + kh <= h) & (y0 <= ry) & (ry + kh <= y1)
            & (0 <= rx) & (rx + kw <= w) & (x0 <= rx) & (rx + kw <= x1))


def _check_subset_boxes(net, hw: Hardware, g: ConvGeometry, core: np.ndarray, weight: np.ndarray,
                        nus: tuple[float, ...] = (0.0,)) -> int:
    """Every box of every nested channel subset pays its row (local inputs' own axons counted; with ``nu > 0``
    the outputs' local deliveries too: ``sum q + nu U >= (rho + nu) |R(B)| - lam |B|``); the rows checked."""
    pair_neuron, pair_core = destination_pairs(net, core, hw.num_cores)
    d = np.bincount(pair_neuron, minlength=net.num_neurons)
    local = np.bincount(pair_neuron, weights=pair_core == core[pair_neuron], minlength=net.num_neurons)
    cin, h, w = g.in_shape
    cout, ho, wo = g.out_shape
    ins = np.arange(g.in_offset, g.in_offset + cin * h * w)
    q = (C1 * d[ins] - (C1 - E_LOCAL) * local[ins]).reshape(cin, h, w)
    away = (local[g.out_offset:g.out_offset + cout * ho * wo] == 0).reshape(cout, ho, wo)  # non-local outputs
    group = channel_groups(g, weight)
    inner = inner_axons(net, g, hw.limits.n_max)
    checked = 0
    for k, nu in itertools.product(range(int(group.max()) + 1), nus):
        subset = group <= k
        share = 1.0 if g.depthwise else subset.sum() / cin
        lam, rho = local_rates(g, hw, C1, E_LOCAL, int(net.in_degree[g.out_offset:].min()), inner, share, nu)
        z = q[subset].sum(axis=0)
        outs = away[subset] if g.depthwise else away
        for y0, y1, x0, x1 in itertools.product(range(h), range(1, h + 1), range(w), range(1, w + 1)):
            if y1 > y0 and x1 > x0:
                inside = _inside_mask(g, y0, y1, x0, x1)
                count = outs.shape[0] * int(inside.sum())
                forced = np.max((rho + nu) * count - lam * subset.sum() * (y1 - y0) * (x1 - x0))
                paid = z[y0:y1, x0:x1].sum() + nu * outs[:, inside].sum()
                assert paid >= forced - 1e-9, (k, nu, y0, y1, x0, x1)
                checked += forced > 1e-9
    return checked


@pytest.mark.parametrize("channels, k1, k2, s2, n_max, a_max", [(3, 3, 2, 2, 10, 12), (2, 2, 3, 1, 8, 9),
                                                               (4, 3, 2, 1, 12, 10)])
def test_subset_rows_hold_on_every_box_of_feasible_mappings(channels, k1, k2, s2, n_max, a_max) -> None:
    net = _chain_net(14, channels, k1, k2, s2, seed=channels, dark=0)
    pool = conv_layers(net)[1]
    hw = _grid(n_max, a_max)
    rows = maps = 0
    for seed in range(3):
        for core in _random_mappings(net, pool, n_max, seed):
            rep = evaluate(net, hw, core, link_loads=False) if core.max() < hw.num_cores else None
            if rep is not None and rep.feasible:
                rows += _check_subset_boxes(net, hw, pool, core, net.spikes)
                maps += 1
    assert maps >= 3 and rows > 0


@pytest.mark.parametrize("channels, k1, n_max, a_max", [(2, 3, 10, 12), (3, 2, 9, 10)])
def test_rows_with_local_outputs_hold_on_every_box_of_feasible_mappings(channels, k1, n_max, a_max) -> None:
    # The convolution's outputs feed a pooling: a local output is an axon of its core (the chain rows).
    net = _chain_net(10, channels, k1, 2, 2, seed=channels)
    conv = conv_layers(net)[0]
    hw = _grid(n_max, a_max)
    rows = maps = 0
    for seed in range(2):
        for core in _random_mappings(net, conv, n_max, seed):
            rep = evaluate(net, hw, core, link_loads=False) if core.max() < hw.num_cores else None
            if rep is not None and rep.feasible:
                rows += _check_subset_boxes(net, hw, conv, core, net.spikes, (0.0, 0.2 * C1, 0.8 * C1, 3.0 * C1))
                maps += 1
    assert maps >= 3 and rows > 0


@pytest.mark.slow
def test_local_outputs_raise_the_bound(monkeypatch) -> None:
    # HeartClass's conv2 outputs feed pool2: keeping them local takes the axons its inputs need.
    net, hw = prepared("HeartClass", "full", "crossbar128")
    with_outputs = communication_lower_bound(net, hw)
    monkeypatch.setattr(bounds_local, "CHAIN_NUS", ())
    assert with_outputs > communication_lower_bound(net, hw) * 1.05


@pytest.mark.slow
def test_dark_channels_raise_the_bound_through_the_subset_rows(monkeypatch) -> None:
    # HeartClass's second convolution reads 8 pooled channels, two of them dark: all channels counted together,
    # the forced incidences fall on the dark ones.
    net, hw = prepared("HeartClass", "full", "crossbar128")
    with_subsets = communication_lower_bound(net, hw)
    monkeypatch.setattr(bounds_local, "GROUPS", 1)
    assert with_subsets > communication_lower_bound(net, hw) * 1.05
