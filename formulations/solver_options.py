"""One table translating the generic solver options into each solver's own names.

Every exact method takes the same generic options (``time_limit`` in seconds,
``mip_gap`` relative, ``threads``, ``seed``, ``log_path``); this module is the
only place that knows what each solver calls them.

Both the neuron-level MILP (:mod:`formulations.milp`) and the QAP MILP
(:mod:`formulations.qap.models`) read this table.

==========  ===========  =========  ===============  =====================  ==========  ===================
generic     HiGHS        Gurobi     SCIP             CPLEX                  CBC         CP-SAT
==========  ===========  =========  ===============  =====================  ==========  ===================
time_limit  time_limit   TimeLimit  limits/time      timelimit              seconds     max_time_in_seconds
mip_gap     mip_rel_gap  MIPGap     limits/gap       mip_tolerances_mipgap  ratioGap    relative_gap_limit
threads     threads      Threads    (none)           threads                threads     num_workers
seed        random_seed  Seed       randomization/   randomseed             randomSeed  random_seed
                                    randomseedshift
log_path    log_file     LogFile    (Pyomo logfile)  (Pyomo logfile)        (Pyomo)     log callback
==========  ===========  =========  ===============  =====================  ==========  ===================

CPLEX's gap is ``mip_tolerances_mipgap``: Pyomo's CPLEX interfaces turn the
underscores into the parameter path ``mip.tolerances.mipgap`` (``set mip
tolerances mipgap`` in the shell). ``None`` means "leave the solver's
default"; SCIP has no thread option in its sequential build, so ``threads`` is
dropped there. A solver outside the table runs with no generic options (and a
warning); give its own as ``solver_options={...}``.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

#: generic name -> solver's option name (``None``: the solver has no such option).
OPTION_NAMES: dict[str, dict[str, str | None]] = {
    "highs": {
        "time_limit": "time_limit",
        "mip_gap": "mip_rel_gap",
        "threads": "threads",
        "seed": "random_seed",
        "log_path": "log_file",
    },
    "gurobi": {
        "time_limit": "TimeLimit",
        "mip_gap": "MIPGap",
        "threads": "Threads",
        "seed": "Seed",
        "log_path": "LogFile",
    },
    "cplex": {
        "time_limit": "timelimit",
        "mip_gap": "mip_tolerances_mipgap",
        "threads": "threads",
        "seed": "randomseed",
        "log_path": None,
    },
    "scip": {
        "time_limit": "limits/time",
        "mip_gap": "limits/gap",
        "threads": None,
        "seed": "randomization/randomseedshift",
        "log_path": None,
    },
    "cbc": {
        "time_limit": "seconds",
        "mip_gap": "ratioGap",
        "threads": "threads",
        "seed": "randomSeed",
        "log_path": None,
    },
    "glpk": {
        "time_limit": "tmlim",
        "mip_gap": "mipgap",
        "threads": None,
        "seed": None,
        "log_path": None,
    },
    "cpsat": {
        "time_limit": "max_time_in_seconds",
        "mip_gap": "relative_gap_limit",
        "threads": "num_workers",
        "seed": "random_seed",
        "log_path": None,  # written through a log callback
    },
}

#: Pyomo solver names that share an option table.
ALIASES = {"appsi_highs": "highs", "gurobi_direct": "gurobi", "gurobi_persistent": "gurobi",
           "appsi_gurobi": "gurobi", "cplex_direct": "cplex", "appsi_cbc": "cbc"}


def solver_family(solver: str) -> str:
    """The option table a Pyomo solver name uses (``"appsi_highs"`` -> ``"highs"``)."""
    name = solver.lower()
    return ALIASES.get(name, name)


def translate(
    solver: str,
    *,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    seed: int | None = None,
    log_path: str | None = None,
) -> dict[str, Any]:
    """The generic options in ``solver``'s own names, dropping ``None`` and unsupported ones.

    Parameters
    ----------
    solver
        A Pyomo solver name (``"highs"``, ``"gurobi"``, ``"scip"``, ``"cbc"`` ...) or ``"cpsat"``.
    time_limit, mip_gap, threads, seed, log_path
        Generic options; ``None`` keeps the solver's default.

    Returns
    -------
    dict
        Option name -> value, ready to hand to the solver; empty (with a
        warning) for a solver outside the table.
    """
    family = solver_family(solver)
    if family not in OPTION_NAMES:
        warnings.warn(
            f"solver {solver!r} has no option table (known: {', '.join(sorted(OPTION_NAMES))}): it runs without "
            "the generic options (time limit, gap, threads, seed); give its own as solver_options={...}",
            stacklevel=2,
        )
        return {}
    table = OPTION_NAMES[family]
    generic = {"time_limit": time_limit, "mip_gap": mip_gap, "threads": threads, "seed": seed, "log_path": log_path}
    out: dict[str, Any] = {}
    for key, value in generic.items():
        name = table.get(key)
        if value is None or name is None:
            continue
        if key == "time_limit":
            value = float(value)
        elif key in ("threads", "seed"):
            value = int(value)
        out[name] = value
    return out


#: How to install each solver family (for the error of a solver that is not there).
INSTALL = {
    "highs": "pip install highspy",
    "gurobi": "pip install gurobipy",
    "cplex": "pip install cplex",
    "scip": "conda install -c conda-forge scip",
    "cbc": "apt-get install coinor-cbc",
    "glpk": "apt-get install glpk-utils",
    "cpsat": "pip install ortools",
}


class SolverUnavailableError(RuntimeError):
    """A solver that is not installed (the message says how to install it)."""


def unavailable_message(solver: str) -> str:
    """One line naming ``solver`` and how to install it."""
    how = INSTALL.get(solver_family(solver))
    fix = f"install it with `{how}`" if how else "install it where Pyomo finds it"
    return f"solver {solver!r} is not installed or not available to Pyomo: {fix}, or choose another solver"


def pyomo_solver(solver: str) -> Any:
    """Pyomo's solver object for ``solver``.

    Raises
    ------
    SolverUnavailableError
        When Pyomo cannot run it here (:func:`unavailable_message`).
    """
    import pyomo.environ as pyo  # Pyomo is heavy: loaded only by the MILP methods that need it

    quiet = logging.getLogger("pyomo.opt")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # an unknown name logs a traceback; the error below says it in one line
    try:
        opt = pyo.SolverFactory(solver)
        ok = opt is not None and opt.available(exception_flag=False)
    finally:
        quiet.setLevel(level)
    if not ok:
        raise SolverUnavailableError(unavailable_message(solver))
    return opt
