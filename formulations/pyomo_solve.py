"""Running a Pyomo model: HiGHS directly through highspy, or any other solver Pyomo knows.

Both MILPs (the neuron-level one in :mod:`formulations.milp` and the QAP's in
:mod:`formulations.qap.models`) solve through here, so they share the option
table (:mod:`formulations.solver_options`), the missing-solver error and the
Ctrl-C behaviour (HiGHS stops within a fraction of a second and keeps its
incumbent).
"""

from __future__ import annotations

import gc
import math
import time
from typing import Any, Callable

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs as PyomoHighs
from pyomo.opt import TerminationCondition as TC

from snnmap.formulations.exact_common import run_interruptible
from snnmap.formulations.result import Status
from snnmap.formulations.solver_options import pyomo_solver

__all__ = ["solve_highs", "solve_pyomo"]


def solve_highs(m: pyo.ConcreteModel, opts: dict[str, Any], start: bool, relax: bool = False,
                on_solution: Any = None, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Solve with HiGHS: Pyomo's persistent interface builds the highspy model, which we run directly.

    Running the ``highspy.Highs`` object ourselves lets us pass a MIP start
    (Pyomo has no warm start for HiGHS) and read the dual bound and status.
    It runs through :func:`run_interruptible`: Ctrl-C cancels it through
    HiGHS's interrupt callbacks, and every improving solution is kept as it
    arrives, so an interrupted run still has its incumbent.

    Parameters
    ----------
    m
        The model; with ``start``, its variables' values are the MIP start.
    opts
        HiGHS options (from :func:`~formulations.solver_options.translate`).
    relax
        Solve the LP relaxation (``bound`` is then its optimum).
    on_solution
        Called as ``on_solution(elapsed, objective, dual_bound)`` (model units) on every improving solution.
    log
        Receives HiGHS's log lines.

    Returns
    -------
    dict
        ``termination`` (HiGHS's word), ``status`` (:class:`Status` of the stop:
        ``optimal`` means HiGHS met its gap), ``has_solution`` (then loaded into
        ``m``), ``objective`` and ``bound`` (model units), ``solve_time``, ``nodes``.
    """
    opt = PyomoHighs()
    # set_instance runs inside Pyomo's non-reentrant capture_output lock; a garbage collection there can
    # finalise an earlier solve's capture objects, whose cleanup waits on the same lock ("Deadlock starting
    # capture_output" after 200 s, seen under load). Collect first and keep the collector off inside.
    gc.collect()
    gc.disable()
    try:
        opt.set_instance(m)
    finally:
        gc.enable()
    h = opt._solver_model  # noqa: SLF001 -- Pyomo exposes the highspy model it built only here
    solver_col = opt._pyomo_var_to_solver_var_map  # noqa: SLF001
    var_of = [(v, solver_col.get(id(v))) for v in m.component_data_objects(pyo.Var)]
    var_of = [(v, j) for v, j in var_of if j is not None]
    n_col = h.getNumCol()
    if relax:
        h.changeColsIntegrality(n_col, np.arange(n_col, dtype=np.int32), np.zeros(n_col, dtype=np.uint8))
    h.setOptionValue("output_flag", "log_file" in opts or log is not None)
    h.setOptionValue("log_to_console", False)
    if log is not None:
        h.cbLogging.subscribe(lambda event: log(event.message.rstrip("\n")))
    if "threads" in opts:
        # HiGHS keeps one global thread pool; a different thread count needs a fresh one.
        h.resetGlobalScheduler(True)
    for key, value in opts.items():
        h.setOptionValue(key, value)
    if start:
        col = np.zeros(n_col)
        for v, j in var_of:
            if v.value is not None:
                col[j] = v.value
        sol = highspy.HighsSolution()
        sol.col_value = col.tolist()
        sol.value_valid = True
        h.setSolution(sol)
    incumbent: dict[str, Any] = {}

    def improving(event: Any) -> None:
        # Every improving MIP solution: kept (an interrupted run returns it), and reported in model units.
        out = event.data_out
        incumbent["values"] = np.array(out.mip_solution, dtype=np.float64)
        incumbent["objective"] = out.objective_function_value
        if on_solution is not None:
            on_solution(out.running_time, out.objective_function_value, out.mip_dual_bound)

    h.cbMipImprovingSolution.subscribe(improving)
    h.HandleUserInterrupt = True  # cancelSolve() then stops HiGHS at its next interrupt check

    def run() -> Any:
        try:
            return h.run()
        finally:
            highspy.Highs.resetThreadScheduler(False)  # as highspy's own threaded solve does

    t0 = time.perf_counter()
    _, interrupted = run_interruptible(run, h.cancelSolve)
    t = time.perf_counter() - t0
    status = h.getModelStatus()
    info = h.getInfo()
    values, objective = None, None
    if info.primal_solution_status >= 2:  # 2 = feasible
        values, objective = np.asarray(h.getSolution().col_value), info.objective_function_value
    elif "values" in incumbent:
        values, objective = incumbent["values"], incumbent["objective"]
    if values is not None:
        for v, j in var_of:
            v.set_value(float(values[j]), skip_validation=True)
    ms = highspy.HighsModelStatus
    if status == ms.kOptimal:
        stopped = Status.OPTIMAL
    elif status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        stopped = Status.INFEASIBLE
    elif interrupted:
        stopped = Status.INTERRUPTED
    elif status in (ms.kTimeLimit, ms.kIterationLimit, ms.kInterrupt, ms.kSolutionLimit):
        stopped = Status.TIME_LIMIT
    else:
        stopped = Status.FEASIBLE
    if relax:
        bound = info.objective_function_value if stopped == Status.OPTIMAL else None
    else:
        bound = info.mip_dual_bound
    return {
        "termination": h.modelStatusToString(status),
        "status": stopped,
        "has_solution": values is not None,
        "objective": objective,
        "bound": None if bound is None or not math.isfinite(bound) else float(bound),
        "solve_time": t,
        "nodes": int(info.mip_node_count) if not relax else 0,
    }


def solve_pyomo(m: pyo.ConcreteModel, solver: str, opts: dict[str, Any], start: bool,
                log_path: str | None = None, tee: bool = False) -> dict[str, Any]:
    """Solve with any Pyomo solver by name (gurobi, scip, cbc, glpk, cplex ...); same answer as :func:`solve_highs`.

    Raises
    ------
    SolverUnavailableError
        When the solver is not installed (the message says how to install it).
    """
    opt = pyomo_solver(solver)
    kwargs: dict[str, Any] = {"load_solutions": False, "options": opts, "tee": tee}
    if log_path:
        kwargs["logfile"] = log_path
    if start and opt.warm_start_capable():
        kwargs["warmstart"] = True
    t0 = time.perf_counter()
    try:
        res = opt.solve(m, **kwargs)
    except KeyboardInterrupt:  # the solver process shares the terminal's Ctrl-C; nothing to load
        return {"termination": "interrupted", "status": Status.INTERRUPTED, "has_solution": False,
                "objective": None, "bound": None, "solve_time": time.perf_counter() - t0, "nodes": 0}
    t = time.perf_counter() - t0
    tc = res.solver.termination_condition
    has_sol = len(res.solution) > 0
    if has_sol:
        m.solutions.load_from(res)
    lb = res.problem.lower_bound
    bound = float(lb) if lb is not None and math.isfinite(float(lb)) else None
    if tc == TC.optimal:
        stopped = Status.OPTIMAL
    elif tc in (TC.infeasible, TC.infeasibleOrUnbounded):
        stopped = Status.INFEASIBLE
    elif tc == TC.userInterrupt:
        stopped = Status.INTERRUPTED
    elif tc in (TC.maxTimeLimit, TC.maxIterations):
        stopped = Status.TIME_LIMIT
    else:
        stopped = Status.FEASIBLE
    return {
        "termination": str(tc),
        "status": stopped,
        "has_solution": has_sol,
        "objective": pyo.value(next(m.component_data_objects(pyo.Objective, active=True))) if has_sol else None,
        "bound": bound,
        "solve_time": t,
        "nodes": 0,
    }
