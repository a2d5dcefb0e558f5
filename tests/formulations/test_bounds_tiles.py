"""The tile-border bound (formulations/bounds_tiles.py): its counting lemma by brute force, validity on mappings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snnmap import api
from snnmap.formulations import bounds_tiles
from snnmap.formulations.bounds import bound_terms, combinatorial_lower_bound, communication_lower_bound
from snnmap.formulations.bounds_tiles import (
    border_raise,
    box_lp_exempt,
    exempt_most,
    full_windows,
    interior_per_core,
    most_alone,
    most_interior,
    whole_positions,
)
from snnmap.formulations.energy import destination_pairs, evaluate
from snnmap.hardware import EnergyCosts, Hardware, Limits, load_hardware
from snnmap.instances.geometry import ConvGeometry, conv_layers
from snnmap.instances.layers import NetBuilder, conv2d_edges, conv_out
from snnmap.prepare import prepared
from tests.helpers import brute_force


def _geometry(in_shape, kernel, stride, padding, cout=1) -> ConvGeometry:
    ho = conv_out(in_shape[1], kernel[0], stride[0], padding[0])
    wo = conv_out(in_shape[2], kernel[1], stride[1], padding[1])
    return ConvGeometry(0, 1, in_shape, (cout, ho, wo), kernel, stride, padding, False, 0, int(np.prod(in_shape)))


def _interior(g: ConvGeometry, subset: np.ndarray) -> int:
    """Inputs with a full window lying inside the output positions ``subset`` (a flat mask), counted directly."""
    _, h, w = g.in_shape
    _, ho, wo = g.out_shape
    pre, post, _, _ = conv2d_edges((1, h, w), 1, g.kernel, g.stride, g.padding)
    full = (full_windows(h, ho, g.kernel[0], g.stride[0], g.padding[0])[:, None]
            & full_windows(w, wo, g.kernel[1], g.stride[1], g.padding[1])[None, :]).ravel()
    outside = np.bincount(pre, weights=~subset[post], minlength=h * w)
    return int(np.sum(full & (outside == 0) & (np.bincount(pre, minlength=h * w) > 0)))


@st.composite
def small_convs(draw) -> ConvGeometry:
    line = draw(st.booleans())
    ky, kx = (1, draw(st.integers(1, 4))) if line else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    sy, sx = (1, draw(st.integers(1, 3))) if line else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    py, px = (0, draw(st.integers(0, kx - 1))) if line else (draw(st.integers(0, ky - 1)), draw(st.integers(0, kx - 1)))
    h = 1 if line else draw(st.integers(ky, 6))
    w = draw(st.integers(kx, 12 if line else 6))
    g = _geometry((1, h, w), (ky, kx), (sy, sx), (py, px))
    if g.out_shape[1] * g.out_shape[2] > 12:
        g = _geometry((1, h, min(w, kx + 2)), (ky, kx), (sy, sx), (py, px))
    return g


@settings(derandomize=True, max_examples=60, deadline=None)
@given(small_convs())
def test_interior_count_is_at_most_the_lemma_on_every_set_of_positions(g: ConvGeometry) -> None:
    positions = g.out_shape[1] * g.out_shape[2]
    for bits in itertools.product([False, True], repeat=positions):
        subset = np.array(bits)
        assert _interior(g, subset) <= interior_per_core(g, int(subset.sum())) + 1e-9, (g, bits)


def test_lemma_is_tight_on_a_square_tile() -> None:
    g = _geometry((1, 12, 12), (3, 3), (1, 1), (1, 1))
    tile = np.zeros((12, 12), dtype=bool)
    tile[2:8, 3:9] = True  # 36 positions hold whole the windows of the 4 x 4 inputs inside
    assert _interior(g, tile.ravel()) == 16 == interior_per_core(g, 36)


def conv_net(in_shape, cout, kernel, stride, padding, spikes_seed=0, flat=False, pool=False):
    nb = NetBuilder()
    src = nb.add("input", in_shape)
    pre, post, _, out_shape = conv2d_edges(in_shape, cout, kernel, stride, padding, depthwise=pool)
    dst = nb.add("conv", out_shape)
    nb.connect(src, dst, pre, post, 1.0)
    spikes = (np.ones(nb.num_neurons) if flat
              else np.random.default_rng(spikes_seed).integers(0, 9, nb.num_neurons).astype(float))
    size = {"length": in_shape[2]} if in_shape[1] == 1 else {"size": in_shape[1]}
    params = {"channels": in_shape[0], **size, "specs": [
        {"kind": "pool" if pool else "conv", "name": "conv", "out": cout, "kernel": kernel, "stride": stride,
         "padding": padding}]}
    return nb.network(spikes, t_run=1.0, name="conv", provenance={"params": params})


def line_chip(cores: int, n_max: int, a_max: int | None = None, local: float = 2.0) -> Hardware:
    return Hardware(name="line", limits=Limits(n_max=n_max, a_max=a_max), mesh=(1, cores),
                    energy=EnergyCosts(e_spike=1.0, e_syn=1.0, e_local=local, e_route=2.0, e_hop=0.5))


@pytest.mark.parametrize("local", [2.0, 0.25])
@pytest.mark.parametrize("length, kernel, stride, n_max, cores", [
    (5, 2, 1, 2, 4), (5, 3, 1, 3, 3), (6, 3, 2, 2, 3), (4, 2, 1, 3, 3), (5, 3, 2, 2, 4), (4, 2, 1, 4, 2)])
def test_bound_is_below_the_brute_force_optimum_of_small_convolutions(length, kernel, stride, n_max, cores,
                                                                      local) -> None:
    net = conv_net((1, 1, length), 1, (1, kernel), (1, stride), (0, 0))
    hw = line_chip(cores, n_max, local=local)
    assert len(conv_layers(net)) == 1
    _, energies = brute_force(net, hw, "multicast")
    assert combinatorial_lower_bound(net, hw) <= float(energies.min()) * (1 + 1e-9)


@pytest.mark.parametrize("n_max", [2, 3, 4])
def test_bound_is_below_the_brute_force_optimum_of_a_small_pooling(n_max) -> None:
    net = conv_net((2, 1, 3), 0, (1, 2), (1, 1), (0, 0), pool=True)  # two channels: pieces of both on one core
    hw = line_chip(3, n_max, local=0.25)
    assert conv_layers(net)[0].depthwise
    _, energies = brute_force(net, hw, "multicast")
    assert combinatorial_lower_bound(net, hw) <= float(energies.min()) * (1 + 1e-9)


def test_bound_rises_where_tiles_must_split_windows() -> None:
    net = conv_net((1, 1, 6), 1, (1, 3), (1, 1), (0, 0), flat=True)
    hw = line_chip(4, 3)  # outputs 0..3; inputs 2 and 3 see 3 of them each, and one core of 3 holds one window only
    none = np.zeros(net.num_neurons)
    assert border_raise(net, hw, np.ones(net.num_neurons), none) == 1.0
    assert communication_lower_bound(net, hw) > communication_lower_bound(net.replace(provenance={}), hw)


def tile_mapping(net, g: ConvGeometry, tile: tuple[int, int], n_max: int, shift: int = 0) -> np.ndarray:
    """Output positions whole in square-ish tiles, each input with a full window on its tile's core where the
    tile has room (the adversary of both counts); every other neuron packed in order on further cores."""
    cin, h, w = g.in_shape
    cout, ho, wo = g.out_shape
    outs = np.arange(g.out_offset, g.out_offset + cout * ho * wo)
    ty, tx = np.divmod(np.arange(ho * wo), wo)
    pos_core = ((ty + shift) // tile[0]) * (-(-(wo + shift) // tile[1])) + (tx + shift) // tile[1]
    pos_core = np.unique(pos_core, return_inverse=True)[1]
    core = np.full(net.num_neurons, -1, dtype=np.int64)
    core[outs] = np.tile(pos_core, cout)
    room = n_max - np.bincount(pos_core, minlength=int(pos_core.max()) + 1) * cout
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    full = full_windows(h, ho, kh, sh, ph)[:, None] & full_windows(w, wo, kw, sw, pw)[None, :]
    for q in np.flatnonzero(full.ravel()):
        y, x = divmod(int(q), w)
        c = pos_core[((y + ph) // sh) * wo + (x + pw) // sw]  # the tile of one output of q's window
        for ch in range(cin):
            if room[c] > 0:
                core[g.in_offset + ch * h * w + q] = c
                room[c] -= 1
    rest = np.flatnonzero(core < 0)
    core[rest] = int(pos_core.max()) + 1 + np.arange(rest.size) // n_max
    return core


@pytest.mark.parametrize("app, preset", [("EdgeDet", "loihi"), ("EdgeDet", "crossbar128"), ("LeNet", "loihi"),
                                         ("ImgSmooth", "loihi")])
def test_tile_mappings_of_full_instances_respect_the_count_and_the_bound(app: str, preset: str) -> None:
    net, hw = prepared(app, "full", preset)
    g = conv_layers(net)[0]
    cout, ho, wo = g.out_shape
    side = int(np.sqrt(0.75 * (hw.limits.n_max // cout)))  # room left for inputs beside their tile
    core = tile_mapping(net, g, (side, side), hw.limits.n_max)
    if core.max() >= hw.num_cores:
        pytest.skip("the tiles need more cores than the chip has")
    pair_neuron, _ = destination_pairs(net, core, hw.num_cores)
    dests = np.bincount(pair_neuron, minlength=net.num_neurons)
    cin, h, w = g.in_shape
    full = (full_windows(h, ho, *[v[0] for v in (g.kernel, g.stride, g.padding)])[:, None]
            & full_windows(w, wo, *[v[1] for v in (g.kernel, g.stride, g.padding)])[None, :]).ravel()
    ins = np.arange(g.in_offset, g.in_offset + cin * h * w)
    one_core = (dests[ins].reshape(cin, h * w) == 1).all(axis=0) & full
    min_indeg = int(net.in_degree[g.out_offset:].min())
    assert 0 < one_core.sum() <= most_interior(g, hw, min_indeg)
    alone = (dests[ins] == 1) & np.tile(full, cin) & np.isin(ins, net.pre[core[net.pre] == core[net.post]])
    assert 0 < alone.sum() <= most_alone(g, hw)
    rep = evaluate(net, hw, core, link_loads=False)
    assert rep.feasible
    terms = bound_terms(net, hw)
    assert terms["comm"] <= rep.terms["comm"] * (1 + 1e-9)


@pytest.mark.parametrize("app, preset, methods", [
    ("LeNet", "loihi", ("sequential", "greedy", "random")),
    ("LeNet", "crossbar128", ("sequential", "greedy", "random")),
    ("EdgeDet", "crossbar128", ("sequential", "random")), ("ImgSmooth", "loihi", ("sequential", "random"))])
def test_bound_is_below_heuristic_mappings_of_a_full_convolutional_network(app, preset, methods) -> None:
    net, hw = prepared(app, "full", preset)
    bound = combinatorial_lower_bound(net, hw)
    seen = 0
    for method, seed in [(m, s) for m in methods for s in ((1, 2) if m == "random" else (0,))]:
        rep = evaluate(net, hw, api.solve(net, hw, method, seed=seed).mapping, link_loads=False)
        if rep.feasible:
            seen += 1
            assert bound <= rep.total * (1 + 1e-9), method
    assert seen >= 2


def test_unicast_is_unchanged_by_tiles() -> None:
    net = conv_net((1, 1, 6), 1, (1, 3), (1, 1), (0, 0))
    hw = line_chip(4, 2)
    plain = net.replace(provenance={})
    assert communication_lower_bound(net, hw, "unicast") == communication_lower_bound(plain, hw, "unicast")
    assert load_hardware("loihi").limits.n_max == 1024


# One aligned and one shifted or oblong tiling per application by default; the rest with -m slow (5-8 s each).
SLOW = pytest.mark.slow


@pytest.mark.parametrize("app, tile, shift", [
    ("EdgeDet", (16, 16), 0), pytest.param("EdgeDet", (16, 16), 5, marks=SLOW), ("EdgeDet", (8, 32), 3),
    pytest.param("EdgeDet", (12, 20), 7, marks=SLOW), ("ImgSmooth", (32, 32), 0),
    pytest.param("ImgSmooth", (32, 32), 13, marks=SLOW), pytest.param("ImgSmooth", (16, 64), 6, marks=SLOW),
    ("LeNet", (14, 12), 0), ("LeNet", (10, 17), 3)])
def test_exempt_gain_bounds_the_gain_of_every_tiling(app, tile, shift) -> None:
    net, hw = prepared(app, "full", "loihi")
    g = conv_layers(net)[0]
    core = tile_mapping(net, g, tile, hw.limits.n_max, shift)
    pair_neuron, _ = destination_pairs(net, core, hw.num_cores)
    dests = np.bincount(pair_neuron, minlength=net.num_neurons)
    _, h, w = g.in_shape
    rows = np.flatnonzero(full_windows(h, g.out_shape[1], g.kernel[0], g.stride[0], g.padding[0]))
    cols = np.flatnonzero(full_windows(w, g.out_shape[2], g.kernel[1], g.stride[1], g.padding[1]))
    one_core = (dests[g.in_offset:g.in_offset + h * w].reshape(h, w) == 1)[np.ix_(rows, cols)]
    tau = whole_positions(g, hw, int(net.in_degree[g.out_offset:].min()))
    rng = np.random.default_rng(shift)
    for gain in (np.ones(one_core.shape), rng.exponential(1.0, one_core.shape),
                 np.where(one_core, 5.0, 0.1)):  # the adversary's wish: its interior the heaviest
        assert gain[one_core].sum() <= exempt_most(g, tau, gain[None], rows, cols) + 1e-9


def _span(q0: int, q1: int, size_out: int, kernel: int, stride: int, padding: int) -> int:
    """Output positions along one axis whose window holds one of the inputs ``q0..q1``, counted one by one."""
    lo = np.arange(size_out) * stride - padding
    return int(np.sum((lo <= q1) & (lo + kernel - 1 >= q0)))


def _box_lp_primal(g: ConvGeometry, tau: int, gain: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """The box LP solved directly on the cells (one row per box of super-cells, every cell written out)."""
    from scipy.optimize import linprog

    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    units, ny, nx = gain.shape
    cy = np.unique(np.arange(min(bounds_tiles.LP_GRID, ny) + 1) * ny // min(bounds_tiles.LP_GRID, ny))
    cx = np.unique(np.arange(min(bounds_tiles.LP_GRID, nx) + 1) * nx // min(bounds_tiles.LP_GRID, nx))
    a_rows, rhs = [], []
    for y0, y1 in itertools.combinations(range(cy.size), 2):
        for x0, x1 in itertools.combinations(range(cx.size), 2):
            mask = np.zeros((units, ny, nx))
            mask[:, cy[y0]:cy[y1], cx[x0]:cx[x1]] = 1
            a_rows.append(mask.ravel())
            positions = (_span(int(rows[cy[y0]]), int(rows[cy[y1] - 1]), g.out_shape[1], kh, sh, ph)
                         * _span(int(cols[cx[x0]]), int(cols[cx[x1] - 1]), g.out_shape[2], kw, sw, pw))
            rhs.append(bounds_tiles.interior_within(g, tau, units * positions))
    res = linprog(-gain.ravel(), A_ub=np.array(a_rows), b_ub=np.array(rhs, float), bounds=(0, 1), method="highs")
    return -res.fun


@pytest.mark.parametrize("seed, depthwise", [(0, False), (1, False), (2, True)])
def test_box_lp_value_is_the_lp_optimum_and_a_bad_dual_only_raises_it(seed, depthwise, monkeypatch) -> None:
    if depthwise:  # a 3 x 3 / 2 pooling of two channels: the channels are the units
        g = ConvGeometry(0, 1, (2, 31, 31), (2, 15, 15), (3, 3), (2, 2), (0, 0), True, 0, 2 * 31 * 31)
        rows = cols = np.flatnonzero(full_windows(31, 15, 3, 2, 0))
    else:
        g = _geometry((1, 30, 30), (3, 3), (1, 1), (1, 1))
        rows = cols = np.flatnonzero(full_windows(30, 30, 3, 1, 1))
    gain = np.random.default_rng(seed).exponential(1.0, (g.in_shape[0] if depthwise else 1, rows.size, cols.size))
    tau = 10 if depthwise else 36
    primal = _box_lp_primal(g, tau, gain, rows, cols)
    assert primal < gain.sum() - 1.0  # the boxes bind: the LP exempts less than everything
    assert box_lp_exempt(g, tau, gain, rows, cols) == pytest.approx(primal, rel=1e-7)
    real = bounds_tiles.linprog

    def zero_dual(*args, **kwargs):
        res = real(*args, **kwargs)
        res.ineqlin.marginals = np.zeros_like(res.ineqlin.marginals)
        return res

    monkeypatch.setattr(bounds_tiles, "linprog", zero_dual)
    assert box_lp_exempt(g, tau, gain, rows, cols) == pytest.approx(gain.sum())  # y = 0: the trivial bound
    monkeypatch.setattr(bounds_tiles, "linprog", lambda *a, **k: object())
    assert box_lp_exempt(g, tau, gain, rows, cols) == float("inf")


def test_box_lp_raises_the_bound_of_lenet(monkeypatch) -> None:
    net, hw = prepared("LeNet", "full", "loihi")
    g = conv_layers(net)[0]
    none = np.zeros(net.num_neurons)
    second = net.spikes * (net.out_degree > 0)
    with_lp = bounds_tiles.layer_raise(net, hw, g, second, none)
    monkeypatch.setattr(bounds_tiles, "box_lp_exempt", lambda *a: float("inf"))
    assert bounds_tiles.layer_raise(net, hw, g, second, none) < 0.9 * with_lp


def _union(g: ConvGeometry, subset: np.ndarray) -> int:
    """Inputs the windows of the output positions ``subset`` (a flat mask) cover together, counted directly."""
    _, h, w = g.in_shape
    pre, post, _, _ = conv2d_edges((1, h, w), 1, g.kernel, g.stride, g.padding)
    return int(np.unique(pre[subset[post]]).size)


def _unclipped(g: ConvGeometry) -> np.ndarray:
    """Output positions whose window the padding does not clip (a flat mask)."""
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    _, h, w = g.in_shape
    ys, xs = np.arange(g.out_shape[1]) * sh - ph, np.arange(g.out_shape[2]) * sw - pw
    return (((ys >= 0) & (ys + kh <= h))[:, None] & ((xs >= 0) & (xs + kw <= w))[None, :]).ravel()


@settings(derandomize=True, max_examples=40, deadline=None)
@given(small_convs())
def test_union_of_windows_is_at_least_the_lemma_on_every_set_of_positions(g: ConvGeometry) -> None:
    inside = np.flatnonzero(_unclipped(g))
    for bits in itertools.product([False, True], repeat=inside.size):
        subset = np.zeros(g.out_shape[1] * g.out_shape[2], dtype=bool)
        subset[inside[np.array(bits, dtype=bool)]] = True
        assert _union(g, subset) >= bounds_tiles.union_per_core(g, int(subset.sum())) - 1e-9, (g, bits)


def test_union_lemma_is_tight_on_a_square_tile_and_incidences_on_whole_tiles() -> None:
    g = _geometry((4, 12, 12), (3, 3), (1, 1), (0, 0), cout=2)
    tile = np.zeros((10, 10), dtype=bool)
    tile[2:7, 3:8] = True  # 25 positions: their windows cover 7 x 7 inputs
    assert _union(g, tile.ravel()) == 49 == bounds_tiles.union_per_core(g, 25)
    # Four whole 5 x 5 tiles of 2 channels (share 25 positions) make 4 x 49 incidences, the least.
    assert bounds_tiles.incidences_within(g, 25.0, 100) == pytest.approx(196)
    assert bounds_tiles.incidences_within(g, 25.0, 110) == pytest.approx(196 + bounds_tiles.union_per_core(g, 10))


@pytest.mark.parametrize("seed", range(6))
def test_incidences_of_random_core_assignments_are_at_least_the_count(seed: int) -> None:
    """Neurons of the output positions spread over cores of at most n_max: every core touching a position's
    neurons is a destination of its window's inputs, so the incidences are at least incidences_within."""
    rng = np.random.default_rng(seed)
    cout, n_max = int(rng.integers(1, 4)), int(rng.integers(2, 9))
    g = _geometry((1, 9, 9), (3, 3), (int(rng.integers(1, 3)),) * 2, (1, 1), cout=cout)
    inside = np.flatnonzero(_unclipped(g))
    neurons = np.repeat(inside, cout)  # the neurons of the inside positions, a position per neuron
    order = rng.permutation(neurons.size) if seed % 2 else np.argsort(neurons, kind="stable")
    core = np.empty(neurons.size, dtype=np.int64)
    core[order] = np.arange(neurons.size) // n_max  # cores of n_max neurons, in a random or tile order
    incidences = sum(_union(g, np.isin(np.arange(g.out_shape[1] * g.out_shape[2]), neurons[core == c]))
                     for c in np.unique(core))
    assert incidences >= bounds_tiles.incidences_within(g, n_max / cout, inside.size) - 1e-9


def _box_lp_incidence_primal(g, tau, share, gain, third, full) -> float:
    """The box LP with the incidence rows, every cell written out (one row per box of super-cells)."""
    from scipy.optimize import linprog

    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    _, ny, nx = gain.shape
    fy, fx = full
    cuts = []
    for size, mask in ((ny, fy), (nx, fx)):
        inner = np.flatnonzero(mask)
        cuts.append(np.unique(np.concatenate([[0, size], inner[0] + np.arange(min(bounds_tiles.LP_GRID, inner.size)
                                                                               + 1) * inner.size
                                              // min(bounds_tiles.LP_GRID, inner.size)])))
    cy, cx = cuts
    n = gain.size
    a_rows, rhs = [], []
    for y0, y1 in itertools.combinations(range(cy.size), 2):
        for x0, x1 in itertools.combinations(range(cx.size), 2):
            box = np.zeros((ny, nx), dtype=bool)
            box[cy[y0]:cy[y1], cx[x0]:cx[x1]] = True
            fb = box & fy[:, None] & fx[None, :]
            if fb.any():
                r0, r1 = np.flatnonzero(fb.any(axis=1))[[0, -1]]
                c0, c1 = np.flatnonzero(fb.any(axis=0))[[0, -1]]
                positions = (_span(r0, r1, g.out_shape[1], kh, sh, ph) * _span(c0, c1, g.out_shape[2], kw, sw, pw))
                a_rows.append(np.concatenate([fb.ravel(), np.zeros(n)]))
                rhs.append(bounds_tiles.interior_within(g, tau, positions))
            # Positions whose whole window lies in the box, and the inputs those windows cover.
            inside = np.zeros(g.out_shape[1:], dtype=bool)
            for py, px in itertools.product(range(g.out_shape[1]), range(g.out_shape[2])):
                ty, tx = py * sh - ph, px * sw - pw
                inside[py, px] = (ty >= cy[y0] and ty + kh <= cy[y1] and tx >= cx[x0] and tx + kw <= cx[x1])
            covered = _union(g, inside.ravel())
            f = bounds_tiles.incidences_within(g, share, int(inside.sum())) + box.sum() - covered
            a_rows.append(np.concatenate([box.ravel(), -box.ravel().astype(float)]))
            rhs.append(2 * box.sum() - f)
    res = linprog(np.concatenate([-gain.ravel(), third.ravel()]), A_ub=np.array(a_rows, dtype=float),
                  b_ub=np.array(rhs, float), bounds=[(0, 1)] * n + [(0, None)] * n, method="highs")
    return -res.fun


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=SLOW)])
def test_box_lp_with_incidences_is_the_lp_optimum_and_lower_than_without(seed: int) -> None:
    g = _geometry((1, 14, 14), (5, 5), (2, 2), (1, 1), cout=4)
    fy, fx = (full_windows(14, g.out_shape[1], 5, 2, 1),) * 2
    rng = np.random.default_rng(seed)
    gain = rng.uniform(0.5, 1.5, (1, 14, 14))
    third = rng.uniform(0.5, 1.5, (1, 14, 14))
    tau, share = 4, 4.5
    primal = _box_lp_incidence_primal(g, tau, share, gain, third, (fy, fx))
    value = box_lp_exempt(g, tau, gain, np.arange(14), np.arange(14), third, share, 100.0, (fy, fx))
    assert value == pytest.approx(primal, rel=1e-6)
    assert value < box_lp_exempt(g, tau, gain, np.arange(14), np.arange(14), None, 0.0, 0.0, (fy, fx)) - 1.0


def test_incidences_raise_the_bound_of_a_small_convolution_below_its_brute_force_optimum() -> None:
    net = conv_net((1, 1, 5), 1, (1, 3), (1, 1), (0, 0), flat=True)
    hw = line_chip(4, 2)
    _, energies = brute_force(net, hw, "multicast")
    s = net.spikes * (net.out_degree > 0)
    none = np.zeros(net.num_neurons)
    with_third = border_raise(net, hw, s, none, s)
    assert with_third > border_raise(net, hw, s, none)
    assert combinatorial_lower_bound(net, hw) <= float(energies.min()) * (1 + 1e-9)


@pytest.mark.parametrize("in_size, kernel, stride, padding, cout, n_max, tile, shift", [
    (40, 11, 4, 2, 4, 36, (3, 3), 0), (40, 11, 4, 2, 4, 36, (3, 3), 1), (40, 11, 4, 2, 4, 40, (2, 5), 1),
    pytest.param(24, 3, 1, 1, 2, 32, (4, 4), 2, marks=SLOW), (30, 5, 2, 1, 3, 48, (4, 4), 1)])
def test_box_lp_with_incidences_bounds_what_every_tiling_is_spared(in_size, kernel, stride, padding, cout, n_max,
                                                                   tile, shift) -> None:
    """A tiling's x = [one destination], y = max(d - 2, 0) is feasible: gain . x - third . y is at most the LP's
    certified value, under uniform, random and adversarial weights (the tiling's cheap inputs where it pays)."""
    net = conv_net((1, in_size, in_size), cout, (kernel, kernel), (stride, stride), (padding, padding), flat=True)
    g = conv_layers(net)[0]
    core = tile_mapping(net, g, tile, n_max, shift)
    pair_neuron, _ = destination_pairs(net, core, int(core.max()) + 1)
    d = np.bincount(pair_neuron, minlength=net.num_neurons)[:in_size * in_size].reshape(1, in_size, in_size)
    hw = line_chip(int(core.max()) + 1, n_max)
    tau, share = whole_positions(g, hw, 1), bounds_tiles.share_positions(g, hw, 1)
    full = (full_windows(in_size, g.out_shape[1], kernel, stride, padding),) * 2
    x, y = (d == 1).astype(float), np.maximum(d - 2, 0).astype(float)
    assert y.sum() > 0  # the tiling gives some inputs a third destination
    rng = np.random.default_rng(shift)
    for gain, third in ((np.ones(d.shape), np.ones(d.shape)),
                        (rng.exponential(1.0, d.shape), rng.exponential(1.0, d.shape)),
                        (np.where(d == 1, 5.0, 0.1), np.where(d >= 3, 0.1, 5.0))):
        value = box_lp_exempt(g, tau, gain, np.arange(in_size), np.arange(in_size), third, share, float(d.max()), full)
        assert gain[x > 0].sum() - (third * y).sum() <= value + 1e-7
