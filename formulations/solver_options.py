"""One table translating the generic solver options into each solver's own names.

Every exact method takes the same generic options (``time_limit`` in seconds,
``mip_gap`` relative, ``threads``, ``seed``, ``log_path``); this module is the
only place that knows what each solver calls them.

=================  ==============  ================  ==============  ===================  ============
generic            HiGHS           Gurobi            SCIP            CBC                  CP-SAT
=================  ==============  ================  ==============  ===================  ============
time_limit         time_limit      TimeLimit         limits/time     seconds              max_time_in_seconds
mip_gap            mip_rel_gap     MIPGap            limits/gap      ratioGap             relative_gap_limit
threads            threads         Threads           parallel/...    threads              num_workers
seed               random_seed     Seed              randomization/  randomSeed           random_seed
                                                     randomseedshift
log_path           log_file        LogFile           (pyomo logfile) (pyomo logfile)      log callback
=================  ==============  ================  ==============  ===================  ============

``None`` means "leave the solver's default"; SCIP has no thread option in its
sequential build, so ``threads`` is dropped there.
"""

from __future__ import annotations

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
        "mip_gap": "mipgap",
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
        Option name -> value, ready to hand to the solver.
    """
    family = solver_family(solver)
    if family not in OPTION_NAMES:
        raise ValueError(
            f"solver {solver!r} has no option table; known: {', '.join(sorted(OPTION_NAMES))}. "
            "Generic options are not passed to it; give solver-specific ones as solver_options={...}"
        )
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
