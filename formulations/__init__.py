"""The energy formulation: the evaluator, the Result shape, bounds and the exact models.

The exact models (:mod:`~snnmap.formulations.milp`, :mod:`~snnmap.formulations.cpsat`)
import Pyomo / OR-Tools on first use only; they are registered, with every other
method, in :mod:`snnmap.registry`.
"""

from snnmap.formulations.bounds import combinatorial_lower_bound, min_cores, precheck
from snnmap.formulations.energy import (
    TERMS,
    EnergyReport,
    Mapping,
    MappingError,
    Violation,
    check_mapping,
    evaluate,
    fixed_energy,
    load_mapping,
    save_mapping,
)
from snnmap.formulations.exact_common import ModelTooLargeError
from snnmap.formulations.result import Result, Status, infeasible_result, result_from_mapping

__all__ = [
    "ModelTooLargeError", "TERMS", "EnergyReport", "Mapping", "MappingError", "Result", "Status",
    "Violation", "check_mapping", "combinatorial_lower_bound", "evaluate", "fixed_energy", "infeasible_result",
    "load_mapping", "min_cores", "precheck", "result_from_mapping", "save_mapping",
]
