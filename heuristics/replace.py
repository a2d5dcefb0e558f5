"""Re-placing a finished mapping's cores: whole-core moves and swaps toward their partners' median.

The neuron refinement (:mod:`heuristics.refine`) changes which neurons share a
core, so the cores' positions, chosen for the clustering it started from, go
stale: a core that ends up feeding cores elsewhere on the mesh stays where its
old partners were. Moving a core's whole contents to another core keeps every
per-core limit and the count of cores used (so the static energy), and on an XY
mesh changes only the packet energy: ``sum flow[a, b] * cost(pos[a], pos[b])``
over the used cores, with the cluster flow of :func:`heuristics.placement.cluster_flow`.
:func:`replace_cores` lowers it by steepest descent: every core in turn tries
the cores around the weighted median of its partners (where it alone costs
least, each mesh axis on its own), moving to an empty one or swapping with the
occupant, with the exact change of both.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from snnmap.formulations.arrays import unique_ints
from snnmap.hardware import Hardware
from snnmap.heuristics.common import CostModel, Timer
from snnmap.heuristics.placement import cluster_flow, move_change, swap_into, symmetric_flow, weighted_median
from snnmap.heuristics.regroup import regroup_targets
from snnmap.instances import SpikingNetwork

RADIUS = 2  # tiles around the median tried per core (a (2R+1)^2 window)
MIN_GAIN = 2e-4  # relative gain of a round below which the descent stops (later rounds gain little: AlexNet)


@njit(cache=True)
def _nearest_free(ptr, idx, w, pos, occ, a, x, r0, c0, radius, tile_core, cpt, tol, C):
    """The best free core on the nearest ring (beyond ``radius`` tiles) around tile ``(r0, c0)`` that holds
    one, if moving ``a`` there from ``x`` gains: on a chip far larger than the clusters, a core left
    outside the used block comes back to its border instead of staying out for want of a swap."""
    rows, cols = tile_core.shape
    for d in range(radius + 1, rows + cols):
        best, best_y, seen = -tol, -1, False
        for r in range(max(r0 - d, 0), min(r0 + d + 1, rows)):
            span = d - abs(r - r0)  # the two tiles of row r at Manhattan distance d (one when span is 0)
            for c in (c0 - span, c0 + span) if span else (c0, -1):
                if c < 0 or c >= cols:
                    continue
                for t in range(cpt):
                    y = tile_core[r, c] + t
                    if occ[y] >= 0 or y == x:
                        continue
                    seen = True
                    g = move_change(ptr, idx, w, pos, a, x, y, -1, C)
                    if g < best:
                        best, best_y = g, y
        if seen:
            return best_y
    return -1


@njit(cache=True)
def _descend(ptr, idx, w, pos, occ, C, tile_core, cpt, radius, order, tol):
    """One round: each cluster of ``order`` takes the best improving move or swap in the window around
    its partners' weighted median. Returns the (negative) cost change and the number of changes made."""
    crow, ccol = C[2], C[3]
    rows, cols = tile_core.shape
    total = 0.0
    made = 0
    for a in order:
        lo, hi = ptr[a], ptr[a + 1]
        if hi == lo:
            continue
        nb = pos[idx[lo:hi]]
        r0 = weighted_median(crow[nb], w[lo:hi])
        c0 = weighted_median(ccol[nb], w[lo:hi])
        x = pos[a]
        best, best_y = -tol, -1
        for r in range(max(r0 - radius, 0), min(r0 + radius + 1, rows)):
            for c in range(max(c0 - radius, 0), min(c0 + radius + 1, cols)):
                for t in range(cpt):
                    y = tile_core[r, c] + t
                    if y == x:
                        continue
                    b = occ[y]
                    d = move_change(ptr, idx, w, pos, a, x, y, b, C)
                    if b >= 0:
                        d += move_change(ptr, idx, w, pos, b, y, x, a, C)
                    if d < best:
                        best, best_y = d, y
        if best_y < 0:
            best_y = _nearest_free(ptr, idx, w, pos, occ, a, x, r0, c0, radius, tile_core, cpt, tol, C)
            best = 0.0 if best_y < 0 else move_change(ptr, idx, w, pos, a, x, best_y, -1, C)
        if best_y >= 0:
            swap_into(pos, occ, a, best_y)
            total += best
            made += 1
    return total, made


def replace_cores(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray, *, comm: str | None = None,
                  timer: Timer | None = None, seed: int = 0, max_rounds: int = 50) -> np.ndarray:
    """``core_of`` with its used cores re-placed to lower the packet energy (exact changes, so never higher
    on the packet energy; every core keeps its contents, so every core limit holds).

    Parameters
    ----------
    core_of
        A mapping (returned unchanged on chips other than one XY mesh, or when neurons are pinned).
    timer
        Budget: no further round once it has expired (one round always runs).
    seed
        Order in which the cores are visited (the same seed gives the same mapping).
    max_rounds
        Rounds of descent at most (each visits every used core once).

    Returns
    -------
    numpy.ndarray
        The new core of every neuron.
    """
    core_of = np.ascontiguousarray(core_of, dtype=np.int64)
    pinned = network.pins is not None and bool(np.any(network.pins >= 0))
    if hardware.topology != "mesh" or hardware.mesh is None or hardware.chip_mesh is not None or pinned:
        return core_of
    timer = timer or Timer(None)
    comm_model = hardware.comm if comm is None else comm
    used, cluster_of = unique_ints(core_of, return_inverse=True)
    ptr, idx, w = symmetric_flow(cluster_flow(network, cluster_of, used.size, comm_model))
    if w.size == 0:
        return core_of
    rows, cols = hardware.mesh  # type: ignore[misc]
    cpt = hardware.cores_per_tile
    tile_core = (np.arange(rows * cols, dtype=np.int64) * cpt).reshape(rows, cols)
    C = CostModel.of(hardware).args()
    pos = used.astype(np.int64)
    occ = np.full(hardware.num_cores, -1, dtype=np.int64)
    occ[pos] = np.arange(pos.size)
    # The cost of the placement (twice the packet energy: the symmetric flow counts every packet twice).
    scale = float(np.sum(w * hardware.packet_cost(pos[np.repeat(np.arange(pos.size), np.diff(ptr))], pos[idx])))
    rng = np.random.default_rng(seed)
    for _ in range(max_rounds):  # one round at least: the caller's time may be spent on the flow
        gain, made = _descend(ptr, idx, w, pos, occ, C, tile_core, cpt, RADIUS,
                              rng.permutation(pos.size).astype(np.int64), 1e-12 * scale)
        if made == 0 or -gain <= MIN_GAIN * scale or timer.expired():
            break
    return pos[cluster_of]


def settle_cores(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray, *, comm: str | None = None,
                 timer: Timer | None = None, seed: int = 0) -> np.ndarray:
    """A finished mapping with its partial sums' targets regrouped (:func:`heuristics.regroup.regroup_targets`)
    and its cores re-placed (:func:`replace_cores`). Every core limit holds; the energy is not evaluated
    here (the caller compares it with ``core_of``'s: a latency limit may refuse the new mapping)."""
    grouped = regroup_targets(network, hardware, core_of, comm=comm)
    return replace_cores(network, hardware, grouped, comm=comm, timer=timer, seed=seed)
