"""PACMAN-style sequential fill (the SpiNNaker tool chain's default placement).

Neurons in index order fill cores in row-major order; a new core is opened as
soon as the next neuron would break any per-core limit (neurons, input axons,
synapses). It ignores traffic entirely, which makes it the reference every
traffic-aware method should beat.
"""

from __future__ import annotations

import time

import numpy as np

from snnmap.formulations.bounds import combinatorial_lower_bound
from snnmap.formulations.result import Result, Status, result_from_mapping
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork


def fill_order(network: SpikingNetwork, hardware: Hardware, order: np.ndarray | None = None) -> tuple[np.ndarray, int, str]:
    """Cut the neurons, taken in ``order``, into consecutive core-feasible runs.

    Returns
    -------
    cluster_of
        Run (0, 1, ...) of every neuron.
    num_runs
        How many runs (cores) the fill needs.
    problem
        Empty, or why a single neuron fits no core.

    A run ends as soon as the next neuron would break ``n_max``, ``syn_max``
    or ``a_max`` (distinct presynaptic neurons): the compiled next-fit of
    :func:`heuristics.partition.cut_runs`, linear in the synapses.
    """
    from snnmap.heuristics.partition import cut_runs

    n = network.num_neurons
    lim = hardware.limits
    order = np.arange(n, dtype=np.int64) if order is None else np.asarray(order, dtype=np.int64)
    indeg = network.in_degree[order]
    # Parallel synapses are forbidden, so a neuron's synapses are its distinct presynaptic neurons.
    for cap, what in ((lim.syn_max, "synapses, more than syn_max"), (lim.a_max, "presynaptic neurons, more than a_max")):
        if cap is not None and n and int(indeg.max()) > cap:
            at = int(np.argmax(indeg > cap))
            return np.zeros(n, dtype=np.int64), 0, f"neuron {int(order[at])} has {int(indeg[at])} {what}={cap}"
    cluster_of, runs = cut_runs(network, hardware, order)
    return cluster_of, runs, ""


def solve(
    network: SpikingNetwork,
    hardware: Hardware,
    *,
    time_limit: float | None = None,
    seed: int = 0,
    comm: str | None = None,
    **_: object,
) -> Result:
    """Map by sequential fill; see the module docstring."""
    t0 = time.perf_counter()
    cluster_of, runs, problem = fill_order(network, hardware)
    lb = combinatorial_lower_bound(network, hardware, comm)
    if problem:
        return result_from_mapping(network, hardware, None, method="sequential", status=Status.INFEASIBLE,
                                   runtime=time.perf_counter() - t0, seed=seed, lower_bound=None,
                                   comm=comm, message=problem)
    if runs > hardware.num_cores:
        return result_from_mapping(
            network, hardware, None, method="sequential", status=Status.INFEASIBLE,
            runtime=time.perf_counter() - t0, seed=seed, comm=comm,
            message=(f"n_max/a_max/syn_max: the network needs {runs} cores by sequential fill but {hardware.name} has "
                     f"{hardware.num_cores}: use a larger mesh, e.g. load_hardware({hardware.name!r}, cores={runs}) or snnmap map --fit"),
        )
    return result_from_mapping(network, hardware, cluster_of, method="sequential", status=Status.FEASIBLE,
                               runtime=time.perf_counter() - t0, seed=seed, lower_bound=lb, comm=comm)
