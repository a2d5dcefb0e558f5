"""The one ``Result`` shape every method returns."""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any

import numpy as np

from snnmap.formulations.energy import EnergyReport, evaluate
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork


class Status(str, enum.Enum):
    """How a run ended. Compares equal to its string value (``status == "optimal"``).

    - ``optimal``: the solver proved the optimum (at its proof tolerances, see :func:`proof_status`);
    - ``feasible``: a mapping, no proof attempted (heuristics) or none reached;
    - ``infeasible``: no mapping meets the limits (proved, or the returned one breaks a limit);
    - ``gap_limit``: stopped at a requested relative gap: the bound holds, the optimum is not proved;
    - ``time_limit``: stopped by the time limit with the best mapping so far;
    - ``interrupted``: stopped by Ctrl-C (SIGINT) with the best mapping so far;
    - ``error``: the method failed (the message says why).
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    GAP_LIMIT = "gap_limit"
    TIME_LIMIT = "time_limit"
    INTERRUPTED = "interrupted"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


#: Relative gap at or below which a solver's stop counts as a proof of optimality.
PROOF_GAP = 1e-9


def proof_status(gap_is_proof: bool, objective: float, bound: float | None) -> Status:
    """The status of a run whose solver stopped because it met its stopping gap.

    ``optimal`` when that gap was a proof tolerance (``gap_is_proof``: none
    was requested, or one of at most :data:`PROOF_GAP`) or when ``bound``
    meets ``objective`` within :data:`PROOF_GAP` relative; otherwise
    ``gap_limit`` (a looser requested gap proves nothing).
    """
    if gap_is_proof:
        return Status.OPTIMAL
    if bound is not None and math.isfinite(bound) and objective - bound <= PROOF_GAP * abs(objective):
        return Status.OPTIMAL
    return Status.GAP_LIMIT


def asks_for_proof(mip_gap: float | None) -> bool:
    """Whether a requested relative gap (``None``: the method's default) asks for a proof."""
    return mip_gap is None or mip_gap <= PROOF_GAP


@dataclasses.dataclass(frozen=True, eq=False)
class Result:
    """A method's answer, scored by the one evaluator.

    Attributes
    ----------
    mapping
        Core of every neuron (``None`` when no mapping was found).
    report
        The evaluator's :class:`EnergyReport` of ``mapping``.
    lower_bound
        A valid lower bound on the total energy of any feasible mapping, or ``None``.
    status
        A :class:`Status`.
    runtime
        Wall time in seconds.
    method, seed
        What produced it.
    message
        Why a run is infeasible or failed, or other notes.
    log_path
        Solver log file, when one was written.
    stats
        Method-specific figures (solver objective, nodes, iterations ...).
    """

    mapping: np.ndarray | None
    report: EnergyReport | None
    lower_bound: float | None
    status: Status
    runtime: float
    method: str
    seed: int = 0
    message: str = ""
    log_path: str | None = None
    stats: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def energy(self) -> float:
        """Total energy in joules (``inf`` without a feasible mapping)."""
        if self.report is None or not self.report.feasible:
            return math.inf
        return self.report.total

    @property
    def certified_gap(self) -> float | None:
        """``(E - LB) / LB`` against this run's own bound."""
        if self.lower_bound is None or self.lower_bound <= 0 or not math.isfinite(self.energy):
            return None
        return max(0.0, (self.energy - self.lower_bound) / self.lower_bound)

    def summary(self) -> dict[str, Any]:
        out = {
            "method": self.method,
            "status": str(self.status),
            "energy": self.energy,
            "lower_bound": self.lower_bound,
            "certified_gap": self.certified_gap,
            "runtime": self.runtime,
            "seed": self.seed,
            "message": self.message,
        }
        if self.report is not None:
            out.update({k: v for k, v in self.report.summary().items() if k != "energy"})
        return out


def result_from_mapping(
    network: SpikingNetwork,
    hardware: Hardware,
    core_of: np.ndarray | None,
    *,
    method: str,
    status: Status | str,
    runtime: float,
    seed: int = 0,
    lower_bound: float | None = None,
    comm: str | None = None,
    message: str = "",
    log_path: str | None = None,
    stats: dict[str, Any] | None = None,
) -> Result:
    """Score ``core_of`` with the evaluator and wrap it in a :class:`Result`.

    A mapping that breaks a limit is never passed off as a solution: its status
    becomes ``infeasible`` and the message names the broken limits.
    """
    status = Status(status)
    report = None
    if core_of is not None:
        core_of = np.asarray(core_of, dtype=np.int64)
        report = evaluate(network, hardware, core_of, comm)
        if not report.feasible and status in (Status.OPTIMAL, Status.FEASIBLE, Status.GAP_LIMIT,
                                              Status.TIME_LIMIT, Status.INTERRUPTED):
            status = Status.INFEASIBLE
            message = "; ".join([message] * bool(message) + [str(v) for v in report.violations])
    elif status in (Status.OPTIMAL, Status.FEASIBLE, Status.GAP_LIMIT):
        status = Status.ERROR
    if lower_bound is not None and report is not None and report.feasible:
        # A bound above the evaluator's energy of a feasible mapping is a bug, never a result.
        if lower_bound > report.total * (1 + 1e-6) + 1e-18:
            raise RuntimeError(
                f"{method}: lower bound {lower_bound:.9g} J exceeds the evaluated energy "
                f"{report.total:.9g} J of its own mapping"
            )
    return Result(
        mapping=core_of,
        report=report,
        lower_bound=lower_bound,
        status=status,
        runtime=runtime,
        method=method,
        seed=seed,
        message=message,
        log_path=log_path,
        stats=dict(stats or {}),
    )


def infeasible_result(
    network: SpikingNetwork,
    hardware: Hardware,
    message: str,
    *,
    method: str,
    runtime: float,
    seed: int = 0,
    comm: str | None = None,
    stats: dict[str, Any] | None = None,
    log_path: str | None = None,
) -> Result:
    """A :class:`Result` for an instance without a feasible mapping; ``message`` says why."""
    return result_from_mapping(network, hardware, None, method=method, status=Status.INFEASIBLE, runtime=runtime,
                               seed=seed, comm=comm, message=message, stats=stats, log_path=log_path)
