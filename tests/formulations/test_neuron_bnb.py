"""The neuron-level branch and bound against brute force, the evaluator, the proven minis and CP-SAT."""

from __future__ import annotations

import csv
import math
from importlib import resources

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from snnmap.formulations import Status, evaluate, neuron_bnb
from snnmap.hardware import EnergyCosts, Hardware, Limits
from snnmap.instances import SpikingNetwork
from snnmap.instances.synthetic import random_layered
from snnmap.prepare import exact_bench_hardware, prepared
from snnmap.registry import METHODS
from tests.helpers import brute_force, instances

MINIS = ("AlexNet", "DigitRecogMLP", "DigitRecogSTDP", "EdgeDet", "HeartClass", "HeartEstm", "ImgSmooth", "LeNet",
         "VGG16", "VisualPursuit")


def _check(net: SpikingNetwork, hw: Hardware, comm: str, method: str = "neuron-bnb", **kw) -> None:
    _, energies = brute_force(net, hw, comm)
    best = float(energies.min())
    res = METHODS[method](net, hw, comm=comm, **kw)  # the front door: resolves a heuristic start by name
    if not math.isfinite(best):
        assert res.status == Status.INFEASIBLE, (res.status, res.message)
        return
    assert res.status == Status.OPTIMAL, (res.status, res.message)
    rep = evaluate(net, hw, res.mapping, comm)
    assert rep.feasible and rep.total == res.energy
    tol = 1e-9 * abs(best) + 1e-12
    assert res.energy == pytest.approx(best, rel=1e-9, abs=1e-12)
    assert res.lower_bound <= best + tol and res.lower_bound >= best - 2 * tol


@settings(derandomize=True, max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_matches_brute_force(case: tuple[SpikingNetwork, Hardware, str]) -> None:
    _check(*case)


@settings(derandomize=True, max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_matches_brute_force_without_symmetry_and_from_a_start(case: tuple[SpikingNetwork, Hardware, str]) -> None:
    net, hw, comm = case
    _check(net, hw, comm, symmetry=False)
    _check(net, hw, comm, start="greedy")


@settings(derandomize=True, max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_partition_bnb_matches_brute_force(case: tuple[SpikingNetwork, Hardware, str]) -> None:
    _check(*case, method="partition-bnb")


@settings(derandomize=True, max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_partition_bnb_without_symmetry_and_from_a_start(case: tuple[SpikingNetwork, Hardware, str]) -> None:
    net, hw, comm = case
    _check(net, hw, comm, method="partition-bnb", symmetry=False)
    _check(net, hw, comm, method="partition-bnb", start="greedy")


def test_optimum_off_the_symmetric_corners() -> None:
    # A hub sending to three leaves on a 1 x 3 mesh, one neuron per core: the hub must take the middle core,
    # which no automorphism maps to a corner.
    net = SpikingNetwork.from_edges(3, [0, 0], [1, 2], [10.0, 1.0, 1.0])
    hw = Hardware(name="t", limits=Limits(n_max=1), mesh=(1, 3),
                  energy=EnergyCosts(e_spike=1.0, e_syn=1.0, e_local=0.5, e_route=2.0, e_hop=1.0, p_static=3.0))
    for comm in ("multicast", "unicast"):
        res = neuron_bnb.solve(net, hw, comm=comm)
        assert res.status == Status.OPTIMAL and res.mapping[0] == 1
        assert res.stats["automorphisms"] == 1
        res = neuron_bnb.solve_partition(net, hw, comm=comm)
        assert res.status == Status.OPTIMAL and res.mapping[0] == 1


def _layered(n: int, k: int, seed: int) -> tuple[SpikingNetwork, Hardware]:
    return random_layered(n, seed), exact_bench_hardware(n, k)


@pytest.mark.parametrize("defer_placement", [False, True])
def test_time_limit_returns_start_and_valid_bound(defer_placement: bool) -> None:
    net, hw = _layered(64, 16, 1)
    start = METHODS["greedy"](net, hw).mapping
    res = neuron_bnb.solve(net, hw, time_limit=0.5, start=start, node_chunk=500, defer_placement=defer_placement)
    assert res.status == Status.TIME_LIMIT
    assert res.report.feasible and res.energy <= evaluate(net, hw, start).total
    assert res.stats["root_bound"] <= res.lower_bound <= res.energy


def test_progress_is_reported() -> None:
    net, hw = _layered(16, 4, 3)
    seen: list[tuple[float, float, float]] = []
    res = neuron_bnb.solve(net, hw, progress=lambda *a: seen.append(a), report_every=0.0, node_chunk=50)
    assert res.status == Status.OPTIMAL and seen
    assert all(lb <= inc * (1 + 1e-9) for _, inc, lb in seen if math.isfinite(inc))


@pytest.mark.parametrize("comm", ["multicast", "unicast"])
def test_portfolio_proves_what_the_branch_and_bound_proves(comm: str) -> None:
    net, hw = _layered(12, 4, 5)
    ours = neuron_bnb.solve(net, hw, comm=comm)
    both = METHODS["neuron-portfolio"](net, hw, comm=comm, time_limit=60, start="greedy")
    assert both.status == Status.OPTIMAL and both.stats["winner"] in ("partition-benders", "component-milp")
    assert both.energy == pytest.approx(ours.energy, rel=1e-9)
    assert both.energy == evaluate(net, hw, both.mapping, comm).total


def test_unknown_option_is_refused_at_the_front_door() -> None:
    net, hw = _layered(16, 4, 3)
    with pytest.raises(ValueError, match="'neuron-bnb' does not take colour"):
        METHODS["neuron-bnb"](net, hw, colour="red")


# ------------------------------------------------------------------ minis and layered (slow)
def _bks() -> dict[tuple[str, str], dict[str, str]]:
    text = resources.files("snnmap.instances").joinpath("bks.csv").read_text()
    return {(row["instance"], row.get("comm") or "multicast"): row for row in csv.DictReader(text.splitlines())}


def _agree(ours, other, comm: str, net: SpikingNetwork, hw: Hardware) -> None:
    """``ours`` proven; ``other`` never below it, its bound never above it, equal when it proves too."""
    assert ours.status == Status.OPTIMAL, (ours.status, ours.lower_bound, ours.energy)
    assert ours.energy == evaluate(net, hw, ours.mapping, comm).total
    tol = 2 * other.stats.get("rounding_error_bound", 0.0) + 1e-9 * ours.energy
    assert other.energy >= ours.energy - tol  # no mapping beats a proof
    assert other.lower_bound is None or other.lower_bound <= ours.energy + tol
    if other.status == Status.OPTIMAL:
        assert abs(ours.energy - other.energy) <= tol


@pytest.mark.slow
@pytest.mark.parametrize("comm", ["multicast", "unicast"])
@pytest.mark.parametrize("app", MINIS)
def test_minis_proven_and_equal_to_proven_bks(app: str, comm: str) -> None:
    net, hw = prepared(app, "mini", "crossbar-mini")
    row = _bks().get((app, comm))
    # 60 s is the target (scripts/bench_proofs.py); the margin absorbs a shared machine.
    res = METHODS["partition-bnb"](net, hw, comm=comm, time_limit=600, start="partition-refine")
    assert res.status == Status.OPTIMAL, (res.status, res.lower_bound, res.energy)
    assert res.energy == evaluate(net, hw, res.mapping, comm).total
    assert row is not None and row["proven"] == "yes"
    assert res.energy == pytest.approx(float(row["energy"]), rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("comm", ["multicast", "unicast"])
@pytest.mark.parametrize("app", MINIS)
def test_minis_two_exact_methods_agree(app: str, comm: str) -> None:
    # partition-bnb against CP-SAT (an independent model and solver) and against neuron-bnb.
    net, hw = prepared(app, "mini", "crossbar-mini")
    ours = METHODS["partition-bnb"](net, hw, comm=comm, time_limit=120)
    _agree(ours, METHODS["cpsat"](net, hw, comm=comm, time_limit=60), comm, net, hw)
    _agree(ours, METHODS["neuron-bnb"](net, hw, comm=comm, time_limit=60), comm, net, hw)


FRESH_SEED = int(np.random.SeedSequence().entropy % 10**6)  # drawn per run; pytest shows it in the test id


@pytest.mark.slow
@pytest.mark.parametrize("comm", ["multicast", "unicast"])
@pytest.mark.parametrize("seed", [0, 1, FRESH_SEED])
@pytest.mark.parametrize("n, k", [(16, 4), (24, 4)])
def test_layered_two_exact_methods_agree(n: int, k: int, seed: int, comm: str) -> None:
    net, hw = random_layered(n, seed + n), exact_bench_hardware(n, k)
    ours = METHODS["partition-bnb"](net, hw, comm=comm, time_limit=300, start="partition-refine")
    _agree(ours, METHODS["cpsat"](net, hw, comm=comm, time_limit=60), comm, net, hw)
    _agree(ours, METHODS["milp"](net, hw, comm=comm, time_limit=60), comm, net, hw)


@pytest.mark.parametrize("method", ["neuron-bnb", "partition-bnb", "neuron-portfolio"])
def test_energy_only_searches_refuse_a_step_time_budget(method):
    # They price energy only, so a proof under a budget could name a mapping that breaks it.
    from snnmap.formulations import neuron_portfolio
    from snnmap.hardware import load_hardware
    net = random_layered(12, 0)
    hw = load_hardware("loihi", max_step_time=1e-5)
    solve = {"neuron-bnb": neuron_bnb.solve, "partition-bnb": neuron_bnb.solve_partition,
             "neuron-portfolio": neuron_portfolio.solve}[method]
    with pytest.raises(ValueError, match="max_step_time"):
        solve(net, hw, time_limit=5)
