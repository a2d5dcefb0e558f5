"""Layer tiling: core-feasible runs that keep every spike's targets on few cores.

Under multicast a spike pays once per destination core, so the cores of a
layer should each hold neurons that share their senders. In a convolution
all channels at one position have the same presynaptic set, and positions
next to each other share most of it. This start finds that structure from
the graph alone (no shapes):

1. *Classes*: neurons with identical presynaptic sets (hashed); in a layer
   where no two neurons share one (pooling, inputs), identical postsynaptic
   sets instead, which puts a pool's channels of one position together, next
   to the positions it feeds.
2. *Order*: within each population (layer), classes by the smallest, then the
   largest, neuron index of their set (a receptive field's corner and extent:
   row-major positions in C-ordered layers), members of a class together.
3. *Runs*: :func:`heuristics.partition.cut_runs` cuts that order into runs
   within a population that respect ``n_max``, ``a_max`` and ``syn_max``
   (*strips*); it also cuts METIS parts of each population's class graph
   (*blocks*, about square where the layer is an image, but blind to ``a_max``)
   and parts grown unit by unit by shared input axons within every limit
   (*tiles*, :func:`_grow`); where the application's convolution geometry is known,
   also its aligned tiles (:mod:`heuristics.aligned`, the other layers grown). Each
   population keeps whichever reaches fewer clusters per spike of its senders (the
   aligned tiles on ties); the network's inputs (which receive nothing) keep tiles
   grown by shared targets where these reach fewer target clusters than strips, or
   with the geometry, one cluster per aligned tile they feed (while the clusters fit the chip).
4. *Sources*: neurons without inputs join a cluster holding their targets where
   ``n_max`` leaves room (they take no input axon, so no other limit can break).

On VGG16:full on Loihi this sends 1.53 messages per conv1_1 spike where
index-order runs (one channel, the whole image, per core) send 17
(``scripts/results/mapping_quality.md``); on ImgSmooth:full on ``crossbar128``
(``a_max`` binding) tiles send 3.60 M messages where strips sent 5.09 M.
"""

from __future__ import annotations

import numpy as np
import pymetis
import scipy.sparse as sp
from numba import njit

from snnmap.formulations.arrays import unique_ints
from snnmap.hardware import Hardware
from snnmap.heuristics.aligned import aligned_tiles
from snnmap.heuristics.common import BIG, in_csr
from snnmap.heuristics.partition import core_limits, cut_runs
from snnmap.instances import SpikingNetwork

MAX_REACH = 256  # senders reaching more units than this do not shape the blocks (their pairs are many)
BLOCK_UFACTOR = 30  # METIS imbalance (per mille) of the blocks: parts over a core are cut into runs
_HASH_SEED = 20261130  # fixed: the classes (and so the start) must not depend on the run's seed


@njit(cache=True)
def _set_keys(ptr, idx, rnd):
    """Per row: an order-free hash of its index set, its smallest and its largest index (-1 when empty)."""
    n = ptr.size - 1
    h = np.zeros(n, np.uint64)
    lo = np.full(n, -1, np.int64)
    hi = np.full(n, -1, np.int64)
    for i in range(n):
        a, b = ptr[i], ptr[i + 1]
        if a == b:
            continue
        acc = np.uint64(b - a)
        mn = idx[a]
        mx = idx[a]
        for q in range(a, b):
            p = idx[q]
            acc += rnd[p]
            mn = min(mn, p)
            mx = max(mx, p)
        h[i] = acc
        lo[i] = mn
        hi[i] = mx
    return h, lo, hi


def _classes(ptr: np.ndarray, idx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class of identical index sets per row (``-1`` for empty rows), and each row's smallest and largest index."""
    rnd = np.random.default_rng(_HASH_SEED).integers(0, 2**63, size=n, dtype=np.int64).astype(np.uint64)
    h, lo, hi = _set_keys(ptr, idx, rnd)
    cls = np.unique(h, return_inverse=True)[1].astype(np.int64)
    cls[lo < 0] = -1
    return cls, lo, hi


def _layers(network: SpikingNetwork) -> np.ndarray:
    """Population of every neuron (all in one when the network names none)."""
    if network.population is None:
        return np.zeros(network.num_neurons, dtype=np.int64)
    return network.population.astype(np.int64)


def units(network: SpikingNetwork, csr: tuple[np.ndarray, np.ndarray] | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """The classes the tiling keeps together and their order.

    Returns
    -------
    unit
        Class of every neuron, numbered 0, 1, ... in the tiling order (see the module docstring).
    order
        Neurons in the tiling order: populations in index order, classes by the span of their set,
        members of a class together in index order.
    """
    n = network.num_neurons
    in_ptr, in_idx = in_csr(network) if csr is None else csr
    pre_cls, pre_lo, pre_hi = _classes(in_ptr, in_idx, n)
    post_cls, post_lo, post_hi = _classes(network.indptr.astype(np.int64), network.indices.astype(np.int64), n)
    pop = _layers(network)
    npop = int(pop.max(initial=0)) + 1
    # Per population: classes of shared inputs when some neurons share them, else classes of shared targets.
    shared_pre = np.zeros(npop, dtype=bool)
    has = pre_cls >= 0
    if has.any():
        pairs = np.unique(np.stack([pop[has], pre_cls[has]]), axis=1)
        shared_pre = np.bincount(pairs[0], minlength=npop) < np.bincount(pop[has], minlength=npop)
    use_pre = shared_pre[pop] & has
    cls = np.where(use_pre, pre_cls, post_cls)
    lo = np.where(use_pre, pre_lo, post_lo)
    hi = np.where(use_pre, pre_hi, post_hi)
    first = np.arange(n, dtype=np.int64)
    # Pre and post classes are numbered apart; a neuron with neither inputs nor targets is a class of its own.
    span = int(max(pre_cls.max(initial=0), post_cls.max(initial=0))) + 1
    alone = cls < 0
    key = np.where(alone, 2 * span + first, np.where(use_pre, cls, cls + span))
    lo[alone] = hi[alone] = first[alone]
    # The first member of a class places it among classes of the same span (and the same population).
    key = unique_ints(pop * np.int64(2 * span + n) + key, return_inverse=True)[1]
    lead = np.full(n, n, dtype=np.int64)
    np.minimum.at(lead, key, first)
    pop_first = np.full(npop, n, dtype=np.int64)
    np.minimum.at(pop_first, pop, first)
    order = np.lexsort((first, lead[key], hi, lo, pop_first[pop]))
    # Number the classes in the order they first appear.
    new = np.ones(n, dtype=bool)
    new[1:] = key[order[1:]] != key[order[:-1]]
    unit = np.empty(n, dtype=np.int64)
    unit[order] = np.cumsum(new) - 1
    return unit, order


@njit(cache=True)
def _distinct(indptr, indices, label):
    """Per neuron, the distinct labels of its targets (CSR ``ptr, lab``): its multicast destinations."""
    n = indptr.size - 1
    seen = np.full(label.max() + 1 if label.size else 1, -1, np.int64)
    ptr = np.zeros(n + 1, np.int64)
    lab = np.empty(indices.size, np.int64)
    m = 0
    for i in range(n):
        for q in range(indptr[i], indptr[i + 1]):
            c = label[indices[q]]
            if seen[c] != i:
                seen[c] = i
                lab[m] = c
                m += 1
        ptr[i + 1] = m
    return ptr, lab[:m]


def _destinations(network: SpikingNetwork, label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(neuron, label) pairs: each neuron with every distinct label among its targets."""
    ptr, lab = _distinct(network.indptr.astype(np.int64), network.indices.astype(np.int64), label)
    return np.repeat(np.arange(network.num_neurons), np.diff(ptr)), lab


def _messages_per_population(network: SpikingNetwork, pop: np.ndarray, cluster_of: np.ndarray) -> np.ndarray:
    """Spike-weighted distinct clusters reached, counted per population of the clusters (which hold one each)."""
    sender, cluster = _destinations(network, cluster_of)
    pop_of = np.zeros(int(cluster_of.max(initial=0)) + 1, dtype=np.int64)
    pop_of[cluster_of] = pop
    return np.bincount(pop_of[cluster], weights=network.spikes[sender], minlength=int(pop.max(initial=0)) + 1)


def _partners(network: SpikingNetwork, pop: np.ndarray, cluster_of: np.ndarray, target: np.ndarray,
              among: np.ndarray) -> np.ndarray:
    """Per population in ``among`` (a mask over populations; the others count 0), the distinct (cluster,
    target cluster) pairs its synapses link (``cluster_of`` holds each population apart; the target
    clusters are ``target``'s)."""
    mine = among[pop[network.pre]]
    key = unique_ints(cluster_of[network.pre[mine]] * np.int64(target.max(initial=0) + 1)
                      + target[network.post[mine]])
    pop_of = np.zeros(int(cluster_of.max(initial=0)) + 1, dtype=np.int64)
    pop_of[cluster_of] = pop
    return np.bincount(pop_of[key // (target.max(initial=0) + 1)], minlength=int(pop.max(initial=0)) + 1)


def _unit_graph(network: SpikingNetwork, sender: np.ndarray, target: np.ndarray, members: np.ndarray) -> sp.csr_matrix:
    """Units ``members`` (a consecutive range) linked by the senders they share, each sender's spikes spread
    over its pairs of target units (the clique expansion of the multicast hypergraph); ``sender, target``
    are the (neuron, unit) destination pairs."""
    u0, nu = int(members[0]), members.size
    inside = (target >= u0) & (target < u0 + nu)
    sender, target = sender[inside], target[inside] - u0
    _, cols, reach = np.unique(sender, return_inverse=True, return_counts=True)
    reach = reach[cols]
    keep = (reach > 1) & (reach <= MAX_REACH)
    w = network.spikes[sender[keep]] / (reach[keep] - 1.0)
    b = sp.csr_matrix((w, (target[keep], cols[keep])), shape=(nu, max(int(cols.max(initial=-1)) + 1, 1)))
    a = (b @ (b > 0).T.astype(np.float64)).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    return a


def _blocks(network: SpikingNetwork, pop: np.ndarray, unit: np.ndarray, strips: np.ndarray, seed: int) -> np.ndarray:
    """Part of every unit: each population's units split by METIS into as many parts as it has strips."""
    part = np.zeros(int(unit.max(initial=-1)) + 1, dtype=np.int64)
    size = np.bincount(unit)
    pop_of_unit = np.zeros(part.size, dtype=np.int64)
    pop_of_unit[unit] = pop
    opts = pymetis.Options(seed=int(seed) % (2**31), ufactor=BLOCK_UFACTOR)
    sender, target = _destinations(network, unit)
    for p in np.unique(pop):
        members = np.flatnonzero(pop_of_unit == p)
        k = np.unique(strips[pop == p]).size
        if k < 2 or members.size < 2 * k:
            continue
        a = _unit_graph(network, sender, target, members)
        if a.nnz == 0:
            continue
        w = np.maximum(1, np.round(a.data * (1000.0 / a.data.max()))).astype(np.int64)
        _, parts = pymetis.part_graph(int(k), adjacency=pymetis.CSRAdjacency(a.indptr, a.indices),
                                      vweights=size[members].astype(np.int64), eweights=w, options=opts)
        part[members] = parts
    return part


@njit(cache=True)
def _grow(u_ptr, u_in, in_ptr, in_users, size, syn, n_max, a_max, syn_max, max_reach):
    """Part of every unit (numbered in order): parts grown one at a time from the first unit left,
    each step taking the unit that adds the fewest input axons among those sharing one with the
    part (on ties the one sharing most with the part's first unit, which keeps the part round about
    it, not a strip; then the first in order), or else the next unit left in order, while every
    limit holds.

    ``u_ptr, u_in``: the inputs of each unit; ``in_ptr, in_users``: the units of each input.
    Inputs reaching more than ``max_reach`` units do not propose candidates (they touch all)."""
    nu = u_ptr.size - 1
    part = np.full(nu, -1, np.int64)
    in_part = np.full(in_ptr.size - 1, -1, np.int64)
    seen = np.full(nu, -1, np.int64)
    shared = np.zeros(nu, np.int64)
    near = np.zeros(nu, np.int64)  # inputs shared with the part's first unit
    in_seed = np.full(in_ptr.size - 1, -1, np.int64)
    cand = np.empty(nu, np.int64)
    nxt = 0
    c = -1
    while True:
        while nxt < nu and part[nxt] >= 0:
            nxt += 1
        if nxt >= nu:
            break
        c += 1
        u = nxt
        for q in range(u_ptr[u], u_ptr[u + 1]):
            in_seed[u_in[q]] = c
        cnt = 0
        ns = 0
        na = 0
        m = 0
        while u >= 0:
            part[u] = c
            cnt += size[u]
            ns += syn[u]
            for q in range(u_ptr[u], u_ptr[u + 1]):
                i = u_in[q]
                if in_part[i] == c:
                    continue
                in_part[i] = c
                na += 1
                if in_ptr[i + 1] - in_ptr[i] > max_reach:
                    continue
                for r in range(in_ptr[i], in_ptr[i + 1]):
                    v = in_users[r]
                    if part[v] >= 0:
                        continue
                    if seen[v] != c:
                        seen[v] = c
                        shared[v] = 0
                        near[v] = 0
                        for z in range(u_ptr[v], u_ptr[v + 1]):
                            if in_seed[u_in[z]] == c:
                                near[v] += 1
                        cand[m] = v
                        m += 1
                    shared[v] += 1
            u = -1
            best = a_max + 1
            for t in range(m):
                v = cand[t]
                if part[v] >= 0 or cnt + size[v] > n_max or ns + syn[v] > syn_max:
                    continue
                new = u_ptr[v + 1] - u_ptr[v] - shared[v]
                if na + new <= a_max and (new < best or (new == best and (
                        near[v] > near[u] or (near[v] == near[u] and v < u)))):
                    best = new
                    u = v
            if u < 0:
                v = nxt
                while v < nu and part[v] >= 0:
                    v += 1
                if v < nu and cnt + size[v] <= n_max and ns + syn[v] <= syn_max:
                    new = 0
                    for q in range(u_ptr[v], u_ptr[v + 1]):
                        if in_part[u_in[q]] != c:
                            new += 1
                    if na + new <= a_max:
                        u = v
    return part


def _grown_blocks(network: SpikingNetwork, hardware: Hardware, pop: np.ndarray, unit: np.ndarray,
                  csr: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Part of every unit: per population, parts grown by shared input axons (:func:`_grow`),
    numbered apart across populations; compact tiles of an image layer where ``a_max`` binds.
    A population without inputs (the network's inputs) grows by shared targets instead, with no
    axon limit: blocks of the input image whose spikes reach a compact set of cores."""
    n_max, a_max, syn_max = core_limits(hardware)
    part = np.zeros(int(unit.max(initial=-1)) + 1, dtype=np.int64)
    in_deg = np.diff(csr[0])
    out_csr = (network.indptr.astype(np.int64), network.indices.astype(np.int64))
    # A unit whose members share one input set reads it from its first member alone (a conv layer's
    # channels: many times fewer pairs to sort).
    same = _classes(*csr, network.num_neurons)[0]
    lo = np.full(part.size, np.iinfo(np.int64).max)
    hi = np.full(part.size, np.iinfo(np.int64).min)
    np.minimum.at(lo, unit, same)
    np.maximum.at(hi, unit, same)
    lead = np.full(part.size, network.num_neurons, dtype=np.int64)
    np.minimum.at(lead, unit, np.arange(network.num_neurons))
    read = (lo[unit] != hi[unit]) | (lead[unit] == np.arange(network.num_neurons))
    base = 0
    for p in np.unique(pop):
        members = np.flatnonzero(pop == p)
        u0 = int(unit[members].min())
        local = unit[members] - u0
        nu = int(local.max()) + 1
        size = np.bincount(local, minlength=nu).astype(np.int64)
        syn = np.bincount(local, weights=in_deg[members], minlength=nu).astype(np.int64)
        source = not in_deg[members].any()
        in_ptr, in_idx = out_csr if source else csr
        if not source:
            members, local = members[read[members]], local[read[members]]
        lens = np.diff(in_ptr)[members]
        owner = np.repeat(local, lens)
        pre = in_idx[np.repeat(in_ptr[members] - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))]
        pairs = unique_ints(owner * np.int64(network.num_neurons) + pre)
        owner, pre = pairs // network.num_neurons, pairs % network.num_neurons
        inputs, pre = np.unique(pre, return_inverse=True)
        u_ptr = np.zeros(nu + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner, minlength=nu), out=u_ptr[1:])
        by_input = np.argsort(pre, kind="stable")
        i_ptr = np.zeros(inputs.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre, minlength=inputs.size), out=i_ptr[1:])
        got = _grow(u_ptr, pre.astype(np.int64), i_ptr, owner[by_input].astype(np.int64), size, syn,
                    n_max, BIG if source else a_max, syn_max, MAX_REACH)
        part[u0:u0 + nu] = got + base
        base += int(got.max(initial=-1)) + 1
    return part


def tiling_clusters(network: SpikingNetwork, hardware: Hardware, seed: int = 0) -> tuple[np.ndarray, int]:
    """Core-feasible clusters of the tiling (see the module docstring): ``(cluster_of, count)``.

    Per population, strips (runs of the tiling order), blocks (METIS parts of the
    unit graph, cut into runs) or grown tiles (:func:`_grow`), whichever reaches fewer
    cores per spike (for the network's inputs: fewer target clusters). When the clusters
    need more cores than the chip has, runs of the tiling order continue across populations.
    """
    csr = in_csr(network)
    unit, order = units(network, csr)
    pop = _layers(network)
    strips, k = cut_runs(network, hardware, order, pop, csr)
    part = _blocks(network, pop, unit, strips, seed)[unit]
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    pop_rank = np.full(int(pop.max(initial=0)) + 1, order.size, dtype=np.int64)
    np.minimum.at(pop_rank, pop, rank)
    blocks, kb = cut_runs(network, hardware, np.lexsort((rank, part, pop_rank[pop])),
                          pop * np.int64(part.max() + 1) + part, csr)
    grown = _grown_blocks(network, hardware, pop, unit, csr)[unit]
    tiles, kt = cut_runs(network, hardware, np.lexsort((rank, grown)), grown, csr)
    candidates, counts = [strips, blocks, tiles], [k, kb, kt]
    aligned = aligned_tiles(network, hardware)
    if aligned is not None:  # the convolutions' aligned tiles, the grown tiles elsewhere
        group = np.where(aligned >= 0, aligned, grown + aligned.max() + 1)
        candidates.append(cut_runs(network, hardware, np.lexsort((rank, group)), group, csr)[0])
        counts.append(int(candidates[-1].max()) + 1)
    # Per population the candidate reaching fewest clusters per spike; ties keep the earlier one.
    labels = np.stack([c + sum(counts[:i]) for i, c in enumerate(candidates)])
    msgs = np.stack([_messages_per_population(network, pop, c) for c in candidates])
    source = np.bincount(pop, weights=network.in_degree, minlength=msgs.shape[1]) == 0
    # Tried in turn until the clusters fit the chip: with the aligned tiles (inputs beside theirs),
    # with them for the layers only, without them.
    for among, aligned_inputs in ((len(candidates), True), (len(candidates), False), (3, False)):
        pick = np.argmin(msgs[:among], axis=0)
        if among > 3:  # the aligned tiles on ties too: they follow the image, which the placement uses
            pick[msgs[3] <= msgs[pick, np.arange(pick.size)] * (1 + 1e-9)] = 3
        # Inputs send the same packets however they are grouped: grown blocks where they reach fewer
        # clusters together (fewer, nearer partners to place), judged against the clusters just chosen.
        chosen = labels[pick[pop], np.arange(pop.size)]
        spread = np.stack([_partners(network, pop, c, chosen, source) for c in (strips, tiles)])
        pick[source & (spread[1] < spread[0])] = 2
        if aligned is not None and aligned_inputs:  # inputs beside their convolution's tiles, as the geometry says
            pick[source & (np.bincount(pop, weights=aligned >= 0, minlength=pick.size) > 0)] = 3
        chosen = _adopt_sources(network, hardware, labels[pick[pop], np.arange(pop.size)])
        # Number the clusters in the tiling order: consecutive clusters hold neighbouring layers.
        total = sum(counts)
        first = np.full(total, order.size, dtype=np.int64)
        np.minimum.at(first, chosen, rank)
        used = np.flatnonzero(first < order.size)
        if used.size <= hardware.num_cores:
            label = np.empty(total, dtype=np.int64)
            label[used[np.argsort(first[used])]] = np.arange(used.size)
            return label[chosen], int(used.size)
        if aligned is None:
            break
    return cut_runs(network, hardware, order, csr=csr)


@njit(cache=True)
def _first_with_room(cand_ptr, cand, room):
    """For each source in turn, the first of its candidate clusters with room left (taking it), or -1."""
    home = np.full(cand_ptr.size - 1, -1, np.int64)
    for t in range(cand_ptr.size - 1):
        for q in range(cand_ptr[t], cand_ptr[t + 1]):
            if room[cand[q]] > 0:
                room[cand[q]] -= 1
                home[t] = cand[q]
                break
    return home


def _adopt_sources(network: SpikingNetwork, hardware: Hardware, cluster_of: np.ndarray) -> np.ndarray:
    """Move neurons without inputs (network inputs) into a cluster holding their targets, where ``n_max`` allows.

    Such a neuron takes no input axon anywhere, and on a core with its targets it is
    already one of their axons, so no limit but ``n_max`` can break; a spike to that core
    is local, and the others leave from among the targets. The busiest sources go first,
    each to the cluster holding most of its targets that still has room; the rest stay.
    """
    source = (network.in_degree == 0) & (network.out_degree > 0)
    if not source.any():
        return cluster_of
    num = int(cluster_of.max()) + 1
    room = np.maximum(hardware.limits.n_max - np.bincount(cluster_of[~source], minlength=num), 0).astype(np.int64)
    busiest = np.flatnonzero(source)[np.argsort(-network.spikes[source], kind="stable")]
    turn = np.full(network.num_neurons, -1, dtype=np.int64)
    turn[busiest] = np.arange(busiest.size)
    mine = source[network.pre]
    key, count = np.unique(turn[network.pre[mine]] * np.int64(num) + cluster_of[network.post[mine]],
                           return_counts=True)
    who, where = key // num, key % num
    pick = np.lexsort((where, -count, who))
    cand_ptr = np.zeros(busiest.size + 1, dtype=np.int64)
    np.cumsum(np.bincount(who, minlength=busiest.size), out=cand_ptr[1:])
    home = _first_with_room(cand_ptr, where[pick].astype(np.int64), room)
    out = cluster_of.copy()
    out[busiest[home >= 0]] = home[home >= 0]
    return out
