r"""QAP as a MILP (Pyomo, Adams-Johnson RLT-1) and as a CP-SAT model (OR-Tools).

Both models are built by one function and solved by another, and return the
common `QAPResult` with the objective recomputed in float from the assignment.

Generic options are translated into each solver's names by the one table in
:mod:`formulations.solver_options`, shared with the neuron-level MILP.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from snnmap.formulations.exact_common import run_interruptible
from snnmap.formulations.pyomo_solve import solve_highs, solve_pyomo
from snnmap.formulations.qap.core import QAPResult, check_data, is_integral, qap_objective
from snnmap.formulations.result import Status, asks_for_proof, proof_status
from snnmap.formulations.solver_options import SolverUnavailableError, solver_family, translate

__all__ = ["build_cpsat", "build_milp", "solve_cpsat", "solve_milp"]

def _interacting_pairs(F: np.ndarray) -> list[tuple[int, int]]:
    """Facility pairs ``a < b`` with flow in either direction (others cost nothing)."""
    n = F.shape[0]
    return [(a, b) for a in range(n) for b in range(a + 1, n) if F[a, b] != 0 or F[b, a] != 0]


# ----------------------------------------------------------------------------
# MILP
# ----------------------------------------------------------------------------
def build_milp(flow, dist, linear=None):
    r"""Adams-Johnson level-1 RLT linearisation of the QAP as a Pyomo model.

    Variables: ``x[a,k] in {0,1}`` (facility ``a`` on location ``k``) and, for each
    interacting pair ``a < b`` (non-zero flow in either direction) and ``k != l``,
    ``y[a,k,b,l] >= 0`` standing for the product ``x[a,k] x[b,l]``.

    .. math::

        \min \sum_{a,k} (L_{ak} + F_{aa} D_{kk}) x_{ak}
             + \sum_{a<b} \sum_{k \ne l} (F_{ab} D_{kl} + F_{ba} D_{lk}) y_{akbl}

        \sum_k x_{ak} = 1 \;\forall a, \qquad \sum_a x_{ak} \le 1 \;\forall k
        \;(= 1 \text{ if } n = m)

        \sum_{l \ne k} y_{akbl} = x_{ak}, \qquad \sum_{k \ne l} y_{akbl} = x_{bl}
        \qquad \forall a<b, k, l

        \sum_{b \ne a} y_{akbl} \le x_{ak} \qquad \forall a, k, l \ne k

    The equalities are the assignment constraints multiplied by one ``x``
    (reformulation-linearisation); with binary ``x`` they force
    ``y_{akbl} = x_{ak} x_{bl}``, so ``y`` can stay continuous. Pairs without flow
    are left out: they contribute nothing and their products need no variable.
    The LP relaxation is the strong RLT-1 bound (e.g. well above Gilmore-Lawler).
    """
    import pyomo.environ as pe

    F, D, L = check_data(flow, dist, linear)
    n, m = F.shape[0], D.shape[0]
    Lm = np.zeros((n, m)) if L is None else L
    pairs = _interacting_pairs(F)
    mdl = pe.ConcreteModel(name="qap_rlt1")
    mdl.A = pe.RangeSet(0, n - 1)
    mdl.K = pe.RangeSet(0, m - 1)
    ykeys = [(a, k, b, l) for (a, b) in pairs for k in range(m) for l in range(m) if k != l]

    # Variables: assignment booleans and the linearised products.
    mdl.x = pe.Var(mdl.A, mdl.K, domain=pe.Binary)
    mdl.y = pe.Var(ykeys, domain=pe.NonNegativeReals, dense=False)

    # Every facility sits on exactly one location.
    mdl.assign_facility = pe.Constraint(mdl.A, rule=lambda M, a: sum(M.x[a, k] for k in M.K) == 1)

    # Every location holds at most one facility (exactly one when square).
    def _loc(M, k):
        s = sum(M.x[a, k] for a in M.A)
        return s == 1 if n == m else s <= 1
    mdl.assign_location = pe.Constraint(mdl.K, rule=_loc)

    # If a is on k, partner b is on exactly one other location l.
    mdl.rlt_first = pe.Constraint(
        [(a, k, b) for (a, b) in pairs for k in range(m)],
        rule=lambda M, a, k, b: sum(M.y[a, k, b, l] for l in range(m) if l != k) == M.x[a, k])

    # If b is on l, partner a is on exactly one other location k.
    mdl.rlt_second = pe.Constraint(
        [(a, b, l) for (a, b) in pairs for l in range(m)],
        rule=lambda M, a, b, l: sum(M.y[a, k, b, l] for k in range(m) if k != l) == M.x[b, l])

    # If a is on k, location l != k holds at most one of a's partners.
    partners: dict[int, list[int]] = {a: [] for a in range(n)}
    for a, b in pairs:
        partners[a].append(b)
        partners[b].append(a)

    def _cap(M, a, k, l):
        terms = [M.y[a, k, b, l] if a < b else M.y[b, l, a, k] for b in partners[a]]
        if len(terms) <= 1:
            return pe.Constraint.Skip  # implied by the equalities above
        return sum(terms) <= M.x[a, k]
    mdl.rlt_location = pe.Constraint(
        [(a, k, l) for a in range(n) for k in range(m) for l in range(m) if k != l], rule=_cap)

    # Objective: linear and self-flow costs plus the pairwise traffic costs, divided
    # by the largest coefficient so that solver tolerances (absolute, ~1e-6) do not
    # swamp tiny energies in joules; `solve_milp` multiplies the bound back.
    lin_c = Lm + np.outer(np.diag(F), np.diag(D))
    pair_c = {key: F[key[0], key[2]] * D[key[1], key[3]] + F[key[2], key[0]] * D[key[3], key[1]]
              for key in ykeys}
    big = max([abs(float(v)) for v in pair_c.values()] + [float(np.abs(lin_c).max())])
    scale = big if big > 0 else 1.0
    mdl.obj = pe.Objective(
        expr=sum(float(lin_c[a, k] / scale) * mdl.x[a, k] for a in range(n) for k in range(m)
                 if lin_c[a, k] != 0)
        + sum(float(c / scale) * mdl.y[key] for key, c in pair_c.items() if c != 0),
        sense=pe.minimize)
    mdl.qap_data = (F, D, L, pairs, scale)
    return mdl


def solve_milp(
    flow,
    dist,
    linear=None,
    *,
    solver: str = "appsi_highs",
    time_limit: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    start=None,
    gap: float = 1e-9,
    log: Callable[[str], None] | None = None,
) -> QAPResult:
    """Build the RLT-1 MILP (`build_milp`) and solve it with a Pyomo solver.

    Parameters
    ----------
    solver : str
        Any Pyomo solver name; :func:`formulations.solver_options.translate` maps the
        generic options for the known ones (others run without them, with a warning).
        A solver that is not installed gives status ``error`` with a message saying
        how to install it.
    start : array_like of int, optional
        MIP start (location of each facility), passed as a warm start.
    gap : float
        Relative MIP gap at which the solver stops. At most 1e-9 (the default) a stop
        is a proof (status ``optimal``, within the solver's feasibility tolerances);
        a larger gap gives ``gap_limit`` unless the bound meets the objective.

    Returns
    -------
    QAPResult
        ``lower_bound`` is the solver's dual bound; ``nodes`` is 0 (Pyomo does not
        report node counts uniformly). Ctrl-C gives status ``interrupted``.
    """
    t0 = time.perf_counter()
    mdl = build_milp(flow, dist, linear)
    F, D, L, pairs, scale = mdl.qap_data
    n, m = F.shape[0], D.shape[0]
    # A tight relative gap: the default of most solvers (1e-4) would stop short of a proof.
    opts = translate(solver, time_limit=None if time_limit is None else max(float(time_limit), 0.01),
                     threads=threads, seed=seed, mip_gap=gap)
    if start is not None:
        s = np.asarray(start, dtype=np.int64)
        for a in range(n):
            for k in range(m):
                mdl.x[a, k].value = 1.0 if s[a] == k else 0.0
        for (a, k, b, l) in mdl.y:
            mdl.y[a, k, b, l].value = 1.0 if (s[a] == k and s[b] == l) else 0.0
    try:
        if solver_family(solver) == "highs":
            raw = solve_highs(mdl, opts, start is not None, log=log)
        else:
            raw = solve_pyomo(mdl, solver, opts, start is not None, tee=log is not None)
    except SolverUnavailableError as exc:
        return QAPResult(np.full(n, -1, np.int64), np.inf, -np.inf, Status.ERROR, 0, time.perf_counter() - t0,
                         "milp", seed, info={"solver": solver}, message=str(exc))
    assign = np.full(n, -1, np.int64)
    if raw["has_solution"]:
        for a in range(n):
            vals = [mdl.x[a, k].value or 0.0 for k in range(m)]
            assign[a] = int(np.argmax(vals))
    lb = -np.inf if raw["bound"] is None else raw["bound"] * scale
    info = {"solver": solver, "termination": raw["termination"], "pairs": len(pairs)}
    if raw["status"] == Status.INFEASIBLE:
        return QAPResult(assign, np.inf, np.inf, Status.INFEASIBLE, 0, time.perf_counter() - t0,
                         "milp", seed, info=info)
    valid = raw["has_solution"] and assign.min() >= 0 and len(np.unique(assign)) == n
    obj = qap_objective(F, D, assign, L) if valid else np.inf
    if raw["status"] == Status.OPTIMAL and valid:
        status = proof_status(asks_for_proof(gap), obj, lb if np.isfinite(lb) else None)
        if status == Status.OPTIMAL:
            lb = obj if not np.isfinite(lb) else min(lb, obj)
    elif raw["status"] == Status.INTERRUPTED:
        status = Status.INTERRUPTED
    else:
        status = Status.TIME_LIMIT
    return QAPResult(
        assignment=assign, objective=obj, lower_bound=min(lb, obj), status=status, nodes=0,
        runtime=time.perf_counter() - t0, method="milp", seed=seed,
        info=info,
    )


# ----------------------------------------------------------------------------
# CP-SAT
# ----------------------------------------------------------------------------
def _scale(F, D, L, pairs) -> tuple[float, float]:
    """Integer scale for CP-SAT and the bound on the objective's rounding error.

    Integral data is used as is (scale 1, error 0). Otherwise every cost term is
    multiplied by ``s = 1e9 / max|term|`` and rounded; each term is then off by at
    most ``0.5 / s``, and an assignment sums one term per interacting pair plus
    one per facility, so the error is at most ``(len(pairs) + n) * 0.5 / s``.
    """
    n, m = F.shape[0], D.shape[0]
    if is_integral(F, D, L):
        return 1.0, 0.0
    Lm = np.zeros((n, m)) if L is None else L
    big = float(np.max(np.abs(Lm + np.outer(np.diag(F), np.diag(D)))))
    for a, b in pairs:
        big = max(big, float(np.max(np.abs(F[a, b] * D + F[b, a] * D.T))))
    if big == 0:
        return 1.0, 0.0
    s = 1e9 / big
    return s, (len(pairs) + n) * 0.5 / s


def _pair_gl_table(tables: dict, n: int, m: int) -> dict[int, np.ndarray]:
    """``G[a][k]``: least total pair cost of facility ``a`` on ``k`` over injective partner placements."""
    from scipy.optimize import linear_sum_assignment

    out = {}
    for a in range(n):
        rows = []  # per partner: cost of a on k (rows of the m x m table) against partner location
        for (p, q), t in tables.items():
            if p == a:
                rows.append(t)  # t[k, l]: a on k, partner on l
            elif q == a:
                rows.append(t.T)  # t[l, k]: partner on l, a on k
        if not rows:
            continue
        stack = np.stack(rows)  # partners x m (a's location) x m (partner's location)
        G = np.zeros(m, np.int64)
        for k in range(m):
            cost = np.delete(stack[:, k, :], k, axis=1)  # the partner cannot sit on k
            ri, ci = linear_sum_assignment(cost)
            G[k] = int(cost[ri, ci].sum())
        out[a] = G
    return out


def build_cpsat(flow, dist, linear=None, *, gl_cuts: bool = True):
    """CP-SAT model: assignment booleans, a position per facility and one element cost per pair.

    ``gl_cuts`` adds redundant linear constraints (see the code) that give
    CP-SAT's LP relaxation a Gilmore-Lawler-type bound; without them the LP sees
    only the element constraints and its bound stays near zero.

    Returns
    -------
    tuple
        ``(model, x, pos, scale, rounding_error)``: ``x[a][k]`` booleans,
        ``pos[a]`` integer locations, the cost scale and the rounding bound
        (see `_scale`).
    """
    from ortools.sat.python import cp_model

    F, D, L = check_data(flow, dist, linear)
    n, m = F.shape[0], D.shape[0]
    Lm = np.zeros((n, m)) if L is None else L
    pairs = _interacting_pairs(F)
    s, err = _scale(F, D, L, pairs)
    md = cp_model.CpModel()

    # Variables: x[a][k] = facility a on location k; pos[a] its location.
    x = [[md.NewBoolVar(f"x_{a}_{k}") for k in range(m)] for a in range(n)]
    pos = [md.NewIntVar(0, m - 1, f"pos_{a}") for a in range(n)]

    # Every facility on exactly one location, channelled to its position.
    for a in range(n):
        md.AddExactlyOne(x[a])
        md.Add(pos[a] == sum(k * x[a][k] for k in range(m)))

    # At most one facility per location (the AllDifferent is redundant but propagates well).
    for k in range(m):
        md.AddAtMostOne([x[a][k] for a in range(n)])
    md.AddAllDifferent(pos)

    # Pair costs: cost[a,b] = table[m * pos[a] + pos[b]], the scaled traffic cost.
    terms = []
    tables = {}
    for a, b in pairs:
        table = np.rint(s * (F[a, b] * D + F[b, a] * D.T)).astype(np.int64)
        np.fill_diagonal(table, 0)  # two facilities never share a location
        tables[a, b] = table
        idx = md.NewIntVar(0, m * m - 1, f"idx_{a}_{b}")
        md.Add(idx == m * pos[a] + pos[b])
        lo, hi = int(table.min()), int(table.max())
        cost = md.NewIntVar(lo, hi, f"cost_{a}_{b}")
        md.AddElement(idx, [int(t) for t in table.ravel()], cost)
        terms.append(cost)

    # Redundant Gilmore-Lawler cuts for the LP relaxation: if facility a is on k, the
    # pair costs of a sum to at least G[a,k], the cheapest injective placement of its
    # partners on the other locations (a small LAP per (a, k)).
    if gl_cuts:
        for a, G_a in _pair_gl_table(tables, n, m).items():
            costs = [c for (p, q), c in zip(pairs, terms, strict=True) if a in (p, q)]
            if len(costs) > 1:
                md.Add(sum(costs) >= sum(int(G_a[k]) * x[a][k] for k in range(m) if G_a[k] != 0))

    # Objective: linear and self-flow costs plus the pair costs.
    lin_c = np.rint(s * (Lm + np.outer(np.diag(F), np.diag(D)))).astype(np.int64)
    md.Minimize(sum(terms) + sum(int(lin_c[a, k]) * x[a][k]
                                 for a in range(n) for k in range(m) if lin_c[a, k] != 0))
    return md, x, pos, s, err


def solve_cpsat(
    flow,
    dist,
    linear=None,
    *,
    time_limit: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    start=None,
    gl_cuts: bool = True,
    log: Callable[[str], None] | None = None,
) -> QAPResult:
    """Build (`build_cpsat`) and solve the CP-SAT model.

    Status ``optimal`` means optimal for the scaled integer costs, hence within
    ``2 * rounding_error`` of the true optimum (exact for integral data).
    ``lower_bound`` is CP-SAT's best objective bound divided by the scale minus
    ``rounding_error``, so it is valid for the float objective. With more than one
    worker CP-SAT is not deterministic in time, only in its proven value. Ctrl-C
    stops the search and returns the incumbent with status ``interrupted``.
    """
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    F, D, L = check_data(flow, dist, linear)
    n, m = F.shape[0], D.shape[0]
    md, x, pos, s, err = build_cpsat(F, D, L, gl_cuts=gl_cuts)
    if start is not None:
        st = np.asarray(start, dtype=np.int64)
        for a in range(n):
            md.AddHint(pos[a], int(st[a]))
            for k in range(m):
                md.AddHint(x[a][k], int(st[a] == k))
    solver = cp_model.CpSolver()
    params = translate("cpsat", time_limit=None if time_limit is None else max(float(time_limit), 0.01),
                       threads=int(threads) if threads else 2, seed=seed)
    for key, value in params.items():
        setattr(solver.parameters, key, value)
    solver.parameters.catch_sigint_signal = False  # Ctrl-C is handled by run_interruptible
    if log is not None:
        solver.parameters.log_search_progress = True
        solver.log_callback = log
    code, interrupted = run_interruptible(lambda: solver.Solve(md), solver.StopSearch)
    assign = np.full(n, -1, np.int64)
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assign = np.array([solver.Value(pos[a]) for a in range(n)], dtype=np.int64)
        obj = qap_objective(F, D, assign, L)
    else:
        obj = np.inf
    if code == cp_model.INFEASIBLE:
        status, lb = Status.INFEASIBLE, np.inf
    else:
        lb = solver.BestObjectiveBound() / s - err
        if code == cp_model.OPTIMAL:
            status = Status.OPTIMAL
        else:
            status = Status.INTERRUPTED if interrupted else Status.TIME_LIMIT
        if np.isfinite(obj):
            lb = min(lb, obj)
    return QAPResult(
        assignment=assign, objective=obj, lower_bound=float(lb), status=status,
        nodes=int(solver.NumBranches()), runtime=time.perf_counter() - t0, method="cpsat",
        seed=seed, rounding_error=err,
        info={"scale": s, "cp_status": solver.StatusName(code), "workers": solver.parameters.num_workers},
    )
