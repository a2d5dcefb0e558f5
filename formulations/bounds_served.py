"""Senders whose targets fit one core compete for the axons of the cores that could hold them.

Under an input-axon limit ``a_max`` a core holds, among its axons, every
presynaptic neuron of every neuron on it. Split each sender ``i``'s targets:

- targets in *saturated classes* (:mod:`.bounds_axons`: ``a_max`` presynaptic
  neurons, grouped by that set) sit on their class's own cores, at least
  ``class_destinations(i)`` distinct cores;
- the rest, ``R(i)``, leaving out every neuron ``j`` whose presynaptic set lies
  inside some class's set (``j`` could share a class core, input neurons
  included). A class core's axons are exactly its class's set, so no member of
  ``R(i)`` sits on one: the cores holding ``R(i)`` are further destinations of
  ``i``, and they hold ``pre(R(i))`` among their axons, so there are at least
  ``r(i) = ceil(|pre(R(i))| / a_max)`` of them (and at least one).

So ``|D(i)| >= class_destinations(i) + r(i)``. Where ``r(i) = 1`` and
``|R(i)| >= 2``, one core holds all of ``R(i)`` only if its block ``B`` (the
neurons on it) contains ``R(i)``; call ``i`` *served* by that core. Otherwise
``i`` reaches one more core. How many senders can be served is limited by
**coupling through the axons**: for a core with block ``B`` and served set
``F``, write ``s_i = sum over j in R(i) of s_i / |R(i)|`` and sum by target:
``s(F) = sum over j in B of sum over i in F with j in R(i) of s_i / |R(i)|``.
For one ``j``, those ``i`` form a set ``G`` of presynaptic neurons of ``j`` whose
``R``-sets all lie in ``B``, so any two of them satisfy
``|pre(R(i)) | pre(R(k))| <= a_max``: ``G`` is a clique of that compatibility
graph on ``j``'s senders. Hence the inner sum is at most ``g(j)``, the
maximum-weight clique (weights ``s_i / |R(i)|``), and since blocks of
different cores are disjoint, the spikes of all served senders together are at
most ``W = sum over j of g(j)``. The cost of the extra destination is lost at
most on the senders a fractional knapsack of capacity ``W`` picks (largest
raise per spike first), which keeps the raise valid for every mapping.

Every argument is a count that holds in each feasible mapping; the raise is the
per-sender cost of the extra destinations (a convex function of the count,
:func:`snnmap.formulations.bounds.communication_lower_bound`'s ``cost``) minus
that knapsack, so it never exceeds the true extra cost.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from numba import njit
from scipy import sparse

from snnmap.formulations.bounds_axons import saturated_classes
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork

SERVED_WORK = 10**8  # synapse visits spent gathering pre(R(i)) (a fraction of a second of numba)
CLIQUE_NODES = 62  # above this many candidate senders of one target, g(j) is their plain sum (still an upper bound)
UNION_WORK = 3 * 10**7  # set members merged for the compatibility graphs; beyond, targets take the plain sum
CLIQUE_STEPS = 20_000  # branch-and-bound nodes per target before falling back to the plain sum


@functools.lru_cache(maxsize=2)
def _incoming(network: SpikingNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synapses in target order: the order, each target's pointer into it, and the senders (int64)."""
    post_order = np.argsort(network.post, kind="stable")
    in_ptr = np.concatenate([[0], np.cumsum(network.in_degree)]).astype(np.int64)
    return post_order, in_ptr, network.pre[post_order].astype(np.int64)


def reduced_targets(network: SpikingNetwork, hardware: Hardware) -> np.ndarray:
    """Mask of the synapses ``(i, j)`` with ``j`` in ``R(i)``: ``pre(j)`` inside no saturated class's set
    (which leaves out the class members, and neurons without inputs)."""
    n = network.num_neurons
    sets, _ = saturated_classes(network, hardware)
    if not sets.shape[0]:
        return np.ones(network.num_synapses, dtype=bool)  # no class cores: every target counts
    member = np.repeat(np.arange(sets.shape[0]), sets.shape[1])
    inside = sparse.csr_matrix((np.ones(member.size), (sets.ravel(), member)), shape=(n, sets.shape[0]))
    into = sparse.csr_matrix((np.ones(network.num_synapses), (network.post, network.pre)), shape=(n, n))
    # covered[j]: the most of pre(j) any one class's set holds; pre(j) lies inside a set when that is all of it.
    covered = (into @ inside).max(axis=1).toarray().ravel()
    absorbable = covered >= network.in_degree  # includes neurons without inputs, and the class members
    return ~absorbable[network.post]


@njit(cache=True)
def _pre_sets(indptr, indices, keep, in_ptr, in_idx, senders, n):  # pragma: no cover - numba
    """For each sender: ``|R(i)|`` and the sorted ``pre(R(i))`` (CSR), from the kept synapses."""
    stamp = np.full(n, -1, dtype=np.int64)
    sizes = np.zeros(senders.size, dtype=np.int64)
    counts = np.zeros(senders.size, dtype=np.int64)
    buf = []
    for t in range(senders.size):
        i = senders[t]
        for a in range(indptr[i], indptr[i + 1]):
            if not keep[a]:
                continue
            counts[t] += 1
            j = indices[a]
            for b in range(in_ptr[j], in_ptr[j + 1]):
                k = in_idx[b]
                if stamp[k] != i:
                    stamp[k] = i
                    sizes[t] += 1
                    buf.append(k)
    ptr = np.zeros(senders.size + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(sizes)
    flat = np.empty(ptr[-1], dtype=np.int64)
    for t in range(ptr[-1]):
        flat[t] = buf[t]
    for t in range(senders.size):
        flat[ptr[t]:ptr[t + 1]] = np.sort(flat[ptr[t]:ptr[t + 1]])
    return counts, ptr, flat


@njit(cache=True)
def _union(ptr, flat, a, b):  # pragma: no cover - numba
    p, pe, q, qe = ptr[a], ptr[a + 1], ptr[b], ptr[b + 1]
    common = 0
    while p < pe and q < qe:
        if flat[p] == flat[q]:
            common += 1
            p += 1
            q += 1
        elif flat[p] < flat[q]:
            p += 1
        else:
            q += 1
    return ptr[a + 1] - ptr[a] + ptr[b + 1] - ptr[b] - common


@njit(cache=True)
def _max_clique(adj, w, m, steps):  # pragma: no cover - numba
    """Maximum weight of a clique of the ``m``-node graph ``adj`` (bitmasks); the plain sum when ``steps`` run out."""
    total = 0.0
    for v in range(m):
        total += w[v]
    full = np.uint64(0)
    for v in range(m):
        full |= np.uint64(1) << np.uint64(v)
    best = 0.0
    cand = np.empty(2 * m + 2, dtype=np.uint64)
    cw = np.empty(2 * m + 2)
    top = 0
    cand[0] = full
    cw[0] = 0.0
    top = 1
    used = 0
    while top > 0:
        used += 1
        if used > steps:
            return total
        top -= 1
        c, x = cand[top], cw[top]
        if c == 0:
            if x > best:
                best = x
            continue
        bound = x
        for v in range(m):
            if (c >> np.uint64(v)) & np.uint64(1):
                bound += w[v]
        if bound <= best:
            continue
        v = 0
        while not (c >> np.uint64(v)) & np.uint64(1):
            v += 1
        bit = np.uint64(1) << np.uint64(v)
        cand[top] = c & ~bit  # without v
        cw[top] = x
        top += 1
        cand[top] = c & adj[v]  # with v
        cw[top] = x + w[v]
        top += 1
    return best


@njit(cache=True)
def _served_capacity(in_ptr, in_src, row, ptr, flat, weight, a_max, n):  # pragma: no cover - numba
    """``sum over j of g(j)``: per target, the heaviest set of its candidate senders pairwise within ``a_max`` axons
    (past :data:`UNION_WORK` merged members or :data:`CLIQUE_NODES` senders, their plain sum: still an upper bound)."""
    total = 0.0
    work = 0
    nodes = np.empty(in_src.size + 1, dtype=np.int64)
    for j in range(n):
        m = 0
        for b in range(in_ptr[j], in_ptr[j + 1]):
            r = row[b]
            if r >= 0:
                nodes[m] = r
                m += 1
        if m == 0:
            continue
        w = np.empty(m)
        s = 0.0
        for u in range(m):
            w[u] = weight[nodes[u]]
            s += w[u]
        if m > CLIQUE_NODES or work > UNION_WORK:
            total += s
            continue
        adj = np.zeros(m, dtype=np.uint64)
        for u in range(m):
            for v in range(u + 1, m):
                work += ptr[nodes[u] + 1] - ptr[nodes[u]] + ptr[nodes[v] + 1] - ptr[nodes[v]]
                if _union(ptr, flat, nodes[u], nodes[v]) <= a_max:
                    adj[u] |= np.uint64(1) << np.uint64(v)
                    adj[v] |= np.uint64(1) << np.uint64(u)
        complete = True
        for u in range(m):
            if adj[u] | (np.uint64(1) << np.uint64(u)) != (np.uint64(1) << np.uint64(m)) - np.uint64(1):
                complete = False
                break
        total += s if complete else _max_clique(adj, w, m, CLIQUE_STEPS)
    return total


def reduced_sets(network: SpikingNetwork, hardware: Hardware, senders: np.ndarray,
                 keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``|R(i)|`` of each of ``senders`` and their sets ``pre(R(i))`` (sorted, CSR: pointers and members)."""
    keep = reduced_targets(network, hardware) if keep is None else keep
    _, in_ptr, src = _incoming(network)
    return _pre_sets(network.indptr.astype(np.int64), network.indices.astype(np.int64), keep, in_ptr, src,
                     np.asarray(senders, dtype=np.int64), network.num_neurons)


def served_capacity(network: SpikingNetwork, hardware: Hardware, senders: np.ndarray, eligible: np.ndarray,
                    sets: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                    keep: np.ndarray | None = None, spikes: np.ndarray | None = None) -> float:
    """``W``: the most spikes (or ``spikes``, per neuron) of the ``eligible`` ones of ``senders`` that any
    mapping lets have all of ``R(i)`` on one core (the sum over targets of their maximum-weight compatible cliques)."""
    keep = reduced_targets(network, hardware) if keep is None else keep
    counts, ptr, flat = reduced_sets(network, hardware, senders, keep) if sets is None else sets
    n = network.num_neurons
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[senders[eligible]] = np.flatnonzero(eligible)
    # Each target's incoming synapses (post order): the row of the eligible sender, or -1.
    post_order, in_ptr, src = _incoming(network)
    row = np.where(keep[post_order], row_of[src], -1)
    spikes = network.spikes if spikes is None else spikes
    weight = np.where(eligible, spikes[senders] / np.maximum(counts, 1), 0.0)
    return float(_served_capacity(in_ptr, src, row, ptr, flat, weight, hardware.limits.a_max, n))


_LAST: list = []  # the last _lifts call's key and result: the bound's two callers ask for the same one


def _lifts(network: SpikingNetwork, hardware: Hardware, forced: np.ndarray, class_dests: np.ndarray):
    """Senders (most spikes first, within :data:`SERVED_WORK`), their priced, lifted and unserved destination
    counts, their ``(counts, ptr, flat)`` and ``keep`` (see :func:`reduced_sets`)."""
    key = (network, hardware, forced.astype(np.int64).tobytes(), class_dests.astype(np.int64).tobytes())
    if _LAST and _LAST[0] == key:
        return _LAST[1]
    _LAST.clear()
    out = _compute_lifts(network, hardware, forced, class_dests)
    _LAST.extend([key, out])
    return out


def clear_caches() -> None:
    """Forget the cached synapse orders and sender lifts (a cold-start timing of the bound needs this)."""
    _incoming.cache_clear()
    _LAST.clear()


def _compute_lifts(network: SpikingNetwork, hardware: Hardware, forced: np.ndarray, class_dests: np.ndarray):
    n = network.num_neurons
    weight = network.spikes  # the heaviest first; senders without spikes last (they still count axons)
    keep = reduced_targets(network, hardware)
    kept = np.bincount(network.pre[keep], minlength=n)
    visits = np.bincount(network.pre[keep], weights=network.in_degree[network.post[keep]], minlength=n)
    # Only senders whose count can rise: R(i) non-empty, and cd + 2 above what is already priced.
    worth = (kept >= 1) & (class_dests + np.where(kept >= 2, 2, 1) > forced)
    order = np.flatnonzero(worth)
    order = order[np.argsort(-weight[order], kind="stable")]
    senders = order[np.cumsum(visits[order]) <= SERVED_WORK]
    sets = reduced_sets(network, hardware, senders, keep)
    counts, ptr, _ = sets
    r = np.maximum(1, -(-(ptr[1:] - ptr[:-1]) // hardware.limits.a_max))
    r = np.maximum(r, -(-counts // hardware.limits.n_max))
    base = forced[senders].astype(np.float64)
    lifted = np.maximum(base, class_dests[senders] + r)
    candidate = (r == 1) & (counts >= 2) & (counts <= hardware.limits.n_max)
    top = np.where(candidate, np.maximum(lifted, class_dests[senders] + 2), lifted)
    return senders, base, lifted, top, sets, keep


def _knapsack_loss(gain: np.ndarray, weight: np.ndarray, capacity: float) -> float:
    """The most of ``sum weight * gain`` that senders of total ``weight`` at most ``capacity`` hold
    (fractional, largest gain first)."""
    order = np.argsort(-gain, kind="stable")
    before = np.concatenate([[0.0], np.cumsum(weight[order])[:-1]])
    take = np.clip(capacity - before, 0.0, weight[order])
    return float(np.dot(take, gain[order]))


def served_raise(network: SpikingNetwork, hardware: Hardware, cost: Callable[[np.ndarray], np.ndarray],
                 forced: np.ndarray, class_dests: np.ndarray) -> tuple[float, np.ndarray]:
    """Extra communication energy the module's argument forces beyond ``cost(forced)`` per sender.

    ``cost(m)``: each sender's least cost of ``m`` destinations (convex in ``m``); ``forced``: the counts the
    bound already prices; ``class_dests``: :func:`~.bounds_axons.class_destinations`. Returns the raise (joules,
    >= 0) and the mask of the senders it re-priced. Senders beyond :data:`SERVED_WORK` are left as they are.
    """
    n = network.num_neurons
    none = np.zeros(n, dtype=bool)
    if hardware.limits.a_max is None or not network.num_synapses:
        return 0.0, none
    s = network.spikes
    senders, base, lifted, top, sets, keep = _lifts(network, hardware, forced, class_dests)
    if not senders.size:
        return 0.0, none
    c_base, c_lift, c_top = (_priced(cost, forced, senders, m) for m in (base, lifted, top))
    sure = float(np.dot(s[senders], c_lift - c_base))
    gain = c_top - c_lift  # per spike, lost only where the sender is served
    eligible = (top > lifted) & (gain > 0)
    if not eligible.any():
        return max(sure, 0.0), _mask(n, senders[lifted > base])
    capacity = served_capacity(network, hardware, senders, eligible, sets, keep)
    # The served senders lose their extra destination: at most the spikes `capacity`, largest raise first.
    spikes = s[senders[eligible]]
    extra = float(np.dot(spikes, gain[eligible])) - _knapsack_loss(gain[eligible], spikes, capacity)
    return max(sure + extra, 0.0), _mask(n, senders[top > base])


def served_destinations(network: SpikingNetwork, hardware: Hardware, forced: np.ndarray,
                        class_dests: np.ndarray) -> int:
    """Destinations (input axons) every mapping needs beyond ``forced.sum()``, by the same argument counted
    once per sender: the lifted counts, plus one for each sender no core can serve."""
    if hardware.limits.a_max is None or not network.num_synapses:
        return 0
    ones = np.ones(network.num_neurons)
    # The senders the communication raise looks at (within its work budget): the others are not counted.
    senders, base, lifted, top, sets, keep = _lifts(network, hardware, forced, class_dests)
    if not senders.size:
        return 0
    eligible = top > lifted
    capacity = served_capacity(network, hardware, senders, eligible, sets, keep, spikes=ones) if eligible.any() else 0
    # The destinations add up to an integer, so a fractional excess counts whole (less a rounding margin that
    # grows with the number of summed terms: the capacity sums fractions over up to millions of senders).
    excess = float(np.sum(lifted - base)) + max(0.0, float(eligible.sum()) - capacity)
    return max(0, math.ceil(excess - 1e-9 * max(1.0, float(senders.size))))


def _priced(cost: Callable[[np.ndarray], np.ndarray], forced: np.ndarray, senders: np.ndarray,
            counts: np.ndarray) -> np.ndarray:
    """``cost`` (which prices every neuron) at ``counts`` for ``senders``."""
    full = forced.astype(np.float64)
    full[senders] = counts
    return cost(full)[senders]


def _mask(n: int, idx: np.ndarray) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[idx] = True
    return out
