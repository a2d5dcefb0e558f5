"""Exact and heuristic cluster placement as a quadratic assignment problem (QAP).

Placing ``n`` clusters with traffic ``F`` on ``m >= n`` cores with hop distance
``D`` (plus an optional per-core cost ``L``) minimises
``sum_{a,b} F[a,b] D[p(a),p(b)] + sum_a L[a,p(a)]`` over injective ``p``.

Entry point: `solve_qap`. Methods: ``"bnb"`` (exact Gilmore-Lawler branch and
bound, numba), ``"milp"`` (RLT-1 in Pyomo, HiGHS by default), ``"cpsat"``
(OR-Tools), ``"anneal"`` (simulated annealing), ``"auto"``.
"""

from snnmap.formulations.qap.core import QAPResult, brute_force_qap, check_data, qap_objective
from snnmap.formulations.qap.qaplib import QAPError, QAPInstance, read_qaplib, write_qaplib
from snnmap.formulations.qap.solve import METHODS, solve_qap

__all__ = [
    "METHODS",
    "QAPError",
    "QAPInstance",
    "QAPResult",
    "brute_force_qap",
    "check_data",
    "qap_objective",
    "read_qaplib",
    "solve_qap",
    "write_qaplib",
]
