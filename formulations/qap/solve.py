"""One entry point, `solve_qap`, over every QAP method."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from snnmap.formulations.qap.core import QAPError, QAPResult, check_data

__all__ = ["AUTO_BNB_MAX_N", "METHODS", "solve_qap"]

METHODS = ("bnb", "milp", "cpsat", "anneal", "auto")

#: ``auto`` uses the branch and bound up to this many facilities (it proves all
#: shipped QAPLIB instances, n <= 16, in seconds) and annealing above.
AUTO_BNB_MAX_N = 16


def _logger(log) -> Callable[[str], None] | None:
    if log is None or log is False:
        return None
    if log is True:
        return print
    if callable(log):
        return log
    raise QAPError(f"log: expected None, a bool or a callable, got {type(log).__name__}")


def solve_qap(
    flow,
    dist,
    *,
    linear=None,
    method: str = "bnb",
    time_limit: float | None = None,
    seed: int = 0,
    start=None,
    threads: int | None = None,
    log=None,
    progress: Callable[[dict], None] | None = None,
    solver: str = "appsi_highs",
) -> QAPResult:
    """Place ``n`` facilities (clusters) on ``m >= n`` locations (cores) at least cost.

    Minimises ``sum_{a,b} F[a,b] D[p(a),p(b)] + sum_a L[a,p(a)]`` over injective
    ``p`` (rectangular instances need no padding by the caller).

    Parameters
    ----------
    flow : array_like
        ``n x n`` traffic between facilities (float allowed).
    dist : array_like
        ``m x m`` distance or per-unit cost between locations.
    linear : array_like, optional
        ``n x m`` cost of facility ``a`` on location ``k``.
    method : {"bnb", "milp", "cpsat", "anneal", "auto"}
        ``auto`` = ``bnb`` for ``n <= AUTO_BNB_MAX_N``, else ``anneal``.
    time_limit : float, optional
        Seconds. Exact methods then return their best assignment, a valid bound
        and status ``time_limit``.
    seed : int
        Seed of every random choice (annealing, solver seeds).
    start : array_like of int, optional
        Warm start: incumbent (bnb), first run (anneal), hint (cpsat), MIP start (milp).
    threads : int, optional
        Solver threads (cpsat, milp); bnb and anneal are single-threaded.
    log : None, bool or callable
        ``True`` prints progress; a callable receives lines of text.
    progress : callable, optional
        bnb only: receives ``{"nodes", "upper", "lower", "time"}`` periodically.
    solver : str
        Pyomo solver name for ``milp``.

    Returns
    -------
    QAPResult
        Assignment, float objective recomputed from it, valid lower bound, status.

    Raises
    ------
    QAPError
        On invalid data, an unknown method or an invalid start.
    """
    F, D, L = check_data(flow, dist, linear)
    n, m = F.shape[0], D.shape[0]
    if method not in METHODS:
        raise QAPError(f"method: {method!r} is unknown; choose one of {', '.join(METHODS)}")
    if time_limit is not None and not (time_limit >= 0):
        raise QAPError(f"time_limit: {time_limit} must be >= 0 seconds")
    if start is not None:
        s = np.asarray(start)
        if (s.shape != (n,) or not np.issubdtype(s.dtype, np.integer) or s.min() < 0
                or s.max() >= m or len(np.unique(s)) != n):
            raise QAPError(f"start: expected {n} distinct integer locations in [0, {m})")
    lg = _logger(log)
    if method == "auto":
        method = "bnb" if n <= AUTO_BNB_MAX_N else "anneal"
    if method == "bnb":
        from snnmap.formulations.qap.bnb import branch_and_bound

        return branch_and_bound(F, D, L, time_limit=time_limit, start=start, seed=seed,
                                log=lg, progress=progress)
    if method == "anneal":
        from snnmap.formulations.qap.heuristic import anneal

        return anneal(F, D, L, time_limit=time_limit, seed=seed, start=start, log=lg)
    if method == "milp":
        from snnmap.formulations.qap.models import solve_milp

        return solve_milp(F, D, L, solver=solver, time_limit=time_limit, threads=threads,
                          seed=seed, start=start, log=lg)
    from snnmap.formulations.qap.models import solve_cpsat

    return solve_cpsat(F, D, L, time_limit=time_limit, threads=threads, seed=seed,
                       start=start, log=lg)
