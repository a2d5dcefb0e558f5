"""Placing clusters on cores: simulated annealing and particle swarm.

The cluster traffic ``flow[a, b]`` (spike packets from cluster ``a`` to
cluster ``b``) is a sparse matrix; a placement ``pos[a]`` (distinct cores)
costs ``sum flow[a, b] * cost(pos[a], pos[b])`` with the hardware's packet
cost. This is a quadratic assignment problem; :func:`place_clusters` is the
one entry point, so an exact QAP solver can be plugged in for small core
counts (``method="qap"``). Partition-refine's ``"bisect-anneal"`` starts from
the cheaper of two recursive bisections onto the mesh (METIS halves, or the
graph's spectral coordinates) and anneals with moves beside the partners'
weighted median on a schedule fitted to its time.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pymetis
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from snnmap.formulations.arrays import unique_ints
from snnmap.formulations.qap import solve_qap
from snnmap.hardware import Hardware
from snnmap.heuristics.common import CostModel, Progress, Timer, report_progress, snake_order
from snnmap.heuristics.delta import pcost
from snnmap.heuristics.kernels import seed_numba
from snnmap.instances import SpikingNetwork

MEDIAN_MOVES = 0.2  # chance of a move beside the neighbours' weighted median in "bisect-anneal"
FIT_MARGIN = 0.9  # of the time left that a time-fitted annealing schedule plans to use


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
def move_change(ptr, idx, w, pos, a, x, y, skip, C):
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


@njit(cache=True, inline="always")
def swap_into(pos, occ, a, y):
    """Cluster ``a`` onto core ``y``; ``y``'s occupant, if any, onto ``a``'s old core."""
    x, b = pos[a], occ[y]
    pos[a] = y
    occ[y] = a
    occ[x] = b
    if b >= 0:
        pos[b] = x


@njit(cache=True)
def weighted_median(vals, wts):
    """The value at which the weights of ``vals`` (unsorted) first reach half their total."""
    order = np.argsort(vals)
    half = 0.5 * wts.sum()
    acc = 0.0
    for q in order:
        acc += wts[q]
        if acc >= half:
            return vals[q]
    return vals[order[-1]]


@njit(cache=True)
def _median_core(ptr, idx, w, pos, a, crow, ccol, tile_core, cpt):
    """A core on the tile at (or, jittered by one tile, beside) the weighted median of ``a``'s
    neighbours: where ``a`` alone costs least under Manhattan hops, each axis on its own."""
    lo, hi = ptr[a], ptr[a + 1]
    nb = pos[idx[lo:hi]]
    r = weighted_median(crow[nb], w[lo:hi]) + np.random.randint(-1, 2)
    c = weighted_median(ccol[nb], w[lo:hi]) + np.random.randint(-1, 2)
    r = min(max(r, 0), tile_core.shape[0] - 1)
    c = min(max(c, 0), tile_core.shape[1] - 1)
    return tile_core[r, c] + np.random.randint(cpt)


@njit(cache=True)
def _anneal(ptr, idx, w, pos, occ, movable, C, iters, t0, t1, radius, near_cores, tile_core, cpt, p_median):
    """Swap/move annealing on a symmetric flow (``ptr, idx, w``). Returns the cost change.

    A move goes to a core near the weighted median of the cluster's neighbours with
    chance ``p_median`` (mesh only: ``tile_core`` is the first core of every tile), else
    to one of ``near_cores`` or, with chance 0.2, anywhere."""
    p = pos.size
    k = occ.size
    crow, ccol = C[2], C[3]
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
        if p_median > 0.0 and ptr[a + 1] > ptr[a] and np.random.random() < p_median:
            y = _median_core(ptr, idx, w, pos, a, crow, ccol, tile_core, cpt)
        elif np.random.random() < 0.8 and near_cores.shape[1] > 0:
            y = near_cores[x, np.random.randint(near_cores.shape[1])]
        else:
            y = np.random.randint(k)
        if y == x:
            continue
        b = occ[y]
        if b >= 0 and not movable[b]:
            continue
        d = move_change(ptr, idx, w, pos, a, x, y, b, C)
        if b >= 0:
            d += move_change(ptr, idx, w, pos, b, y, x, a, C)
        if d <= 0.0 or np.random.random() < np.exp(-d / temp):
            swap_into(pos, occ, a, y)
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


def symmetric_flow(flow: sp.spmatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays (``indptr, indices, data``) of ``flow + flow.T`` without its diagonal."""
    s = (flow + flow.T).tocsr()
    s.setdiag(0)
    s.eliminate_zeros()
    return s.indptr.astype(np.int64), s.indices.astype(np.int64), s.data.astype(np.float64)


def initial_positions(num_clusters: int, hardware: Hardware) -> np.ndarray:
    """Clusters 0, 1, ... along the snake over the mesh (neighbouring clusters on neighbouring cores)."""
    return snake_order(hardware)[:num_clusters].copy()


def anneal_positions(flow: sp.spmatrix, hardware: Hardware, pos: np.ndarray, *, timer: Timer, seed: int,
                     effort: float = 1.0, fixed: np.ndarray | None = None, progress: Progress = None,
                     median: float = 0.0, fit_time: bool = False) -> np.ndarray:
    """Simulated annealing of cluster positions starting from ``pos`` (returns the best found).

    ``median`` is the chance that a proposed move goes next to the weighted median of the
    cluster's neighbours (XY meshes only): on meshes of thousands of cores a cluster whose
    partners lie far away reaches them in one step, not by a random walk of short moves.
    With ``fit_time`` the schedule shrinks to the iterations the timer leaves room for, so a
    long schedule cut by the time limit still ends cold instead of where it stood.
    """
    ptr, idx, w = symmetric_flow(flow)
    p, k = pos.size, hardware.num_cores
    pos = np.ascontiguousarray(pos, dtype=np.int64).copy()
    if p == 0 or w.size == 0:
        return pos
    C = CostModel.of(hardware).args()
    cpt = hardware.cores_per_tile
    if median > 0.0 and hardware.topology == "mesh" and hardware.chip_mesh is None:
        rows, cols = hardware.mesh  # type: ignore[misc]
        tile_core = (np.arange(rows * cols, dtype=np.int64) * cpt).reshape(rows, cols)
    else:
        tile_core, median = np.zeros((1, 1), dtype=np.int64), 0.0
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
    clock = time.perf_counter()
    try:
        while done < iters_total and not timer.expired():
            it = min(chunk, iters_total - done)
            # Each chunk is its own cooling stage of the global schedule.
            a = t0 * (t1 / t0) ** (done / iters_total)
            b = t0 * (t1 / t0) ** ((done + it) / iters_total)
            _anneal(ptr, idx, w, pos, occ, movable, C, it, a, b, 2, near, tile_core, cpt, median)
            done += it
            if fit_time and np.isfinite(timer.left()):
                # At the speed measured so far, end the schedule (cooled) when the time is up.
                rate = done / max(time.perf_counter() - clock, 1e-9)
                iters_total = max(done, min(iters_total, done + int(FIT_MARGIN * rate * timer.left())))
            report_progress(progress, done / iters_total)
    except KeyboardInterrupt:
        timer.interrupt()  # keep the placement so far; the result says it was interrupted
    return pos


def spectral_coordinates(flow: sp.spmatrix) -> np.ndarray | None:
    """Two coordinates per cluster from the cluster graph alone: the eigenvectors of the two
    smallest non-zero eigenvalues of its normalised Laplacian (the smoothest layouts of the graph:
    on an image layer cut into tiles, its rows and columns). ``None`` when they cannot be computed."""
    a = (flow + flow.T).tocsr().astype(np.float64)
    a.setdiag(0)
    a.eliminate_zeros()
    p = a.shape[0]
    if p < 8 or a.nnz == 0:
        return None
    deg = np.asarray(a.sum(axis=1)).ravel()
    inv = sp.diags(1.0 / np.sqrt(np.where(deg > 0, deg, 1.0)))
    lap = (sp.identity(p) - inv @ a @ inv).tocsc()
    try:  # shift-invert about just below zero: the smallest eigenvalues converge in a few steps
        vals, vecs = spla.eigsh(lap, k=3, sigma=-1e-3, which="LM", v0=np.ones(p))
    except (spla.ArpackError, RuntimeError):  # ARPACK did not converge or the factorisation failed
        return None
    order = np.argsort(vals)
    vals, vecs = vals[order], inv @ vecs[:, order]
    coords = vecs[:, 1:3]
    if abs(vals[2] - vals[1]) <= 1e-9:
        coords = _canonical_pair(coords)
    return np.ascontiguousarray(coords)


def _canonical_pair(coords: np.ndarray) -> np.ndarray:
    """One basis of a two-fold eigenspace, the same on every machine: the rotation whose coordinates have the
    least fourth moment (on a square image layer the eigenspace holds its rows and columns, and any rotation of
    them; the LAPACK build decides which one ARPACK returns)."""
    x, y = coords[:, 0], coords[:, 1]
    m = np.array([(x ** (4 - k) * y**k).sum() for k in range(5)])  # the five fourth moments
    theta = np.linspace(0.0, np.pi / 2, 2001)[:-1]
    c, s = np.cos(theta), np.sin(theta)
    binom = np.array([1.0, 4.0, 6.0, 4.0, 1.0])
    # sum of u^4 + v^4 for u = c x + s y, v = c y - s x, from the moments
    fourth = sum(binom[k] * m[k] * (c ** (4 - k) * s**k + (-s) ** (4 - k) * c**k) for k in range(5))
    best = int(np.argmin(fourth))
    pair = np.column_stack([c[best] * x + s[best] * y, c[best] * y - s[best] * x])
    # Each axis's sign: its largest entry positive.
    return pair * np.where(pair[np.abs(pair).argmax(axis=0), [0, 1]] < 0, -1.0, 1.0)


def bisection_positions(flow: sp.spmatrix, hardware: Hardware, *, seed: int = 0, leaf: int = 8,
                        coords: np.ndarray | None = None) -> np.ndarray:
    """Cores for the clusters by recursive bisection: METIS halves the cluster
    graph and the halves go to the two halves of the mesh region, down to
    single tiles or ``leaf`` clusters (placed along a snake in index order).
    With ``coords`` (two per cluster, e.g. :func:`spectral_coordinates`) each
    region's clusters are halved by the first coordinate where the region is
    cut across its rows and by the second where across its columns, down to single tiles.

    The region is the most nearly square block of tiles in the corner that holds
    the clusters (on a chip far larger than the clustering, a band of whole rows
    would stretch every path along the rows), so spare cores stay together. On chips of thousands of cores this
    start is far better than the snake (VGG16:full on 171 x 171 crossbars: 10.2 mJ
    after 3 s, against 34.2 mJ for the snake and 9.6 mJ for 40 s of annealing
    from it). Without a mesh (``matrix`` topology) the snake order is returned.
    """
    p = flow.shape[0]
    if hardware.topology == "matrix" or hardware.mesh is None or p <= leaf:
        return initial_positions(p, hardware)
    a = (flow + flow.T).tocsr().astype(np.float64)
    a.setdiag(0)
    a.eliminate_zeros()
    rows, cols = hardware.mesh
    cpt = hardware.cores_per_tile
    scale = 1000.0 / a.data.max() if a.nnz else 1.0
    pos = np.full(p, -1, dtype=np.int64)
    opts = pymetis.Options(seed=int(seed) % (2**31), ufactor=1)

    def leaf_cores(r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        tiles = [(r, c) for r in range(r0, r1)
                 for c in (range(c0, c1) if (r - r0) % 2 == 0 else range(c1 - 1, c0 - 1, -1))]
        return np.array([(r * cols + c) * cpt + t for r, c in tiles for t in range(cpt)], dtype=np.int64)

    def halve(members: np.ndarray, first: int, axis: int) -> np.ndarray:
        """0/1 side of each member, exactly ``first`` on side 0, few heavy edges cut."""
        if coords is not None:
            side = np.ones(members.size, dtype=np.int64)
            side[np.argsort(coords[members, axis], kind="stable")[:first]] = 0
            return side
        sub = a[members][:, members].tocsr()
        side = np.zeros(members.size, dtype=np.int64)
        if sub.nnz == 0:
            side[first:] = 1
            return side
        w = np.maximum(1, np.round(sub.data * scale)).astype(np.int64)
        _, parts = pymetis.part_graph(2, adjacency=pymetis.CSRAdjacency(sub.indptr, sub.indices),
                                      eweights=w, options=opts)
        side = np.asarray(parts, dtype=np.int64)
        extra = int((side == 0).sum()) - first
        if extra:
            src = 0 if extra > 0 else 1
            movers = np.flatnonzero(side == src)
            other = (side != src).astype(np.float64)
            pull = sub[movers] @ (2.0 * other - 1.0)  # traffic to the other side minus to its own
            side[movers[np.argsort(-pull, kind="stable")[:abs(extra)]]] = 1 - src
        return side

    tiles_needed = -(-p // cpt)
    height = min(rows, math.ceil(math.sqrt(tiles_needed)))
    width = min(cols, -(-tiles_needed // height))
    stack = [(np.arange(p), 0, min(rows, -(-tiles_needed // width)), 0, width)]
    while stack:
        members, r0, r1, c0, c1 = stack.pop()
        if (coords is None and members.size <= leaf) or (r1 - r0) * (c1 - c0) == 1:
            pos[members] = leaf_cores(r0, r1, c0, c1)[:members.size]
            continue
        if r1 - r0 >= c1 - c0:
            mid = (r0 + r1) // 2
            one, two = (r0, mid, c0, c1), (mid, r1, c0, c1)
        else:
            mid = (c0 + c1) // 2
            one, two = (r0, r1, c0, mid), (r0, r1, mid, c1)
        cap1 = (one[1] - one[0]) * (one[3] - one[2]) * cpt
        cap2 = (two[1] - two[0]) * (two[3] - two[2]) * cpt
        first = min(cap1, max(members.size - cap2, int(round(members.size * cap1 / (cap1 + cap2)))))
        side = halve(members, first, 0 if r1 - r0 >= c1 - c0 else 1)
        stack.append((members[side == 1], *two))
        stack.append((members[side == 0], *one))
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
    ptr, idx, w = symmetric_flow(flow)
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
        timer.interrupt()  # keep the best particle so far; the result says it was interrupted
    return _decode(pbest[g], p).astype(np.int64)


def placement_cost(flow: sp.spmatrix, hardware: Hardware, pos: np.ndarray) -> float:
    """``sum flow[a, b] * cost(pos[a], pos[b])`` (joules)."""
    f = flow.tocsr()
    return float(_place_cost(f.indptr.astype(np.int64), f.indices.astype(np.int64), f.data.astype(np.float64),
                             np.ascontiguousarray(pos, dtype=np.int64), CostModel.of(hardware).args()))


def place_clusters(flow: sp.spmatrix, hardware: Hardware, *, method: str = "anneal", time_limit: float | None = None,
                   seed: int = 0, start: np.ndarray | None = None, effort: float = 1.0, progress: Progress = None,
                   parent: Timer | None = None, layout: np.ndarray | None = None, **options: Any) -> np.ndarray:
    """Distinct cores for ``P`` clusters minimising their traffic cost.

    Parameters
    ----------
    flow
        ``P x P`` spike packets between clusters (sparse or dense).
    method
        ``"anneal"`` (default), ``"pso"``, ``"snake"`` (clusters along the
        mesh snake, no search), ``"bisect"`` (recursive bisection, see
        :func:`bisection_positions`), ``"bisect-anneal"`` (annealing from
        it) or ``"qap"`` (exact QAP of ``formulations.qap.solve_qap``, for
        small core counts).
    start
        Initial positions (default: snake order).
    parent
        The calling method's :class:`Timer`: a Ctrl-C caught here marks it interrupted too.
    layout
        Two coordinates per cluster (e.g. :func:`heuristics.aligned.image_layout`): with ``"bisect"``
        and ``"bisect-anneal"`` one more bisection start, by them.

    Returns
    -------
    numpy.ndarray
        Core of every cluster.
    """
    flow = sp.csr_matrix(flow)
    p = flow.shape[0]
    if p > hardware.num_cores:
        raise ValueError(f"{p} clusters do not fit the {hardware.num_cores} cores of {hardware.name}")
    timer = Timer(time_limit, parent=parent)
    pos = initial_positions(p, hardware) if start is None else np.asarray(start, dtype=np.int64)
    if method == "snake":
        return pos
    # "bisect-anneal" is partition-refine's: median moves and a time-fitted schedule (plain "anneal" is SNEAP's).
    median = MEDIAN_MOVES if method == "bisect-anneal" else 0.0
    if method in ("bisect", "bisect-anneal"):
        pos = bisection_positions(flow, hardware, seed=seed)
        coords = spectral_coordinates(flow) if hardware.mesh is not None and hardware.topology != "matrix" else None
        # The graph's own smooth layout keeps an image's rows and columns apart where METIS
        # halves may turn them at every level, and the caller's layout (an image's geometry)
        # lays the layers out over one another; the cheapest of the starts is kept.
        for xy in (coords, layout if hardware.mesh is not None and hardware.topology != "matrix" else None):
            if xy is not None:
                other = bisection_positions(flow, hardware, coords=xy)
                if placement_cost(flow, hardware, other) < placement_cost(flow, hardware, pos):
                    pos = other
        if method == "bisect":
            return pos
        method = "anneal"
    if method == "anneal":
        return anneal_positions(flow, hardware, pos, timer=timer, seed=seed, effort=effort, progress=progress,
                                median=median, fit_time=median > 0.0)
    if method == "pso":
        return pso_positions(flow, hardware, timer=timer, seed=seed, start=pos, **options)
    if method == "qap":
        # Clusters are facilities, cores are locations (m >= n: no padding needed).
        cost = np.array(hardware.cost_matrix, dtype=np.float64)
        res = solve_qap(flow.toarray(), cost, time_limit=time_limit, seed=seed, start=pos, **options)
        return np.asarray(res.assignment, dtype=np.int64)
    raise ValueError(f"unknown placement method {method!r}: use 'anneal', 'bisect-anneal', 'bisect', 'pso', "
                     "'snake' or 'qap'")
