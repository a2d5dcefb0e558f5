"""Heuristic mappings, all scored by the one evaluator.

Each method is a module with ``solve(network, hardware, *, time_limit=None, seed=0,
comm=None, ...) -> Result``, registered (name, options) in :mod:`snnmap.registry`.
"""

from snnmap.heuristics.placement import place_clusters
from snnmap.heuristics.refine import refine

__all__ = ["place_clusters", "refine"]
