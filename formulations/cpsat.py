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
    SolverOutcome,
    StartUp,
    finish,
    interrupted_result,
    prepare,
    run_interruptible,
    start_up,
)
from snnmap.formulations.latency import symmetry_keeps_step_time
from snnmap.formulations.result import Result, Status, asks_for_proof, proof_status
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
    objective: Any
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
    if d.needs_axons or lim.max_step_time is not None:
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

    if lim.max_step_time is not None:
        _add_step_budget(model, x, u, z, d, network, hardware)

    # Objective: communication plus static energy of powered cores.
    objective = sum(t.values()) + static_q * sum(u)
    model.Minimize(objective)

    if d.comm == "multicast":
        terms = float(np.minimum(d.out_degree, k).sum())
    else:
        terms = float(d.pre.size)
    error_bound = 0.5 / scale * (terms + (k if static_q else 0))
    return CpSatModel(model, x, u, z, t, objective, scale, error_bound, d)


STEP_UNIT = 1e-13  # seconds per integer unit of the step-time constraints


def _add_step_budget(model: cp_model.CpModel, x: list[list[Any]], u: list[Any], z: dict[tuple[int, int], Any],
                     d: ExactData, network: SpikingNetwork, hardware: Hardware) -> None:
    """``hardware.limits.max_step_time`` as constraints on the linear part of the evaluator's step time.

    For every core ``c``: ``send_c + sync <= B`` and ``receive_c + sync <= B``
    (formulations/latency.py), with ``send_c = sum_i x[i,c] (t_access + r_i t_spike) + r_i t_msg_out
    |D(i)|`` (the product linearised by one integer per neuron and core, equal to
    ``r_i t_msg_out sum_d z[i,d]`` when ``x[i,c]``), ``receive_c = sum_i r_i (t_msg_in
    z[i,c] + t_syn * targets of i on c)`` and ``sync`` the table's step for the tiles
    in use. Times are in units of :data:`STEP_UNIT`, coefficients rounded up and the
    budget down. The message schedule's wait (late input, hops) is not linear: the
    evaluator checks it, and an answer it puts over the budget comes back
    ``infeasible`` naming ``max_step_time`` (never passed off as a solution).
    """
    lat = hardware.latency
    n, k = d.n, d.k
    cpt = hardware.cores_per_tile
    unit = STEP_UNIT
    rate = d.spikes / float(network.steps)
    unicast = d.comm == "unicast"

    def up(value: float) -> int:
        return int(math.ceil(value / unit - 1e-9))

    budget = int(math.floor(hardware.limits.max_step_time / unit + 1e-9))
    spiking = [i for i in d.senders.tolist() if rate[i] > 0]
    sending = set(spiking)
    # Sync: b[j] is forced true once the tiles in use reach sync_tiles[j].
    tiles = -(-k // cpt)
    v = [model.NewBoolVar(f"tile[{t}]") for t in range(tiles)]
    for c in range(k):
        model.AddImplication(u[c], v[c // cpt])
    used = sum(v)
    sync = up(lat.t_sync[0])
    for j in range(1, len(lat.sync_tiles)):
        b = model.NewBoolVar(f"sync[{j}]")
        model.Add(used <= int(lat.sync_tiles[j]) - 1).OnlyEnforceIf(b.Not())
        sync = sync + up(lat.t_sync[j] - lat.t_sync[j - 1]) * b
    for c in range(k):
        send = []
        for i in range(n):
            fixed = up(lat.t_access + rate[i] * (lat.t_spike + (d.out_degree[i] * lat.t_msg_out if unicast else 0)))
            send.append(fixed * x[i][c])
            if not unicast and i in sending:
                per = up(rate[i] * lat.t_msg_out)
                mc = model.NewIntVar(0, per * k, f"msg_out[{i},{c}]")
                model.Add(mc == per * sum(z[i, dd] for dd in range(k))).OnlyEnforceIf(x[i][c])
                model.Add(mc == 0).OnlyEnforceIf(x[i][c].Not())
                send.append(mc)
        receive = []
        for i in spiking:
            per_syn = up(rate[i] * (lat.t_syn + (lat.t_msg_in if unicast else 0)))
            receive.extend(per_syn * x[int(j)][c] for j in d.targets[i])
            if not unicast:
                receive.append(up(rate[i] * lat.t_msg_in) * z[i, c])
        model.Add(sum(send) + sync <= budget)
        model.Add(sum(receive) + sync <= budget)


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


def _mapping(solver: cp_model.CpSolver, cm: CpSatModel) -> np.ndarray:
    d = cm.data
    return np.array([next(c for c in range(d.k) if solver.BooleanValue(cm.x[i][c])) for i in range(d.n)],
                    dtype=np.int64)


def _settle(cm: CpSatModel, units: float, seed: int, time_limit: float | None) -> np.ndarray | None:
    """One optimal mapping chosen deterministically, given the proven optimum ``units``.

    Parallel CP-SAT workers race, so which of several equally good mappings
    a proof ends with varies between runs. One worker, the same seed and no
    objective (find any mapping of at most ``units``) gives the same mapping
    every time; ``None`` if it finds none in ``time_limit`` or is interrupted.
    """
    model = cm.model.clone()  # same variable indices: cm.x reads the clone's solution
    model.ClearHints()
    model.Add(cm.objective <= int(round(units)))
    model.ClearObjective()
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.catch_sigint_signal = False
    if time_limit is not None:
        solver.parameters.max_time_in_seconds = max(time_limit, 0.01)
    code, interrupted = run_interruptible(lambda: solver.Solve(model), solver.StopSearch)
    if interrupted or code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return _mapping(solver, cm)


def solve_model(cm: CpSatModel, run: StartUp, *, method: str = "cpsat", time_limit: float | None = None,
                mip_gap: float | None = None, threads: int | None = None, seed: int = 0,
                log_path: str | None = None, progress: ProgressFn | None = None, build_time: float = 0.0,
                solver_options: dict[str, Any] | None = None) -> Result:
    """Solve a built CP-SAT model and score its mapping with the evaluator (:func:`exact_common.finish`).

    Ctrl-C stops the search within a fraction of a second and returns the
    incumbent with status ``interrupted``. A proof with several parallel
    workers ends with a deterministic pick among the optimal mappings
    (:func:`_settle`), so the same seed gives the same mapping.
    """
    d = cm.data
    if run.start is not None:
        _hint(cm, run.start)
    solver = cp_model.CpSolver()
    workers = DEFAULT_WORKERS if threads is None else threads
    params = translate("cpsat", time_limit=time_limit, mip_gap=mip_gap, threads=workers, seed=seed)
    params.update(solver_options or {})
    for key, value in params.items():
        setattr(solver.parameters, key, value)
    # Ctrl-C is handled by run_interruptible (CP-SAT's own handler would hide it from us).
    solver.parameters.catch_sigint_signal = False
    log_file = None
    if log_path:
        log_file = open(log_path, "w")
        solver.parameters.log_search_progress = True
        solver.parameters.log_to_stdout = False
        solver.log_callback = lambda line: log_file.write(line + "\n")
    callback = _Progress(progress, cm.scale, d.constant, cm.error_bound) if progress else None
    try:
        code, interrupted = run_interruptible(lambda: solver.Solve(cm.model, callback), solver.StopSearch)
    finally:
        if log_file is not None:
            log_file.close()
    name = solver.StatusName(code)
    stats: dict[str, Any] = {
        "solver": "cp-sat", "build_time": build_time, "solve_time": solver.WallTime(),
        "symmetry": d.symmetry, "scale": cm.scale, "rounding_error_bound": cm.error_bound,
        "optimality_tolerance": 2 * cm.error_bound, "branches": solver.NumBranches(), **run.size,
    }
    bound_units = solver.BestObjectiveBound()
    solver_bound = bound_units / cm.scale - cm.error_bound + d.constant if math.isfinite(bound_units) else None
    core_of = objective = None
    if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        core_of = _mapping(solver, cm)
        objective = solver.ObjectiveValue() / cm.scale + d.constant
    if code == cp_model.OPTIMAL:
        status = proof_status(asks_for_proof(mip_gap), solver.ObjectiveValue(), bound_units)
    elif code == cp_model.INFEASIBLE:
        status = Status.INFEASIBLE
    elif interrupted:
        status = Status.INTERRUPTED
    elif code in (cp_model.FEASIBLE, cp_model.UNKNOWN):
        status = Status.TIME_LIMIT
    else:
        status = Status.ERROR
    if status == Status.OPTIMAL and solver.parameters.num_workers != 1:
        settled = _settle(cm, solver.ObjectiveValue(), seed, run.remaining(time_limit))
        if settled is not None:
            core_of = settled
    out = SolverOutcome(status=status, termination=name, mapping=core_of, objective=objective, bound=solver_bound,
                        rtol=1e-9, atol=cm.error_bound * (1 + 1e-9))
    return finish(run, out, method=method, seed=seed, stats=stats, notes=[], log_path=log_path)


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
        Generic options (``threads`` -> ``num_workers``, default 2). A run that
        stops at a ``mip_gap`` above 1e-9 is ``gap_limit``, not ``optimal``.
    start
        A start mapping (array of cores, or a :class:`~formulations.energy.Mapping`),
        given to CP-SAT as hints. Heuristic names are resolved by the front door
        (``snnmap.solve(..., start="greedy")``).
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
    symmetry = symmetry and symmetry_keeps_step_time(hardware)
    run = start_up(network, hardware, method=method, form="cpsat", comm=comm, seed=seed, start=start,
                   symmetry=symmetry, force=force, max_nonzeros=max_nonzeros)
    if isinstance(run, Result):
        return run
    t_build = time.perf_counter()
    try:
        cm = build(network, hardware, comm, data=run.data, resolution=resolution)
    except KeyboardInterrupt:
        return interrupted_result(run, method=method, seed=seed)
    build_time = time.perf_counter() - t_build
    return solve_model(cm, run, method=method, time_limit=run.remaining(time_limit), mip_gap=mip_gap,
                       threads=threads, seed=seed, log_path=log_path, progress=progress, build_time=build_time,
                       solver_options=solver_options)
