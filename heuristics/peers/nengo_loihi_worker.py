"""Run nengo-loihi 1.1.0's own splitter and allocators on a network handed over as an ``.npz`` file.

This file runs inside the isolated environment of :mod:`snnmap.heuristics.peers.nengo_loihi`
(nengo-loihi needs numpy < 2) and imports nothing of snnmap. It builds a nengo-loihi ``Model``
by hand, as nengo-loihi's own allocator tests do: one ``LoihiBlock`` per population, one
``Synapse`` (sparse weights) and ``Axon`` per pair of connected populations. Then, unchanged,
nengo-loihi's ``split_model`` cuts the blocks to core size, ``discretize_model`` discretizes
them and the chosen allocator assigns one block per core on ``n_chips`` chips.
``PartitionInterchip`` calls ``nxmetis.partition``; nxmetis is not on the package index, so
pymetis answers that call (same graph, same ``nparts``, edge weights as given).

    python nengo_loihi_worker.py IN.npz OUT.npz
"""

import sys
import types

import numpy as np
import scipy.sparse


def _nxmetis_from_pymetis():
    """A module ``nxmetis`` with ``partition(G, nparts)`` answered by pymetis (nxmetis is not on PyPI)."""
    import pymetis

    def partition(graph, nparts):
        nodes = list(graph.nodes)
        index = {v: i for i, v in enumerate(nodes)}
        adjacency = [[index[u] for u in graph.neighbors(v)] for v in nodes]
        eweights = [max(int(graph[v][u].get("weight", 1)), 1) for v in nodes for u in graph.neighbors(v)]
        cut, membership = pymetis.part_graph(int(nparts), adjacency=adjacency, eweights=eweights)
        parts = [[v for v, m in zip(nodes, membership) if m == p] for p in range(int(nparts))]
        return cut, parts

    module = types.ModuleType("nxmetis")
    module.partition = partition
    return module


class Population:
    """What ``ensemble_to_block_rates`` reads of a nengo Ensemble: its size (a key of ``model.objs``)."""

    def __init__(self, n_neurons):
        self.n_neurons = n_neurons


def main(src, dst):
    data = np.load(src)
    n_max, a_max = int(data["n_max"]), int(data["a_max"])
    allocator_name = str(data["allocator"])
    if allocator_name == "PartitionInterchip":
        sys.modules.setdefault("nxmetis", _nxmetis_from_pymetis())
    import nengo_loihi.builder.split_blocks as split_blocks
    from nengo_loihi.block import Axon, LoihiBlock, Synapse
    from nengo_loihi.builder import Model
    from nengo_loihi.builder.discretize import discretize_model
    from nengo_loihi.hardware import allocators

    # The chip's limits, where smaller than Loihi's (module constants read by split_block).
    split_blocks.MAX_COMPARTMENTS = min(split_blocks.MAX_COMPARTMENTS, n_max)
    split_blocks.MAX_IN_AXONS = min(split_blocks.MAX_IN_AXONS, a_max)

    n = int(data["num_neurons"])
    indptr, indices, spikes = data["indptr"], data["indices"], data["spikes"]
    pop = data["population"]
    n_pops = int(pop.max()) + 1 if n else 0
    members = [np.flatnonzero(pop == p) for p in range(n_pops)]
    local = np.empty(n, dtype=np.int64)
    for m in members:
        local[m] = np.arange(m.size)

    model = Model()
    blocks, keys = [], []
    for p, m in enumerate(members):
        block = LoihiBlock(int(m.size), label=f"pop{p}")
        block.compartment.configure_relu()
        model.add_block(block)
        key = Population(int(m.size))
        model.objs[key]["out"] = block
        blocks.append(block)
        keys.append(key)

    pre = np.repeat(np.arange(n), np.diff(indptr))
    post = indices.astype(np.int64)
    pair = pop[pre] * n_pops + pop[post]
    for key in np.unique(pair):
        a, b = divmod(int(key), n_pops)
        sel = pair == key
        src_neurons = np.unique(pre[sel])
        axon_of = np.full(members[a].size, -1, dtype=np.int64)
        axon_of[local[src_neurons]] = np.arange(src_neurons.size)
        rows = axon_of[local[pre[sel]]]
        weights = scipy.sparse.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, local[post[sel]])),
                                          shape=(src_neurons.size, members[b].size))
        synapse = Synapse(int(src_neurons.size), label=f"pop{a}->pop{b}")
        synapse.set_weights(weights)
        blocks[b].add_synapse(synapse)
        axon = Axon(int(src_neurons.size), label=f"pop{a}->pop{b}")
        axon.target = synapse
        axon.set_compartment_axon_map(axon_of)
        blocks[a].add_axon(axon)

    block_map = split_blocks.split_model(model)
    model.block_comp_map = {new: ids for old, news in block_map.items() for new, ids in news.items()}
    discretize_model(model)

    rates = {key: spikes[m].astype(np.float64) for key, m in zip(keys, members)}
    n_chips, cores_per_chip = int(data["n_chips"]), int(data["cores_per_chip"])
    if allocator_name == "Greedy":
        allocator = allocators.Greedy(cores_per_chip=cores_per_chip)
    elif allocator_name == "RoundRobin":
        allocator = allocators.RoundRobin()
    elif allocator_name == "GreedyInterchip":
        allocator = allocators.GreedyInterchip(cores_per_chip=cores_per_chip, ensemble_rates=rates)
    else:
        allocator = allocators.PartitionInterchip(ensemble_rates=rates)
    board = allocator(model, n_chips=n_chips)

    chip_of = np.full(n, -1, dtype=np.int64)
    core_of = np.full(n, -1, dtype=np.int64)
    owner = {}
    for p, news in enumerate(block_map.values()):
        for new, ids in news.items():
            owner[new] = members[p][np.asarray(list(ids), dtype=np.int64)]
    for chip in board.chips:
        c = board.chip_idxs[chip]
        for k, core in enumerate(chip.cores):
            for block in core.blocks:
                chip_of[owner[block]] = c
                core_of[owner[block]] = k
    np.savez(dst, chip_of=chip_of, core_of=core_of, blocks=len(model.blocks))


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except Exception as exc:  # the peer's own refusal, passed back as one line
        print(f"{type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
        sys.exit(3)
