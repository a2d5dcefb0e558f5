"""Compile, or load from numba's on-disk cache, every numba kernel before any timer starts.

numba compiles a kernel on its first call: on a fresh clone the heuristics'
and the QAP solvers' kernels take about 30 s, which used to land inside the
first method's time limit (LeNet:mini partition-refine then stopped 1.08 %
above the optimum). :func:`warm_up` calls every kernel once on a tiny
instance, with arguments built as a real run builds them (through the drivers,
except those of the modules that import this one), so it compiles exactly the
signatures a run needs: numba keys a compiled kernel by its argument types,
read-only arrays included. Every kernel has ``cache=True``, so later processes
load them from ``__pycache__`` (or ``NUMBA_CACHE_DIR``) in a fraction of a
second. Every heuristic's ``solve`` calls :func:`warm_up` before its timer
starts; a test checks that a full run compiles nothing after it.
"""

from __future__ import annotations

import numpy as np
from numba.core import event

from snnmap.formulations.bounds import combinatorial_lower_bound
from snnmap.formulations.qap.bnb import branch_and_bound
from snnmap.formulations.qap.heuristic import anneal
from snnmap.hardware import Hardware, load_hardware
from snnmap.heuristics.common import (
    CostModel,
    Progress,
    member_stride,
    new_state,
    report_progress,
    snake_order,
)
from snnmap.heuristics.kernels import greedy_place, place_pins, random_place, seed_numba
from snnmap.heuristics.partition import fill_order, merge_clusters, metis_clusters
from snnmap.heuristics.placement import cluster_flow, place_clusters, placement_cost
from snnmap.heuristics.refine import refine
from snnmap.heuristics.replace import settle_cores
from snnmap.heuristics.tiling import tiling_clusters
from snnmap.instances import SpikingNetwork

COMPILING = "compiling kernels, first run only"

_warm = False  # set once this process has every kernel


class _CompileNotice(event.Listener):
    """Reports :data:`COMPILING` once, when numba starts compiling (a cache miss)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.compiled = False

    def on_start(self, ev: event.Event) -> None:
        if not self.compiled:
            self.compiled = True
            report_progress(self.progress, COMPILING)

    def on_end(self, ev: event.Event) -> None:
        pass


def warm_up(progress: Progress = None) -> bool:
    """Compile or load every numba kernel of the heuristics and the QAP solvers.

    Parameters
    ----------
    progress
        Receives ``"compiling kernels, first run only"`` once, when a kernel is
        not in numba's cache and has to be compiled; nothing on a warm cache.

    Returns
    -------
    bool
        Whether anything had to be compiled. After the first call in a
        process, returns ``False`` at once.
    """
    global _warm
    if _warm:
        return False
    notice = _CompileNotice(progress)
    with event.install_listener("numba:compile", notice):
        _run_every_kernel()
    _warm = True
    return notice.compiled


def _tiny_instance() -> tuple[SpikingNetwork, SpikingNetwork, Hardware]:
    """A 10-neuron chain-with-skips network (and a copy with one pinned neuron) on a 2 x 2 mesh
    with power gating, so that every driver branch that calls a kernel is taken."""
    n = 10
    pre = np.concatenate([np.arange(n - 1), np.arange(n - 2), [3]])
    post = np.concatenate([np.arange(1, n), np.arange(2, n), [3]])  # and a self-synapse
    spikes = np.arange(1.0, n + 1.0)
    net = SpikingNetwork.from_edges(n, pre, post, spikes, t_run=1.0, name="warm-up")
    pins = np.full(n, -1, dtype=np.int64)
    pins[0] = 0
    pinned = SpikingNetwork.from_edges(n, pre, post, spikes, t_run=1.0, pins=pins, name="warm-up-pinned")
    hw = load_hardware("crossbar-mini", mesh=(2, 2), n_max=4)
    return net, pinned, hw


def _run_every_kernel() -> None:
    """One call of every kernel, with arguments built as in a real run."""
    net, pinned, hw = _tiny_instance()
    comm = hw.comm
    C = CostModel.of(hw).args()
    order = np.arange(net.num_neurons, dtype=np.int64)
    # Constructive heuristics (as greedy.greedy_mapping and random_map.solve call them):
    # pins, greedy placement, random placement.
    st = new_state(pinned, hw, comm)
    place_pins(st.args(), member_stride(st), C, np.ascontiguousarray(pinned.pins, dtype=np.int64))
    greedy_place(st.args(), member_stride(st), C, order, snake_order(hw), 8, -1)
    st = new_state(net, hw, comm)
    seed_numba(0)
    random_place(st.args(), member_stride(st), C, order, 2)
    # Clusterings: ordered runs (sequential fill, METIS split), layer tiling and traffic merging.
    core_of, _, _ = fill_order(net, hw)
    metis_clusters(net, hw, comm=comm)
    tiling_clusters(net, hw)
    cluster_of, k = merge_clusters(net, hw, comm=comm)
    # Cluster placement: annealing and particle swarm.
    flow = cluster_flow(net, cluster_of, k, comm)
    pos = place_clusters(flow, hw, method="anneal", seed=0, effort=0.01)
    place_clusters(flow, hw, method="pso", seed=0, iterations=1, particles=2)
    placement_cost(flow, hw, pos)
    # Local search: the state's placement and energy, moves, swaps, emptying cores.
    refine(net, hw, core_of, max_passes=1)
    # Settling (partition-refine's last step): two targets of two partial sums each, regrouped, cores re-placed.
    sums = SpikingNetwork.from_edges(6, [2, 3, 4, 5], [0, 0, 1, 1], np.ones(6), name="warm-up-sums")
    settle_cores(sums, hw, np.array([0, 1, 2, 2, 3, 3]))
    # QAP on writable arrays (as placement passes them): branch and bound one node at a time,
    # on an instance whose root bound is not tight (so its search loop and open-node bound
    # run), and annealing.
    flow_q = np.array([[0, 5, 4, 2], [2, 0, 0, 0], [1, 7, 0, 8], [4, 5, 8, 0]], dtype=np.float64)
    dist = np.array([[0, 12, 10, 10, 4], [12, 0, 2, 5, 10], [10, 2, 0, 13, 11], [10, 5, 13, 0, 9],
                     [4, 10, 11, 9, 0]], dtype=np.float64)
    branch_and_bound(flow_q, dist, heuristic=False, node_chunk=1, progress=lambda _: None, report_every=0.0)
    anneal(flow_q, dist, start=np.arange(4), restarts=1, moves=10)
    # The combinatorial bound every Result checks (its input-axon and hop-coupling kernels).
    combinatorial_lower_bound(net, hw)
