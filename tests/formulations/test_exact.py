"""The exact models agree with each other, with brute force over all K^N mappings, and with the evaluator."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings

from snnmap.formulations import ModelTooLargeError, Status, evaluate
from snnmap.formulations.bounds import combinatorial_lower_bound
from snnmap.formulations.milp import lp_lower_bound
from snnmap.hardware import EnergyCosts, Hardware, Limits
from snnmap.instances import SpikingNetwork
from snnmap.registry import METHODS
from tests.helpers import brute_force, instances

EXACT = ("milp-textbook", "milp", "cpsat")


def _check_against_brute_force(net: SpikingNetwork, hw: Hardware, comm: str) -> None:
    maps, energies = brute_force(net, hw, comm)
    best = float(energies.min())
    feasible = math.isfinite(best)
    event("feasible" if feasible else "infeasible")
    event(f"{comm}, K={hw.num_cores}, gating={hw.power_gating}")
    if feasible:
        # The brute force itself agrees with the evaluator at its optimum and at another mapping.
        arg = int(np.argmin(energies))
        rep = evaluate(net, hw, maps[arg], comm)
        assert rep.feasible and rep.total == pytest.approx(best, rel=1e-12, abs=1e-12)
        other = int(np.flatnonzero(np.isfinite(energies))[-1])
        assert evaluate(net, hw, maps[other], comm).total == pytest.approx(energies[other], rel=1e-12, abs=1e-12)
        assert combinatorial_lower_bound(net, hw, comm) <= best * (1 + 1e-12) + 1e-12
    else:
        assert not any(evaluate(net, hw, m, comm, link_loads=False).feasible for m in maps[:: max(1, len(maps) // 50)])
    for name in EXACT:
        res = METHODS[name](net, hw, comm=comm, threads=1)
        if not feasible:
            assert res.status == Status.INFEASIBLE, (name, res.status, res.message)
            assert res.mapping is None or not res.report.feasible
            continue
        assert res.status == Status.OPTIMAL, (name, res.status, res.message)
        rep = evaluate(net, hw, res.mapping, comm)
        assert rep.feasible
        assert rep.total == res.energy
        tol = 1e-9 * abs(best) + 1e-9
        if name == "cpsat":
            # CP-SAT optimises rounded costs: its optimum is within twice the rounding bound.
            tol += 2 * res.stats["rounding_error_bound"]
            assert abs(res.stats["solver_objective"] - rep.total) <= res.stats["rounding_error_bound"] + tol
        else:
            assert res.stats["solver_objective"] == pytest.approx(rep.total, rel=1e-6, abs=1e-9)
        assert rep.total <= best + tol, (name, rep.total, best)
        assert res.lower_bound is not None and res.lower_bound <= best + tol, (name, res.lower_bound, best)


@settings(derandomize=True, max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_exact_models_match_brute_force(case: tuple[SpikingNetwork, Hardware, str]) -> None:
    _check_against_brute_force(*case)


# ---------------------------------------------------------- hand-made cases
def test_symmetry_breaking_keeps_the_optimum_off_the_anchor_orbit() -> None:
    # A hub sending to two leaves on a 1 x 3 mesh, one neuron per core: the hub
    # belongs in the middle core, which is an orbit of its own.
    net = SpikingNetwork.from_edges(3, [0, 0], [1, 2], [10.0, 1.0, 1.0])
    hw = _mesh_hw(mesh=(1, 3), n_max=1)
    _, energies = brute_force(net, hw, "multicast")
    for name in EXACT:
        res = METHODS[name](net, hw, threads=1)
        assert res.status == Status.OPTIMAL and res.mapping[0] == 1
        assert res.energy == pytest.approx(energies.min(), rel=1e-9)


def test_core_orbits_follow_the_cost_symmetries() -> None:
    from snnmap.formulations.exact_common import core_orbits

    square = _mesh_hw(mesh=(3, 3))
    assert np.unique(core_orbits(square)).tolist() == [0, 1, 4]
    # Separate x / y hop costs: no transpose, so the edge midpoints split in two orbits.
    skew = square.replace(e_hop_x=1.0, e_hop_y=2.0)
    assert np.unique(core_orbits(skew)).tolist() == [0, 1, 3, 4]
    # Tiles with two cores: cores on a tile are interchangeable.
    tiles = Hardware(name="t", limits=Limits(n_max=2), mesh=(1, 2), cores_per_tile=2,
                     energy=EnergyCosts(e_route=1.0, e_hop=1.0))
    assert np.unique(core_orbits(tiles)).tolist() == [0]


def _mesh_hw(mesh=(2, 2), **limits) -> Hardware:
    limits.setdefault("n_max", 2)
    return Hardware(name="t", limits=Limits(**limits), mesh=mesh,
                    energy=EnergyCosts(e_spike=1.0, e_syn=1.0, e_local=0.5, e_route=2.0, e_hop=1.0, p_static=3.0))


def _chain(n: int, spikes: float = 2.0) -> SpikingNetwork:
    return SpikingNetwork.from_edges(n, list(range(n - 1)), list(range(1, n)), [spikes] * n)


def test_infeasible_limits_are_named() -> None:
    net = SpikingNetwork.from_edges(3, [0, 1], [2, 2], [1.0, 1.0, 1.0])
    for name in EXACT:
        res = METHODS[name](net, _mesh_hw(syn_max=1), threads=1)
        assert res.status == Status.INFEASIBLE and "syn_max" in res.message
        res = METHODS[name](net, _mesh_hw(fanin_max=1), threads=1)
        assert res.status == Status.INFEASIBLE and "fanin_max" in res.message
        res = METHODS[name](_chain(9), _mesh_hw(n_max=2), threads=1)
        assert res.status == Status.INFEASIBLE and "cores" in res.message


def test_pins_are_respected() -> None:
    net = SpikingNetwork.from_edges(4, [0, 1, 2], [1, 2, 3], [5.0] * 4, pins=[3, -1, -1, 0])
    for name in EXACT:
        res = METHODS[name](net, _mesh_hw(), threads=1)
        assert res.status == Status.OPTIMAL
        assert res.mapping[0] == 3 and res.mapping[3] == 0


@pytest.mark.parametrize("name", EXACT)
def test_time_limit_returns_best_mapping_and_valid_bound(name: str) -> None:
    rng = np.random.default_rng(3)
    n = 40
    pre, post = np.nonzero(rng.random((n, n)) < 0.2)
    keep = pre != post
    net = SpikingNetwork.from_edges(n, pre[keep], post[keep], rng.integers(0, 30, n).astype(float))
    hw = _mesh_hw(mesh=(3, 3), n_max=5)
    start = METHODS["sequential"](net, hw).mapping
    res = METHODS[name](net, hw, time_limit=1.0, start=start, threads=1)
    assert res.status in (Status.TIME_LIMIT, Status.OPTIMAL)
    assert res.mapping is not None and res.report.feasible
    assert res.lower_bound is not None and res.lower_bound <= res.energy
    # The heuristic start is never lost: the answer is at least as good.
    seq = METHODS["sequential"](net, hw).energy
    assert res.energy <= seq * (1 + 1e-12)


def test_too_large_model_is_refused_unless_forced() -> None:
    net = _chain(6)
    hw = _mesh_hw(n_max=3)
    for name in EXACT:
        with pytest.raises(ModelTooLargeError) as info:
            METHODS[name](net, hw, max_nonzeros=10)
        assert "partition-refine" in str(info.value) and info.value.size["nonzeros"] > 10
        assert METHODS[name](net, hw, max_nonzeros=10, force=True, threads=1).status == Status.OPTIMAL


def test_logs_and_progress(tmp_path) -> None:
    net = _chain(6)
    hw = _mesh_hw(n_max=3)
    for name in EXACT:
        seen = []
        log = tmp_path / f"{name}.log"
        res = METHODS[name](net, hw, log_path=str(log), threads=1,
                            progress=lambda t, inc, lb: seen.append((t, inc, lb)))
        assert res.log_path == str(log) and log.stat().st_size > 0
        # Every improving incumbent is reported, in joules, above the bound; the last is the answer.
        assert seen and all(lb <= inc * (1 + 1e-9) for _, inc, lb in seen), name
        assert seen[-1][1] == pytest.approx(res.energy, rel=1e-6), name


def test_start_mappings_agree_with_optimum() -> None:
    net = _chain(6)
    hw = _mesh_hw(n_max=3)
    base = METHODS["milp"](net, hw, threads=1).energy
    heuristic = METHODS["sequential"](net, hw).mapping
    for name in EXACT:
        for start in (heuristic, np.array([3, 3, 2, 2, 1, 1])):
            res = METHODS[name](net, hw, start=start, threads=1)
            assert res.status == Status.OPTIMAL and res.energy == pytest.approx(base, rel=1e-9)


def test_unavailable_solver_is_an_error_not_a_crash() -> None:
    res = METHODS["milp"](_chain(4), _mesh_hw(), solver="glpk")
    assert res.status in (Status.ERROR, Status.OPTIMAL)  # OPTIMAL only if glpk happens to be installed


def test_lp_bound_is_valid_and_not_weaker_than_combinatorial() -> None:
    rng = np.random.default_rng(0)
    n = 7
    pre, post = np.nonzero(rng.random((n, n)) < 0.4)
    net = SpikingNetwork.from_edges(n, pre, post, rng.integers(0, 9, n).astype(float))
    hw = _mesh_hw(n_max=3)
    for comm in ("multicast", "unicast"):
        _, energies = brute_force(net, hw, comm)
        lp = lp_lower_bound(net, hw, comm)
        assert combinatorial_lower_bound(net, hw, comm) <= lp <= energies.min() * (1 + 1e-9)


def test_cpsat_warmup_feeds_the_milp() -> None:
    net = _chain(7)
    hw = _mesh_hw(n_max=2)
    plain = METHODS["milp"](net, hw, threads=1)
    warm = METHODS["milp"](net, hw, threads=1, warmup=1.0)
    assert warm.status == Status.OPTIMAL and warm.energy == pytest.approx(plain.energy, rel=1e-9)
    assert warm.lower_bound <= warm.energy
