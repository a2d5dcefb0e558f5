"""PACMAN-style sequential fill (the SpiNNaker tool chain's default placement).

Neurons in index order fill cores in row-major order; a new core is opened as
soon as the next neuron would break any per-core limit (neurons, input axons,
synapses). It ignores traffic entirely, which makes it the reference every
traffic-aware method should beat.
"""

from __future__ import annotations

import time

import numpy as np

from formulations.arrays import unique_ints
from formulations.bounds import combinatorial_lower_bound
from formulations.result import Result, Status, result_from_mapping
from hardware import Hardware
from instances import SpikingNetwork


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

    The neuron and synapse limits are prefix sums; the axon limit (distinct
    presynaptic neurons) is found by bisection on each run's end, so the work
    per core is a few ``np.unique`` calls over its incoming synapses.
    """
    n = network.num_neurons
    lim = hardware.limits
    order = np.arange(n) if order is None else np.asarray(order, dtype=np.int64)
    indeg = network.in_degree[order]
    syn_cum = np.concatenate([[0], np.cumsum(indeg)])
    # Incoming synapses grouped by postsynaptic position in `order`.
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    by_post = np.argsort(pos[network.post], kind="stable")
    in_pre = network.pre[by_post]
    in_ptr = syn_cum  # run [a, b) owns in_pre[in_ptr[a]:in_ptr[b]]

    def axons(a: int, b: int) -> int:
        return int(unique_ints(in_pre[in_ptr[a] : in_ptr[b]]).size)

    cluster_of = np.empty(n, dtype=np.int64)
    a, run = 0, 0
    while a < n:
        b = min(n, a + lim.n_max)
        if lim.syn_max is not None:
            b = min(b, int(np.searchsorted(syn_cum, syn_cum[a] + lim.syn_max, side="right")) - 1)
        if b <= a:
            neuron = int(order[a])
            return cluster_of, run, f"neuron {neuron} has {int(indeg[a])} synapses, more than syn_max={lim.syn_max}"
        if lim.a_max is not None and axons(a, b) > lim.a_max:
            lo, hi = a, b  # axons(a, lo) <= a_max < axons(a, hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if axons(a, mid) <= lim.a_max:
                    lo = mid
                else:
                    hi = mid
            b = lo
            if b <= a:
                neuron = int(order[a])
                return cluster_of, run, f"neuron {neuron} has {axons(a, a + 1)} presynaptic neurons, more than a_max={lim.a_max}"
        cluster_of[order[a:b]] = run
        a, run = b, run + 1
    return cluster_of, run, ""


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
