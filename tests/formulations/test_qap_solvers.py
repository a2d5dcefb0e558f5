"""QAP methods against brute force, bounds, time limits, determinism and QAPLIB optima."""

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from snnmap.formulations.qap import brute_force_qap, qap_objective, read_qaplib, solve_qap
from snnmap.formulations.qap.bnb import gilmore_lawler_bound, lap_hungarian, location_automorphisms
from snnmap.formulations.qap.heuristic import pad_square, swap_delta

QAPLIB = Path(__file__).resolve().parents[3] / "shared" / "qaplib"
needs_qaplib = pytest.mark.skipif(not QAPLIB.exists(), reason="shared QAPLIB folder not present")


def grid_dist(rows: int, cols: int) -> np.ndarray:
    xy = np.array([(i // cols, i % cols) for i in range(rows * cols)])
    return np.abs(xy[:, None] - xy[None]).sum(-1).astype(float)


def random_instance(rng, kind: int):
    """Tiny instances of several kinds: integer/float, symmetric/asymmetric, mesh, linear."""
    n = int(rng.integers(2, 7))
    m = int(rng.integers(n, min(n + 2, 7) + 1))
    if kind % 4 == 0:  # mesh distances (with automorphisms), integer traffic
        rows = 2 if m <= 6 else 1
        D = grid_dist(rows, (m + rows - 1) // rows)[:m, :m]
        F = rng.integers(0, 6, (n, n)).astype(float)
        F = F + F.T
    elif kind % 4 == 1:  # asymmetric float data
        D = rng.random((m, m)) * 3
        F = rng.random((n, n)) * (rng.random((n, n)) < 0.6)
    elif kind % 4 == 2:  # symmetric integer D, asymmetric F, negative entries allowed
        D = rng.integers(0, 5, (m, m)).astype(float)
        D = D + D.T
        F = rng.integers(-2, 5, (n, n)).astype(float)
    else:  # energies in joules: tiny magnitudes
        D = rng.random((m, m)) * 1e-12
        D = D + D.T
        F = rng.integers(0, 1000, (n, n)).astype(float)
    L = rng.random((n, m)) * F.sum() * D.max() / n if kind % 3 == 1 else None
    return F, D, L


def _rel_close(a: float, b: float, tol: float = 1e-9, atol: float = 0.0) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b)) + atol


CASES = [random_instance(np.random.default_rng(100 + k), k) for k in range(16)]


@pytest.mark.parametrize("method", ["bnb", "milp", "cpsat"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_exact_methods_match_brute_force(method, case):
    F, D, L = CASES[case]
    opt, _ = brute_force_qap(F, D, L)
    res = solve_qap(F, D, linear=L, method=method, time_limit=60)
    assert res.status == "optimal"
    recomputed = qap_objective(F, D, res.assignment, L)
    assert _rel_close(res.objective, recomputed)
    scale = max(1.0, abs(opt))
    # CP-SAT optimises rounded costs: optimal within twice its rounding bound.
    slack = 2 * res.rounding_error + 1e-9 * scale
    assert abs(res.objective - opt) <= slack
    assert res.lower_bound <= opt + 1e-9 * scale
    assert res.lower_bound <= res.objective


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 3))
def test_bnb_matches_brute_force_property(seed, kind):
    F, D, L = random_instance(np.random.default_rng(seed), kind)
    opt, _ = brute_force_qap(F, D, L)
    res = solve_qap(F, D, linear=L, method="bnb")
    assert res.status == "optimal"
    assert _rel_close(res.objective, opt)
    assert res.lower_bound <= opt + 1e-9 * max(1.0, abs(opt))
    assert gilmore_lawler_bound(F, D, L) <= opt + 1e-9 * max(1.0, abs(opt))


@settings(max_examples=30, derandomize=True, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 3))
def test_anneal_never_beats_optimum(seed, kind):
    F, D, L = random_instance(np.random.default_rng(seed), kind)
    opt, _ = brute_force_qap(F, D, L)
    res = solve_qap(F, D, linear=L, method="anneal", seed=seed % 100)
    assert res.status == "feasible"
    assert _rel_close(res.objective, qap_objective(F, D, res.assignment, L))
    assert res.objective >= opt - 1e-9 * max(1.0, abs(opt))


def test_bnb_without_heuristic_or_symmetry_matches():
    rng = np.random.default_rng(7)
    from snnmap.formulations.qap.bnb import branch_and_bound

    for _ in range(10):
        F, D, L = random_instance(rng, int(rng.integers(0, 4)))
        opt, _ = brute_force_qap(F, D, L)
        for sym in (False, True):
            res = branch_and_bound(F, D, L, heuristic=False, symmetry=sym)
            assert _rel_close(res.objective, opt)


def test_swap_delta_matches_recomputation():
    rng = np.random.default_rng(3)
    n, m = 5, 7
    F, D, L = rng.random((n, n)), rng.random((m, m)), rng.random((n, m))
    Fp, Lp = pad_square(F, D, L)
    p = rng.permutation(m).astype(np.int64)

    def full(x):
        return float(np.sum(Fp * D[np.ix_(x, x)]) + Lp[np.arange(m), x].sum())

    for r in range(m):
        for s in range(r + 1, m):
            q = p.copy()
            q[r], q[s] = q[s], q[r]
            assert _rel_close(swap_delta(Fp, D, Lp, p, r, s), full(q) - full(p), atol=1e-12)


def test_hungarian_matches_scipy():
    rng = np.random.default_rng(5)
    for r, c in [(1, 1), (3, 5), (6, 6), (8, 11)]:
        C = rng.random((r, c)) * 10 - 3
        val, rows = lap_hungarian(C)
        ri, ci = linear_sum_assignment(C)
        assert _rel_close(val, C[ri, ci].sum())
        assert len(set(rows.tolist())) == r and _rel_close(C[np.arange(r), rows].sum(), val)


@pytest.mark.parametrize("rows, cols, count", [(3, 3, 7), (2, 3, 3), (1, 4, 1), (3, 4, 3)])
def test_mesh_automorphisms(rows, cols, count):
    D = grid_dist(rows, cols)
    G = location_automorphisms(D)
    assert G.shape[0] == count  # the dihedral symmetries of the grid, minus the identity
    for g in G:
        np.testing.assert_array_equal(D[np.ix_(g, g)], D)


def test_linear_costs_break_symmetry():
    D = grid_dist(3, 3)
    L = np.zeros((2, 9))
    L[0, 0] = 1.0  # the corner 0 is special: only symmetries fixing it survive
    G = location_automorphisms(D, L)
    assert G.shape[0] == 1 and np.all(G[:, 0] == 0)


def test_bnb_time_limit_returns_incumbent_and_bound():
    rng = np.random.default_rng(11)
    n = 18
    F = rng.integers(0, 10, (n, n)).astype(float)
    D = rng.integers(1, 10, (n, n)).astype(float)
    res = solve_qap(F, D, method="bnb", time_limit=0.05)
    assert res.status == "time_limit"
    assert sorted(res.assignment.tolist()) == list(range(n))
    assert _rel_close(res.objective, qap_objective(F, D, res.assignment))
    assert np.isfinite(res.lower_bound) and res.lower_bound <= res.objective


def test_cpsat_time_limit_bound_is_valid():
    rng = np.random.default_rng(12)
    n = 14
    F = rng.integers(0, 10, (n, n)).astype(float)
    D = rng.integers(1, 10, (n, n)).astype(float)
    start = np.arange(n)
    res = solve_qap(F, D, method="cpsat", time_limit=0.5, start=start)
    assert res.status in ("time_limit", "optimal")
    assert res.lower_bound <= res.objective
    if np.isfinite(res.objective):
        assert _rel_close(res.objective, qap_objective(F, D, res.assignment))


@pytest.mark.parametrize("method", ["anneal", "bnb"])
def test_same_seed_same_result(method):
    rng = np.random.default_rng(21)
    F, D = rng.random((9, 9)), rng.random((10, 10))
    a = solve_qap(F, D, method=method, seed=4)
    b = solve_qap(F, D, method=method, seed=4)
    np.testing.assert_array_equal(a.assignment, b.assignment)
    assert a.objective == b.objective and a.nodes == b.nodes


def test_warm_start_is_used():
    rng = np.random.default_rng(22)
    F, D = rng.integers(0, 9, (7, 7)), rng.integers(0, 9, (7, 7))
    opt, arg = brute_force_qap(F, D)
    for method in ("bnb", "anneal", "cpsat", "milp"):
        # Whatever the time limit, a method handed the optimum keeps a solution that good.
        res = solve_qap(F, D, method=method, start=arg, time_limit=3)
        assert res.objective <= opt + 1e-9
    from snnmap.formulations.qap.bnb import branch_and_bound

    res = branch_and_bound(F, D, heuristic=False, start=arg)
    assert res.info["heuristic_objective"] == opt  # the start is the first incumbent


def known_optima() -> dict[str, float]:
    text = (QAPLIB / "README.md").read_text()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^\|\s*(\w+)\s*\|\s*\d+\s*\|\s*(\d+)\s*\|", text, re.MULTILINE)}


def _prove(name: str):
    inst = read_qaplib(QAPLIB / f"{name}.dat")
    res = solve_qap(inst.flow, inst.dist, method="bnb", time_limit=600)
    assert res.status == "optimal"
    assert res.objective == known_optima()[name]
    assert res.lower_bound == res.objective
    assert inst.objective(res.assignment) == res.objective


@needs_qaplib
@pytest.mark.parametrize("name", ["chr12a", "nug12"])
def test_bnb_proves_qaplib_fast(name):
    _prove(name)


@needs_qaplib
@pytest.mark.slow
@pytest.mark.parametrize("name", ["had12", "scr12", "rou12", "nug14", "nug15", "esc16a"])
def test_bnb_proves_qaplib_slow(name):
    _prove(name)


def test_auto_picks_exact_for_small_and_heuristic_for_large():
    rng = np.random.default_rng(30)
    small = solve_qap(rng.random((5, 5)), rng.random((6, 6)), method="auto")
    assert small.method == "bnb" and small.status == "optimal"
    big = solve_qap(rng.random((17, 17)), rng.random((17, 17)), method="auto")
    assert big.method == "anneal" and big.status == "feasible"
