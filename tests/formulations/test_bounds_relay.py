"""The relay bound (formulations/relay.py): each step of the argument on labelings of small grids, then the bound
below real mappings of VisualPursuit:full."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from snnmap import api
from snnmap.formulations.bounds import bound_terms, combinatorial_lower_bound
from snnmap.formulations.energy import destination_pairs, evaluate
from snnmap.formulations.relay import KING, RelayGeometry, least_second, line_need, relay_geometry, relay_raise
from snnmap.prepare import prepared

RING = sorted(KING)


def test_line_need_is_below_every_set_of_a_4x5_grid() -> None:
    cells = ((np.arange(1, 1 << 20)[:, None] >> np.arange(20)) & 1).astype(np.int8).reshape(-1, 4, 5)
    lines = np.minimum(cells.sum(axis=2), 2).sum(axis=1) + np.minimum(cells.sum(axis=1), 2).sum(axis=1)
    sizes = cells.sum(axis=(1, 2))
    least = np.full(21, 99)
    np.minimum.at(least, sizes, lines)
    assert all(line_need(n) <= least[n] for n in range(1, 21))
    assert line_need(1) == least[1] == 2 and line_need(2) == least[2] == 4


def test_line_need_of_squares() -> None:
    for side in (3, 5, 10):
        assert line_need(side * side) <= 4 * side  # the square itself
    assert line_need(113) >= 40


def relaxed_cost(label: np.ndarray) -> tuple[int, int]:
    """Positions not whole (label -1) and full lagged senders whose ring sees two cores, of a labelling."""
    h, w = label.shape
    unhappy = 0
    for y, x in itertools.product(range(1, h - 1), range(1, w - 1)):
        seen = {int(label[y + dy, x + dx]) for dy, dx in RING} - {-1}
        unhappy += len(seen) > 1
    return int((label < 0).sum()), unhappy


def row_gap_count(label: np.ndarray) -> int:
    """The per-row step: sum over rows 0..H-3 of (sum over cores of min(2, its cells in the row)) - 2."""
    total = 0
    for row in label[:-2]:
        cores, counts = np.unique(row[row >= 0], return_counts=True)
        total += int(np.minimum(counts, 2).sum()) - 2
    return total


def random_labelling(rng: np.random.Generator, h: int, w: int, most: int) -> np.ndarray:
    """Cores of at most ``most`` positions grown from random seeds (some positions left not whole)."""
    label = np.full((h, w), -2)
    core = 0
    style = rng.integers(3)
    for y, x in rng.permutation(h * w).reshape(-1, 1) // np.array([w, 1]) % np.array([h, w]):
        if label[y, x] != -2:
            continue
        if style == 0 and rng.random() < 0.1:
            label[y, x] = -1
            continue
        size, frontier = 0, [(y, x)]
        cap = int(rng.integers(1, most + 1))
        while frontier and size < cap:
            cy, cx = frontier.pop(int(rng.integers(len(frontier))) if style else 0)
            if label[cy, cx] != -2:
                continue
            label[cy, cx] = core
            size += 1
            for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
                if 0 <= cy + dy < h and 0 <= cx + dx < w and label[cy + dy, cx + dx] == -2:
                    frontier.append((cy + dy, cx + dx))
        core += 1
    return label


def rectangle_labelling(h: int, w: int, th: int, tw: int, oy: int, ox: int) -> np.ndarray:
    """Tiles of ``th x tw`` positions shifted by ``(oy, ox)``."""
    y, x = np.mgrid[0:h, 0:w]
    return ((y + oy) // th) * (w // tw + 2) + (x + ox) // tw


@pytest.mark.parametrize("h,w,most", [(8, 8, 6), (9, 7, 9), (12, 12, 16), (10, 14, 12)])
def test_every_step_holds_on_random_and_tiled_labellings(h: int, w: int, most: int) -> None:
    g = RelayGeometry(0, 0, 0, (h, w), tuple(RING), True)
    need = least_second(g, 9 * most)
    assert need > 0
    rng = np.random.default_rng(h * w + most)
    labellings = [random_labelling(rng, h, w, most) for _ in range(300)]
    labellings += [rectangle_labelling(h, w, th, tw, oy, ox) for th in range(1, most + 1) for tw in
                   range(1, most // th + 1) for oy in range(th) for ox in range(tw)]
    checker = np.indices((h, w)).sum(axis=0) % 2  # two cores alternating: every gap as small as it gets
    pair = np.arange(h * w).reshape(h, w) // 2 // most
    labellings.append(np.where(checker == 0, pair, 10**6 + pair))
    for label in labellings:
        assert np.bincount(label[label >= 0].ravel()).max() <= most
        x_count, unhappy = relaxed_cost(label)
        cost = x_count + unhappy
        assert cost >= row_gap_count(label) and cost >= row_gap_count(label.T)  # the per-row step, both ways
        assert cost >= need, (cost, need)


def test_count_holds_at_local_minima_of_the_relaxed_cost() -> None:
    """Descent from tilings (a cell takes a neighbour's core or is left not whole) never goes below the count."""
    h, w, most = 10, 10, 8
    need = least_second(RelayGeometry(0, 0, 0, (h, w), tuple(RING), True), 9 * most)
    rng = np.random.default_rng(7)
    for th, tw in ((2, 4), (4, 2), (3, 2), (2, 3)):
        label = rectangle_labelling(h, w, th, tw, 1, 0)
        cost = sum(relaxed_cost(label))
        for _ in range(1500):
            y, x = int(rng.integers(h)), int(rng.integers(w))
            dy, dx = RING[int(rng.integers(8))]
            if not (0 <= y + dy < h and 0 <= x + dx < w):
                continue
            trial = label.copy()
            trial[y, x] = -1 if rng.random() < 0.2 else label[y + dy, x + dx]
            if trial[y, x] >= 0 and (trial == trial[y, x]).sum() > most:
                continue
            c = sum(relaxed_cost(trial))
            if c <= cost:
                label, cost = trial, c
        assert cost >= need, (th, tw, cost, need)


def test_least_second_is_zero_without_a_king_relay() -> None:
    assert least_second(RelayGeometry(0, 0, 0, (1, 4), ((0, 1), (0, -1)), True), 8) == 0
    assert least_second(RelayGeometry(0, 0, 0, (2, 9), tuple(RING), True), 18) == 0


def whole_and_second(net, g: RelayGeometry, core_of: np.ndarray, k: int) -> int:
    """Direct senders and full-window lagged senders with two destinations or more under a mapping."""
    src, _ = destination_pairs(net, core_of, k)
    per = np.bincount(src, minlength=net.num_neurons)
    h, w = g.shape
    lag = per[g.lagged:g.lagged + g.positions].reshape(h, w)[1:-1, 1:-1]
    return int((per[g.direct:g.direct + g.positions] > 1).sum() + (lag > 1).sum())


@pytest.mark.parametrize("preset", ["loihi", "crossbar128"])
def test_bound_is_below_mappings_of_visualpursuit(preset: str) -> None:
    net, hw = prepared("VisualPursuit", "full", preset)
    g = relay_geometry(net)
    need = least_second(g, hw.limits.n_max)
    bound = combinatorial_lower_bound(net, hw)
    seen = 0
    for method, seed in (("sequential", 0), ("greedy", 0), ("random", 1), ("random", 2)):
        mapping = np.asarray(api.solve(net, hw, method, seed=seed).mapping)
        rep = evaluate(net, hw, mapping, link_loads=False)
        if rep.feasible:
            seen += 1
            assert bound <= rep.total * (1 + 1e-9), method
            assert whole_and_second(net, g, mapping, hw.num_cores) >= need, method
    assert seen >= 3


def test_relay_raise_on_visualpursuit_and_not_elsewhere() -> None:
    net, hw = prepared("VisualPursuit", "full", "loihi")
    assert least_second(relay_geometry(net), hw.limits.n_max) == 93
    ones = np.ones(net.num_neurons)
    assert relay_raise(net, hw, ones) == 93.0
    assert relay_raise(net, hw, np.zeros(net.num_neurons)) == 0.0
    lenet, lhw = prepared("LeNet", "full", "loihi")
    assert relay_raise(lenet, lhw, np.ones(lenet.num_neurons)) == 0.0
    mini, mhw = prepared("VisualPursuit", "mini", "loihi")
    assert relay_raise(mini, mhw, np.ones(mini.num_neurons)) == 0.0
    # 93 direct or lagged senders pay a second packet at 111 pJ: at least their 46-48 spikes each.
    assert bound_terms(net, hw)["comm"] > 4.04e-5
