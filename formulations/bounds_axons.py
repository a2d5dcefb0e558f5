"""What the per-core input-axon limit ``a_max`` forces on every feasible mapping.

A core's input axons are the distinct presynaptic neurons of the neurons on it
(messages to the own core included), so a core holding ``j`` holds all of
``j``'s presynaptic neurons among its axons. Two consequences, both proved from
that alone and used by :mod:`snnmap.formulations.bounds`:

- **Saturated classes.** A neuron with exactly ``a_max`` presynaptic neurons
  fills its core's axons: every other neuron on that core has its presynaptic
  neurons among them, and no neuron with another full set of ``a_max`` can join.
  Neurons with the same full set form a class; classes use disjoint cores, at
  least ``ceil(size / n_max)`` each, and every neuron of a class's set sends to
  each of them. Fan-in unrolling to ``a_max`` makes many such neurons
  (every full partial-sum neuron).
- **Inputs of a sender's targets.** The cores ``D(i)`` that hold ``i``'s
  targets hold among their axons every presynaptic neuron of those targets,
  at most ``a_max`` per core: ``|D(i)| >= |pre(post(i))| / a_max``.
- **Senders that are never local.** Neuron ``i`` reaches its own core only if a
  target ``j`` shares it, which needs ``|pre(i) | pre(j)| <= a_max``. Where the
  populations feeding ``i`` and ``j`` are disjoint the union has
  ``indeg(i) + indeg(j)`` neurons (else at least the larger of the two, and
  the union is counted exactly for the senders only that guess lets be local),
  so a sender whose every target fails this test pays remote prices only.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork


@functools.lru_cache(maxsize=4)
def saturated_classes(network: SpikingNetwork, hardware: Hardware) -> tuple[np.ndarray, np.ndarray]:
    """The classes of neurons with exactly ``a_max`` presynaptic neurons, grouped by that set.

    Returns
    -------
    sets
        ``(classes, a_max)`` presynaptic neurons of each class (sorted).
    sizes
        Neurons in each class.
    Both are empty without an ``a_max`` or without such neurons.
    """
    a_max = hardware.limits.a_max
    empty = np.zeros((0, a_max or 0), dtype=np.int64), np.zeros(0, dtype=np.int64)
    if a_max is None or not network.num_synapses:
        return empty
    indeg = network.in_degree
    full = np.flatnonzero(indeg == a_max)
    if not full.size:
        return empty
    order = np.argsort(network.post, kind="stable")
    start = np.concatenate([[0], np.cumsum(indeg)])[full]
    rows = np.sort(network.pre[order][start[:, None] + np.arange(a_max)], axis=1)
    sets, sizes = np.unique(rows, axis=0, return_counts=True)
    return sets.astype(np.int64), sizes.astype(np.int64)


def class_cores(network: SpikingNetwork, hardware: Hardware) -> int:
    """The fewest cores the saturated classes occupy (their cores are distinct)."""
    _, sizes = saturated_classes(network, hardware)
    return int(np.sum(-(-sizes // hardware.limits.n_max)))


def class_destinations(network: SpikingNetwork, hardware: Hardware) -> np.ndarray:
    """Least destination cores of each neuron from the saturated classes whose set holds it."""
    sets, sizes = saturated_classes(network, hardware)
    per_class = -(-sizes // hardware.limits.n_max)
    return np.bincount(sets.ravel(), weights=np.repeat(per_class, sets.shape[1]),
                       minlength=network.num_neurons).astype(np.int64)


def never_local(network: SpikingNetwork, hardware: Hardware) -> np.ndarray:
    """Neurons that no feasible mapping lets share a core with any of their targets (a mask)."""
    n = network.num_neurons
    a_max = hardware.limits.a_max
    if a_max is None or not network.num_synapses:
        return np.zeros(n, dtype=bool)
    pre, post = network.pre, network.post
    pop = network.population if network.population is not None else np.zeros(n, dtype=np.int64)
    pops = int(pop.max()) + 1
    feeds = np.zeros((pops, pops), dtype=bool)  # feeds[q, p]: population p sends to population q
    feeds[pop[post], pop[pre]] = True
    shared_source = (feeds.astype(np.int64) @ feeds.T.astype(np.int64)) > 0
    indeg = network.in_degree
    di, dj = indeg[pre], indeg[post]
    overlap = np.where(shared_source[pop[pre], pop[post]], np.minimum(di, dj), 0)
    fits = (di + dj - overlap <= a_max) & (hardware.limits.n_max >= 2) | (pre == post)
    surely = (di + dj <= a_max) & (hardware.limits.n_max >= 2) | (pre == post)
    # Senders that only a guessed overlap lets be local: count their unions exactly, heaviest first,
    # within a work budget (the others keep the guess, an upper bound on the overlap).
    unsure = (np.bincount(pre, weights=fits, minlength=n) > 0) & (np.bincount(pre, weights=surely, minlength=n) == 0)
    work = np.bincount(pre, weights=(di + dj) * fits, minlength=n)
    order = np.flatnonzero(unsure)[np.argsort(-network.spikes[unsure], kind="stable")]
    checked = np.zeros(n, dtype=bool)
    checked[order[np.cumsum(work[order]) <= INPUT_COUNT_WORK]] = True
    edges = np.flatnonzero(fits & checked[pre])
    in_ptr, in_idx = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if edges.size:  # else the kernel runs on nothing (which compiles it where the heuristics warm up)
        in_ptr = np.concatenate([[0], np.cumsum(indeg)]).astype(np.int64)
        in_idx = pre[np.argsort(post, kind="stable")].astype(np.int64)  # sorted within each neuron (CSR order)
    fits[edges] = _union_sizes(in_ptr, in_idx, pre[edges].astype(np.int64), post[edges].astype(np.int64)) <= a_max
    may_be_local = np.bincount(pre, weights=fits, minlength=n) > 0
    return (network.out_degree > 0) & ~may_be_local


@njit(cache=True)
def _union_sizes(in_ptr, in_idx, a, b):  # pragma: no cover - numba
    """``|pre(a[t]) | pre(b[t])|`` for each pair, merging the sorted presynaptic lists."""
    out = np.empty(a.size, dtype=np.int64)
    for t in range(a.size):
        p, pe, q, qe = in_ptr[a[t]], in_ptr[a[t] + 1], in_ptr[b[t]], in_ptr[b[t] + 1]
        common = 0
        while p < pe and q < qe:
            if in_idx[p] == in_idx[q]:
                common += 1
                p += 1
                q += 1
            elif in_idx[p] < in_idx[q]:
                p += 1
            else:
                q += 1
        out[t] = in_ptr[a[t] + 1] - in_ptr[a[t]] + in_ptr[b[t] + 1] - in_ptr[b[t]] - common
    return out


INPUT_COUNT_WORK = 4 * 10**8  # synapse visits spent counting pre(post(i)): about 2-4 s of numba


@njit(cache=True)
def _second_inputs(indptr, indices, in_ptr, in_idx, senders, n):  # pragma: no cover - numba
    """``|pre(post(i))|`` for each of ``senders``: distinct presynaptic neurons of its targets (a stamp per sender)."""
    out = np.zeros(senders.size, dtype=np.int64)
    stamp = np.full(n, -1, dtype=np.int64)
    for t in range(senders.size):
        i = senders[t]
        count = 0
        for a in range(indptr[i], indptr[i + 1]):
            j = indices[a]
            for b in range(in_ptr[j], in_ptr[j + 1]):
                k = in_idx[b]
                if stamp[k] != i:
                    stamp[k] = i
                    count += 1
        out[t] = count
    return out


@functools.lru_cache(maxsize=4)
def input_destinations(network: SpikingNetwork, hardware: Hardware) -> np.ndarray:
    """Least destination cores of each neuron from its targets' inputs: ``ceil(|pre(post(i))| / a_max)``.

    Counting costs ``sum of the targets' in-degrees`` per neuron, so only the
    neurons where it can beat ``ceil(out-degree / n_max)`` are counted, the
    heaviest spikers first, within :data:`INPUT_COUNT_WORK` visits; the others
    get 0 (each neuron's count is a bound on its own, so any subset is valid).
    """
    a_max = hardware.limits.a_max
    n = network.num_neurons
    out = np.zeros(n, dtype=np.int64)
    if a_max is None or not network.num_synapses:
        return out
    visits = np.bincount(network.pre, weights=network.in_degree[network.post], minlength=n).astype(np.int64)
    most = -(-np.minimum(visits, n) // a_max)
    gain = network.spikes * (most - -(-network.out_degree // hardware.limits.n_max))
    order = np.argsort(-gain, kind="stable")
    order = order[gain[order] > 0]
    senders = order[np.cumsum(visits[order]) <= INPUT_COUNT_WORK]
    if not senders.size:
        return out
    post_order = np.argsort(network.post, kind="stable")
    in_ptr = np.concatenate([[0], np.cumsum(network.in_degree)]).astype(np.int64)
    inputs = _second_inputs(network.indptr.astype(np.int64), network.indices.astype(np.int64), in_ptr,
                            network.pre[post_order].astype(np.int64), senders.astype(np.int64), n)
    out[senders] = -(-inputs // a_max)
    return out
