"""Cluster placement: recursive bisection onto the mesh, and the placement methods."""

import numpy as np
import pytest
import scipy.sparse as sp

from snnmap.hardware import load_hardware
from snnmap.heuristics.common import Timer
from snnmap.heuristics.placement import (
    anneal_positions,
    bisection_positions,
    initial_positions,
    place_clusters,
    placement_cost,
    spectral_coordinates,
)


def grid_flow(rows: int, cols: int) -> sp.csr_matrix:
    """Clusters of a rows x cols grid (row-major ids) exchanging traffic with their grid neighbours."""
    ids = np.arange(rows * cols).reshape(rows, cols)
    a = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    b = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    return sp.coo_matrix((np.full(a.size, 5.0), (a, b)), shape=(rows * cols,) * 2).tocsr()


# loihi-davies2018: 4-core tiles priced mostly by hops (1.7 pJ a message), so the geometry decides the cost;
# on `loihi` SANA-FE's 111 pJ per message, paid wherever it goes, hides it.
@pytest.mark.parametrize("preset, mesh, grid", [("crossbar128", (16, 16), (16, 12)),
                                                ("loihi-davies2018", (8, 8), (16, 16))])
def test_bisection_gives_distinct_cores_and_beats_the_snake_on_a_grid(preset, mesh, grid):
    hw = load_hardware(preset, mesh=mesh)
    flow = grid_flow(*grid)
    pos = bisection_positions(flow, hw, seed=0)
    assert pos.shape == (flow.shape[0],) and np.unique(pos).size == pos.size
    assert pos.min() >= 0 and pos.max() < hw.num_cores
    snake = placement_cost(flow, hw, initial_positions(flow.shape[0], hw))
    assert placement_cost(flow, hw, pos) < 0.85 * snake
    np.testing.assert_array_equal(pos, bisection_positions(flow, hw, seed=0))  # deterministic


def test_bisection_fills_a_nearly_full_chip_and_handles_no_traffic():
    hw = load_hardware("crossbar128", mesh=(5, 7))
    for flow in (grid_flow(5, 7), sp.csr_matrix((35, 35))):
        pos = bisection_positions(flow, hw)
        assert np.unique(pos).size == 35


def test_bisect_anneal_never_worse_than_its_start():
    hw = load_hardware("crossbar128", mesh=(16, 16))
    flow = grid_flow(16, 12)
    start = placement_cost(flow, hw, bisection_positions(flow, hw, seed=0))
    annealed = place_clusters(flow, hw, method="bisect-anneal", seed=0, time_limit=10)
    assert np.unique(annealed).size == annealed.size
    assert placement_cost(flow, hw, annealed) <= start


def test_spectral_coordinates_lay_a_grid_out_exactly_where_metis_halves_turn_it():
    hw = load_hardware("crossbar128", mesh=(12, 12))
    flow = grid_flow(12, 12)
    one_hop = flow.sum() * (hw.energy.e_route + hw.energy.e_hop)  # every packet to a neighbouring core
    coords = spectral_coordinates(flow)
    assert coords.shape == (144, 2)
    spectral = bisection_positions(flow, hw, coords=coords)
    assert np.unique(spectral).size == 144
    assert placement_cost(flow, hw, spectral) == pytest.approx(one_hop)
    assert placement_cost(flow, hw, bisection_positions(flow, hw, seed=0)) > 1.3 * one_hop
    # bisect keeps the cheaper of the two starts
    assert placement_cost(flow, hw, place_clusters(flow, hw, method="bisect")) == pytest.approx(one_hop)
    assert spectral_coordinates(sp.csr_matrix((20, 20))) is None


def test_time_fitted_annealing_ends_its_schedule_within_the_time_limit():
    hw = load_hardware("crossbar128", mesh=(40, 40))
    flow = grid_flow(40, 36)
    start = bisection_positions(flow, hw, seed=0)
    reports: list[float] = []
    timer = Timer(1.0)
    pos = anneal_positions(flow, hw, start, timer=timer, seed=0, effort=1000.0, median=0.2, fit_time=True,
                           progress=reports.append)
    assert reports[-1] == 1.0  # the whole (shortened) schedule ran: it ended cold
    assert np.unique(pos).size == pos.size and placement_cost(flow, hw, pos) <= placement_cost(flow, hw, start)
    again = anneal_positions(flow, hw, start, timer=Timer(None), seed=0, effort=0.5, median=0.2)
    assert np.array_equal(again, anneal_positions(flow, hw, start, timer=Timer(None), seed=0, effort=0.5,
                                                  median=0.2))  # deterministic for a seed
