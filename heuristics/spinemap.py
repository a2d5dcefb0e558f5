"""SpiNeMap-style mapping (Balaji et al., "Mapping Spiking Neural Networks to
Neuromorphic Hardware", IEEE TVLSI 2020), re-implemented on our evaluator.

1. Clustering that minimises inter-cluster spikes: pairs of neurons in
   decreasing exchanged traffic merge their clusters whenever the union still
   fits one core (``n_max``, ``a_max``, ``syn_max``); leftovers are packed.
2. Particle-swarm optimisation places the clusters on the mesh to minimise
   spike traffic times hop cost.
"""

from __future__ import annotations

from snnmap.formulations.bounds import precheck
from snnmap.formulations.result import Result
from snnmap.hardware import Hardware
from snnmap.heuristics.cluster_map import place_cluster_mapping
from snnmap.heuristics.common import Progress, Timer, finish
from snnmap.heuristics.compile import warm_up
from snnmap.heuristics.partition import merge_clusters
from snnmap.instances import SpikingNetwork


def solve(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
          comm: str | None = None, progress: Progress = None, **_: object) -> Result:
    """Greedy traffic clustering + particle-swarm placement (see the module docstring)."""
    warm_up(progress)  # compile before the clock starts: the time limit is the method's
    timer = Timer(time_limit)
    comm_model = hardware.comm if comm is None else comm
    problem = precheck(network, hardware)
    if problem:
        return finish(network, hardware, None, method="spinemap", timer=timer, seed=seed, comm=comm, message=problem)
    cluster_of, k = merge_clusters(network, hardware, comm=comm_model)
    core_of, problem = place_cluster_mapping(network, hardware, cluster_of, k, comm=comm_model, method="pso",
                                             timer=timer, seed=seed, progress=progress)
    if core_of is None:
        return finish(network, hardware, None, method="spinemap", timer=timer, seed=seed, comm=comm, message=problem)
    return finish(network, hardware, core_of, method="spinemap", timer=timer, seed=seed, comm=comm,
                  interrupted=timer.expired(), stats={"clusters": k})
