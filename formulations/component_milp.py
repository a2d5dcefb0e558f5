r"""The compact MILP with the component bound as cuts (method ``component-milp``).

The component bound (:mod:`formulations.target_components`) is exact about
how many destination cores the senders of each target-hypergraph component
need, and blind to hops; the compact MILP's LP prices hops and static energy
but spreads the targets thinly over the cores. This method gives the MILP the
component bound as two linear cuts per component ``c`` (multicast):

    sum_{i in c} s_i sum_{k, d} w[i,k,d] >= opt_c                                     (destination cores)
    sum_{i in c} s_i (c1 sum_{k, d} w[i,k,d] - (c1 - c0) sum_k w[i,k,k]) >= B_c             (their energy)

with ``w[i,k,d]`` the compact MILP's packet of ``i`` from core ``k`` to ``d``
(``sum_{k,d} w[i,k,d] = |D(i)|`` and ``sum_k w[i,k,k]`` is 1 when ``i`` shares a
core with one of its targets), ``opt_c`` the plain problem's bound on ``M_c``
and ``B_c`` the component's bound on its senders' communication energy. Both
hold at every mapping (that is the component bound's proof), so the MILP keeps
every mapping and its optimum; its LP bound is then at least the component
bound less the static energy's rounding. The result's bound is the larger of
the MILP's and the component bound; a start is the MIP start and seeds the
component searches. Unicast has no component structure: the method is then the
compact MILP (said in the message).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
import pyomo.environ as pyo

from snnmap.formulations.exact_common import ProgressFn, start_up
from snnmap.formulations.milp import build_compact, solve_compact, solve_model
from snnmap.formulations.result import PROOF_GAP, Result, Status
from snnmap.formulations.target_components import component_bound
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork

__all__ = ["solve"]

METHOD = "component-milp"
BOUND_SHARE = 0.25  # of the time limit, for the component bound
BOUND_CAP = 60.0  # seconds for the component bound without a time limit


def _add_component_cuts(m: pyo.ConcreteModel, hardware: Hardware, network: SpikingNetwork, cb: Any) -> int:
    """Add the two cuts of every component (in units of one spike's packet); the number of cuts added."""
    cost = np.asarray(hardware.cost_matrix, float)
    k = cost.shape[0]
    c0 = float(cost.min())
    c1 = float(cost[~np.eye(k, dtype=bool)].min()) if k > 1 else c0
    s = np.asarray(network.spikes, float)
    rows: list[tuple[list[int], float, float]] = []
    for senders, opt, (_, _, comm_c, _) in zip(cb.senders, cb.messages, cb.components):
        live = [int(i) for i in senders if s[i] > 0]
        if live:
            rows.append((live, float(opt), float(comm_c)))
    m.COMP = pyo.RangeSet(0, len(rows) - 1) if rows else pyo.Set(initialize=[])

    def dests(i: int) -> Any:
        return sum(m.w[i, kk, d] for kk in range(k) for d in range(k))

    def local(i: int) -> Any:
        return sum(m.w[i, kk, kk] for kk in range(k))

    m.comp_dests = pyo.Constraint(m.COMP, rule=lambda m, q: sum(s[i] * dests(i) for i in rows[q][0]) >= rows[q][1])
    m.comp_energy = pyo.Constraint(m.COMP, rule=lambda m, q: sum(
        s[i] * (dests(i) - (c1 - c0) / c1 * local(i)) for i in rows[q][0]) >= rows[q][2] / c1)
    return 2 * len(rows)


def solve(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
          comm: str | None = None, start: Any = None, threads: int | None = None, force: bool = False,
          progress: ProgressFn | None = None, symmetry: bool = True, mip_gap: float | None = None,
          log_path: str | None = None, max_nonzeros: int | None = None, solver: str = "highs",
          solver_options: dict[str, Any] | None = None) -> Result:
    """Map by the compact MILP with the component cuts (see the module docstring).

    The options are the MILP's (:func:`formulations.milp.solve`); a quarter of
    ``time_limit`` (at most all of it) goes to the component bound first.
    """
    comm = hardware.comm if comm is None else comm
    opts = dict(time_limit=time_limit, seed=seed, comm=comm, start=start, threads=threads, force=force,
                progress=progress, symmetry=symmetry, mip_gap=mip_gap, log_path=log_path, max_nonzeros=max_nonzeros,
                solver=solver, solver_options=solver_options)
    if comm != "multicast":
        res = solve_compact(network, hardware, **opts)
        return dataclasses.replace(res, method=METHOD, message="; ".join(
            m for m in (res.message, "unicast: no component cuts, the compact MILP alone") if m))
    run = start_up(network, hardware, method=METHOD, form="compact", comm=comm, seed=seed, start=start,
                   symmetry=symmetry, force=force, max_nonzeros=max_nonzeros)
    if isinstance(run, Result):
        return run
    budget = BOUND_CAP if time_limit is None else BOUND_SHARE * time_limit
    cb = component_bound(network, hardware, time_limit=budget, start=run.start)
    t_build = time.perf_counter()
    m = build_compact(network, hardware, comm, data=run.data)
    cuts = _add_component_cuts(m, hardware, network, cb)
    res = solve_model(m, run, method=METHOD, solver=solver, time_limit=run.remaining(time_limit), mip_gap=mip_gap,
                      threads=threads, seed=seed, log_path=log_path, build_time=time.perf_counter() - t_build,
                      progress=progress, solver_options=solver_options)
    stats = {**res.stats, "component_bound": cb.bound, "component_s": cb.runtime, "component_cuts": cuts}
    if res.mapping is None or res.lower_bound is None or cb.bound <= res.lower_bound:
        return dataclasses.replace(res, stats=stats)
    # Within float rounding of the incumbent the bound proves it; further above it is invalid and the Result refuses it.
    lb = res.energy if res.energy < cb.bound <= res.energy * (1 + PROOF_GAP) else cb.bound
    status = res.status
    if status != Status.OPTIMAL and lb >= res.energy * (1 - PROOF_GAP):
        status = Status.OPTIMAL  # the incumbent meets the component bound
    return dataclasses.replace(res, lower_bound=lb, status=status, stats=stats)
