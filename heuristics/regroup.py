"""Regrouping the targets of partial sums by where their partners sit.

With fan-in unrolled (:mod:`instances.unroll`) a neuron whose inputs exceed the
axon limit receives its input through partial-sum neurons, each feeding that
neuron alone. Such a *sum target* brings its own axons (one per partial, fed by
nothing else on the core), so the targets of one layer fill their cores by the
axon limit, and which of them share a core changes nothing but the packets: the
partials' packets go to the target's core, and the target's packets to its own
targets' cores. The refinement moves one neuron at a time and on the large
applications runs out of time long before it gathers, on each core, targets
whose partials lie together (AlexNet's conv1 on ``crossbar128``: partials 29
hops from their target, while the partials of one target lie within about 11).

:func:`regroup_targets` re-forms, layer by layer, the cores that hold only sum
targets of that layer: the targets in the order of a Hilbert curve through the
spike-weighted mean of their partners' positions, cut into groups that fill a
core by every limit, each group assigned to one of those cores by a linear
assignment on the exact packet cost (packets among the re-formed cores left out: their places are
not known yet). :func:`heuristics.replace.replace_cores`
then moves the cores to their new partners.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.optimize import linear_sum_assignment

from snnmap.formulations.arrays import unique_ints
from snnmap.hardware import Hardware
from snnmap.heuristics.common import CostModel
from snnmap.heuristics.delta import pcost
from snnmap.instances import SpikingNetwork


def hilbert_key(row: np.ndarray, col: np.ndarray, order: int) -> np.ndarray:
    """Position of the points ``(row, col)`` (integers below ``2 ** order``) along a Hilbert curve:
    points close on the curve are close on the grid, in both directions (a snake keeps only one)."""
    x, y = col.astype(np.int64).copy(), row.astype(np.int64).copy()
    d = np.zeros(x.size, dtype=np.int64)
    n = 1 << order
    s = n >> 1
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        # Rotate the quadrant so that the curve inside it runs the standard way.
        flip = ~ry
        swap_x = flip & rx
        x[swap_x], y[swap_x] = n - 1 - x[swap_x], n - 1 - y[swap_x]
        x[flip], y[flip] = y[flip], x[flip].copy()
        s >>= 1
    return d


@njit(cache=True)
def _group_costs(gptr, pcore, pw, cores, C):
    """``cost[g, j]``: packet energy of group ``g``'s partners (``pcore``, ``pw``, in ``gptr`` runs) at ``cores[j]``."""
    ip, ep, crow, ccol, hopm = C
    g_count = gptr.size - 1
    out = np.zeros((g_count, cores.size))
    for g in range(g_count):
        for j in range(cores.size):
            t = 0.0
            for q in range(gptr[g], gptr[g + 1]):
                t += pw[q] * pcost(cores[j], pcore[q], ip, ep, crow, ccol, hopm)
            out[g, j] = t
    return out


def sum_targets(network: SpikingNetwork) -> np.ndarray:
    """Mask of the neurons with inputs, all of them from neurons that feed nothing else (partial sums)."""
    single = network.out_degree == 1
    all_single = np.ones(network.num_neurons, dtype=bool)
    all_single[network.post[~single[network.pre]]] = False
    return all_single & (network.in_degree > 0)


@njit(cache=True)
def _fill_groups(indeg, n_max, a_max, syn_max):  # pragma: no cover - numba
    """Group of each neuron (in-degrees ``indeg``, in order), each group as full as the limits allow (-1: none)."""
    group = np.empty(indeg.size, dtype=np.int64)
    g, count, load = 0, 0, 0
    for i in range(indeg.size):
        d = indeg[i]
        if count > 0 and (count + 1 > n_max or (a_max >= 0 and load + d > a_max)
                          or (syn_max >= 0 and load + d > syn_max)):
            g, count, load = g + 1, 0, 0
        group[i] = g
        count += 1
        load += d
    return group


def _groups(order: np.ndarray, indeg: np.ndarray, hardware: Hardware) -> np.ndarray:
    """Group of every neuron of ``order`` (in that order), each group as full as every core limit allows.
    A sum target's axons are its partials, fed by nothing else, so a group's axons are its in-degrees' sum."""
    lim = hardware.limits
    a_max = -1 if lim.a_max is None else int(lim.a_max)
    syn_max = -1 if lim.syn_max is None else int(lim.syn_max)
    return _fill_groups(np.ascontiguousarray(indeg[order], dtype=np.int64), int(lim.n_max), a_max, syn_max)


def _regroup_layer(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray, members: np.ndarray,
                   cores: np.ndarray, C: tuple) -> bool:
    """Re-form ``members`` (targets of one layer filling ``cores`` alone) in place; ``False`` when they do
    not fit as many cores in the Hilbert order as they hold now."""
    net = network
    co = hardware.coords
    # Partners: each partial's one packet in, and one packet out per destination core (fixed cores).
    inc = np.flatnonzero(np.isin(net.post, members))
    src, dst = net.pre[inc], net.post[inc]
    out = np.flatnonzero(np.isin(net.pre, members))
    key = unique_ints(net.pre[out] * np.int64(hardware.num_cores) + core_of[net.post[out]])
    onr, ocore = key // hardware.num_cores, key % hardware.num_cores
    own = np.isin(ocore, cores)  # packets to cores being re-formed: their place is not known yet
    who = np.concatenate([dst, onr[~own]])
    pcore = np.concatenate([core_of[src], ocore[~own]])
    pw = np.concatenate([net.spikes[src], net.spikes[onr[~own]]])
    slot = np.full(net.num_neurons, -1, dtype=np.int64)
    slot[members] = np.arange(members.size)
    who = slot[who]
    wsum = np.bincount(who, weights=pw, minlength=members.size)
    safe = np.where(wsum > 0, wsum, 1.0)
    row = np.bincount(who, weights=pw * co[pcore, 0], minlength=members.size) / safe
    col = np.bincount(who, weights=pw * co[pcore, 1], minlength=members.size) / safe
    rows, cols = hardware.mesh  # type: ignore[misc]
    order = np.argsort(hilbert_key(np.rint(row), np.rint(col), max(1, int(max(rows, cols) - 1).bit_length())),
                       kind="stable")
    group_sorted = _groups(members[order], net.in_degree, hardware)
    if group_sorted[-1] + 1 > cores.size:
        return False
    group = np.empty(members.size, dtype=np.int64)
    group[order] = group_sorted
    # Each group's partner list, summed per partner core, in runs by group.
    gk = unique_ints(group[who] * np.int64(hardware.num_cores) + pcore, return_inverse=True)
    gw = np.bincount(gk[1], weights=pw)
    gg, gcore = gk[0] // hardware.num_cores, gk[0] % hardware.num_cores
    gptr = np.searchsorted(gg, np.arange(group_sorted[-1] + 2)).astype(np.int64)
    cost = _group_costs(gptr, gcore.astype(np.int64), gw, cores.astype(np.int64), C)
    _, pick = linear_sum_assignment(cost)
    core_of[members] = cores[pick[group]]
    return True


def regroup_targets(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray, *,
                    comm: str | None = None) -> np.ndarray:
    """``core_of`` with the sum targets of each layer regrouped (see the module docstring), every core limit
    kept; unchanged off a single XY mesh, with pins or unicast. The energy is not checked here: the caller
    (:func:`heuristics.replace.settle_cores`' caller) keeps the result only when it is lower."""
    core_of = np.ascontiguousarray(core_of, dtype=np.int64)
    pinned = network.pins is not None and bool(np.any(network.pins >= 0))
    if hardware.topology != "mesh" or hardware.mesh is None or hardware.chip_mesh is not None or pinned or \
            (comm or hardware.comm) != "multicast":
        return core_of
    targets = sum_targets(network)
    if not targets.any():
        return core_of
    pop = network.population if network.population is not None else np.zeros(network.num_neurons, np.int64)
    C = CostModel.of(hardware).args()
    trial = core_of.copy()
    changed = False
    for p in np.unique(pop[targets]):
        layer = targets & (pop == p)
        # Cores holding nothing but this layer's targets: re-formed among themselves.
        on = np.bincount(trial, minlength=hardware.num_cores)
        mine = np.bincount(trial[layer], minlength=hardware.num_cores)
        cores = np.flatnonzero((mine > 0) & (mine == on))
        members = np.flatnonzero(layer & np.isin(trial, cores))
        if cores.size > 1:
            changed |= _regroup_layer(network, hardware, trial, members, cores, C)
    return trial if changed else core_of
