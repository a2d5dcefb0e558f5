"""SNEAP-style mapping (Li et al., "SNEAP: A Fast and Efficient Toolchain for
Mapping Large-Scale Spiking Neural Network onto NoC-based Neuromorphic
Platform", GLSVLSI 2020), re-implemented on our evaluator.

1. METIS (pymetis) partitions the synapse graph, weighted by spike traffic,
   into as many parts as a sequential fill needs cores; parts that break a
   core limit are split into core-feasible runs.
2. Simulated annealing places the clusters on the mesh to minimise the
   spike traffic times hop cost.
No local search follows: that is the baseline.
"""

from __future__ import annotations

from snnmap.formulations.bounds import precheck
from snnmap.formulations.result import Result
from snnmap.hardware import Hardware
from snnmap.heuristics.cluster_map import place_cluster_mapping
from snnmap.heuristics.common import Progress, Timer, finish
from snnmap.heuristics.compile import warm_up
from snnmap.heuristics.partition import metis_clusters
from snnmap.instances import SpikingNetwork


def solve(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
          comm: str | None = None, progress: Progress = None, effort: float = 1.0, **_: object) -> Result:
    """METIS clusters + annealed placement (see the module docstring)."""
    warm_up(progress)  # compile before the clock starts: the time limit is the method's
    timer = Timer(time_limit)
    comm_model = hardware.comm if comm is None else comm
    problem = precheck(network, hardware)
    if problem:
        return finish(network, hardware, None, method="sneap", timer=timer, seed=seed, comm=comm, message=problem)
    cluster_of, k = metis_clusters(network, hardware, comm=comm_model, seed=seed)
    core_of, problem = place_cluster_mapping(network, hardware, cluster_of, k, comm=comm_model, method="anneal",
                                             timer=timer, seed=seed, effort=effort, progress=progress)
    if core_of is None:
        return finish(network, hardware, None, method="sneap", timer=timer, seed=seed, comm=comm, message=problem)
    return finish(network, hardware, core_of, method="sneap", timer=timer, seed=seed, comm=comm,
                  interrupted=timer.expired(), stats={"clusters": k})
