"""Clustering neurons into core-feasible clusters.

- :func:`cut_runs`: neurons in a given order cut into consecutive runs that
  respect ``n_max``, ``a_max`` and ``syn_max``, never spanning two groups
  (used to make any partition core-feasible, and as a fast partition of its
  own on networks too large for METIS); :func:`fill_order` is the
  sequential fill built on it (the ``sequential`` baseline's mapping).
- :func:`metis_clusters`: METIS (pymetis) on the symmetrised synapse graph
  weighted by spike traffic, then split to core-feasible clusters.
- :func:`merge_clusters`: SpiNeMap-style agglomeration: heaviest-traffic
  pairs of clusters merge while the result fits a core.

``dest_max`` is not a cluster property; the placement and local search check it.
"""

from __future__ import annotations

import math

import numpy as np
import pymetis
import scipy.sparse as sp
from numba import njit, types
from numba.typed import Dict

from snnmap.formulations.arrays import unique_ints
from snnmap.hardware import Hardware
from snnmap.heuristics.common import BIG, in_csr
from snnmap.instances import SpikingNetwork

METIS_MAX_EDGES = 3_000_000  # beyond this METIS takes minutes on 2 cores; use ordered runs
METIS_MAX_PARTS = 1500


def core_limits(hardware: Hardware) -> tuple[int, int, int]:
    """``(n_max, a_max, syn_max)`` as integers, a limit the hardware does not set as a huge one."""
    lim = hardware.limits
    return (int(lim.n_max), int(lim.a_max) if lim.a_max is not None else int(BIG),
            int(lim.syn_max) if lim.syn_max is not None else int(BIG))


@njit(cache=True)
def _cut_runs(order, group, in_ptr, in_idx, n_max, a_max, syn_max):
    n = order.size
    stamp = np.full(n, -1, np.int64)
    out = np.empty(n, np.int64)
    run = -1
    cnt = n_max
    syn = 0
    ax = 0
    prev_g = -1
    for t in range(n):
        i = order[t]
        g = group[i]
        deg = in_ptr[i + 1] - in_ptr[i]
        new = 0
        if g == prev_g and cnt < n_max and syn + deg <= syn_max:
            for q in range(in_ptr[i], in_ptr[i + 1]):
                if stamp[in_idx[q]] != run:
                    new += 1
        if g != prev_g or cnt >= n_max or syn + deg > syn_max or ax + new > a_max:
            run += 1
            cnt = 0
            syn = 0
            ax = 0
            new = deg
            prev_g = g
        for q in range(in_ptr[i], in_ptr[i + 1]):
            stamp[in_idx[q]] = run
        cnt += 1
        syn += deg
        ax += new
        out[i] = run
    return out, run + 1


def cut_runs(network: SpikingNetwork, hardware: Hardware, order: np.ndarray | None = None,
             group: np.ndarray | None = None, csr: tuple[np.ndarray, np.ndarray] | None = None
             ) -> tuple[np.ndarray, int]:
    """Cut neurons in ``order`` into core-feasible runs that never span two ``group`` values.

    Returns ``(cluster_of, num_clusters)``. A single neuron that breaks a
    limit alone still gets its own run (the caller's precheck reports it).
    ``csr`` is :func:`heuristics.common.in_csr` of the network when the caller has it already.
    """
    n = network.num_neurons
    order = np.arange(n, dtype=np.int64) if order is None else np.ascontiguousarray(order, dtype=np.int64)
    group = np.zeros(n, dtype=np.int64) if group is None else np.ascontiguousarray(group, dtype=np.int64)
    in_ptr, in_idx = in_csr(network) if csr is None else csr
    # in_csr lists presynaptic neurons with repeats only for parallel synapses, which the network forbids.
    out, k = _cut_runs(order, group, in_ptr, in_idx, *core_limits(hardware))
    return out, int(k)


def fill_order(network: SpikingNetwork, hardware: Hardware,
               order: np.ndarray | None = None) -> tuple[np.ndarray, int, str]:
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
    :func:`cut_runs`, linear in the synapses.
    """
    n = network.num_neurons
    lim = hardware.limits
    order = np.arange(n, dtype=np.int64) if order is None else np.asarray(order, dtype=np.int64)
    indeg = network.in_degree[order]
    # Parallel synapses are forbidden, so a neuron's synapses are its distinct presynaptic neurons.
    for cap, what in ((lim.syn_max, "synapses, more than syn_max"),
                      (lim.a_max, "presynaptic neurons, more than a_max")):
        if cap is not None and n and int(indeg.max()) > cap:
            at = int(np.argmax(indeg > cap))
            return np.zeros(n, dtype=np.int64), 0, f"neuron {int(order[at])} has {int(indeg[at])} {what}={cap}"
    cluster_of, runs = cut_runs(network, hardware, order)
    return cluster_of, runs, ""


def traffic_graph(network: SpikingNetwork, comm: str, n_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric neuron graph (CSR ``xadj, adjncy, weights``) weighted by spike traffic.

    Unicast pays per synapse, so a synapse weighs ``s_pre``. Multicast pays
    per destination core (a hypergraph connectivity cost); in the clique
    expansion a synapse of a neuron with ``d`` targets weighs
    ``s_pre * min(1, n_max / d)``: its targets need at least ``d / n_max``
    cores anyway, so each one matters less.
    """
    n = network.num_neurons
    w = network.spikes[network.pre].astype(np.float64)
    if comm == "multicast":
        d = np.maximum(network.out_degree[network.pre], 1)
        w = w * np.minimum(1.0, n_max / d)
    keep = network.pre != network.post
    a = sp.coo_matrix((w[keep], (network.pre[keep], network.post[keep])), shape=(n, n)).tocsr()
    a = (a + a.T).tocsr()
    a.sort_indices()
    vals = a.data
    scale = 1000.0 / vals.max() if vals.size and vals.max() > 0 else 1.0
    iw = np.maximum(1, np.round(vals * scale)).astype(np.int64)
    return a.indptr.astype(np.int64), a.indices.astype(np.int64), iw


def metis_parts(network: SpikingNetwork, nparts: int, seed: int, comm: str, n_max: int) -> np.ndarray:
    """METIS k-way partition of the traffic graph into ``nparts`` balanced parts."""
    if nparts <= 1:
        return np.zeros(network.num_neurons, dtype=np.int64)
    xadj, adjncy, w = traffic_graph(network, comm, n_max)
    opts = pymetis.Options(seed=int(seed) % (2**31), ufactor=30)
    adj = pymetis.CSRAdjacency(xadj, adjncy)
    _, parts = pymetis.part_graph(int(nparts), adjacency=adj, eweights=w, options=opts)
    return np.asarray(parts, dtype=np.int64)


def metis_clusters(network: SpikingNetwork, hardware: Hardware, *, comm: str, seed: int = 0,
                   nparts: int | None = None) -> tuple[np.ndarray, int]:
    """METIS parts split into core-feasible clusters (``cluster_of``, count).

    ``nparts`` defaults to the number of cores a sequential fill needs. On
    networks beyond :data:`METIS_MAX_EDGES` synapses (or too many parts), and
    when the split parts need more cores than the chip has, the ordered runs
    of :func:`cut_runs` are returned instead.
    """
    if nparts is None:
        _, nparts = cut_runs(network, hardware)
    if network.num_synapses > METIS_MAX_EDGES or nparts > METIS_MAX_PARTS:
        return cut_runs(network, hardware)
    parts = metis_parts(network, nparts, seed, comm, hardware.limits.n_max)
    # Within a part keep index order: neighbours in the network stay neighbours in a run.
    order = np.lexsort((np.arange(network.num_neurons), parts))
    grouped = cut_runs(network, hardware, order, parts)
    # Splitting parts on a_max can leave many small pieces; runs may instead
    # continue into the next part. Keep whichever needs fewer cores.
    packed = cut_runs(network, hardware, order)
    best = grouped if grouped[1] <= packed[1] else packed
    if best[1] > hardware.num_cores:
        # The parts mix more inputs than the axon limit lets a core hold (e.g. on
        # 128 x 128 crossbars): fall back to the index-order runs, which fit.
        return cut_runs(network, hardware)
    return best


@njit(cache=True)
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True)
def _axons_union(ra, rb, head, nxt, in_ptr, in_idx, stamp, tick, a_max):
    """Distinct presynaptic neurons of clusters ``ra`` and ``rb`` together, or
    a number above ``a_max`` as soon as the union is known to exceed it."""
    count = 0  # ax[] may over-count (sums of disjoint-looking merges): count exactly
    for r in (ra, rb):
        m = head[r]
        while m >= 0:
            for q in range(in_ptr[m], in_ptr[m + 1]):
                p = in_idx[q]
                if stamp[p] != tick:
                    stamp[p] = tick
                    count += 1
                    if count > a_max:
                        return count
            m = nxt[m]
    return count


@njit(cache=True, inline="always")
def _join(parent, size, syn, ax, head, tail, nxt, ra, rb, axn):
    parent[rb] = ra
    size[ra] += size[rb]
    syn[ra] += syn[rb]
    ax[ra] = axn
    nxt[tail[ra]] = head[rb]
    tail[ra] = tail[rb]


@njit(cache=True)
def _merge(eu, ev, in_ptr, in_idx, n_max, a_max, syn_max, order2):
    n = in_ptr.size - 1
    parent = np.arange(n)
    size = np.ones(n, np.int64)
    syn = np.empty(n, np.int64)
    ax = np.empty(n, np.int64)
    head = np.arange(n)
    tail = np.arange(n)
    nxt = np.full(n, -1, np.int64)
    stamp = np.zeros(n, np.int64)
    for i in range(n):
        syn[i] = in_ptr[i + 1] - in_ptr[i]
        ax[i] = syn[i]
    tick = 0
    # Root pairs whose union broke a_max: clusters only grow, so they never fit later.
    failed = Dict.empty(key_type=types.int64, value_type=types.int64)

    # Phase 1: heaviest-traffic pairs first.
    for e in range(eu.size):
        ra = _find(parent, eu[e])
        rb = _find(parent, ev[e])
        if ra == rb or size[ra] + size[rb] > n_max or syn[ra] + syn[rb] > syn_max:
            continue
        axn = ax[ra] + ax[rb]
        if axn > a_max:
            key = min(ra, rb) * n + max(ra, rb)
            if key in failed:
                continue
            tick += 1
            axn = _axons_union(ra, rb, head, nxt, in_ptr, in_idx, stamp, tick, a_max)
            if axn > a_max:
                failed[key] = 1
                continue
        _join(parent, size, syn, ax, head, tail, nxt, ra, rb, axn)
    # Phase 2: pack what is left, next-fit in the given neuron order.
    cur = -1
    for t in range(n):
        r = _find(parent, order2[t])
        if r == cur:
            continue
        if cur >= 0 and size[cur] + size[r] <= n_max and syn[cur] + syn[r] <= syn_max:
            axn = ax[cur] + ax[r]
            if axn > a_max:
                tick += 1
                axn = _axons_union(cur, r, head, nxt, in_ptr, in_idx, stamp, tick, a_max)
            if axn <= a_max:
                _join(parent, size, syn, ax, head, tail, nxt, cur, r, axn)
                continue
        cur = r
    out = np.empty(n, np.int64)
    label = np.full(n, -1, np.int64)
    k = 0
    for i in range(n):
        r = _find(parent, i)
        if label[r] < 0:
            label[r] = k
            k += 1
        out[i] = label[r]
    return out, k


def merge_clusters(network: SpikingNetwork, hardware: Hardware, *, comm: str) -> tuple[np.ndarray, int]:
    """SpiNeMap-style clustering: merge the heaviest-traffic pairs while the merge fits a core.

    Pairs of neurons are ranked by the spikes they exchange (both
    directions); each pair's clusters merge if the union respects ``n_max``,
    ``syn_max`` and ``a_max`` (distinct presynaptic neurons, counted exactly
    when the quick bound is over). When that leaves more clusters than the
    chip has cores, the clusters are packed in order into core-feasible runs.
    Returns ``(cluster_of, count)``.
    """
    n = network.num_neurons
    w = network.spikes[network.pre]
    u = np.minimum(network.pre, network.post)
    v = np.maximum(network.pre, network.post)
    key = u * np.int64(n) + v
    uniq, inv = unique_ints(key, return_inverse=True)
    wsum = np.bincount(inv, weights=w)
    order = np.argsort(-wsum, kind="stable")
    eu = (uniq[order] // n).astype(np.int64)
    ev = (uniq[order] % n).astype(np.int64)
    in_ptr, in_idx = in_csr(network)
    out, k = _merge(eu, ev, in_ptr, in_idx, *core_limits(hardware), np.arange(n, dtype=np.int64))
    # Relabel clusters in order of their first neuron (keeps layers together for placement).
    first = np.full(k, n, dtype=np.int64)
    np.minimum.at(first, out, np.arange(n))
    rank = np.empty(k, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(k)
    out = rank[out]
    if k > hardware.num_cores:
        # Too many small clusters for the chip: pack them, in cluster order, into
        # core-feasible runs (clusters stay together unless a run must end inside one).
        packed, runs, problem = fill_order(network, hardware, np.argsort(out, kind="stable"))
        if not problem and runs < k:
            return packed, int(runs)
    return out, int(k)


def needed_parts(network: SpikingNetwork, hardware: Hardware) -> int:
    """Cores a sequential fill needs: the default cluster count for METIS."""
    return max(1, cut_runs(network, hardware)[1], math.ceil(network.num_neurons / hardware.limits.n_max))
