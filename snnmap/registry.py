"""The one method registry: every mapping method, its kind, what it does and the options it takes.

Adding a heuristic is one module with a ``solve(network, hardware, *, time_limit, seed,
comm, ...) -> Result`` and one :class:`Method` line in :data:`METHODS`; ``snnmap map
--help``, :func:`snnmap.methods`, the gap study's columns and the README's methods table
(:func:`methods_table`) all read this list, and the front door refuses any option a
method does not list here.

The entries name their functions as ``"module:function"`` and import them on first
call, so reading the registry (``snnmap map --help``) loads no solver.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

KINDS = ("meta", "exact", "heuristic", "peer")
MAX_SEED = 2**31 - 1  # CP-SAT's and HiGHS's random seeds are 32-bit signed integers

# Every option a method may take, with its ``snnmap map`` flag (None: Python only).
FLAGS: dict[str, str | None] = {
    "time_limit": "--time-limit", "seed": "--seed", "comm": "--comm", "start": "--start", "log_path": "--log",
    "solver": "--solver", "threads": "--threads", "mip_gap": "--mip-gap", "force": "--force", "progress": None,
    "symmetry": None, "pair_cuts": None, "warmup": None, "max_nonzeros": None, "solver_options": None,
    "resolution": None, "max_cand": None, "tries": None, "effort": None, "placement": None, "starts": None,
    "ils_rounds": None, "max_passes": None, "p_random": None, "swap_tries": None, "min_gain": None,
    "dissolve_tries": None, "moves_first": None, "allocator": None,
    "max_step_time": "--max-step-time", "objective": "--objective",
}

_COMMON = ("time_limit", "seed", "comm")
_REFINE = ("max_passes", "max_cand", "p_random", "swap_tries", "min_gain", "dissolve_tries", "moves_first")
_EXACT = ("start", "threads", "mip_gap", "log_path", "force", "progress", "symmetry", "max_nonzeros",
          "solver_options")
# Time per step (formulations/latency.py): a budget every listed method keeps and what to minimise. The
# heuristics and auto meet them through one shared repair (heuristics/step_budget.py); the exact models
# that list max_step_time carry it as per-core constraints.
_LATENCY = ("max_step_time", "objective")
#: Options :meth:`Method.__call__` consumes itself (the method's function never sees them).
FRONT_DOOR_OPTIONS = _LATENCY
OBJECTIVES = ("energy", "latency", "weighted")


class OptionError(ValueError):
    """A method was given an option it does not take (or an unknown method was named)."""


@dataclasses.dataclass(frozen=True)
class Method:
    """One registered mapping method.

    Attributes
    ----------
    name
        What users type (``-m NAME``, ``method=NAME``).
    kind
        ``heuristic``, ``exact`` (proves optima, reports a solver bound), ``meta`` (chooses others) or
        ``peer`` (another tool's own code run through an adapter, ``snnmap[peers]``; never a warm start).
    summary
        One line: what it does.
    use_when
        One line: when to choose it.
    target
        ``"module:function"``; the function is ``f(network, hardware, **options) -> Result``.
    options
        Every keyword option it takes; anything else is refused with :class:`OptionError`.
    role
        Its place in the gap study: ``exact`` (run by default, after the heuristics, warm
        started by the best of them), ``ours`` / ``baseline`` (heuristics compared in the
        reduction table), ``peer`` (real tools, :mod:`snnmap.heuristics.peers`: run only when
        asked for, e.g. ``snnmap gap --methods rig-sa``) or ``None`` (run only when asked for).
    """

    name: str
    kind: str
    summary: str
    use_when: str
    target: str
    options: tuple[str, ...]
    role: str | None = None

    @property
    def function(self) -> Callable[..., Any]:
        """The method's function, imported on first use."""
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def check(self, options: Iterable[str], spell: Callable[[str], str] = str) -> None:
        """Raise :class:`OptionError` for the first option this method does not take.

        ``spell`` renders an option name for the message (the CLI gives its flags).
        """
        for key in options:
            if key not in self.options:
                takes = ", ".join(spell(o) for o in self.options if spell(o))
                raise OptionError(f"method {self.name!r} does not take {spell(key) or key}; it takes {takes}")

    def __call__(self, network: Any, hardware: Any, **options: Any) -> Any:
        """Run the method on a loaded network and hardware, with checked options.

        ``start`` may be a mapping array, a heuristic's name (that heuristic runs
        first, with the same seed and communication model) or a mapping file.
        """
        self.check(options)
        check_run_options(options.get("time_limit"), options.get("seed", 0))
        objective = options.pop("objective", "energy")
        hardware = latency_hardware(network, hardware, options.pop("max_step_time", None), objective,
                                    options.get("comm"))
        note = ""
        if options.get("start") is not None:
            options["start"], note = start_mapping(options["start"], network, hardware, seed=options.get("seed", 0),
                                                   comm=options.get("comm"))
        repair = self.kind != "exact" and (hardware.limits.max_step_time is not None or objective != "energy")
        if repair:  # the heuristic maps for energy without the budget; the shared hook meets it
            from snnmap.heuristics.step_budget import map_within

            result = map_within(network, hardware, lambda chip: self.function(network, chip, **options),
                                objective=objective, comm=options.get("comm"), time_limit=options.get("time_limit"))
        else:
            result = self.function(network, hardware, **options)
        if note:
            result = dataclasses.replace(result, message="; ".join(m for m in (note, result.message) if m))
        return result


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("auto", "meta", "CP-SAT hinted by partition-refine when neurons x cores <= 256, else partition-refine",
           "you want the best answer without choosing", "snnmap.api:auto",
           (*_COMMON, "progress", "log_path", "threads", *_LATENCY)),
    Method("milp", "exact", "compact Pyomo MILP (HiGHS; --solver gurobi/scip/cbc)",
           "small instances; a MIP solver's dual bound", "snnmap.formulations.milp:solve_compact",
           (*_COMMON, *_EXACT, "solver", "pair_cuts", "warmup", "max_step_time")),
    Method("cpsat", "exact", "OR-Tools CP-SAT, integer-scaled costs (rounding bound reported)",
           "small instances: a second, independent proof", "snnmap.formulations.cpsat:solve",
           (*_COMMON, *_EXACT, "resolution", "max_step_time")),
    Method("milp-textbook", "exact", "the textbook MILP of FORMULATION.md",
           "learning the model; tiny instances", "snnmap.formulations.milp:solve_textbook",
           (*_COMMON, *_EXACT, "solver", "warmup")),
    Method("neuron-bnb", "exact", "neuron-level branch and bound (numba): shared-packet and Lagrangian capacity bounds",
           "a second branch and bound with the real core costs in the search", "snnmap.formulations.neuron_bnb:solve",
           (*_COMMON, "start", "progress", "symmetry", "threads", "force")),
    Method("partition-bnb", "exact", "branch and bound over core contents (neuron-bnb's bounds on interchangeable "
           "cores) with an exact placement of every partition",
           "proving applications and small random networks (the gap study's prover)",
           "snnmap.formulations.neuron_bnb:solve_partition",
           (*_COMMON, "start", "progress", "symmetry", "threads", "force"), role="exact"),
    Method("neuron-portfolio", "exact", "partition-benders and component-milp in two processes; the first proof wins",
           "small instances on two cores", "snnmap.formulations.neuron_portfolio:solve",
           (*_COMMON, "start", "progress", "threads", "force")),
    Method("component-milp", "exact", "compact MILP with the component bound's cuts (exact destination-core counts "
           "of each target-hypergraph component)", "proving random layered networks (multicast)",
           "snnmap.formulations.component_milp:solve",
           (*_COMMON, *_EXACT, "solver")),
    Method("partition-benders", "exact", "logic-based Benders over core contents: the component search over all "
           "neurons (with a hop bound) as master, an exact placement of every partition below the incumbent",
           "proving random layered networks (multicast)", "snnmap.formulations.partition_benders:solve",
           (*_COMMON, "start", "progress", "symmetry", "threads", "force")),
    Method("greedy", "heuristic", "the seed paper's greedy, our reading",
           "a fast answer, a warm start, the paper's baseline", "snnmap.heuristics.greedy:solve",
           (*_COMMON, "max_cand", *_LATENCY), role="ours"),
    Method("partition-refine", "heuristic", "ours: partition + placement + local search on the true energy",
           "any real-size network", "snnmap.heuristics.partition_refine:solve",
           (*_COMMON, "progress", "placement", "starts", "effort", "ils_rounds", *_REFINE, *_LATENCY), role="ours"),
    Method("spinemap", "heuristic", "SpiNeMap-style clustering + particle-swarm placement",
           "a published baseline", "snnmap.heuristics.spinemap:solve", (*_COMMON, "progress", *_LATENCY),
           role="baseline"),
    Method("sneap", "heuristic", "SNEAP-style METIS partition + annealed placement",
           "a published baseline", "snnmap.heuristics.sneap:solve", (*_COMMON, "progress", "effort", *_LATENCY),
           role="baseline"),
    Method("sequential", "heuristic", "fill in neuron order, layers sharing cores (real PACMAN: pacman)",
           "the reference every traffic-aware method must beat", "snnmap.heuristics.sequential:solve",
           (*_COMMON, *_LATENCY), role="baseline"),
    Method("random", "heuristic", "random feasible", "the floor", "snnmap.heuristics.random_map:solve",
           (*_COMMON, "tries", *_LATENCY), role="baseline"),
    Method("nengo-loihi", "peer", "the real nengo-loihi 1.1.0: split_model + an allocator (own environment)",
           "comparing with Loihi's vendor pipeline (boards of chips)", "snnmap.heuristics.peers.nengo_loihi:solve",
           (*_COMMON, "allocator"), role="peer"),
    Method("rig-sa", "peer", "the real rig 2.4.1 annealing placer on core-sized slices",
           "comparing with SpiNNaker's place and route", "snnmap.heuristics.peers.rig_sa:solve",
           (*_COMMON, "effort"), role="peer"),
    Method("pacman", "peer", "the real PACMAN (spinnaker-pacman 1!7.4.1): slices by population, fills chips in order",
           "comparing with SpiNNaker's own tool chain", "snnmap.heuristics.peers.pacman_fill:solve", _COMMON,
           role="peer"),
)}


def get(name: str) -> Method:
    """The registered method ``name``; :class:`OptionError` names the known ones otherwise."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise OptionError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)}") from None


def names(*, kind: str | None = None, role: str | tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Registered names in registry order, optionally of one ``kind`` and/or gap-study ``role``(s)."""
    roles = (role,) if isinstance(role, str) else role
    return tuple(m.name for m in METHODS.values()
                 if (kind is None or m.kind == kind) and (roles is None or m.role in roles))


def check_run_options(time_limit: Any, seed: Any) -> None:
    """Refuse a time limit that is not a positive finite number of seconds and a seed outside ``[0, 2**31)``."""
    if time_limit is not None and not (isinstance(time_limit, (int, float, np.number)) and not isinstance(
            time_limit, bool) and time_limit > 0 and math.isfinite(time_limit)):
        raise OptionError(f"time_limit={time_limit!r}: must be a positive number of seconds (or None for the "
                          "method's default)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise OptionError(f"seed={seed!r}: must be a whole number from 0 to {MAX_SEED}")


def latency_hardware(network: Any, hardware: Any, max_step_time: Any, objective: Any, comm: str | None) -> Any:
    """``hardware`` with the step-time budget set, once both options are checked (before any work).

    Refused with one line: an unknown objective; a budget that is not a positive
    number of seconds; either asked of a chip without latency numbers; a budget
    (given here or in the chip's limits) below the fastest possible step time,
    naming that minimum (:func:`snnmap.formulations.latency.min_step_time`).
    """
    if objective not in OBJECTIVES:
        raise OptionError(f"objective={objective!r}: choose {', '.join(OBJECTIVES)}")
    if max_step_time is not None and (isinstance(max_step_time, bool) or not isinstance(
            max_step_time, (int, float, np.number)) or not (math.isfinite(max_step_time) and max_step_time > 0)):
        raise OptionError(f"max_step_time={max_step_time!r}: must be a positive number of seconds")
    if max_step_time is None and objective == "energy" and hardware.limits.max_step_time is None:
        return hardware
    from snnmap.formulations.latency import min_step_time, require_latency

    require_latency(hardware, "--max-step-time" if max_step_time is not None else f"--objective {objective}")
    if max_step_time is not None:
        hardware = hardware.replace(max_step_time=float(max_step_time))
    budget = hardware.limits.max_step_time
    if budget is not None:
        floor = min_step_time(network, hardware, comm)
        if budget < floor * (1 - 1e-9):
            raise OptionError(f"max_step_time={budget:g} s is below the fastest possible step of {network.name} on "
                              f"{hardware.name}, {floor:.6g} s (every neuron alone on a core, no hops): give at "
                              "least that")
    return hardware


def start_mapping(start: Any, network: Any, hardware: Any, *, seed: int = 0,
                  comm: str | None = None) -> tuple[np.ndarray | None, str]:
    """A warm start as a mapping array, and a note when none could be made.

    Parameters
    ----------
    start
        A mapping (array, list or :class:`~snnmap.formulations.Mapping`), a heuristic's
        name (run with ``seed`` and ``comm``) or a mapping file written by ``snnmap map -o``
        or any tool (checked against the network's fingerprint and the core count).
    """
    if isinstance(start, (str, Path)):
        text = str(start)
        method = METHODS.get(text)
        if method is not None:
            if method.kind != "heuristic":
                raise OptionError(f"start={text!r} is not a heuristic: give a heuristic "
                                  f"({', '.join(names(kind='heuristic'))}) or a mapping file")
            res = method.function(network, hardware, seed=seed, comm=comm)
            if res.mapping is None:
                return None, f"start heuristic {text!r} found no mapping ({res.message})"
            return np.asarray(res.mapping, dtype=np.int64), ""
        if not Path(text).is_file():
            raise OptionError(f"start={text!r}: neither a heuristic ({', '.join(names(kind='heuristic'))}) "
                              "nor a mapping file")
        from snnmap.formulations import load_mapping

        mapping = load_mapping(text, network)
        if mapping.num_cores is not None and mapping.num_cores != hardware.num_cores:
            raise OptionError(f"start={text!r}: the mapping was made for {mapping.num_cores} cores "
                              f"({mapping.hardware}) but {hardware.name} has {hardware.num_cores}")
        start = mapping.core_of
    return np.asarray(getattr(start, "core_of", start)), ""


def methods_table() -> str:
    """The README's methods table (Markdown), rendered from the registry."""
    rows = ["| name | kind | what it does | choose it when | `snnmap map` options | more options (Python) |",
            "|------|------|--------------|----------------|----------------------|-----------------------|"]
    for m in METHODS.values():
        flags = " ".join(f"`{FLAGS[o]}`" for o in m.options if FLAGS[o])
        more = " ".join(f"`{o}`" for o in m.options if not FLAGS[o])
        name = f"`{m.name}` (default)" if m.name == "auto" else f"`{m.name}`"
        rows.append(f"| {name} | {m.kind} | {m.summary} | {m.use_when} | {flags} | {more} |")
    return "\n".join(rows)
