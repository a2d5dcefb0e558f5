"""Simulated annealing for the QAP (numba), seeded and deterministic.

The search works on the square problem obtained by padding the flow matrix
with zero-flow dummy facilities (one per spare location), so moving a
facility onto an empty location is a swap with a dummy. A move swaps the
locations of two facilities; its cost change is evaluated in ``O(m)``.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from snnmap.formulations.qap.core import QAPError, QAPResult, check_data, qap_objective
from snnmap.formulations.result import Status

__all__ = ["anneal", "complete_start", "full_cost", "pad_square", "swap_delta"]


def pad_square(F: np.ndarray, D: np.ndarray, L: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Pad ``F`` to ``m x m`` and ``L`` to ``m x m`` with zeros (dummy facilities)."""
    n, m = F.shape[0], D.shape[0]
    Fp = np.zeros((m, m))
    Fp[:n, :n] = F
    Lp = np.zeros((m, m))
    if L is not None:
        Lp[:n, :] = L
    return Fp, Lp


@njit(cache=True)
def swap_delta(F, D, L, p, r, s):
    """Cost change when facilities ``r`` and ``s`` exchange locations (general, asymmetric)."""
    pr, ps = p[r], p[s]
    d = L[r, ps] + L[s, pr] - L[r, pr] - L[s, ps]
    d += F[r, r] * (D[ps, ps] - D[pr, pr]) + F[s, s] * (D[pr, pr] - D[ps, ps])
    d += F[r, s] * (D[ps, pr] - D[pr, ps]) + F[s, r] * (D[pr, ps] - D[ps, pr])
    for k in range(p.shape[0]):
        if k == r or k == s:
            continue
        pk = p[k]
        d += (F[k, r] - F[k, s]) * (D[pk, ps] - D[pk, pr])
        d += (F[r, k] - F[s, k]) * (D[ps, pk] - D[pr, pk])
    return d


@njit(cache=True)
def full_cost(F, D, L, p):
    """Cost of the square (padded) permutation ``p``: ``sum_a L[a,p(a)] + sum_{a,b} F[a,b] D[p(a),p(b)]``."""
    m = p.shape[0]
    c = 0.0
    for a in range(m):
        c += L[a, p[a]]
        for b in range(m):
            c += F[a, b] * D[p[a], p[b]]
    return c


@njit(cache=True)
def _local_search(F, D, L, p, n):
    """First-improvement 2-swap descent; ``n`` real facilities (dummies never swap together)."""
    m = p.shape[0]
    improved = True
    while improved:
        improved = False
        for r in range(n):
            for s in range(r + 1, m):
                if swap_delta(F, D, L, p, r, s) < -1e-12:
                    t = p[r]
                    p[r] = p[s]
                    p[s] = t
                    improved = True


@njit(cache=True)
def _anneal_run(F, D, L, n, p, moves, seed):
    """One annealing run from permutation ``p`` (modified in place: the best found)."""
    np.random.seed(seed)
    m = p.shape[0]
    cur = full_cost(F, D, L, p)
    best = cur
    bestp = p.copy()
    # Initial temperature: mean uphill move from random samples, so that about
    # half of the uphill moves are accepted at the start.
    up = 0.0
    cnt = 0
    for _ in range(200):
        r = np.random.randint(n)
        s = np.random.randint(m)
        if r != s:
            d = swap_delta(F, D, L, p, r, s)
            if d > 0:
                up += d
                cnt += 1
    if cnt == 0:
        return best
    t0 = up / cnt / np.log(2.0)
    t_end = t0 * 1e-3
    alpha = (t_end / t0) ** (1.0 / max(moves, 1))
    t = t0
    for _ in range(moves):
        r = np.random.randint(n)  # at least one real facility moves
        s = np.random.randint(m - 1)
        if s >= r:
            s += 1
        d = swap_delta(F, D, L, p, r, s)
        if d <= 0 or np.random.random() < np.exp(-d / t):
            tmp = p[r]
            p[r] = p[s]
            p[s] = tmp
            cur += d
            if cur < best - 1e-12:
                best = cur
                bestp[:] = p
        t *= alpha
    p[:] = bestp
    _local_search(F, D, L, p, n)
    return full_cost(F, D, L, p)


def anneal(
    flow,
    dist,
    linear=None,
    *,
    time_limit: float | None = None,
    seed: int = 0,
    start=None,
    restarts: int = 10,
    moves: int | None = None,
    log=None,
) -> QAPResult:
    """Multi-start simulated annealing with a final swap descent.

    Parameters
    ----------
    flow, dist, linear : array_like
        Instance data (see `formulations.qap.solve_qap`).
    time_limit : float, optional
        Stop starting new runs after this many seconds (a run always finishes).
    seed : int
        Run ``k`` uses seed ``seed * 1000 + k``: same seed, same result.
    start : array_like of int, optional
        Assignment to start the first run from (the others start at random).
    restarts : int
        Number of annealing runs.
    moves : int, optional
        Moves per run; default ``min(max(20000, 400 m^2), 2e6)``.
    log : callable, optional
        Receives one line of text per improving run.

    Returns
    -------
    QAPResult
        Status ``feasible``; ``lower_bound`` is ``-inf`` (a heuristic proves nothing).
    """
    t0 = time.perf_counter()
    F, D, L = check_data(flow, dist, linear)
    n, m = F.shape[0], D.shape[0]
    Fp, Lp = pad_square(F, D, L)
    if moves is None:
        # Enough moves to anneal the small instances well; capped because a move costs O(m).
        moves = min(max(20000, 400 * m * m), 2_000_000)
    rng = np.random.default_rng(seed)
    best_c, best_p = np.inf, None
    for k in range(max(1, restarts)):
        if k > 0 and time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
        if k == 0 and start is not None:
            p = complete_start(np.asarray(start, dtype=np.int64), n, m)
        else:
            p = rng.permutation(m).astype(np.int64)
        c = _anneal_run(Fp, D, Lp, n, p, moves, seed * 1000 + k)
        if c < best_c - 1e-12:
            best_c, best_p = c, p[:n].copy()
            if log is not None:
                log(f"anneal run {k}: {c:.6g}")
    obj = qap_objective(F, D, best_p, L)
    return QAPResult(
        assignment=best_p, objective=obj, lower_bound=-np.inf, status=Status.FEASIBLE, nodes=0,
        runtime=time.perf_counter() - t0, method="anneal", seed=seed,
    )


def complete_start(start: np.ndarray, n: int, m: int) -> np.ndarray:
    """Extend a facility assignment of length ``n`` to a permutation of ``m`` locations."""
    if start.shape != (n,) or len(np.unique(start)) != n or start.min() < 0 or start.max() >= m:
        raise QAPError(f"start: expected {n} distinct locations in [0, {m})")
    free = np.setdiff1d(np.arange(m), start)
    return np.concatenate([start, free]).astype(np.int64)
