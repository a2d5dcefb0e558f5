"""Fan-in unrolling: split neurons with too many inputs into trees of partial-sum neurons.

A crossbar core has a fixed number of input rows (``a_max``), so a neuron with
more distinct presynaptic neurons than that fits no core. SpiNeMap's compiler
(Balaji et al., IEEE TVLSI 2020; public configs "fan-in unrolled to 127")
rewrites such a neuron ``j`` into a tree: its inputs, sorted by presynaptic
index, are cut into consecutive chunks of at most ``F`` neurons; each chunk
feeds one new *partial* neuron (synaptic weights kept), and the partials
project to ``j`` with weight 1.0. When ``j`` still has more than ``F`` inputs
(more than ``F`` chunks), its partials are split again, one tree level at a
time, until every in-degree is at most ``F``.

Neuron order
    New neurons are appended after the original ones, grouped by (level,
    chunk index, target): first the chunk-0 partials of every unrolled neuron
    (in target order), then the chunk-1 partials, and so on, then level 2. In
    a dense layer the partials that read the same input chunk are therefore
    contiguous, and sequential placement puts them on cores that share axons.

Spike counts of partial neurons (a modelling choice)
    The unrolled network is not re-simulated. A partial neuron ``p`` of target
    ``j`` with input set ``P`` gets the share of ``j``'s spikes that its inputs
    carry (a rate-conserving split)::

        s_p = s_j * sum(s_i for i in P) / sum(s_i for i in inputs(j))

    or ``s_j / (number of partials)`` when all inputs of ``j`` are silent. The
    partials of one target at one level thus emit ``s_j`` spikes in total, so
    the traffic into ``j`` equals its own output rate, and busier input chunks
    get busier partials. On upper tree levels the rule makes a partial emit
    exactly the sum of its input partials' spikes. Spike counts stay floats.

Cost
    Two stable sorts over the synapses (grouping by target, then re-sorting
    the CSR rows) plus a few linear passes; the loop runs once per tree level.
    VGG16:full (16M synapses) unrolls to 128 in a few seconds.

Packing note
    With ``max_fanin == a_max`` every full chunk fills a core's input axons, so
    a core holds several full partials only when they read the same chunk
    (dense layers). In convolutional layers neighbouring targets read shifted
    windows, and sequential fill then places about one partial per core.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnmap.instances.network import NetworkError, SpikingNetwork


def unroll_fanin(network: SpikingNetwork, max_fanin: int) -> SpikingNetwork:
    """Unroll every neuron with more than ``max_fanin`` inputs into a tree of partial neurons.

    Parameters
    ----------
    network
        The network to rewrite.
    max_fanin
        Largest in-degree allowed after unrolling (``>= 2``), typically the
        hardware's ``a_max``.

    Returns
    -------
    SpikingNetwork
        The unrolled network (name suffixed ``+unroll{F}``, provenance entry
        ``"unroll"``), or ``network`` itself when no neuron exceeds ``max_fanin``.
        Original neurons keep their indices; partial neurons are appended in
        (level, chunk, target) order and belong to population
        ``"<population of target>/partial"``; their pins are ``-1``.

    Raises
    ------
    NetworkError
        If ``max_fanin`` is not a whole number ``>= 2`` (with one input per
        partial, the tree would never shrink).

    Notes
    -----
    Every original synapse ``(i, j)`` of an unrolled ``j`` becomes the path
    ``i -> partial -> ... -> j``; it keeps its weight on the first edge. See the
    module docstring for the spike counts of partial neurons.
    """
    if isinstance(max_fanin, bool) or not isinstance(max_fanin, (int, np.integer)):
        raise NetworkError(f"max_fanin={max_fanin!r}: must be a whole number >= 2")
    F = int(max_fanin)
    if F < 2:
        raise NetworkError(
            f"max_fanin={F}: must be >= 2, since a partial neuron with fewer than 2 inputs cannot reduce fan-in"
        )
    indeg = network.in_degree
    if indeg.size == 0 or int(indeg.max()) <= F:
        return network

    n0 = network.num_neurons
    pre0 = network.pre
    spikes = network.spikes
    pop0 = network.population if network.population is not None else np.zeros(n0, dtype=np.int64)
    names = list(network.population_names)

    # Level 1 acts on original synapses, grouped by target with ascending pre:
    # CSR order is by pre, so a stable sort on post gives exactly that.
    # (Temporaries are dropped early: at 16M synapses each array is 128 MB.)
    big = indeg > F
    sel = np.argsort(network.post, kind="stable")
    if not big.all():
        sel = sel[np.repeat(big, indeg)]
    lvl_pre = pre0[sel]
    lvl_targets = np.flatnonzero(big)
    lvl_degree = indeg[big]
    unrolled = int(lvl_targets.size)

    new_post = network.post.copy()  # original edges into unrolled neurons get redirected to partials
    succ_parts: list[np.ndarray] = []  # successor of each partial, by id - n0 (one out-edge each)
    spike_parts: list[np.ndarray] = []
    target_parts: list[np.ndarray] = []  # original neuron each partial serves (for its population)
    all_spikes = spikes
    n_cur = n0
    while lvl_targets.size:
        pair_id, pair_group, chunks, pair_spikes, edge_partial = _split_level(
            lvl_pre, lvl_targets, lvl_degree, all_spikes, F, n_cur
        )
        if n_cur == n0:
            new_post[sel] = edge_partial
            del sel
        else:
            # The previous level's partials now feed this level's partials.
            succ_parts[-1][lvl_pre - (n_cur - succ_parts[-1].size)] = edge_partial
        k = pair_id.size
        slot = pair_id - n_cur
        succ = np.empty(k, dtype=np.int64)
        succ[slot] = lvl_targets[pair_group]
        s_new = np.empty(k, dtype=np.float64)
        s_new[slot] = pair_spikes
        succ_parts.append(succ)
        target_parts.append(succ.copy())
        spike_parts.append(s_new)
        all_spikes = np.concatenate([all_spikes, s_new])
        n_cur += k
        # Targets left with more than F partials are split again; their inputs
        # are their partials in (target, chunk) order, i.e. ascending id.
        again = chunks > F
        lvl_pre = pair_id[np.repeat(again, chunks)]
        lvl_targets = lvl_targets[again]
        lvl_degree = chunks[again]

    added = n_cur - n0
    partial_target = np.concatenate(target_parts)
    # Population "<pop>/partial" for every population that has unrolled neurons.
    pop_partial = np.full(len(names), -1, dtype=np.int64)
    for p in np.unique(pop0[partial_target]).tolist():
        label = f"{names[p]}/partial"
        if label not in names:
            names.append(label)
        pop_partial[p] = names.index(label)
    population = np.concatenate([pop0, pop_partial[pop0[partial_target]]])

    # Rows of original neurons keep their length; only their order within the
    # row changes (redirected posts), so re-sort by (pre, post). Partials have
    # exactly one out-edge each, already in id order.
    m = network.num_synapses
    key = pre0 * np.int64(n_cur)
    key += new_post
    order = np.argsort(key, kind="stable")
    del key
    indices = np.empty(m + added, dtype=np.int64)
    np.take(new_post, order, out=indices[:m])
    del new_post
    indices[m:] = np.concatenate(succ_parts)
    indptr = np.concatenate([network.indptr, m + np.arange(1, added + 1, dtype=np.int64)])
    weights = None
    if network.weights is not None:
        weights = np.ones(m + added, dtype=np.float64)
        np.take(network.weights, order, out=weights[:m])
    pins = None
    if network.pins is not None:
        pins = np.concatenate([network.pins, np.full(added, -1, dtype=np.int64)])
    provenance: dict[str, Any] = dict(network.provenance)
    provenance["unroll"] = {"max_fanin": F, "added_neurons": int(added), "unrolled_neurons": unrolled}
    return SpikingNetwork(
        num_neurons=int(n_cur), indptr=indptr, indices=indices, spikes=np.concatenate([spikes, *spike_parts]),
        t_run=network.t_run, population=population, population_names=tuple(names), weights=weights,
        pins=pins, name=f"{network.name}+unroll{F}", provenance=provenance, time_steps=network.time_steps,
    )


def _split_level(
    pre: np.ndarray, targets: np.ndarray, degree: np.ndarray, spikes: np.ndarray, F: int, first_id: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut the inputs of each target into chunks of ``F`` and number one partial per chunk.

    Parameters
    ----------
    pre
        Presynaptic neuron of every input edge, grouped by target (in the order
        of ``targets``) with ascending ``pre`` inside each group.
    targets, degree
        The neurons being split and their number of inputs.
    spikes
        Spike count of every neuron numbered so far.
    F
        Chunk size.
    first_id
        Id of the first new partial.

    Returns
    -------
    pair_id, pair_group, chunks, pair_spikes, edge_partial
        For every (target, chunk) pair, listed in (target, chunk) order: its
        neuron id (ids follow (chunk, target) order), its target's position in
        ``targets`` and its spike count; the number of chunks of every target;
        and the partial that every input edge now feeds.
    """
    chunks = -(-degree // F)
    num_pairs = int(chunks.sum())
    pair_start = np.zeros(targets.size, dtype=np.int64)
    np.cumsum(chunks[:-1], out=pair_start[1:])
    pair_group = np.repeat(np.arange(targets.size), chunks)
    pair_chunk = np.arange(num_pairs) - pair_start[pair_group]
    # Every chunk holds F inputs except the last of each target.
    pair_size = np.full(num_pairs, F, dtype=np.int64)
    last = pair_start + chunks - 1
    pair_size[last] = degree - F * (chunks - 1)
    edge_start = np.zeros(num_pairs, dtype=np.int64)
    np.cumsum(pair_size[:-1], out=edge_start[1:])
    # Number partials by chunk, then by the chunk's first input, then by target:
    # partials reading the same inputs (a dense layer's chunk, or a conv layer's
    # output channels at one position) become neighbours and can share a core's axons.
    pair_id = np.empty(num_pairs, dtype=np.int64)
    pair_id[np.lexsort((pair_group, pre[edge_start], pair_chunk))] = first_id + np.arange(num_pairs)

    # Rate-conserving split of each target's spikes by its chunks' input spikes.
    chunk_in = np.add.reduceat(spikes[pre], edge_start)
    total_in = np.add.reduceat(chunk_in, pair_start)[pair_group]
    share = np.divide(chunk_in, total_in, out=np.zeros(num_pairs), where=total_in > 0)
    silent = total_in <= 0  # no input spikes: split the target's spikes evenly
    share[silent] = 1.0 / chunks[pair_group[silent]]
    pair_spikes = spikes[targets][pair_group] * share
    return pair_id, pair_group, chunks, pair_spikes, np.repeat(pair_id, pair_size)
