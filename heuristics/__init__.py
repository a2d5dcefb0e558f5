"""Heuristic mappings, all scored by the one evaluator.

``METHODS`` maps each method name to its ``solve(network, hardware, *,
time_limit=None, seed=0, comm=None, progress=None, **options) -> Result``.
:func:`warm_up` compiles (or loads from numba's cache) every numba kernel;
each ``solve`` calls it before its timer starts.
"""

from snnmap.heuristics import greedy, partition_refine, random_map, sequential, sneap, spinemap
from snnmap.heuristics.compile import warm_up
from snnmap.heuristics.placement import place_clusters
from snnmap.heuristics.refine import refine

METHODS = {
    "greedy": greedy.solve,
    "sequential": sequential.solve,
    "random": random_map.solve,
    "spinemap": spinemap.solve,
    "sneap": sneap.solve,
    "partition-refine": partition_refine.solve,
}

__all__ = ["METHODS", "place_clusters", "refine", "warm_up"]
