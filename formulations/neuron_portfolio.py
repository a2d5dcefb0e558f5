"""Portfolio of two exact methods on the two cores: the partition Benders decomposition and the component MILP.

The methods prove different instances fast: the partition Benders
decomposition (:mod:`formulations.partition_benders`; with pins
the partition branch and bound) the structured applications and the layered
networks whose partition bound is tight, the compact MILP with the component cuts
(:mod:`formulations.component_milp`; on unicast the compact MILP with the split rows) the
random layered networks where the number of destination cores per sender
dominates. Both start from the same incumbent and run in their own process
(one thread each); the first proof ends the run and stops the other
process. On the time limit the best mapping of the two is returned with the
larger of their bounds (each is a valid bound on every mapping).
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
from typing import Any

import numpy as np

from snnmap.formulations import component_milp, neuron_bnb, partition_benders
from snnmap.formulations.bounds import precheck
from snnmap.formulations.exact_common import ProgressFn, check_start, valid_lower_bound
from snnmap.formulations.milp import solve_compact
from snnmap.formulations.result import Result, Status, infeasible_result, result_from_mapping
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork

__all__ = ["solve"]

METHOD = "neuron-portfolio"
MEMBERS = ("partition-benders", "component-milp")
MEMBER_SOLVE = {"partition-bnb": neuron_bnb.solve_partition, "neuron-bnb": neuron_bnb.solve, "milp": solve_compact,
                "component-milp": component_milp.solve, "partition-benders": partition_benders.solve}
_GRACE = 30.0  # seconds a member may overrun its limit (model build, result scoring) before it is stopped


def _run(name: str, network: SpikingNetwork, hardware: Hardware, options: dict[str, Any], out: Any) -> None:
    """Child process: run one member and send ``(name, result or error text)``."""
    try:
        member = MEMBER_SOLVE[name]
        if name in ("milp", "component-milp"):
            options = {**options, "threads": 1, "force": True}
        out.put((name, member(network, hardware, **options)))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
        out.put((name, f"{type(exc).__name__}: {exc}"))


def solve(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
          comm: str | None = None, start: Any = None, progress: ProgressFn | None = None,
          members: tuple[str, ...] = MEMBERS, threads: int | None = None, force: bool = False) -> Result:
    """Run ``members`` in parallel processes; the first proof wins (see the module docstring).

    ``start`` (a mapping) is checked once and given to every member; ``progress``
    is called once per finished member. Each member runs on one thread (``threads``
    is taken for the common interface); the MILP member always builds (``force``).
    """
    neuron_bnb.refuse_budget(hardware, METHOD)  # its branch-and-bound member prices energy only
    t0 = time.perf_counter()
    comm = hardware.comm if comm is None else comm
    problem = precheck(network, hardware)
    if problem:
        return infeasible_result(network, hardware, problem, method=METHOD, runtime=time.perf_counter() - t0,
                                 seed=seed, comm=comm)
    start, note = check_start(start, network, hardware, comm)
    left = None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - t0))
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    opts = {"time_limit": left, "seed": seed, "comm": comm, "start": start}
    procs = {name: ctx.Process(target=_run, args=(name, network, hardware, opts, out), daemon=True)
             for name in members}
    for p in procs.values():
        p.start()
    results: dict[str, Result] = {}
    errors: list[str] = []
    deadline = None if left is None else time.perf_counter() + left + _GRACE
    try:
        while len(results) + len(errors) < len(procs):
            wait = None if deadline is None else max(0.1, deadline - time.perf_counter())
            try:
                name, res = out.get(timeout=wait)
            except queue.Empty:
                errors.append("a member overran the time limit and was stopped")
                break
            if isinstance(res, str):
                errors.append(f"{name}: {res}")
                continue
            results[name] = res
            if progress is not None and res.report is not None:
                progress(time.perf_counter() - t0, res.energy, res.lower_bound or 0.0)
            if res.status in (Status.OPTIMAL, Status.INFEASIBLE):
                break
    finally:
        for p in procs.values():
            if p.is_alive():
                p.terminate()
            p.join(timeout=5)
    runtime = time.perf_counter() - t0
    if not results:
        return result_from_mapping(network, hardware, None, method=METHOD, status=Status.ERROR, runtime=runtime,
                                   seed=seed, comm=comm, message=f"no member finished ({'; '.join(errors)})")
    stats: dict[str, Any] = {f"{n}_status": str(r.status) for n, r in results.items()}
    stats.update({f"{n}_runtime": r.runtime for n, r in results.items()})
    proof = next((r for r in results.values() if r.status in (Status.OPTIMAL, Status.INFEASIBLE)), None)
    if proof is not None:
        stats["winner"] = proof.method
        if proof.status == Status.INFEASIBLE:
            return infeasible_result(network, hardware, f"{proof.method}: {proof.message}", method=METHOD,
                                     runtime=runtime, seed=seed, comm=comm, stats=stats)
        return result_from_mapping(network, hardware, proof.mapping, method=METHOD, status=Status.OPTIMAL,
                                   runtime=runtime, seed=seed, lower_bound=proof.lower_bound, comm=comm,
                                   stats=stats, message=f"proven by {proof.method}")
    found = [r for r in results.values() if r.mapping is not None and r.report.feasible]
    best = min(found, key=lambda r: r.energy) if found else None
    bound = max((r.lower_bound for r in results.values() if r.lower_bound is not None), default=None)
    lb = valid_lower_bound(network, hardware, comm, bound)
    core_of = None if best is None else np.asarray(best.mapping)
    return result_from_mapping(network, hardware, core_of, method=METHOD, status=Status.TIME_LIMIT, runtime=runtime,
                               seed=seed, lower_bound=lb, comm=comm, stats=stats,
                               message="; ".join(m for m in (note, *errors) if m))
