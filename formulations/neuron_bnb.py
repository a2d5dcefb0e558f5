r"""Exact depth-first branch and bound over neurons (method ``neuron-bnb``).

The search assigns one neuron to one core per level (numba, explicit stack,
resumable in chunks so Python checks the time limit). Everything is measured
on the *variable* energy ``E - constant`` (communication plus static energy of
powered cores); the reported energy is always the evaluator's.

State of a node: a partial mapping of the assigned neurons ``P``. Its
**committed** energy is what every completion pays for sure:

- static energy of every core holding an assigned neuron;
- multicast: for each assigned sender ``i``, ``s_i * cost(core(i), d)`` for
  every core ``d`` holding an assigned target of ``i`` (its destination set
  only grows);
- unicast: ``s_i * cost(core(i), core(j))`` for every synapse with both ends assigned.

**Bound.** For an unassigned neuron ``j`` and a core ``c`` it may take (room for
one more neuron, its synapses and its new input axons, ``dest_max`` of its
presynaptic neurons, pins) ``L[j, c]`` is a lower bound on the energy that
placing ``j`` on ``c`` causes and nobody else is charged for:

- ``j`` as a sender: multicast ``s_j * sum cost(c, d)`` over the cores ``d``
  already holding a target of ``j`` (plus ``cost(c, c)`` for a self-loop),
  plus the cheapest destinations it must add because its unassigned targets
  outgrow the free slots there (:func:`_extra_destinations`); unicast
  ``s_j * cost(c, core(k))`` per assigned target ``k`` and, for the unassigned
  ones, the cheapest free slots seen from ``c`` (:func:`_fill_slots`);
- ``j`` as a target of an assigned sender ``i``: unicast
  ``s_i * cost(core(i), c)`` (one packet per synapse); multicast the packet
  to ``c`` is paid only if ``c`` is a new destination of ``i`` and is shared by
  all ``i``'s targets that land there, so ``j`` is charged
  ``s_i * cost(core(i), c) / u_i`` with ``u_i`` the number of ``i``'s unassigned
  targets (at most ``u_i`` of them share one packet, so the shares never
  exceed it). When ``i``'s unassigned targets must open a remote destination,
  ``i`` is charged that forced packet directly instead and its targets no shares.

Every term is a distinct part of the final energy, so ``committed + sum_j
L[j, core(j)] + static of newly opened cores`` is at most the energy of
any completion. The bound minimises it over a relaxation that lets every ``j``
pick its core independently but counts new cores: ``j`` pays ``a_j`` (its
cheapest powered core) or ``b_j`` (cheapest unpowered one); if ``m`` neurons
take unpowered cores, at least ``ceil(m / n_max)`` cores are opened, and at
least ``m0 = U - (free neuron slots on powered cores)`` must. The minimum over
``m >= m0`` (sorted ``b_j - a_j``) is exact for the relaxation. Core
capacities enter through Lagrange multipliers ``mu_c >= 0`` on the free slots
(prices ``L + mu``, minus ``sum mu_c * slots_c``; valid for every ``mu >= 0``),
set by subgradient steps at the root and inherited below.

**Branching.** The unassigned neuron with the largest regret (second-cheapest
minus cheapest ``L[j, .]``; forced neurons first, ties by traffic), its cores
in increasing ``L[j, c]``. A child's stored bound is
``max(parent bound, committed + static(c) + L[j, c] + sum_{k != j} min L[k, .])``
(the parent's separable bound with ``j`` fixed): children that cannot beat the
incumbent are never entered.

**Symmetry.** Cost automorphisms ``g`` of the cores (``cost[g][:, g] == cost``:
mesh reflections and rotations) map mappings to mappings of equal energy and
load. At a node, the automorphisms fixing every powered core (the stabiliser of
the partial mapping) are active; a child core ``c`` with ``g[c] < c`` for an
active ``g`` is skipped, as its subtree is the image of ``g[c]``'s. Unpowered
cores are interchangeable only through these automorphisms (a corner and a
centre core are not). With pinned neurons no automorphism is used.

**Tolerance.** A node is pruned when its bound is ``>= UB - tol``,
``tol = 1e-9 * UB`` (variable energy): "optimal" means within ``tol``, and the
reported bound on a proof is ``E - tol``.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from numba import njit

from snnmap.formulations.bounds import precheck
from snnmap.formulations.energy import evaluate
from snnmap.formulations.exact_common import ProgressFn, check_start, energy_agrees, prepare, valid_lower_bound
from snnmap.formulations.qap.bnb import location_automorphisms
from snnmap.formulations.result import Result, Status, infeasible_result, result_from_mapping
from snnmap.formulations.target_components import cheapest_free_core, component_bound, component_optimum
from snnmap.hardware import EnergyCosts, Hardware, Limits
from snnmap.instances import SpikingNetwork

__all__ = ["solve", "solve_partition"]

METHOD = "neuron-bnb"
PARTITION_METHOD = "partition-bnb"
REL_TOL = 1e-9
NODE_CHUNK = 20_000
PLACE_NODES = 50_000  # placement search nodes per partition; beyond, the partition stays open (its bound kept)
PLACE_WEIGHT = 20  # placement nodes that cost about one search node (for the chunks' time checks)
ROOT_ITERS = 50  # subgradient steps on the capacity multipliers at the root
NODE_ITERS = 0  # at other nodes: the root's multipliers (more steps cost more time than they save on the minis)
COMPONENT_AFTER = 2.0  # seconds of search before partition-bnb computes the component bound (minis prove sooner)
COMPONENT_SHARE = 0.25  # of the time left, for the component bound
COMPONENT_CAP = 60.0  # seconds for the component bound without a time limit
_BIG = 1 << 40  # "no limit" for integer limits


# ----------------------------------------------------------------------------
# State updates
# ----------------------------------------------------------------------------
@njit(cache=True)
def _assign(j, c, core, assigned, cnt, nload, syn, axons, dests, unassigned_t, comm_uni, s, cost, static,
            indeg, post_ptr, post_idx, post_mul, pre_ptr, pre_idx, pre_mul):
    """Put neuron ``j`` on core ``c``; return the committed energy it adds."""
    k = cost.shape[0]
    add = 0.0
    core[j] = c
    if nload[c] == 0:
        add += static
    nload[c] += 1
    syn[c] += indeg[j]
    # j as a sender, towards targets assigned before it (self-loops come with the pre loop).
    if comm_uni:
        for p in range(post_ptr[j], post_ptr[j + 1]):
            t = post_idx[p]
            if t != j and assigned[t]:
                add += s[j] * post_mul[p] * cost[c, core[t]]
    else:
        for d in range(k):
            if cnt[j, d] > 0:
                add += s[j] * cost[c, d]
    assigned[j] = True
    # j as a target.
    for p in range(pre_ptr[j], pre_ptr[j + 1]):
        i = pre_idx[p]
        if cnt[i, c] == 0:
            axons[c] += 1
            dests[i] += 1
            if assigned[i] and not comm_uni:
                add += s[i] * cost[core[i], c]
        if assigned[i] and comm_uni:
            add += s[i] * pre_mul[p] * cost[core[i], c]
        cnt[i, c] += 1
        unassigned_t[i] -= 1
    return add


@njit(cache=True)
def _unassign(j, core, assigned, cnt, nload, syn, axons, dests, unassigned_t, indeg, pre_ptr, pre_idx):
    """Undo :func:`_assign` (the committed energy is restored from the stack)."""
    c = core[j]
    for p in range(pre_ptr[j], pre_ptr[j + 1]):
        i = pre_idx[p]
        cnt[i, c] -= 1
        if cnt[i, c] == 0:
            axons[c] -= 1
            dests[i] -= 1
        unassigned_t[i] += 1
    assigned[j] = False
    nload[c] -= 1
    syn[c] -= indeg[j]
    core[j] = -1


@njit(cache=True)
def _fits(j, c, cnt, nload, syn, axons, dests, indeg, pre_ptr, pre_idx, allowed, n_max, a_max, syn_max, dest_max):
    """Whether neuron ``j`` may go on core ``c`` now (every limit, pins)."""
    if not allowed[j, c] or nload[c] >= n_max or syn[c] + indeg[j] > syn_max:
        return False
    new = 0
    for p in range(pre_ptr[j], pre_ptr[j + 1]):
        i = pre_idx[p]
        if cnt[i, c] == 0:
            new += 1
            if dests[i] + 1 > dest_max:
                return False
    return axons[c] + new <= a_max


# ----------------------------------------------------------------------------
# Bound
# ----------------------------------------------------------------------------
@njit(cache=True)
def _extra_destinations(src, cnt_row, own_core, sender_slot, u, order, cost, nload, n_max):
    """Least price of the destinations a multicast sender on ``src`` must add for ``u`` unassigned targets.

    The free slots of its present destinations (``cnt_row > 0``, and
    ``own_core`` if ``>= 0``) are used first (``sender_slot``: the core where the
    sender itself still takes a slot, or -1); the ``rest`` need at least
    ``ceil(rest / n_max)`` further cores, none cheaper than the cheapest cores
    with a free slot outside that set. ``inf`` when too few such cores exist.
    """
    k = cost.shape[0]
    room = 0
    for d in range(k):
        if cnt_row[d] > 0 or d == own_core:
            room += n_max - nload[d] - (1 if d == sender_slot else 0)
    rest = u - room
    if rest <= 0:
        return 0.0
    r = (rest + n_max - 1) // n_max
    total = 0.0
    for q in range(k):
        d = order[src, q]
        if cnt_row[d] > 0 or d == own_core or nload[d] + (1 if d == sender_slot else 0) >= n_max:
            continue
        total += cost[src, d]
        r -= 1
        if r == 0:
            return total
    return np.inf


@njit(cache=True)
def _fill_slots(src, u, order, cost, nload, n_max):
    """Least unicast price of ``u`` distinct targets of a sender placed on ``src``.

    Each target takes a free neuron slot (the sender itself one on ``src``) and
    its synapse costs ``cost[src, core]``; filling the cheapest slots first is
    the minimum of this relaxation (other unassigned neurons' needs ignored).
    ``inf`` when the slots do not suffice.
    """
    total = 0.0
    k = cost.shape[0]
    for q in range(k):
        if u <= 0:
            break
        d = order[src, q]
        room = n_max - nload[d] - (1 if d == src else 0)
        take = min(room, u)
        if take > 0:
            total += take * cost[src, d]
            u -= take
    return total if u <= 0 else np.inf


@njit(cache=True)
def _node_bound(committed, core, assigned, cnt, nload, syn, axons, dests, unassigned_t, comm_uni, s, cost,
                rowmin, static, indeg, outdeg, selfloop, post_ptr, post_idx, post_mul, pre_ptr, pre_idx, pre_mul,
                allowed, n_max, a_max, syn_max, dest_max, L, minL, a_best, b_best, deltas, mu, grad, iters, cut,
                order, remote_min, noshare, fs):
    """Fill ``L`` / ``minL`` for the unassigned neurons; return the node bound (``inf``: infeasible).

    ``fs[0]`` receives the forced extra-destination energy of assigned senders (part of the bound).

    ``mu`` (Lagrange multipliers of the free neuron slots per core, improved
    in place by ``iters`` subgradient steps) starts from the parent's values.
    """
    n = core.shape[0]
    k = cost.shape[0]
    # Assigned multicast senders whose unassigned targets cannot all fit on their present
    # destination cores pay for the cheapest extra destinations; their targets are then
    # not charged shares of those packets (the same energy).
    forced = 0.0
    if not comm_uni:
        for i in range(n):
            noshare[i] = False
            if assigned[i] and unassigned_t[i] > 0:
                extra = _extra_destinations(core[i], cnt[i], -1, -1, unassigned_t[i], order, cost, nload, n_max)
                if extra == np.inf:
                    return np.inf
                # Only a forced remote destination beats the shares (a packet to the own core is cheap).
                if extra >= remote_min[core[i]]:
                    forced += s[i] * extra
                    noshare[i] = True
    committed += forced
    fs[0] = forced
    U = 0
    sum_min = 0.0
    for j in range(n):
        if assigned[j]:
            continue
        U += 1
        best = np.inf
        for c in range(k):
            if not _fits(j, c, cnt, nload, syn, axons, dests, indeg, pre_ptr, pre_idx, allowed, n_max, a_max,
                         syn_max, dest_max):
                L[j, c] = np.inf
                continue
            v = 0.0
            if comm_uni:
                free_targets = 0
                distinct = 0
                for p in range(post_ptr[j], post_ptr[j + 1]):
                    t = post_idx[p]
                    if t == j:
                        v += s[j] * post_mul[p] * cost[c, c]
                    elif assigned[t]:
                        v += s[j] * post_mul[p] * cost[c, core[t]]
                    else:
                        free_targets += post_mul[p]
                        distinct += 1
                # Distinct unassigned targets fill the cheapest free slots seen from c (j takes one on c);
                # further synapses to the same targets cost at least the cheapest packet.
                v += s[j] * (_fill_slots(c, distinct, order, cost, nload, n_max)
                             + (free_targets - distinct) * rowmin[c])
                for p in range(pre_ptr[j], pre_ptr[j + 1]):
                    i = pre_idx[p]
                    if i != j and assigned[i]:
                        v += s[i] * pre_mul[p] * cost[core[i], c]
            else:
                if outdeg[j] > 0:
                    own = 0.0
                    for d in range(k):
                        if cnt[j, d] > 0:
                            own += cost[c, d]
                    own_core = -1
                    if selfloop[j] and cnt[j, c] == 0:
                        own += cost[c, c]
                        own_core = c
                    u = unassigned_t[j] - (1 if selfloop[j] else 0)
                    if u > 0:
                        own += _extra_destinations(c, cnt[j], own_core, c, u, order, cost, nload, n_max)
                    v += s[j] * own
                for p in range(pre_ptr[j], pre_ptr[j + 1]):
                    i = pre_idx[p]
                    if i != j and assigned[i] and cnt[i, c] == 0 and not noshare[i]:
                        v += s[i] * cost[core[i], c] / unassigned_t[i]
            L[j, c] = v
            best = min(best, v)
        if best == np.inf:
            return np.inf
        minL[j] = best
        sum_min += best
    if U == 0:
        return committed
    best_total = sum_min
    for it in range(iters + 1):
        val = _relaxation(assigned, L, nload, n_max, static, U, mu, a_best, b_best, deltas, grad, it < iters)
        best_total = max(best_total, val)
        if it == iters or committed + best_total >= cut:
            break
        norm = 0.0
        for c in range(k):
            norm += grad[c] * grad[c]
        if norm == 0.0:
            break  # the relaxed solution respects every capacity: it is optimal for the relaxation
        target = cut - committed if cut < np.inf else 1.05 * val + 1e-30
        step = 0.5 * max(target - val, 0.0) / norm
        if step == 0.0:
            break
        for c in range(k):
            mu[c] = max(0.0, mu[c] + step * grad[c])
    return committed + best_total


@njit(cache=True)
def _relaxation(assigned, L, nload, n_max, static, U, mu, a_best, b_best, deltas, grad, want_grad):
    """Lagrangian capacity relaxation with the count of opened cores; its value (without ``committed``).

    Every unassigned neuron picks a core independently at price ``L + mu``
    (``- sum mu_c * free slots_c`` is added back: for any completion the
    dropped terms ``mu_c (load_c - free_c)`` are ``<= 0``); ``m`` of them on
    unpowered cores open ``>= ceil(m / n_max)`` cores, and at least
    ``U - (free slots on powered cores)`` must. With ``want_grad``, ``grad``
    receives the capacity excess of the relaxed choice.
    """
    n, k = L.shape
    const = 0.0
    free = 0
    for c in range(k):
        cap = n_max - nload[c]
        const -= mu[c] * cap
        if nload[c] > 0:
            free += cap
        grad[c] = -cap
    forced = 0
    base = 0.0
    nd = 0
    for j in range(n):
        if assigned[j]:
            continue
        ab = np.inf
        bb = np.inf
        for c in range(k):
            v = L[j, c] + mu[c]
            if nload[c] > 0:
                ab = min(ab, v)
            elif v < bb:
                bb = v
        a_best[j] = ab
        b_best[j] = bb
        if ab == np.inf:
            forced += 1
            base += bb
        elif bb == np.inf:
            base += ab
        else:
            base += ab
            deltas[nd] = bb - ab
            nd += 1
    m0 = max(U - free, forced)
    srt = np.sort(deltas[:nd])
    best = np.inf
    best_m = 0
    acc = base
    for m in range(forced, forced + nd + 1):
        if m > forced:
            acc += srt[m - forced - 1]
        if m >= m0:
            val = acc + static * ((m + n_max - 1) // n_max)
            if val < best:
                best = val
                best_m = m
    if want_grad and best < np.inf:
        # The relaxed choice: the best_m - forced smallest deltas go to unpowered cores.
        thr = srt[best_m - forced - 1] if best_m > forced else -np.inf
        extra = best_m - forced
        for j in range(n):
            if assigned[j]:
                continue
            to_new = a_best[j] == np.inf
            if not to_new and b_best[j] < np.inf and extra > 0 and b_best[j] - a_best[j] <= thr:
                to_new = True
                extra -= 1
            pick = -1
            pv = np.inf
            for c in range(k):
                if (nload[c] == 0) == to_new:
                    v = L[j, c] + mu[c]
                    if v < pv:
                        pv = v
                        pick = c
            if pick >= 0:
                grad[pick] += 1
    return best + const


# ----------------------------------------------------------------------------
# Deferred placement: the exact placement of a finished partition
# ----------------------------------------------------------------------------
@njit(cache=True)
def _place_leaf(core, cnt, nload, comm_uni, s, static, post_ptr, post_idx, post_mul, rcost, Gq, ub_arr, best,
                uniform_energy):
    """Place the groups of a complete partition (virtual cores ``0..g-1``) on the real cores optimally.

    The flows between groups are the packets the partition sends (multicast:
    ``s_i`` from ``i``'s group to every group holding a target of ``i``;
    unicast: one per synapse); the placement minimises
    ``sum F[g, h] * rcost[p_g, p_h]`` over injective ``p`` by a depth-first
    search (groups by decreasing flow, each partial placement bounded by the
    cheapest free core of every unplaced group and ``offmin`` per packet
    between two unplaced groups; the first group only on one core of each
    orbit of the cost automorphisms ``Gq``). Updates ``ub_arr[0]`` and ``best``
    (real cores) when the energy ``static * g + placement`` beats it. A search
    cut short after :data:`PLACE_NODES` nodes keeps what it found, records the
    partition's ``uniform_energy`` (a bound of its every placement) in
    ``ub_arr[1]`` when lower. Returns the nodes it searched (more than
    ``PLACE_NODES``: cut short).
    """
    n = core.shape[0]
    k = rcost.shape[0]
    g = 0
    while g < k and nload[g] > 0:
        g += 1
    F = np.zeros((g, g))
    for i in range(n):
        if comm_uni:
            for p in range(post_ptr[i], post_ptr[i + 1]):
                F[core[i], core[post_idx[p]]] += s[i] * post_mul[p]
        else:
            for d in range(g):
                if cnt[i, d] > 0:
                    F[core[i], d] += s[i]
    offmin = np.inf
    for a in range(k):
        for b in range(k):
            if a != b and rcost[a, b] < offmin:
                offmin = rcost[a, b]
    if g == 1:
        offmin = 0.0
    tot = np.zeros(g)
    for a in range(g):
        for b in range(g):
            tot[a] += F[a, b] + F[b, a]
    order_g = np.argsort(-tot)
    cutoff = ub_arr[0] - static * g
    best_val = cutoff
    pl = -np.ones(g, np.int64)
    best_pl = -np.ones(g, np.int64)
    used = np.zeros(k, np.bool_)
    pos = np.zeros(g + 1, np.int64)
    partial = np.zeros(g + 1)
    found = False
    nodes = 0
    q = 0
    while q >= 0:
        nodes += 1
        if nodes > PLACE_NODES:
            break
        if pos[q] >= k:
            q -= 1
            if q >= 0:
                used[pl[order_g[q]]] = False
            continue
        dcore = pos[q]
        pos[q] += 1
        if used[dcore]:
            continue
        if q == 0:
            skip = False
            for a in range(Gq.shape[0]):
                if Gq[a, dcore] < dcore:
                    skip = True
                    break
            if skip:
                continue
        h = order_g[q]
        cur = partial[q] + F[h, h] * rcost[dcore, dcore]
        for r in range(q):
            a = order_g[r]
            cur += F[a, h] * rcost[pl[a], dcore] + F[h, a] * rcost[dcore, pl[a]]
        lb = cur
        if lb >= best_val:
            continue
        pl[h] = dcore
        used[dcore] = True
        for r in range(q + 1, g):
            hh = order_g[r]
            lb += cheapest_free_core(F, rcost, order_g, pl, used, q, hh)
            for r2 in range(r + 1, g):
                lb += (F[hh, order_g[r2]] + F[order_g[r2], hh]) * offmin
        used[dcore] = False
        if lb >= best_val:
            continue
        if q == g - 1:
            best_val = cur
            best_pl[:] = pl
            found = True
            continue
        used[dcore] = True
        partial[q + 1] = cur
        pos[q + 1] = 0
        q += 1
    if found:
        ub_arr[0] = best_val + static * g
        for i in range(n):
            best[i] = best_pl[core[i]]
    if nodes > PLACE_NODES and uniform_energy < ub_arr[1]:
        ub_arr[1] = uniform_energy
    return nodes


# ----------------------------------------------------------------------------
# Search
# ----------------------------------------------------------------------------
@njit(cache=True)
def _cutoff(ub):
    """Bounds at or above this cannot improve on ``ub`` by more than the tolerance."""
    if ub == np.inf:
        return np.inf
    return ub - REL_TOL * abs(ub)


@njit(cache=True)
def _expand(depth, committed, core, assigned, cnt, nload, syn, axons, dests, unassigned_t, comm_uni, s, cost,
            rowmin, static, indeg, outdeg, selfloop, traffic, post_ptr, post_idx, post_mul, pre_ptr, pre_idx,
            pre_mul, allowed, n_max, a_max, syn_max, dest_max, G, act, uniform, rcost, Gq, ub, L, minL, a_best,
            b_best, deltas, mu_st, grad, iters, order, remote_min, noshare, fs, br_neuron, ch_core, ch_bnd, nch, ptr):
    """Bound the node at ``depth`` and push its children; return its bound (``inf`` when pruned)."""
    n = core.shape[0]
    k = cost.shape[0]
    nch[depth] = 0
    ptr[depth] = 0
    cut = _cutoff(ub)
    lb = _node_bound(committed, core, assigned, cnt, nload, syn, axons, dests, unassigned_t, comm_uni, s,
                     cost, rowmin, static, indeg, outdeg, selfloop, post_ptr, post_idx, post_mul, pre_ptr, pre_idx,
                     pre_mul, allowed, n_max, a_max, syn_max, dest_max, L, minL, a_best, b_best, deltas,
                     mu_st[depth], grad, iters, cut, order, remote_min, noshare, fs)
    committed += fs[0]  # the forced extra destinations hold for every child
    if lb >= cut:
        return np.inf
    # Branching neuron: largest regret, forced (one core) first, ties by traffic.
    pick = -1
    pick_regret = -1.0
    sum_min = 0.0
    for j in range(n):
        if assigned[j]:
            continue
        sum_min += minL[j]
        m1 = np.inf
        m2 = np.inf
        for c in range(k):
            v = L[j, c]
            if v < m1:
                m2 = m1
                m1 = v
            elif v < m2:
                m2 = v
        regret = m2 - m1 if m2 < np.inf else 1e300
        if pick < 0 or regret > pick_regret or (regret == pick_regret and traffic[j] > traffic[pick]):
            pick = j
            pick_regret = regret
    j = pick
    br_neuron[depth] = j
    # Children: allowed cores not mapped onto a smaller one by an active automorphism; with uniform
    # costs (placement deferred) every empty core is alike, so only the first one is a child.
    cnt_ch = 0
    seen_empty = False
    for c in range(k):
        if uniform and nload[c] == 0:
            if seen_empty:
                continue
            seen_empty = True
        v = L[j, c]
        if v == np.inf:
            continue
        skip = False
        for g in range(G.shape[0]):
            if act[depth, g] and G[g, c] < c:
                skip = True
                break
        if skip:
            continue
        est = committed + v + sum_min - minL[j] + (static if nload[c] == 0 else 0.0)
        est = max(est, lb)
        if est >= cut:
            continue
        # Insertion by estimated bound.
        q = cnt_ch
        while q > 0 and ch_bnd[depth, q - 1] > est:
            ch_bnd[depth, q] = ch_bnd[depth, q - 1]
            ch_core[depth, q] = ch_core[depth, q - 1]
            q -= 1
        ch_bnd[depth, q] = est
        ch_core[depth, q] = c
        cnt_ch += 1
    nch[depth] = cnt_ch
    if cnt_ch == 0:
        return np.inf
    return lb


@njit(cache=True)
def _search(state, committed_st, core, assigned, cnt, nload, syn, axons, dests, unassigned_t, comm_uni, s, cost,
            rowmin, static, indeg, outdeg, selfloop, traffic, post_ptr, post_idx, post_mul, pre_ptr, pre_idx,
            pre_mul, allowed, n_max, a_max, syn_max, dest_max, G, act, uniform, rcost, Gq, ub_arr, best, L, minL,
            a_best, b_best, deltas, mu_st, grad, iters, order, remote_min, noshare, fs, br_neuron, ch_core, ch_bnd,
            nch, ptr, budget):
    """Run at most ``budget`` nodes; ``state = [depth, nodes, placed partitions, placements cut short]``.

    Depth -1: search complete. ``ub_arr = [incumbent, least bound of the partitions whose placement was cut short]``.

    Invariant between calls: the neurons ``br_neuron[0..depth-1]`` are
    assigned to their current children, and every unexplored subtree is a
    pending child ``ch_core[d, ptr[d]:nch[d]]`` of some level ``d <= depth``.
    """
    n = core.shape[0]
    d = state[0]
    done = 0
    while d >= 0 and done < budget:
        if ptr[d] >= nch[d]:
            d -= 1
            if d >= 0:
                _unassign(br_neuron[d], core, assigned, cnt, nload, syn, axons, dests, unassigned_t, indeg,
                          pre_ptr, pre_idx)
            continue
        c = ch_core[d, ptr[d]]
        b = ch_bnd[d, ptr[d]]
        ptr[d] += 1
        ub = ub_arr[0]
        if b >= _cutoff(ub):
            continue
        j = br_neuron[d]
        done += 1
        committed = committed_st[d] + _assign(j, c, core, assigned, cnt, nload, syn, axons, dests, unassigned_t,
                                              comm_uni, s, cost, static, indeg, post_ptr, post_idx, post_mul,
                                              pre_ptr, pre_idx, pre_mul)
        committed_st[d + 1] = committed
        if d + 1 == n:
            if uniform:
                if committed < ub:  # the uniform costs are a lower bound of every placement's
                    state[2] += 1
                    used = _place_leaf(core, cnt, nload, comm_uni, s, static, post_ptr, post_idx, post_mul, rcost,
                                       Gq, ub_arr, best, committed)
                    state[3] += used > PLACE_NODES
                    done += used // PLACE_WEIGHT  # keeps a chunk's work, hence the time checks, bounded
            elif committed < ub:
                ub_arr[0] = committed
                best[:] = core
            _unassign(j, core, assigned, cnt, nload, syn, axons, dests, unassigned_t, indeg, pre_ptr, pre_idx)
            continue
        for g in range(G.shape[0]):
            act[d + 1, g] = act[d, g] and G[g, c] == c
        mu_st[d + 1] = mu_st[d]
        lb = _expand(d + 1, committed, core, assigned, cnt, nload, syn, axons, dests, unassigned_t, comm_uni, s,
                     cost, rowmin, static, indeg, outdeg, selfloop, traffic, post_ptr, post_idx, post_mul, pre_ptr,
                     pre_idx, pre_mul, allowed, n_max, a_max, syn_max, dest_max, G, act, uniform, rcost, Gq,
                     ub_arr[0], L, minL,
                     a_best, b_best, deltas, mu_st, grad, iters, order, remote_min, noshare, fs, br_neuron, ch_core,
                     ch_bnd, nch, ptr)
        if lb == np.inf:
            _unassign(j, core, assigned, cnt, nload, syn, axons, dests, unassigned_t, indeg, pre_ptr, pre_idx)
            continue
        d += 1
    state[0] = d
    state[1] += done


@njit(cache=True)
def _open_bound(ch_bnd, nch, ptr, depth, ub):
    """Smallest stored bound among the pending children (capped by ``ub``)."""
    lb = ub
    for d in range(depth + 1):
        for q in range(ptr[d], nch[d]):
            lb = min(lb, ch_bnd[d, q])
    return lb


# ----------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------
def _csr(rows: np.ndarray, cols: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``(row, col)`` pairs as CSR by row, with their multiplicities."""
    key, mult = np.unique(rows.astype(np.int64) * n + cols, return_counts=True)
    r, c = key // n, key % n
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(r, minlength=n), out=ptr[1:])
    return ptr, c.astype(np.int64), mult.astype(np.float64)


_compiled = False  # whether this process has compiled (or loaded from numba's cache) the kernels


def _compile() -> float:
    """Compile the kernels once per process on a 3-neuron instance; the seconds it took (0 when done before).

    Compiling takes up to a minute or two on a busy machine the first time
    (numba's cache makes later processes quick): it is kept out of every time limit.
    """
    global _compiled
    if _compiled:
        return 0.0
    _compiled = True
    t0 = time.perf_counter()
    net = SpikingNetwork.from_edges(3, [0, 0, 1], [1, 2, 2], [2.0, 1.0, 1.0])
    hw = Hardware(name="compile", limits=Limits(n_max=2), mesh=(1, 2),
                  energy=EnergyCosts(e_spike=1.0, e_syn=1.0, e_local=0.5, e_route=2.0, e_hop=1.0, p_static=3.0))
    for comm in ("multicast", "unicast"):
        solve(net, hw, comm=comm, defer_placement=True)
    component_optimum([np.array([0, 1]), np.array([1, 2])], np.ones(2), 3, 2, 2, time_limit=1.0)
    return time.perf_counter() - t0


def _uniform_costs(cost: np.ndarray) -> np.ndarray:
    """Every core's packet costs set to the cheapest local (diagonal) and cheapest remote (off-diagonal) one."""
    k = cost.shape[0]
    diag = np.eye(k, dtype=bool)
    off = cost[~diag].min() if k > 1 else 0.0
    return np.where(diag, np.diag(cost).min(), off)


def _variable_energy(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray, comm: str,
                     constant: float) -> float:
    return evaluate(network, hardware, core_of, comm, link_loads=False).total - constant


def solve(
    network: SpikingNetwork,
    hardware: Hardware,
    *,
    time_limit: float | None = None,
    seed: int = 0,
    comm: str | None = None,
    start: Any = None,
    progress: ProgressFn | None = None,
    symmetry: bool = True,
    report_every: float = 5.0,
    node_chunk: int = NODE_CHUNK,
    node_iters: int = NODE_ITERS,
    threads: int | None = None,
    force: bool = False,
    defer_placement: bool = False,
    components: bool = True,
) -> Result:
    """Map by the neuron-level branch and bound (see the module docstring).

    Parameters
    ----------
    network, hardware, comm
        The instance and communication model.
    time_limit
        Seconds (``None``: until proven); on expiry the best mapping and a
        valid bound are returned with status ``time_limit``.
    seed
        Seed of a heuristic ``start`` (the search itself is deterministic).
    start
        Incumbent: a mapping array or a heuristic name (run for a tenth of the
        time limit, at most 10 s, inside it).
    progress
        Called as ``progress(elapsed, incumbent_joules, bound_joules)`` every
        ``report_every`` seconds and when the incumbent improves.
    symmetry
        Skip children equivalent under core automorphisms.
    node_chunk
        Nodes per call into the compiled search (granularity of time checks).
    threads, force
        Taken for the exact methods' common interface and unused: the search is
        single-threaded and builds no model that could be too large.
    defer_placement
        Search partitions and place them at the leaves (``partition-bnb``).
    components
        With ``defer_placement`` on multicast: compute the component bound
        (:mod:`formulations.target_components`) once the search has run
        ``COMPONENT_AFTER`` seconds, report it and stop when the incumbent meets it.
    """
    method = PARTITION_METHOD if defer_placement else METHOD
    refuse_budget(hardware, method)
    compile_s = _compile()
    t0 = time.perf_counter()
    comm = hardware.comm if comm is None else comm
    problem = precheck(network, hardware)
    if problem:
        return infeasible_result(network, hardware, problem, method=method, runtime=time.perf_counter() - t0,
                                 seed=seed, comm=comm)
    d = prepare(network, hardware, comm, symmetry=False)  # only pins restrict cores here
    n, k = d.n, d.k
    lim = hardware.limits
    start_map, note = check_start(start, network, hardware, comm)

    # Instance arrays.
    post_ptr, post_idx, post_mul = _csr(network.pre, network.post, n)
    pre_ptr, pre_idx, pre_mul = _csr(network.post, network.pre, n)
    s = np.ascontiguousarray(network.spikes, dtype=np.float64)
    pinned = network.pins is not None and bool(np.any(network.pins >= 0))
    rcost = np.ascontiguousarray(d.cost)
    uniform = defer_placement and not pinned
    if defer_placement and pinned:
        note = "; ".join(m for m in (note, "pinned neurons: cores placed during the search") if m)
    # Deferred placement searches partitions on interchangeable virtual cores priced at the cheapest
    # local and the cheapest remote packet (a lower bound of every placement), placed exactly at the leaves.
    cost = _uniform_costs(rcost) if uniform else rcost
    Gq = location_automorphisms(rcost) if uniform and symmetry and k > 1 else np.zeros((0, k), np.int64)
    rowmin = cost.min(axis=1)
    indeg = np.bincount(network.post, minlength=n).astype(np.int64)  # synapses stored with the neuron
    outdeg = np.diff(post_ptr).astype(np.int64)
    selfloop = np.zeros(n, np.bool_)
    selfloop[network.pre[network.pre == network.post]] = True
    traffic = s * outdeg + np.bincount(network.post, weights=s[network.pre], minlength=n)
    allowed = np.ones((n, k), np.bool_)
    for i, cores in enumerate(d.allowed):
        if cores is not None:
            allowed[i] = False
            allowed[i, cores] = True
    use_g = symmetry and not pinned and not uniform and k > 1
    G = location_automorphisms(cost) if use_g else np.zeros((0, k), np.int64)
    n_max = int(lim.n_max)
    a_max = _BIG if lim.a_max is None else int(lim.a_max)
    syn_max = _BIG if lim.syn_max is None else int(lim.syn_max)
    dest_max = _BIG if lim.dest_max is None else int(lim.dest_max)
    static = float(d.static_per_core)
    uni = comm == "unicast"

    # Incumbent.
    best = -np.ones(n, np.int64)
    ub = np.inf
    if start_map is not None:
        best = start_map.copy()
        ub = _variable_energy(network, hardware, best, comm, d.constant)
    ub_start = ub
    ub_arr = np.array([ub, np.inf])

    # Search state.
    core = -np.ones(n, np.int64)
    assigned = np.zeros(n, np.bool_)
    cnt = np.zeros((n, k), np.int64)
    nload = np.zeros(k, np.int64)
    syn = np.zeros(k, np.int64)
    axons = np.zeros(k, np.int64)
    dests = np.zeros(n, np.int64)
    unassigned_t = outdeg.copy()
    committed_st = np.zeros(n + 1)
    act = np.zeros((n + 1, max(G.shape[0], 1)), np.bool_)
    act[0, : G.shape[0]] = True
    L = np.zeros((n, k))
    minL = np.zeros(n)
    a_best = np.zeros(n)
    b_best = np.zeros(n)
    deltas = np.zeros(n)
    br_neuron = np.zeros(n + 1, np.int64)
    ch_core = np.zeros((n + 1, k), np.int64)
    ch_bnd = np.zeros((n + 1, k))
    nch = np.zeros(n + 1, np.int64)
    ptr = np.zeros(n + 1, np.int64)
    args = (core, assigned, cnt, nload, syn, axons, dests, unassigned_t, uni, s, cost, rowmin, static, indeg, outdeg,
            selfloop, traffic, post_ptr, post_idx, post_mul, pre_ptr, pre_idx, pre_mul, allowed, n_max, a_max,
            syn_max, dest_max, G, act, uniform, rcost, Gq)
    mu_st = np.zeros((n + 1, k))
    grad = np.zeros(k)
    order = np.argsort(cost, axis=1, kind="stable").astype(np.int64)
    off = cost + np.where(np.eye(k, dtype=bool), np.inf, 0.0)
    remote_min = off.min(axis=1) if k > 1 else np.full(k, np.inf)
    noshare = np.zeros(n, np.bool_)
    fs = np.zeros(1)
    root = _expand(0, 0.0, *args, ub_arr[0], L, minL, a_best, b_best, deltas, mu_st, grad, ROOT_ITERS, order,
                   remote_min, noshare, fs, br_neuron, ch_core, ch_bnd, nch, ptr)
    root_bound = float(root) if math.isfinite(root) else float(ub_arr[0])
    state = np.array([0 if math.isfinite(root) else -1, 0, 0, 0], np.int64)
    timed_out = False
    last_report = time.perf_counter()
    last_ub = ub_arr[0]
    # partition-bnb on multicast: the component bound (target_components.py), once the search has not finished fast.
    comp_stats: dict[str, Any] | None = None if defer_placement and components and not uni else {}
    comp_lb = -np.inf
    comp_proof = False
    while state[0] >= 0:
        _search(state, committed_st, *args, ub_arr, best, L, minL, a_best, b_best, deltas, mu_st, grad, node_iters,
                order, remote_min, noshare, fs, br_neuron, ch_core, ch_bnd, nch, ptr, node_chunk)
        now = time.perf_counter()
        if comp_stats is None and state[0] >= 0 and now - t0 >= COMPONENT_AFTER:
            comp_lb, comp_stats = _component_lower_bound(network, hardware, d.constant, best, time_limit, now - t0)
            now = time.perf_counter()
        if progress is not None and (now - last_report >= report_every or ub_arr[0] < last_ub):
            last_report, last_ub = now, ub_arr[0]
            lb = _open_bound(ch_bnd, nch, ptr, state[0], ub_arr[0]) if state[0] >= 0 else ub_arr[0]
            progress(now - t0, float(ub_arr[0]) + d.constant, max(float(lb), root_bound, comp_lb) + d.constant)
        if state[0] >= 0 and comp_lb >= _cutoff(ub_arr[0]):
            comp_proof = True  # the incumbent meets the component bound: optimal without finishing the search
            break
        if state[0] >= 0 and time_limit is not None and now - t0 >= time_limit:
            timed_out = True
            break

    stats: dict[str, Any] = {"nodes": int(state[1]), "automorphisms": int(max(G.shape[0], Gq.shape[0])),
                             "root_bound": root_bound + d.constant,
                             "start_energy": ub_start + d.constant if math.isfinite(ub_start) else None}
    if uniform:
        stats["placements"] = int(state[2])
        stats["placements_cut_short"] = int(state[3])
    if compile_s:
        stats["compile_s"] = compile_s
    stats.update(comp_stats or {})

    def runtime() -> float:
        return time.perf_counter() - t0

    ub = float(ub_arr[0])
    cut_short = float(ub_arr[1])  # least bound of the partitions whose placement search was cut short
    if best.min() < 0:
        if timed_out or math.isfinite(cut_short):
            open_lb = min(float(_open_bound(ch_bnd, nch, ptr, state[0], np.inf)), cut_short)
            lb = valid_lower_bound(network, hardware, comm, open_lb + d.constant)
            return result_from_mapping(network, hardware, None, method=method, status=Status.TIME_LIMIT,
                                       runtime=runtime(), seed=seed, lower_bound=lb, comm=comm, stats=stats,
                                       message="; ".join([m for m in (note, "no mapping found") if m]))
        return infeasible_result(network, hardware, "; ".join(
            [m for m in (note, "the branch and bound proved that no mapping meets the limits") if m]),
            method=method, runtime=runtime(), seed=seed, comm=comm, stats=stats)
    energy = _variable_energy(network, hardware, best, comm, d.constant)
    stats["search_energy"] = ub + d.constant
    if not energy_agrees(ub + d.constant, energy + d.constant, rtol=1e-9):
        raise RuntimeError(f"{method}: the search's energy {ub + d.constant:.12g} J differs from the "
                           f"evaluator's {energy + d.constant:.12g} J for the same mapping")
    tol = REL_TOL * max(ub, 0.0)
    if comp_proof:
        bound = min(max(comp_lb, ub - tol), ub) + d.constant
        status = Status.OPTIMAL
    elif timed_out:
        open_lb = min(float(_open_bound(ch_bnd, nch, ptr, state[0], ub)), cut_short)
        bound = min(max(open_lb, root_bound, comp_lb), ub) + d.constant
        status = Status.TIME_LIMIT
    elif cut_short < _cutoff(ub):
        # Searched through, but some partition's placement was not: no proof, its bound is the run's.
        bound = min(max(cut_short, root_bound, comp_lb), ub) + d.constant
        status = Status.FEASIBLE
        note = "; ".join(m for m in (note, f"{state[3]} partition placement(s) cut short after {PLACE_NODES:,} "
                                            "nodes each: not proven") if m)
    else:
        bound = ub - tol + d.constant
        status = Status.OPTIMAL
    lb = valid_lower_bound(network, hardware, comm, bound)
    stats["gap"] = (energy + d.constant - lb) / (energy + d.constant) if energy + d.constant > 0 else 0.0
    return result_from_mapping(network, hardware, best, method=method, status=status, runtime=runtime(), seed=seed,
                               lower_bound=lb, comm=comm, stats=stats, message=note)


def _component_lower_bound(network: SpikingNetwork, hardware: Hardware, constant: float, best: np.ndarray,
                           time_limit: float | None, elapsed: float) -> tuple[float, dict[str, Any]]:
    """The component bound on the variable energy, given a share of the time left, and its statistics."""
    budget = COMPONENT_CAP if time_limit is None else COMPONENT_SHARE * max(time_limit - elapsed, 0.0)
    cb = component_bound(network, hardware, time_limit=budget, start=best if best.min() >= 0 else None)
    return cb.bound - constant, {"component_bound": cb.bound, "component_s": cb.runtime,
                                 "components": len(cb.components),
                                 "components_proven": sum(c[3] for c in cb.components)}


def refuse_budget(hardware: Hardware, method: str) -> None:
    """Refuse a step-time budget: the search prices energy only and could prove a mapping that breaks it."""
    if hardware.limits.max_step_time is not None:
        raise ValueError(f"{method} cannot keep max_step_time={hardware.limits.max_step_time:g} s (its search prices "
                         "energy only): use milp or cpsat, which carry the budget, or a heuristic")


def solve_partition(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
                    comm: str | None = None, start: Any = None, progress: ProgressFn | None = None,
                    symmetry: bool = True, threads: int | None = None, force: bool = False,
                    components: bool = True) -> Result:
    """Map by the partition branch and bound (method ``partition-bnb``): :func:`solve` with ``defer_placement``.

    The search runs over which neurons share a core, on interchangeable
    virtual cores priced at the cheapest local and remote packet; every
    complete partition below the incumbent is placed on the real cores by an
    exact placement search (:func:`_place_leaf`). The options are :func:`solve`'s.
    """
    return solve(network, hardware, time_limit=time_limit, seed=seed, comm=comm, start=start, progress=progress,
                 symmetry=symmetry, threads=threads, force=force, defer_placement=True, components=components)
