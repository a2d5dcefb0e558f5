"""Heuristic mappings, all scored by the one evaluator.

``METHODS`` maps each method name to its ``solve(network, hardware, *,
time_limit=None, seed=0, **options) -> Result`` function.
"""

from heuristics import sequential

METHODS = {
    "sequential": sequential.solve,
}

__all__ = ["METHODS"]
