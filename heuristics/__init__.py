"""Heuristic mappings, all scored by the one evaluator.

Each method is a module with ``solve(network, hardware, *, time_limit=None, seed=0,
comm=None, ...) -> Result``, registered (name, options) in :mod:`snnmap.registry`.
:func:`warm_up` compiles (or loads from numba's cache) every numba kernel; each
``solve`` calls it before its timer starts.
"""

from snnmap.heuristics.compile import warm_up
from snnmap.heuristics.placement import place_clusters
from snnmap.heuristics.refine import refine

__all__ = ["place_clusters", "refine", "warm_up"]
