"""PACMAN-style sequential fill (the SpiNNaker tool chain's default placement).

Neurons in index order fill cores in row-major order; a new core is opened as
soon as the next neuron would break any per-core limit (neurons, input axons,
synapses). It ignores traffic entirely, which makes it the reference every
traffic-aware method should beat.
"""

from __future__ import annotations

from snnmap.formulations.bounds import combinatorial_lower_bound
from snnmap.formulations.result import Result, Status, result_from_mapping
from snnmap.hardware import Hardware
from snnmap.heuristics.common import Progress, Timer
from snnmap.heuristics.compile import warm_up
from snnmap.heuristics.partition import fill_order
from snnmap.instances import SpikingNetwork


def solve(
    network: SpikingNetwork,
    hardware: Hardware,
    *,
    time_limit: float | None = None,
    seed: int = 0,
    comm: str | None = None,
    progress: Progress = None,
    **_: object,
) -> Result:
    """Map by sequential fill; see the module docstring."""
    warm_up(progress)  # compile before the clock starts: the runtime is the method's
    timer = Timer(time_limit)
    cluster_of, runs, problem = fill_order(network, hardware)
    lb = combinatorial_lower_bound(network, hardware, comm)
    if problem:
        return result_from_mapping(network, hardware, None, method="sequential", status=Status.INFEASIBLE,
                                   runtime=timer.elapsed(), seed=seed, lower_bound=None,
                                   comm=comm, message=problem)
    if runs > hardware.num_cores:
        return result_from_mapping(
            network, hardware, None, method="sequential", status=Status.INFEASIBLE,
            runtime=timer.elapsed(), seed=seed, comm=comm,
            message=(f"n_max/a_max/syn_max: the network needs {runs} cores by sequential fill but {hardware.name} "
                     f"has {hardware.num_cores}: use a larger mesh, e.g. load_hardware({hardware.name!r}, "
                     f"cores={runs}) or snnmap map --fit"),
        )
    return result_from_mapping(network, hardware, cluster_of, method="sequential", status=Status.FEASIBLE,
                               runtime=timer.elapsed(), seed=seed, lower_bound=lb, comm=comm)
