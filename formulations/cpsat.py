"""Neuron-level CP-SAT model of the mapping problem (OR-Tools).

Same objective and limits as the MILP (:mod:`formulations.milp`), on
integer-scaled costs:

- **scale**: one unit is ``max_i,k,c (s_i * cost[k,c]) / resolution``
  (``resolution`` = 10**6 by default), i.e. ``q[i,k,c] = round(s_i * cost[k,c] * scale)``
  with ``scale = resolution / max coefficient``; the static energy of one
  core is rounded the same way.
- **rounding error**: each active term is off by at most half a unit, so for
  every mapping ``|scaled energy / scale - true energy| <= err`` with
  ``err = 0.5 / scale * (terms)``, ``terms`` = multicast ``sum_i min(deg_i, K)``
  (active (sender, destination core) pairs), unicast the number of synapses,
  plus ``K`` static terms. ``err`` is reported as ``stats["rounding_error_bound"]``.
- **bound**: CP-SAT's best objective bound ``B`` (units) gives the valid bound
  ``B / scale - err + constant`` joules; a CP-SAT optimum is within ``2 err``
  of the true optimum (``stats["optimality_tolerance"]``).

Model parts (:func:`build`): ``x[i,c]`` booleans with one core per neuron;
``u[c]`` core powered; ``z[i,c]`` axon of ``i`` at ``c`` (exact:
``z = OR_j x[j,c]``); per sender one integer ``t_i`` equal, when ``i`` sits
on ``k``, to its scaled communication energy from ``k``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from snnmap.formulations.exact_common import (
    ExactData,
    ProgressFn,
    check_size,
    constant_infeasibility,
    energy_agrees,
    infeasible_result,
    prepare,
    resolve_start,
    valid_lower_bound,
)
from snnmap.formulations.result import Result, Status, result_from_mapping
from snnmap.formulations.solver_options import translate
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork

__all__ = ["CpSatModel", "build", "solve", "solve_model"]

DEFAULT_RESOLUTION = 1_000_000
DEFAULT_WORKERS = 2


@dataclasses.dataclass(eq=False)
class CpSatModel:
    """A built CP-SAT model with its variables and scaling."""

    model: cp_model.CpModel
    x: list[list[Any]]
    u: list[Any]
    z: dict[tuple[int, int], Any]
    t: dict[int, Any]
    scale: float
    error_bound: float
    data: ExactData


def build(network: SpikingNetwork, hardware: Hardware, comm: str | None = None, *, symmetry: bool = True,
          resolution: int = DEFAULT_RESOLUTION, data: ExactData | None = None) -> CpSatModel:
    """Build the CP-SAT model (see the module docstring for scaling and parts)."""
    d = data or prepare(network, hardware, comm, symmetry=symmetry)
    lim = d.limits
    n, k = d.n, d.k
    model = cp_model.CpModel()
    senders = d.senders.tolist()
    s = d.spikes
    big = float(s[d.senders].max(initial=0.0)) * float(d.cost.max(initial=0.0)) if senders else 0.0
    if big <= 0:
        big = d.static_per_core
    scale = resolution / big if big > 0 else 1.0
    # q[i, k, c]: scaled energy of one of i's packets k -> c, per spike count of i.
    q = np.rint(s[:, None, None] * d.cost[None, :, :] * scale).astype(np.int64)
    static_q = int(round(d.static_per_core * scale))

    # Variables: x[i][c] neuron i on core c; u[c] core c powered.
    x = [[model.NewBoolVar(f"x[{i},{c}]") for c in range(k)] for i in range(n)]
    u = [model.NewBoolVar(f"u[{c}]") for c in range(k)]

    # Every neuron sits on exactly one core, among its allowed ones (pins, symmetry breaking).
    for i in range(n):
        model.AddExactlyOne(x[i])
        if d.allowed[i] is not None:
            keep = set(d.allowed[i].tolist())
            for c in range(k):
                if c not in keep:
                    model.Add(x[i][c] == 0)

    # A core is powered exactly when some neuron sits on it.
    for c in range(k):
        col = [x[i][c] for i in range(n)]
        for v in col:
            model.AddImplication(v, u[c])
        model.AddBoolOr(col).OnlyEnforceIf(u[c])

    # At most n_max neurons and syn_max synapses per core.
    for c in range(k):
        model.Add(sum(x[i][c] for i in range(n)) <= lim.n_max)
        if lim.syn_max is not None:
            model.Add(sum(int(d.in_degree[j]) * x[j][c] for j in range(n) if d.in_degree[j]) <= lim.syn_max)

    # Axons: z[i,c] is true exactly when a target of i sits on c.
    z: dict[tuple[int, int], Any] = {}
    if d.needs_axons:
        for i in senders:
            for c in range(k):
                zc = model.NewBoolVar(f"z[{i},{c}]")
                tg = [x[int(j)][c] for j in d.targets[i]]
                for v in tg:
                    model.AddImplication(v, zc)
                model.AddBoolOr(tg).OnlyEnforceIf(zc)
                z[i, c] = zc
        # At most a_max input axons per core, dest_max destination cores per neuron.
        if lim.a_max is not None:
            for c in range(k):
                model.Add(sum(z[i, c] for i in senders) <= lim.a_max)
        if lim.dest_max is not None:
            for i in senders:
                model.Add(sum(z[i, c] for c in range(k)) <= lim.dest_max)

    # Communication: t_i is i's scaled packet energy from the core it sits on.
    t: dict[int, Any] = {}
    for i in senders:
        cores = range(k) if d.allowed[i] is None else d.allowed[i].tolist()
        if d.comm == "multicast":
            top = int(max(np.sort(q[i, kk])[::-1][: min(k, int(d.out_degree[i]))].sum() for kk in cores))
        else:
            top = int(max(q[i, kk].max() * int(d.out_degree[i]) for kk in cores))
        t[i] = model.NewIntVar(0, max(top, 0), f"t[{i}]")
        for kk in cores:
            if d.comm == "multicast":
                expr = sum(int(q[i, kk, c]) * z[i, c] for c in range(k) if q[i, kk, c])
            else:
                expr = sum(int(q[i, kk, c]) * x[int(j)][c] for j in d.targets[i] for c in range(k) if q[i, kk, c])
            model.Add(t[i] == expr).OnlyEnforceIf(x[i][kk])

    # Objective: communication plus static energy of powered cores.
    model.Minimize(sum(t.values()) + static_q * sum(u))

    if d.comm == "multicast":
        terms = float(np.minimum(d.out_degree, k).sum())
    else:
        terms = float(d.pre.size)
    error_bound = 0.5 / scale * (terms + (k if static_q else 0))
    return CpSatModel(model, x, u, z, t, scale, error_bound, d)


def _hint(cm: CpSatModel, core_of: np.ndarray) -> None:
    """Hint every variable with its value at the mapping ``core_of``."""
    d = cm.data
    for i in range(d.n):
        for c in range(d.k):
            cm.model.AddHint(cm.x[i][c], int(core_of[i] == c))
    used = np.bincount(core_of, minlength=d.k) > 0
    for c in range(d.k):
        cm.model.AddHint(cm.u[c], int(used[c]))
    for (i, c), v in cm.z.items():
        cm.model.AddHint(v, int(np.any(core_of[d.targets[i]] == c)))


class _Progress(cp_model.CpSolverSolutionCallback):
    """Reports (elapsed seconds, incumbent joules, bound joules) on every new solution."""

    def __init__(self, fn: ProgressFn, scale: float, offset: float, err: float):
        super().__init__()
        self._fn, self._scale, self._offset, self._err = fn, scale, offset, err

    def on_solution_callback(self) -> None:
        inc = self.ObjectiveValue() / self._scale + self._offset
        bound = self.BestObjectiveBound() / self._scale - self._err + self._offset
        self._fn(self.WallTime(), inc, bound)


def solve_model(cm: CpSatModel, *, method: str = "cpsat", time_limit: float | None = None,
                mip_gap: float | None = None, threads: int | None = None, seed: int = 0,
                start: np.ndarray | None = None, log_path: str | None = None, progress: ProgressFn | None = None,
                build_time: float = 0.0, size: dict[str, int] | None = None, t_start: float | None = None,
                note: str = "", solver_options: dict[str, Any] | None = None) -> Result:
    """Solve a built CP-SAT model and score its mapping with the evaluator."""
    t_start = time.perf_counter() if t_start is None else t_start
    d = cm.data
    network, hardware, comm = d.network, d.hardware, d.comm
    if start is not None:
        _hint(cm, start)
    solver = cp_model.CpSolver()
    params = translate("cpsat", time_limit=time_limit, mip_gap=mip_gap,
                       threads=DEFAULT_WORKERS if threads is None else threads, seed=seed)
    params.update(solver_options or {})
    for key, value in params.items():
        setattr(solver.parameters, key, value)
    log_file = None
    if log_path:
        log_file = open(log_path, "w")
        solver.parameters.log_search_progress = True
        solver.parameters.log_to_stdout = False
        solver.log_callback = lambda line: log_file.write(line + "\n")
    callback = _Progress(progress, cm.scale, d.constant, cm.error_bound) if progress else None
    try:
        code = solver.Solve(cm.model, callback)
    finally:
        if log_file is not None:
            log_file.close()
    name = solver.StatusName(code)
    stats: dict[str, Any] = {
        "solver": "cp-sat", "termination": name, "build_time": build_time, "solve_time": solver.WallTime(),
        "symmetry": d.symmetry, "scale": cm.scale, "rounding_error_bound": cm.error_bound,
        "optimality_tolerance": 2 * cm.error_bound, "branches": solver.NumBranches(), **(size or {}),
    }
    runtime = lambda: time.perf_counter() - t_start  # noqa: E731
    if code == cp_model.INFEASIBLE:
        return infeasible_result(network, hardware, method, "; ".join(
            [n for n in (note,) if n] + ["CP-SAT proved that no mapping meets the limits"]), runtime(), seed, comm,
            stats, log_path)
    bound_units = solver.BestObjectiveBound()
    solver_bound = bound_units / cm.scale - cm.error_bound + d.constant if math.isfinite(bound_units) else None
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        status = Status.TIME_LIMIT if code == cp_model.UNKNOWN else Status.ERROR
        core_of = start
        msg = "no mapping found" + (": returning the start" if start is not None else "")
        lb = valid_lower_bound(network, hardware, comm, solver_bound)
        return result_from_mapping(network, hardware, core_of, method=method, status=status, runtime=runtime(),
                                   seed=seed, lower_bound=lb, comm=comm, log_path=log_path, stats=stats,
                                   message="; ".join([n for n in (note, msg) if n]))
    core_of = np.array([next(c for c in range(d.k) if solver.BooleanValue(cm.x[i][c])) for i in range(d.n)],
                       dtype=np.int64)
    from snnmap.formulations.energy import evaluate

    energy = evaluate(network, hardware, core_of, comm, link_loads=False).total
    solver_energy = solver.ObjectiveValue() / cm.scale + d.constant
    stats["solver_objective"] = solver_energy
    notes = [n for n in (note,) if n]
    agrees = energy_agrees(solver_energy, energy, rtol=1e-9, atol=cm.error_bound * (1 + 1e-9))
    if code == cp_model.OPTIMAL and agrees:
        status = Status.OPTIMAL
        solver_bound = min(solver_bound, energy) if solver_bound is not None else None
    elif code == cp_model.OPTIMAL:
        status = Status.FEASIBLE
        notes.append(f"CP-SAT objective {solver_energy:.9g} J differs from the evaluator's {energy:.9g} J "
                     f"by more than the rounding bound {cm.error_bound:.3g} J: not reported as optimal")
    else:
        status = Status.TIME_LIMIT
    lb = valid_lower_bound(network, hardware, comm, solver_bound)
    stats["gap"] = (energy - lb) / energy if energy > 0 else 0.0
    return result_from_mapping(network, hardware, core_of, method=method, status=status, runtime=runtime(),
                               seed=seed, lower_bound=lb, comm=comm, log_path=log_path, stats=stats,
                               message="; ".join(notes))


def solve(
    network: SpikingNetwork,
    hardware: Hardware,
    *,
    time_limit: float | None = None,
    seed: int = 0,
    comm: str | None = None,
    start: Any = None,
    solver: str = "cpsat",
    threads: int | None = None,
    mip_gap: float | None = None,
    log_path: str | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
    symmetry: bool = True,
    resolution: int = DEFAULT_RESOLUTION,
    max_nonzeros: int | None = None,
    solver_options: dict[str, Any] | None = None,
    **options: Any,
) -> Result:
    """Map by the neuron-level CP-SAT model.

    Parameters
    ----------
    network, hardware, comm
        The instance and communication model.
    time_limit, seed, threads, mip_gap
        Generic options (``threads`` -> ``num_workers``, default 2).
    start
        A mapping array or a heuristic name, given to CP-SAT as hints.
    solver
        Only ``"cpsat"`` (accepted for a uniform signature).
    log_path
        Write CP-SAT's search log there.
    force, max_nonzeros
        Size ceiling (see :class:`formulations.exact_common.ModelTooLargeError`).
    progress
        Called as ``progress(elapsed, incumbent_joules, bound_joules)`` on every new solution.
    resolution
        Integer units given to the largest packet-energy coefficient.
    solver_options
        CP-SAT parameters by name, passed verbatim.
    """
    if options:
        raise TypeError(f"unknown option(s) for CP-SAT: {', '.join(sorted(options))}")
    if solver not in ("cpsat", "cp-sat", "ortools"):
        raise ValueError(f"solver={solver!r}: the CP-SAT method only runs CP-SAT")
    method = "cpsat"
    t0 = time.perf_counter()
    problem = constant_infeasibility(network, hardware)
    if problem:
        return infeasible_result(network, hardware, method, problem, time.perf_counter() - t0, seed, comm)
    d = prepare(network, hardware, comm, symmetry=symmetry)
    size = check_size(d, "cpsat", method, force, max_nonzeros)
    start_map, note = resolve_start(start, network, hardware, seed, comm)
    if start_map is not None:
        from snnmap.formulations.milp import _canonical

        start_map = _canonical(start_map, d)
    t_build = time.perf_counter()
    cm = build(network, hardware, comm, data=d, resolution=resolution)
    build_time = time.perf_counter() - t_build
    remaining = None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - t0))
    return solve_model(cm, method=method, time_limit=remaining, mip_gap=mip_gap, threads=threads, seed=seed,
                       start=start_map, log_path=log_path, progress=progress, build_time=build_time, size=size,
                       t_start=t0, note=note, solver_options=solver_options)
