"""Placing clusters on cores: simulated annealing and particle swarm.

The cluster traffic ``flow[a, b]`` (spike packets from cluster ``a`` to
cluster ``b``) is a sparse matrix; a placement ``pos[a]`` (distinct cores)
costs ``sum flow[a, b] * cost(pos[a], pos[b])`` with the hardware's packet
cost. This is a quadratic assignment problem; :func:`place_clusters` is the
one entry point, so an exact QAP solver can be plugged in for small core
counts (``method="qap"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from formulations.arrays import unique_ints
import scipy.sparse as sp
from numba import njit

from hardware import Hardware
from heuristics.common import CostModel, Progress, Timer, report_progress, snake_order
from heuristics.delta import pcost
from heuristics.kernels import seed_numba
from instances import SpikingNetwork


def cluster_flow(network: SpikingNetwork, cluster_of: np.ndarray, num_clusters: int, comm: str) -> sp.csr_matrix:
    """Spike packets between clusters: per (neuron, destination cluster) for
    multicast, per synapse for unicast; the diagonal (inside a cluster) is dropped."""
    src = cluster_of[network.pre]
    dst = cluster_of[network.post]
    if comm == "multicast":
        key = unique_ints(network.pre * np.int64(num_clusters) + dst)
        nrn, dst = key // num_clusters, key % num_clusters
        src, w = cluster_of[nrn], network.spikes[nrn]
    else:
        w = network.spikes[network.pre]
    keep = src != dst
    f = sp.coo_matrix((w[keep], (src[keep], dst[keep])), shape=(num_clusters, num_clusters)).tocsr()
    f.sum_duplicates()
    return f


@njit(cache=True)
def _place_cost(ptr, idx, w, pos, C):
    ip, ep, crow, ccol, hopm = C
    tot = 0.0
    for a in range(ptr.size - 1):
        for q in range(ptr[a], ptr[a + 1]):
            tot += w[q] * pcost(pos[a], pos[idx[q]], ip, ep, crow, ccol, hopm)
    return tot


@njit(cache=True)
def _side(ptr, idx, w, pos, a, x, y, skip, C):
    """Cost change of cluster ``a`` alone moving from core ``x`` to ``y`` (edges to ``skip`` ignored)."""
    ip, ep, crow, ccol, hopm = C
    d = 0.0
    for q in range(ptr[a], ptr[a + 1]):
        b = idx[q]
        if b == skip:
            continue
        pb = pos[b]
        d += w[q] * (pcost(y, pb, ip, ep, crow, ccol, hopm) - pcost(x, pb, ip, ep, crow, ccol, hopm))
    return d


@njit(cache=True)
def _anneal(ptr, idx, w, pos, occ, movable, C, iters, t0, t1, radius, near_cores):
    """Swap/move annealing on a symmetric flow (``ptr, idx, w``). Returns the cost change."""
    p = pos.size
    k = occ.size
    total = 0.0
    best = 0.0
    best_pos = pos.copy()
    alpha = (t1 / t0) ** (1.0 / max(iters, 1))
    temp = t0
    for it in range(iters):
        temp *= alpha
        a = np.random.randint(p)
        if not movable[a]:
            continue
        x = pos[a]
        if np.random.random() < 0.8 and near_cores.shape[1] > 0:
            y = near_cores[x, np.random.randint(near_cores.shape[1])]
        else:
            y = np.random.randint(k)
        if y == x:
            continue
        b = occ[y]
        if b >= 0 and not movable[b]:
            continue
        d = _side(ptr, idx, w, pos, a, x, y, b, C)
        if b >= 0:
            d += _side(ptr, idx, w, pos, b, y, x, a, C)
        if d <= 0.0 or np.random.random() < np.exp(-d / temp):
            pos[a] = y
            occ[y] = a
            occ[x] = b
            if b >= 0:
                pos[b] = x
            total += d
            if total < best:
                best = total
                best_pos[:] = pos
    # Return to the best placement seen.
    for c in range(k):
        occ[c] = -1
    for a in range(p):
        pos[a] = best_pos[a]
        occ[pos[a]] = a
    return best


def _near_table(hardware: Hardware, width: int = 24) -> np.ndarray:
    """For every core, ``width`` cores among its nearest (by packet cost), for local proposals."""
    k = hardware.num_cores
    width = min(width, k - 1)
    if width <= 0:
        return np.zeros((k, 0), dtype=np.int64)
    if k <= 4096:
        cm = np.asarray(hardware.cost_matrix).copy()
        np.fill_diagonal(cm, np.inf)
        return np.argsort(cm, axis=1, kind="stable")[:, :width].astype(np.int64)
    # Large meshes: a square window of cores around each core (cheap, no K x K matrix).
    co = np.asarray(hardware.coords)
    rows, cols = hardware.mesh  # type: ignore[misc]
    cpt = hardware.cores_per_tile
    r = 2
    offs = np.array([(dr, dc) for dr in range(-r, r + 1) for dc in range(-r, r + 1) if (dr, dc) != (0, 0)])
    rr = np.clip(co[:, 0][:, None] + offs[None, :, 0], 0, rows - 1)
    cc = np.clip(co[:, 1][:, None] + offs[None, :, 1], 0, cols - 1)
    return ((rr * cols + cc) * cpt).astype(np.int64)


def _symmetric(flow: sp.spmatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = (flow + flow.T).tocsr()
    s.setdiag(0)
    s.eliminate_zeros()
    return s.indptr.astype(np.int64), s.indices.astype(np.int64), s.data.astype(np.float64)


def initial_positions(num_clusters: int, hardware: Hardware) -> np.ndarray:
    """Clusters 0, 1, ... along the snake over the mesh (neighbouring clusters on neighbouring cores)."""
    return snake_order(hardware)[:num_clusters].copy()


def anneal_positions(flow: sp.spmatrix, hardware: Hardware, pos: np.ndarray, *, timer: Timer, seed: int,
                     effort: float = 1.0, fixed: np.ndarray | None = None, progress: Progress = None) -> np.ndarray:
    """Simulated annealing of cluster positions starting from ``pos`` (returns the best found)."""
    ptr, idx, w = _symmetric(flow)
    p, k = pos.size, hardware.num_cores
    pos = np.ascontiguousarray(pos, dtype=np.int64).copy()
    if p == 0 or w.size == 0:
        return pos
    C = CostModel.of(hardware).args()
    occ = np.full(k, -1, dtype=np.int64)
    occ[pos] = np.arange(p)
    movable = np.ones(p, dtype=np.bool_) if fixed is None else ~fixed
    near = _near_table(hardware)
    rng = np.random.default_rng(seed)
    seed_numba(int(rng.integers(0, 2**31 - 1)))
    # Temperature from the typical cost of one cluster's traffic moving one hop.
    e = hardware.energy
    hop = max(min(e.hop_x, e.hop_y), 1e-30) if hardware.topology != "matrix" else max(e.e_hop, 1e-30)
    t0 = float(np.median(np.add.reduceat(w, ptr[:-1][np.diff(ptr) > 0]))) * hop * 0.5
    t1 = t0 * 1e-4
    iters_total = int(effort * max(20000, 400 * p))
    chunk = 200000
    done = 0
    try:
        while done < iters_total and not timer.expired():
            it = min(chunk, iters_total - done)
            # Each chunk is its own cooling stage of the global schedule.
            a = t0 * (t1 / t0) ** (done / iters_total)
            b = t0 * (t1 / t0) ** ((done + it) / iters_total)
            _anneal(ptr, idx, w, pos, occ, movable, C, it, a, b, 2, near)
            done += it
            report_progress(progress, done / iters_total)
    except KeyboardInterrupt:
        pass
    return pos


@njit(cache=True)
def _decode(keys, p):
    return np.argsort(keys)[:p]


def pso_positions(flow: sp.spmatrix, hardware: Hardware, *, timer: Timer, seed: int, particles: int = 20,
                  iterations: int = 100, start: np.ndarray | None = None) -> np.ndarray:
    """Particle-swarm placement (SpiNeMap-style) with random-key decoding.

    A particle is a real key per core; the clusters take the cores with the
    ``P`` smallest keys, in key order. Velocities follow the standard
    inertia / cognitive / social update. One particle starts at ``start``.
    """
    ptr, idx, w = _symmetric(flow)
    p, k = flow.shape[0], hardware.num_cores
    C = CostModel.of(hardware).args()
    rng = np.random.default_rng(seed)
    x = rng.random((particles, k))
    if start is not None:
        x[0] = k  # cores outside the placement last, in any order
        x[0, start] = np.arange(p)
        x[0] /= k
    v = np.zeros_like(x)

    def cost(keys: np.ndarray) -> float:
        return float(_place_cost(ptr, idx, w, _decode(keys, p), C)) * 0.5

    fit = np.array([cost(xi) for xi in x])
    pbest, pfit = x.copy(), fit.copy()
    g = int(np.argmin(pfit))
    try:
        for _ in range(iterations):
            if timer.expired():
                break
            r1, r2 = rng.random(x.shape), rng.random(x.shape)
            v = 0.7 * v + 1.5 * r1 * (pbest - x) + 1.5 * r2 * (pbest[g] - x)
            x = x + v
            fit = np.array([cost(xi) for xi in x])
            better = fit < pfit
            pbest[better], pfit[better] = x[better], fit[better]
            g = int(np.argmin(pfit))
    except KeyboardInterrupt:
        pass
    return _decode(pbest[g], p).astype(np.int64)


def placement_cost(flow: sp.spmatrix, hardware: Hardware, pos: np.ndarray) -> float:
    """``sum flow[a, b] * cost(pos[a], pos[b])`` (joules)."""
    f = flow.tocsr()
    return float(_place_cost(f.indptr.astype(np.int64), f.indices.astype(np.int64), f.data.astype(np.float64),
                             np.ascontiguousarray(pos, dtype=np.int64), CostModel.of(hardware).args()))


def place_clusters(flow: sp.spmatrix, hardware: Hardware, *, method: str = "anneal", time_limit: float | None = None,
                   seed: int = 0, start: np.ndarray | None = None, effort: float = 1.0, progress: Progress = None,
                   **options: Any) -> np.ndarray:
    """Distinct cores for ``P`` clusters minimising their traffic cost.

    Parameters
    ----------
    flow
        ``P x P`` spike packets between clusters (sparse or dense).
    method
        ``"anneal"`` (default), ``"pso"``, ``"snake"`` (clusters along the
        mesh snake, no search) or ``"qap"`` (exact QAP of
        ``formulations.qap.solve_qap``, for small core counts).
    start
        Initial positions (default: snake order).

    Returns
    -------
    numpy.ndarray
        Core of every cluster.
    """
    flow = sp.csr_matrix(flow)
    p = flow.shape[0]
    if p > hardware.num_cores:
        raise ValueError(f"{p} clusters do not fit the {hardware.num_cores} cores of {hardware.name}")
    timer = Timer(time_limit)
    pos = initial_positions(p, hardware) if start is None else np.asarray(start, dtype=np.int64)
    if method == "snake":
        return pos
    if method == "anneal":
        return anneal_positions(flow, hardware, pos, timer=timer, seed=seed, effort=effort, progress=progress)
    if method == "pso":
        return pso_positions(flow, hardware, timer=timer, seed=seed, start=pos, **options)
    if method == "qap":
        from formulations.qap import solve_qap  # provided by the exact-placement work

        # Clusters are facilities, cores are locations (m >= n: no padding needed).
        cost = np.array(hardware.cost_matrix, dtype=np.float64)
        res = solve_qap(flow.toarray(), cost, time_limit=time_limit, seed=seed, start=pos, **options)
        return np.asarray(res.assignment, dtype=np.int64)
    raise ValueError(f"unknown placement method {method!r}: use 'anneal', 'pso', 'snake' or 'qap'")
