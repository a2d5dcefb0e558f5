"""The energy formulation: the evaluator, the Result shape, bounds and the exact models.

``METHODS`` maps each exact method name to its ``solve(...) -> Result`` function.
"""

from snnmap.formulations.bounds import combinatorial_lower_bound, min_cores, precheck
from snnmap.formulations.energy import (
    TERMS, EnergyReport, Mapping, MappingError, Violation, check_mapping, evaluate,
    fixed_energy, load_mapping, save_mapping,
)
from snnmap.formulations.result import Result, Status, infeasible_result, result_from_mapping

from snnmap.formulations.exact_common import ModelTooLargeError


# The exact models import Pyomo / OR-Tools on first use only, so the evaluator stays light.
def _milp(network, hardware, **options):
    """The compact neuron-level MILP (:func:`formulations.milp.solve`)."""
    from snnmap.formulations.milp import solve_compact

    return solve_compact(network, hardware, **options)


def _milp_textbook(network, hardware, **options):
    """The textbook neuron-level MILP (:func:`formulations.milp.solve`, ``form="textbook"``)."""
    from snnmap.formulations.milp import solve_textbook

    return solve_textbook(network, hardware, **options)


def _cpsat(network, hardware, **options):
    """The neuron-level CP-SAT model (:func:`formulations.cpsat.solve`)."""
    from snnmap.formulations.cpsat import solve

    return solve(network, hardware, **options)


METHODS: dict = {
    "milp": _milp,
    "milp-textbook": _milp_textbook,
    "cpsat": _cpsat,
}

__all__ = [
    "METHODS", "ModelTooLargeError", "TERMS", "EnergyReport", "Mapping", "MappingError", "Result", "Status",
    "Violation", "check_mapping", "combinatorial_lower_bound", "evaluate", "fixed_energy", "infeasible_result",
    "load_mapping", "min_cores", "precheck", "result_from_mapping", "save_mapping",
]
