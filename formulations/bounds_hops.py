"""Hop coupling on the receiving side: the exclusive senders of a neuron compete for the cores around it.

A neuron ``i`` with a single target ``j`` (out-degree 1, no self-loop) is an
*exclusive sender* of ``j``: its one packet per spike goes to ``core(j)`` and
serves no other neuron. Fan-in unrolling makes many of them (every partial
sum feeds one neuron). The per-sender bound of
:func:`snnmap.formulations.bounds.communication_lower_bound` prices each of
them at the cheapest core next to ``core(j)``; but ``j``'s exclusive senders
``X_j`` cannot all sit on the same core:

- **Axon capacity.** A core holds among its input axons every presynaptic
  neuron of every neuron on it, at most ``a_max``. Give each ``i`` in ``X_j``
  the weight ``w_i = sum over k in pre(i) of 1 / c_k``, with ``c_k`` the members
  of ``X_j`` that ``k`` feeds (:func:`input_shares`): an input of the members on
  one core counts at most once among them, so they weigh at most ``a_max``
  together; on ``core(j)`` itself at most ``a_max - |X_j|``, since ``j``'s own
  axons hold ``X_j`` and no input of a member is a member (it would have two
  targets).
- **Neuron capacity.** With unit weights: at most ``n_max`` members per core,
  ``n_max - 1`` beside ``j``.

In either, the members are placed fractionally (``w_i`` units of density
``s_i / w_i`` each) on capacity slots around ``core(j)``: its own core (for the
members that may share it, :func:`~.bounds_axons.never_local`) at ``e_local``,
then the other cores at their packet prices in increasing order (the
element-wise least sorted prices of any core, so one list serves every
``core(j)``). The least cost of this transportation problem fills the own core
with the densest eligible units, then the other cores by density (swapping two
units against that order never lowers the cost: prices and densities are
products), so a greedy fill is exact. Every mapping places ``X_j`` somewhere
feasible for both relaxations, and the deliveries of distinct ``X_j`` are
distinct packets, so the sum over ``j`` of the larger of the two is a valid
bound on those packets.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork


def exclusive_senders(network: SpikingNetwork) -> tuple[np.ndarray, np.ndarray]:
    """The neurons with exactly one target, not themselves, and that target (two aligned arrays)."""
    out = network.out_degree
    senders = np.flatnonzero(out == 1)
    targets = network.indices[network.indptr[senders]].astype(np.int64)
    keep = targets != senders
    return senders[keep], targets[keep]


@njit(cache=True)
def _shares(indptr, indices, row, group, groups):  # pragma: no cover - numba
    """Sum over each member's inputs ``k`` of ``1 / (members of its group k feeds)``, in one pass over the senders."""
    weight = np.zeros(group.size)
    count = np.zeros(groups, dtype=np.int64)
    for k in range(indptr.size - 1):
        for a in range(indptr[k], indptr[k + 1]):
            r = row[indices[a]]
            if r >= 0:
                count[group[r]] += 1
        for a in range(indptr[k], indptr[k + 1]):
            r = row[indices[a]]
            if r >= 0:
                weight[r] += 1.0 / count[group[r]]
        for a in range(indptr[k], indptr[k + 1]):
            r = row[indices[a]]
            if r >= 0:
                count[group[r]] = 0
    return weight


def input_shares(network: SpikingNetwork, senders: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Each sender's inputs, an input feeding ``c`` exclusive senders of the same target counting ``1 / c``.

    The members of one target on one core weigh at most their distinct inputs together.
    """
    row = np.full(network.num_neurons, -1, dtype=np.int64)
    row[senders] = np.arange(senders.size)
    _, group = np.unique(targets, return_inverse=True)
    return _shares(np.asarray(network.indptr, dtype=np.int64), np.asarray(network.indices, dtype=np.int64), row,
                   group.ravel().astype(np.int64), int(group.max()) + 1 if group.size else 0)


def ring_prices(rows: np.ndarray, own: np.ndarray) -> tuple[float, np.ndarray]:
    """The least own-core price and the element-wise least sorted prices of packets into any core.

    ``rows, own`` are :func:`~.bounds.price_rows`: the full cost matrix (whose
    columns are the packets *into* a core), or one central core's prices,
    whose hop counts are symmetric on a mesh or torus.
    """
    if rows.shape[0] == rows.shape[1]:
        rows = rows.T  # column q: the prices of packets from every core into q
    local = float(rows[np.arange(own.size), own].min())
    remote = rows.copy()
    remote[np.arange(own.size), own] = np.inf
    return local, np.sort(remote, axis=1)[:, :-1].min(axis=0)


def _grouped_positions(group: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Start of each unit range when the weights are laid end to end within their group (same order)."""
    end = np.cumsum(weight)
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    offset = np.repeat(end[first] - weight[first], np.diff(np.r_[first, group.size]))
    return end - weight - offset


def fill_cost(group: np.ndarray, weight: np.ndarray, value: np.ndarray, eligible: np.ndarray, own_cap: np.ndarray,
              cap: float, local: float, remote: np.ndarray, groups: int) -> np.ndarray:
    """Least cost per group of placing weighted members on slots around the group's core (the greedy fill).

    Parameters
    ----------
    group, weight, value, eligible
        Per member: its group, its weight, its value (spikes; it pays ``value / weight``
        per unit of weight times the unit's price) and whether it may use the own core.
    own_cap
        Per group: the own core's capacity, priced ``local``.
    cap, remote
        Every other core's capacity and their prices, ascending; units past the
        last core are left unpriced (a lower value, so still a bound).
    """
    cost = np.zeros(groups)
    use = weight > 0  # a member of weight 0 fits any slot left: it may cost nothing
    if not use.any():
        return cost
    group, weight, value, eligible = group[use], weight[use], value[use], eligible[use]
    density = value / weight
    order = np.lexsort((-density, group))
    group, weight, density, eligible = group[order], weight[order], density[order], eligible[order]
    if remote.size and local > remote[0]:  # an own core dearer than a remote one: dropping it only lowers the bound
        own_cap = np.zeros_like(own_cap)
    start = _grouped_positions(group, np.where(eligible, weight, 0.0))
    at_home = np.clip(own_cap[group] - start, 0.0, weight) * eligible
    rest = weight - at_home
    lo = _grouped_positions(group, rest)
    cum_cap = np.concatenate([[0.0], cap * np.arange(1, remote.size + 1)])
    cum_cost = np.concatenate([[0.0], np.cumsum(cap * remote)])
    member = density * (at_home * local + np.interp(lo + rest, cum_cap, cum_cost) - np.interp(lo, cum_cap, cum_cost))
    np.add.at(cost, group, member)
    return cost


def exclusive_raise(network: SpikingNetwork, hardware: Hardware, per: np.ndarray, rows: np.ndarray,
                    own: np.ndarray, remote_only: np.ndarray, skip: np.ndarray | None = None
                    ) -> tuple[float, np.ndarray]:
    """What the coupling of exclusive senders adds to per-sender packet costs ``per`` (joules per spike).

    ``rows, own``: the packet prices of :func:`~.bounds.price_rows`; ``remote_only``: the senders that
    never share a core with a target (:func:`~.bounds_axons.never_local`).

    ``skip``: senders another argument raises; a target with one of them among its exclusive senders is left out.

    Returns the raise (joules) and the mask of the senders whose cost it raised
    (another additive argument must leave them out to stay valid).
    """
    n = network.num_neurons
    lim = hardware.limits
    raised = np.zeros(n, dtype=bool)
    senders, targets = exclusive_senders(network)
    if not senders.size:
        return 0.0, raised
    groups, group, members = np.unique(targets, return_inverse=True, return_counts=True)
    group = group.ravel()
    s = network.spikes[senders]
    eligible = ~remote_only[senders]
    local, remote = ring_prices(rows, own)
    one = np.ones(senders.size)
    best = fill_cost(group, one, s, eligible, np.full(groups.size, lim.n_max - 1.0), float(lim.n_max), local, remote,
                     groups.size)
    if lim.a_max is not None:
        weight = input_shares(network, senders, targets)
        axons = fill_cost(group, weight, s, eligible, np.maximum(lim.a_max - members, 0).astype(np.float64),
                          float(lim.a_max), local, remote, groups.size)
        best = np.maximum(best, axons)
    base = np.bincount(group, weights=s * per[senders], minlength=groups.size)
    gain = best - base
    if skip is not None:
        gain[np.bincount(group, weights=skip[senders], minlength=groups.size) > 0] = 0.0
    up = gain > 1e-12 * np.maximum(base, 1e-300)
    raised[senders[up[group]]] = True
    return float(gain[up].sum()), raised
