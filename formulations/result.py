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
    """How a run ended. Compares equal to its string value (``status == "optimal"``)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    TIME_LIMIT = "time_limit"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


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
        ``optimal``, ``feasible``, ``infeasible``, ``time_limit`` or ``error``.
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
        if not report.feasible and status in (Status.OPTIMAL, Status.FEASIBLE, Status.TIME_LIMIT):
            status = Status.INFEASIBLE
            message = "; ".join([message] * bool(message) + [str(v) for v in report.violations])
    elif status in (Status.OPTIMAL, Status.FEASIBLE):
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
