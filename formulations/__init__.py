"""The energy formulation: the evaluator, the Result shape, bounds and the exact models.

``METHODS`` maps each exact method name to its ``solve(...) -> Result`` function.
"""

from formulations.bounds import combinatorial_lower_bound, min_cores
from formulations.energy import (
    TERMS, EnergyReport, Mapping, MappingError, Violation, check_mapping, evaluate,
    fixed_energy, load_mapping, save_mapping,
)
from formulations.result import Result, Status, result_from_mapping

from formulations import cpsat as _cpsat
from formulations import milp as _milp
from formulations.exact_common import ModelTooLargeError

METHODS: dict = {
    "milp": _milp.solve_compact,
    "milp-textbook": _milp.solve_textbook,
    "cpsat": _cpsat.solve,
}

__all__ = [
    "METHODS", "ModelTooLargeError", "TERMS", "EnergyReport", "Mapping", "MappingError", "Result", "Status", "Violation",
    "check_mapping", "combinatorial_lower_bound", "evaluate", "fixed_energy", "load_mapping",
    "min_cores", "result_from_mapping", "save_mapping",
]
