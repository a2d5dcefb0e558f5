r"""Logic-based Benders over core contents (method ``partition-benders``).

A mapping is a partition ``P`` of the neurons into groups (the neurons of one
core) and an injective placement ``p`` of the groups on the cores. Multicast
sender ``i`` pays ``s_i cost[p(i), d]`` for every core ``d`` of ``D(i)``, the
cores of its targets. With ``c0`` the cheapest packet and ``c1`` the cheapest
packet between two distinct cores, the energy splits into

    E(P, p) = E_u(P) + X(P, p),
    E_u(P) = E_fixed + E_static(P) + sum_i s_i (c0 |D(i)| + (c1 - c0)(|D(i) + own core| - 1)),
    X(P, p) = sum_{groups a, b} F_P[a, b] (cost[p_a, p_b] - (c0 if a == b else c1)) >= 0,

``F_P[a, b]`` the spikes of group ``a``'s senders with a target in group ``b``.
``E_u`` is a weighted hypergraph connectivity of the *whole* network: one
hyperedge ``post(i)`` of weight ``c0 s_i`` and one ``{i} + post(i)`` of weight
``(c1 - c0) s_i`` per sender, plus ``p_static t_run`` per group under power
gating (the component bound of :mod:`formulations.target_components` solves
the same problem per component, with a copy of every sender, hence no higher).
Unicast pays one packet per synapse: ``E_u`` has ``c0 s_i`` per synapse and
one edge ``{i, j}`` of weight ``(c1 - c0) s_i`` per synapse ``i -> j`` (a
capacitated graph partition), and ``F_P[a, b]`` counts every synapse.

**Master** (:class:`~formulations.target_components.PartitionSearch`): the
component search over all neurons enumerates the partitions whose ``E_u`` plus
hop bound is below a cutoff, each once (groups open in order); on multicast its node bound also takes, per target
component, the larger of its own part and the component bound's value for that component. **Subproblem**
(:func:`~formulations.target_components.place_groups`): the partition's placement, an exact depth-first search that
minimises ``X`` (each partial placement bounded by its placed pairs' excess
plus, for every unplaced group, its cheapest free core against the placed
ones; the first group only on one core per orbit of the cost matrix's
automorphisms). Its optimum ``E_u(P) + X*`` is the Benders cut of ``P``: it
becomes the incumbent when lower, and the master's cutoff drops with it.

**Rounds** (iterative deepening on the cutoff). Round 0 minimises the master
(its cutoff drops to every better leaf; at most half the time limit): when it
finishes, its least leaf is a bound on every mapping and its partition is
priced. Then the master runs in rounds with
cutoff ``T = lb + share (incumbent - lb)``, ``share`` 1/2 (1/8 beyond :data:`EXACT_CORES` cores) and doubled after
every finished round, the last round's cutoff the incumbent itself. A finished
round has priced every partition whose bound is below ``T``, so every mapping
costs at least ``min(T, incumbent)``: the new ``lb``. On a time limit the
result's bound is the last finished round's (at least the component bound and
the root's), where a single depth-first pass would only have its root's.

**Split master** (the multicast default when some neuron receives no synapse: an *input*). An input joins no target
hyperedge, so given the partition of the other neurons its part of the energy is an assignment: input ``i`` in
a group pays its flows' excess to its target groups' cores plus a penalty (multicast ``dc s_i`` when the group
holds none of its targets, unicast ``dc s_i`` per synapse leaving the group), ``dc = c1 - c0``. The master then
partitions only the other neurons: an input's ``post(i)`` edge weighs ``c1 s_i`` (its two edges cost at least
``c0 s_i |D(i)| + dc s_i |D(i)|``), its unicast synapses' ``dc s_i`` stay out (its penalty), the hop bound has
the non-input senders' flows only, and the groups are charged as at least ``ceil(N / n_max)`` under power
gating (the inputs need room too). The subproblem (:func:`place_with_inputs`) prices such a partition exactly:
a depth-first search over the groups' cores as above and, at every full placement, for every count of new
groups from the fewest that fit and every set of that many free cores, the inputs' least assignment to the
groups' room and the new groups (a transportation problem, :func:`~formulations.target_components.transport_assign`),
skipped once the group cost plus the assignment with every free core open reaches the best. A partial placement
is also bounded by the inputs' least assignment given the groups placed so far (:func:`inputs_floor`,
:func:`inputs_transport_floor`: each input's cheapest column without, then with, the columns' room). On layered
networks most neurons are inputs; the partitions of the rest below the optimum are few (4 to 9 on the 48 / 8
seeds that stayed open), where the master over all neurons met every input assignment of them.

**Why the bound is valid.** (Split master: every mapping restricted to the non-inputs is a partition the master
meets or prunes; its energy is at least the master's objective of that partition, as the inputs' penalties and
flows are ``>= 0`` and their edges were charged no more than they cost, and the group count is at least both
the partition's and ``ceil(N / n_max)``; and the subproblem minimises over every placement of the groups, every
set of new groups and every assignment of the inputs, so its value is the least energy of any mapping with that
partition. The other limits, synapses and input axons per core and destinations per neuron, depend only on the
cores of the targets, all non-inputs: a priced mapping the evaluator refuses rules out its whole partition. The
input-free argument below covers the rest.) ``X >= 0`` because every packet costs at least
``c0`` and every packet between distinct cores at least ``c1``, so ``E(P, p)
>= E_u(P)`` for every mapping; the master prunes a subtree only when its bound
on ``E_u`` is at least the cutoff, so no partition that could cost less than
the cutoff is skipped. Limits other than ``n_max`` (synapses, axons,
destinations) are properties of ``P``: a partition the evaluator finds
infeasible is skipped, never an incumbent. Every incumbent is the evaluator's
score of its mapping; a priced energy that disagrees with it raises. Pins tie
groups to cores: they are handed to ``partition-bnb`` (said in the message).
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import numpy as np
from numba import njit, objmode

from snnmap.formulations.bounds import precheck
from snnmap.formulations.energy import evaluate, fixed_energy
from snnmap.formulations.exact_common import ProgressFn, check_start
from snnmap.formulations.neuron_bnb import refuse_budget, solve_partition
from snnmap.formulations.qap.bnb import location_automorphisms
from snnmap.formulations.result import PROOF_GAP, Result, Status, infeasible_result, result_from_mapping
from snnmap.formulations.target_components import (
    REL_TOL,
    ComponentBound,
    PartitionSearch,
    cheapest_free_core,
    component_bound,
    place_groups,
    transport,
    transport_assign,
)
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork

__all__ = ["solve"]

METHOD = "partition-benders"
PRICE_TOL = 1e-9  # relative: a priced energy and the evaluator's must agree this well
SUBSET_CORES = 16  # cores up to which the least pair costs among g cores are taken over all subsets
FIRST_SHARE = 0.5  # of the gap, closed by the first round of the master; each finished round doubles it
FIRST_SHARE_WIDE = 0.125  # the same beyond EXACT_CORES cores (no exact placement bound: rounds are dearer)
LEAST_SHARE = 0.5  # of the time limit, at most, for round 0 (the master minimised)
MASTER_CHUNK = 20_000  # master nodes between time checks (deep nodes cost a placement search each)
EXACT_DEPTH = 0.5  # share of the neurons placed from which a master node's hop bound is the exact placement
EXACT_CORES = 12  # beyond, no exact placement in the master: one search over many groups can outlast the time limit
COMPONENT_SHARE = 0.15  # of the time limit, for the component bound
COMPONENT_CAP = 60.0  # seconds for the component bound without a time limit
CLOCK_EVERY = 200_000  # units of a split pricing's work (nodes, transportation cells) between reads of the clock


@njit(cache=True)
def _flows(labels, g, src, spk, t_ptr, t_idx):
    """``F[a, b]``: the spikes of the entries sent from group ``a`` with a target in group ``b`` (once per group)."""
    F = np.zeros((g, g))
    seen = -np.ones(g, np.int64)
    for q in range(src.size):
        a = labels[src[q]]
        for p in range(t_ptr[q], t_ptr[q + 1]):
            b = labels[t_idx[p]]
            if seen[b] != q:
                seen[b] = q
                F[a, b] += spk[q]
    return F


@njit(cache=True)
def _inputs_cost(M, pen, pnew, ex, pl, cores, ncol, C):
    """``C[i, t]``: input ``i``'s cost in column ``t`` (the groups on ``pl``, then one new group on each of
    ``cores[:ncol - g]``): its penalty plus its flows' excess from that core to its target groups' cores."""
    g = pl.size
    for i in range(M.shape[0]):
        for t in range(ncol):
            c = pl[t] if t < g else cores[t - g]
            v = pen[i, t] if t < g else pnew[i]
            for b in range(g):
                if M[i, b] > 0.0:
                    v += M[i, b] * ex[c, pl[b]]
            C[i, t] = v


@njit(cache=True)
def _assign_inputs(C, room, cap, g, nf, need, gcost, cutoff, cores, pl, col, sub, got):
    """Least ``gcost`` times the new groups plus the inputs' assignment cost below ``cutoff`` (else ``inf``), the
    inputs' cores into ``got``: columns ``0 .. g - 1`` of ``C`` are the groups (free ``room``, on ``pl``), the next
    ``nf`` new groups on ``cores``; every set of at least ``need`` of those, fewest first."""
    ni = C.shape[0]
    rs = np.empty(g + nf, np.int64)
    for t in range(g + nf):
        rs[t] = room[t] if t < g else cap
    every = transport(np.ascontiguousarray(C[:, : g + nf]), rs)  # every free core open: no set does better
    best = cutoff
    top = nf if gcost > 0.0 else need  # without a group cost, all free cores open is as good as any set
    for m in range(need, top + 1):
        mm = m if gcost > 0.0 else nf
        if gcost * mm + every >= best:
            break
        for r in range(mm):
            sub[r] = r
        Cs = np.empty((ni, g + mm))
        while True:
            for i in range(ni):
                for t in range(g):
                    Cs[i, t] = C[i, t]
                for r in range(mm):
                    Cs[i, g + r] = C[i, g + sub[r]]
            tot = gcost * mm + transport_assign(Cs, rs[: g + mm].copy(), col)
            if tot < best:
                best = tot
                for i in range(ni):
                    got[i] = pl[col[i]] if col[i] < g else cores[sub[col[i] - g]]
            r = mm - 1  # the next set of mm free cores
            while r >= 0 and sub[r] == nf - mm + r:
                r -= 1
            if r < 0:
                break
            sub[r] += 1
            for u in range(r + 1, mm):
                sub[u] = sub[u - 1] + 1
    return best if best < cutoff else np.inf


@njit(cache=True)
def least_rows(ex):
    """``low[r]``: the least ``r``-th smallest excess ``ex[c, f]``, ``f != c``, over the cores ``c`` (non-decreasing).

    Flows heaviest first on ``low`` bound any flows' excess from one core to distinct other cores (rearrangement
    inequality, excess costs ``>= 0``), wherever that core is: :func:`input_excess` charges it for the unplaced
    target groups of an input.
    """
    k = ex.shape[0]
    low = np.full(max(k - 1, 0), np.inf)
    row = np.empty(max(k - 1, 0))
    for c in range(k):
        r = 0
        for f in range(k):
            if f != c:
                row[r] = ex[c, f]
                r += 1
        row.sort()
        for r in range(k - 1):
            low[r] = min(low[r], row[r])
    return low


@njit(cache=True)
def input_excess(M, ex, pl, used, E, P, rearr, low):
    """Bounds on every input's flows' excess from every core: ``P[i, c]`` to the placed groups (``pl[b] >= 0``) alone,
    ``E[i, c]`` also to the unplaced ones, for a core ``c`` free or a placed group's.

    Without ``rearr``, ``low`` (:func:`least_rows`, or empty: off) still charges the unplaced target groups: from
    any core they sit on distinct other cores, so their flows heaviest first on ``low`` bound them, whatever the
    core; ``E`` gets that of all of them, ``P`` that of all but the heaviest (an input joining an unplaced group
    sits on that group's core: at most one of its targets there, and leaving out the heaviest is the least).

    From such a core the unplaced target groups will sit on distinct free cores other than ``c``, so their flows,
    heaviest first, on the free cores' excess from ``c``, cheapest first, bound theirs (rearrangement inequality);
    entries past the free cores are left out (still a bound).
    """
    ni, g = M.shape
    k = ex.shape[0]
    srow = np.empty((k, k))
    nr = 0
    for f in range(k):
        if not used[f]:
            nr += 1
    any_unplaced = False
    for b in range(g):
        if pl[b] < 0 and rearr:
            any_unplaced = True
    live = ~used  # the free cores and the placed groups' ones
    for b in range(g):
        if pl[b] >= 0:
            live[pl[b]] = True
    for c in range(k):
        if not live[c]:
            continue
        if any_unplaced:
            r = 0
            for f in range(k):
                if not used[f] and f != c:
                    srow[c, r] = ex[c, f]
                    r += 1
            srow[c, :r] = np.sort(srow[c, :r])
    mv = np.empty(g)
    for i in range(ni):
        nu = 0
        for b in range(g):
            if M[i, b] > 0.0 and pl[b] < 0:
                mv[nu] = M[i, b]
                nu += 1
        if nu > 1:
            mv[:nu] = np.sort(mv[:nu])[::-1]
        all_u, but_one = 0.0, 0.0  # the core-free charge of the unplaced targets: all of them, all but the heaviest
        if not any_unplaced and low.size > 0:
            for r in range(min(nu, low.size)):
                all_u += mv[r] * low[r]
            for r in range(min(nu - 1, low.size)):
                but_one += mv[r + 1] * low[r]
        if not any_unplaced:
            nu = 0
        for c in range(k):
            if not live[c]:
                continue
            v = 0.0
            for b in range(g):
                if M[i, b] > 0.0 and pl[b] >= 0:
                    v += M[i, b] * ex[c, pl[b]]
            P[i, c] = v + but_one
            avail = nr - (0 if used[c] else 1)  # the free cores other than c
            for r in range(min(nu, avail)):
                v += mv[r] * srow[c, r]
            E[i, c] = v + all_u


@njit(cache=True)
def _input_columns(M, pen, pnew, pl, used, room, cap, E, P, C, rs):
    """The columns of :func:`inputs_transport_floor` into ``C`` and ``rs``; returns their count and the free cores'."""
    ni, g = M.shape
    k = used.size
    nt = 0
    for c in range(k):  # a new group on every free core
        if used[c]:
            continue
        for i in range(ni):
            C[i, nt] = pnew[i] + E[i, c]
        rs[nt] = cap
        nt += 1
    nfree = nt
    for a in range(g):  # every group with room
        if room[a] <= 0:
            continue
        for i in range(ni):
            if pl[a] >= 0:
                C[i, nt] = pen[i, a] + E[i, pl[a]]
            else:
                v = np.inf
                for c in range(k):
                    if not used[c]:
                        v = min(v, P[i, c])
                C[i, nt] = pen[i, a] + v
        rs[nt] = room[a]
        nt += 1
    return nt, nfree


@njit(cache=True)
def inputs_floor(M, pen, pnew, ex, pl, used, room, cap, E, P, C, rs, d, rearr, low):
    """A lower bound on the inputs' least assignment cost, whatever the unplaced groups' cores (``pl[a] < 0``) and
    whichever free cores (not ``used``) the new groups take.

    Input ``i`` on a new group's core ``c`` pays ``pnew[i]`` plus its flows' excess, at least ``E[i, c]`` of
    :func:`input_excess`; in a placed group ``a`` with room ``pen[i, a] + E[i, p_a]``; in an unplaced one with room
    ``pen[i, a]`` plus at least its excess to the placed groups from the best free core. Its cheapest new group
    ``A_i`` and cheapest group ``G_i``: at most the groups' whole free room of inputs join groups, so the least cost
    is at least ``sum A_i`` less the ``fill`` largest savings ``max(0, A_i - G_i)`` (each new group's room relaxed
    away). ``inf`` when the inputs fit nowhere. ``E``, ``P``, ``C`` (inputs x cores, inputs x groups + cores), ``rs``
    (groups + cores) and ``d`` (inputs) are work arrays.
    """
    ni, g = M.shape
    input_excess(M, ex, pl, used, E, P, rearr, low)
    nt, nfree = _input_columns(M, pen, pnew, pl, used, room, cap, E, P, C, rs)
    fill = 0
    for a in range(g):
        fill += room[a]
    if nfree == 0 and fill < ni:
        return np.inf
    total = 0.0
    for i in range(ni):
        ai, gi = np.inf, np.inf
        for t in range(nt):
            if t < nfree:
                ai = min(ai, C[i, t])
            else:
                gi = min(gi, C[i, t])
        if ai == np.inf and gi == np.inf:
            return np.inf
        d[i] = ai - gi if ai > gi else 0.0
        total += min(ai, gi)
    if fill >= ni or nfree == 0:  # every input may take its cheaper column
        return total
    total = 0.0
    for i in range(ni):
        ai = np.inf
        for t in range(nfree):
            ai = min(ai, C[i, t])
        total += ai
    srt = np.sort(d[:ni])
    for r in range(ni - 1, ni - 1 - fill, -1):  # the fill largest savings
        total -= srt[r]
    return total


@njit(cache=True)
def inputs_transport_floor(M, pen, pnew, ex, pl, used, room, cap, E, P, C, rs):
    """:func:`inputs_floor` with the room of every column kept (needs :func:`input_excess` of the same state in
    ``E`` and ``P``, as :func:`inputs_floor` leaves them).

    Columns: every free core (room ``cap``: ``pnew`` plus at least the excess from it) and every group with room.
    Every assignment of the inputs to the groups and to new groups on cores free at the end (free now) is one of
    these columns' assignments and costs no less, so :func:`transport` (a bound on the least) bounds it.
    """
    ni = M.shape[0]
    nt, _ = _input_columns(M, pen, pnew, pl, used, room, cap, E, P, C, rs)
    if nt == 0:
        return np.inf if ni > 0 else 0.0
    return transport(C[:, :nt].copy(), rs[:nt].copy())


@njit(cache=True)
def place_with_inputs(F, ex, order, first, room, cap, M, pen, pnew, gcost, cutoff, best_p, best_in, deadline,
                      deep=2):
    """Least excess of the groups' placement plus their inputs' least assignment below ``cutoff``, else ``inf``.

    The groups (flows ``F``, free ``room``) take distinct cores (``order`` heaviest first, the first one on a
    ``first`` core), searched depth first as in :func:`place_groups`; at every full placement the inputs (rows of
    ``M``: spikes to every group; ``pen``/``pnew``: the penalty of joining each group / a new one) join the
    groups' room or new groups of ``cap`` on free cores, ``gcost`` each: for each count of new groups (from the
    fewest that fit, while ``gcost`` times it plus the inputs' least cost with every free core open stays below the
    best) every set of that many free cores, each a transportation problem solved exactly. ``best_p`` receives
    the core of every group, ``best_in`` every input's. ``-1`` when the clock (``time.perf_counter``, read every
    :data:`CLOCK_EVERY` units of work: search nodes, each transportation problem counted by its size) passes
    ``deadline`` before the search ends.

    A partial placement is bounded by its placed pairs' excess, every unplaced group's cheapest free core, the
    new groups the inputs need at least, and the inputs' least cost given the groups placed so far:
    :func:`inputs_floor` (each input's cheapest new group or group, at most the groups' free room of them in
    groups) and, where that leaves the node below the best, ``deep >= 1``, :func:`inputs_transport_floor` (the
    same columns with their room, a transportation problem); ``deep >= 2`` (the default) charges the unplaced target
    groups wherever the input sits (:func:`least_rows`: one sum per input and node); ``deep >= 3`` instead their
    exact rearrangement bound from every core (:func:`input_excess`; on layered 64 / 16 seed 0 it costs more than
    it prunes). Without the inputs' floors (before issue 14's helper P64) one pricing there could run past 75 s.
    """
    g = order.size
    k = ex.shape[0]
    ni = M.shape[0]
    pl = -np.ones(g, np.int64)
    used = np.zeros(k, np.bool_)
    nxt = np.zeros(g + 1, np.int64)
    part = np.zeros(g + 1)
    best = cutoff
    found = False
    C = np.empty((ni, k))
    col = np.empty(ni, np.int64)
    cores = np.empty(k, np.int64)
    sub = np.empty(k, np.int64)
    got = np.empty(ni, np.int64)
    WE = np.empty((ni, k))
    WP = np.empty((ni, k))
    wd = np.empty(ni)
    CT = np.empty((ni, g + k))
    rt = np.empty(g + k, np.int64)
    low = least_rows(ex) if deep >= 2 else np.zeros(0)
    fill = 0
    for a in range(g):
        fill += room[a]
    need = max(0, (ni - fill + cap - 1) // cap)  # new groups the inputs need at least
    work = 0
    q = 0
    while q >= 0:
        work += 1
        if work >= CLOCK_EVERY:
            work = 0
            with objmode(now="float64"):
                now = time.perf_counter()
            if now > deadline:
                return -1.0
        a = order[q]
        if pl[a] >= 0:
            used[pl[a]] = False
            pl[a] = -1
        c = nxt[q]
        while c < k and (used[c] or (q == 0 and not first[c])):
            c += 1
        if c >= k:
            q -= 1
            continue
        nxt[q] = c + 1
        val = part[q] + F[a, a] * ex[c, c]
        for r in range(q):
            b = order[r]
            val += F[a, b] * ex[c, pl[b]] + F[b, a] * ex[pl[b], c]
        if val + gcost * need >= best:
            continue
        pl[a] = c
        used[c] = True
        if q + 1 < g:
            lb = val + gcost * need
            for r in range(q + 1, g):
                lb += cheapest_free_core(F, ex, order, pl, used, q, order[r])
            if lb < best and ni > 0:
                fl = inputs_floor(M, pen, pnew, ex, pl, used, room, cap, WE, WP, CT, rt, wd, deep >= 3, low)
                work += ni * k * g
                if lb + fl < best and deep >= 1:
                    fl = max(fl, inputs_transport_floor(M, pen, pnew, ex, pl, used, room, cap, WE, WP, CT, rt))
                    work += ni * (g + k)
                lb += fl
            if lb >= best:
                continue
            q += 1
            part[q] = val
            nxt[q] = 0
            continue
        nf = 0
        for e in range(k):
            if not used[e]:
                cores[nf] = e
                nf += 1
        if need > nf:
            continue
        if ni > 0 and val + gcost * need + inputs_floor(M, pen, pnew, ex, pl, used, room, cap, WE, WP, CT, rt,
                                                         wd, False, low) >= best:
            continue
        _inputs_cost(M, pen, pnew, ex, pl, cores, g + nf, C)
        work += ni * (g + nf)
        tot = _assign_inputs(C, room, cap, g, nf, need, gcost, best - val, cores, pl, col, sub, got)
        if val + tot < best:
            best = val + tot
            found = True
            best_p[:] = pl
            best_in[:] = got
    return best if found else np.inf


@dataclasses.dataclass
class _Pricer:
    """The subproblem: prices a partition by its best placement, checked by the evaluator."""

    network: SpikingNetwork
    hardware: Hardware
    comm: str
    const: float  # E_u(P) = const + the master's cost of P
    src: np.ndarray  # the entries' senders: multicast every sender once, unicast the sender of every synapse
    spk: np.ndarray  # their spikes
    t_ptr: np.ndarray  # the entries' targets, CSR: multicast the sender's targets, unicast the synapse's one
    t_idx: np.ndarray
    ex: np.ndarray
    first: np.ndarray
    placed: int = 0
    infeasible: int = 0

    def price(self, labels: np.ndarray, cost: float, incumbent: float) -> tuple[float, np.ndarray | None]:
        """Energy and mapping of the partition's best placement when it beats ``incumbent``, else ``(inf, None)``.

        ``cost`` is the master's objective of ``labels`` without a hop bound.
        """
        g = int(labels.max()) + 1
        F = _flows(labels, g, self.src, self.spk, self.t_ptr, self.t_idx)
        order = np.argsort(-(F.sum(0) + F.sum(1)), kind="stable")
        eu = self.const + cost  # E_u(P)
        pl = -np.ones(g, np.int64)
        x = place_groups(F, self.ex, order, self.first, incumbent - eu, pl)
        self.placed += 1
        if not math.isfinite(x):
            return math.inf, None
        core_of = pl[labels]
        report = evaluate(self.network, self.hardware, core_of, self.comm, link_loads=False)
        if not report.feasible:
            self.infeasible += 1
            return math.inf, None
        if abs(report.total - (eu + x)) > PRICE_TOL * report.total:
            raise RuntimeError(f"{METHOD}: priced energy {eu + x:.12g} J differs from the evaluator's "
                               f"{report.total:.12g} J for the same mapping (a bug in the decomposition)")
        return report.total, core_of


class _Expired(Exception):
    """A pricing passed its deadline: the round in progress cannot finish (no bound is claimed for it)."""


@dataclasses.dataclass
class _InputPricer:
    """The subproblem of the split master: places a partition of the non-input neurons and assigns the inputs.

    Every input (a neuron that receives no synapse) joins a group with room or a new group on a free core; its cost
    there is its penalty (multicast: ``dc s_i`` unless the group holds one of its targets; unicast: ``dc s_i`` per
    synapse leaving the group) plus its flows' excess to its targets' cores (:func:`place_with_inputs`).
    """

    network: SpikingNetwork
    hardware: Hardware
    comm: str
    const: float
    rest: np.ndarray  # the master's vertices (neurons)
    inputs: np.ndarray  # the inputs (neurons)
    src: np.ndarray  # the non-input senders' entries (master vertices), their spikes and targets, as in _Pricer
    spk: np.ndarray
    t_ptr: np.ndarray
    t_idx: np.ndarray
    in_row: np.ndarray  # every input entry's input row, spikes and target (master vertex)
    in_spk: np.ndarray
    in_tgt: np.ndarray
    ex: np.ndarray
    first: np.ndarray
    dc: float
    gcost: float
    gmin: int
    placed: int = 0
    infeasible: int = 0
    deadline: float | None = None  # perf_counter time by which a pricing gives up (raising _Expired)

    def price(self, labels: np.ndarray, cost: float, incumbent: float) -> tuple[float, np.ndarray | None]:
        """As :meth:`_Pricer.price`; ``labels`` partition the master's vertices, the inputs are placed here."""
        g = int(labels.max()) + 1
        ni = self.inputs.size
        F = _flows(labels, g, self.src, self.spk, self.t_ptr, self.t_idx)
        M = np.zeros((ni, g))
        if self.comm == "multicast":  # one packet to each target group
            M[self.in_row, labels[self.in_tgt]] = self.in_spk
        else:  # one packet per synapse
            np.add.at(M, (self.in_row, labels[self.in_tgt]), self.in_spk)
        if self.comm == "multicast":
            s_in = np.zeros(ni)
            s_in[self.in_row] = self.in_spk
            pen = self.dc * s_in[:, None] * (M == 0)
            pnew = self.dc * s_in
        else:
            tot = M.sum(1)
            pen, pnew = self.dc * (tot[:, None] - M), self.dc * tot
        room = int(self.hardware.limits.n_max) - np.bincount(labels, minlength=g)
        base = self.const + cost - self.gcost * max(g, self.gmin) + self.gcost * g  # E_u of the groups alone
        order = np.argsort(-(F.sum(0) + F.sum(1) + M.sum(0)), kind="stable")
        pl = -np.ones(g, np.int64)
        core_in = -np.ones(ni, np.int64)
        x = place_with_inputs(F, self.ex, order, self.first, room.astype(np.int64), int(self.hardware.limits.n_max),
                              M, pen, pnew, self.gcost, incumbent - base, pl, core_in,
                              math.inf if self.deadline is None else self.deadline)
        if x < 0:
            raise _Expired
        self.placed += 1
        if not math.isfinite(x):
            return math.inf, None
        core_of = np.empty(self.network.num_neurons, np.int64)
        core_of[self.rest] = pl[labels]
        core_of[self.inputs] = core_in
        report = evaluate(self.network, self.hardware, core_of, self.comm, link_loads=False)
        if not report.feasible:  # the other limits depend on the groups alone: no input assignment helps
            self.infeasible += 1
            return math.inf, None
        if abs(report.total - (base + x)) > PRICE_TOL * report.total:
            raise RuntimeError(f"{METHOD}: priced energy {base + x:.12g} J differs from the evaluator's "
                               f"{report.total:.12g} J for the same mapping (a bug in the decomposition)")
        return report.total, core_of


def pair_excess(ex: np.ndarray) -> np.ndarray:
    """``out[g, j]``: the least ``j``-th smallest excess ``ex[c, d]`` over the pairs of any ``g`` cores.

    Pairs are unordered when ``ex`` is symmetric (``out`` has ``K (K - 1) / 2``
    columns), else ordered. Exact over all subsets up to
    :data:`SUBSET_CORES` cores; beyond, the ``j``-th smallest over all pairs
    (no larger, so still a bound).
    """
    k = ex.shape[0]
    pairs = np.triu(np.ones((k, k), bool), 1) if np.array_equal(ex, ex.T) else ~np.eye(k, dtype=bool)
    if k > SUBSET_CORES:
        return np.tile(np.sort(ex[pairs]), (k + 1, 1))
    out = np.full((k + 1, int(pairs.sum())), np.inf)
    for mask in range(3, 2**k):
        cores = np.flatnonzero((mask >> np.arange(k)) & 1)
        if cores.size >= 2:
            vals = np.sort(ex[np.ix_(cores, cores)][pairs[: cores.size, : cores.size]])
            np.minimum(out[cores.size, : vals.size], vals, out=out[cores.size, : vals.size])
    out[~np.isfinite(out)] = 0.0  # entries past a size's pairs, never read
    return out


def _component_floors(cb: ComponentBound, senders: np.ndarray, s: np.ndarray, dc: float, n_edges: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The component of every multicast master edge and a bound on each component's edge cost over all partitions.

    Every master edge belongs to one target component (its sender's targets'). A component's bound on its
    senders' communication energy (plain or finer, see :mod:`formulations.target_components`) is at most
    ``sum_i s_i (c0 + (|D(i)| - 1) c1)``, and each sender's two master edges cost at least that plus
    ``dc s_i`` (``dc = c1 - c0``): so the component's bound plus ``dc`` times its spikes bounds its edges.
    """
    comp_of = -np.ones(s.size, np.int64)
    for q, snd in enumerate(cb.senders):
        comp_of[snd] = q
    floors = np.array([c[2] for c in cb.components], float)
    np.add.at(floors, comp_of[senders], dc * s[senders])
    ecomp = np.tile(comp_of[senders], n_edges // max(senders.size, 1))
    return ecomp, floors


def _inputs(network: SpikingNetwork) -> np.ndarray:
    """The neurons that receive no synapse (empty when every neuron does or none does)."""
    n = network.num_neurons
    inputs = np.flatnonzero(np.bincount(np.asarray(network.post, np.int64), minlength=n) == 0)
    return inputs if 0 < inputs.size < n else np.zeros(0, np.int64)


def _master(network: SpikingNetwork, hardware: Hardware, stop: bool, comm: str = "multicast",
            cb: ComponentBound | None = None, split: bool = False, master_inputs: bool = True
            ) -> tuple[PartitionSearch, _Pricer | _InputPricer]:
    """The master search over all neurons (``stop``: hands every partition back to be priced) and its pricer.

    ``cb`` (multicast): the component bound, whose per-component bounds the master's node bound takes per
    component (:func:`_component_floors`). ``split``: the master over the non-input neurons
    (:func:`_split_master`).
    """
    if split:
        return _split_master(network, hardware, stop, comm, master_inputs, cb)
    cost = np.asarray(hardware.cost_matrix, float)
    k = hardware.num_cores
    c0 = float(cost.min())
    off = cost[~np.eye(k, dtype=bool)]
    c1 = float(off.min()) if k > 1 else c0
    s = np.asarray(network.spikes, float)
    pre, post = np.asarray(network.pre), np.asarray(network.post)
    static = network.t_run * hardware.energy.p_static
    const = fixed_energy(network, hardware) + (0.0 if hardware.power_gating else static * k)
    if comm == "multicast":
        senders = np.array([i for i in np.unique(pre).tolist() if s[i] > 0], np.int64)
        targets = [np.unique(post[pre == i]) for i in senders.tolist()]
        edges = list(targets)
        weights = [c0 * s[senders]]
        hop_src, hop_spk = [senders], [s[senders]]
        if c1 > c0:
            edges += [np.union1d(tg, [i]) for i, tg in zip(senders.tolist(), targets)]
            weights.append((c1 - c0) * s[senders])
            hop_src.append(-np.ones(senders.size, np.int64))  # the same flows: counted once
            hop_spk.append(np.zeros(senders.size))
        const -= (c1 - c0) * float(s[senders].sum())
    else:  # unicast: one packet per synapse, c0 always and c1 - c0 more when it leaves the core
        live = s[pre] > 0
        senders, targets = pre[live].astype(np.int64), [np.array([j], np.int64) for j in post[live].tolist()]
        const += c0 * float(s[senders].sum())
        cut = senders != post[live]  # a self-loop never leaves its core: its excess is the placement's
        edges = [np.array([i, j], np.int64) for i, j in zip(senders[cut].tolist(), post[live][cut].tolist())]
        weights = [(c1 - c0) * s[senders[cut]]]
        hop_src, hop_spk = [senders[cut]], [s[senders[cut]]]
        const -= (c1 - c0) * float(s[senders[cut]].sum())
    gcost = static if hardware.power_gating else 0.0
    ex = cost - np.where(np.eye(k, dtype=bool), c0, c1)
    rows = np.sort(np.where(np.eye(k, dtype=bool), np.inf, ex), axis=1)[:, : k - 1]  # each core's remote excess
    hop = (np.concatenate(hop_src), np.concatenate(hop_spk), pair_excess(ex), rows)
    autos = location_automorphisms(cost) if k > 1 else np.zeros((0, k), np.int64)
    first = np.array([all(c <= int(a[c]) for a in autos) for c in range(k)], np.bool_)
    deep = int(EXACT_DEPTH * network.num_neurons) if k <= EXACT_CORES else network.num_neurons + 1
    exact = (np.where(np.eye(k, dtype=bool), 0.0, ex), first, deep)
    comps = None if cb is None or comm != "multicast" else _component_floors(cb, senders, s, c1 - c0, len(edges))
    ps = PartitionSearch(edges, np.concatenate(weights), network.num_neurons, int(hardware.limits.n_max), k,
                         gcost=gcost, stop=stop, hop=hop, exact=exact, comps=comps)
    t_ptr = np.zeros(len(targets) + 1, np.int64)
    np.cumsum([t.size for t in targets], out=t_ptr[1:])
    t_idx = np.concatenate(targets).astype(np.int64) if targets else np.zeros(0, np.int64)
    return ps, _Pricer(network, hardware, comm, const, senders, s[senders], t_ptr, t_idx, ex, first)


def _split_master(network: SpikingNetwork, hardware: Hardware, stop: bool, comm: str, master_inputs: bool = True,
                  cb: ComponentBound | None = None) -> tuple[PartitionSearch, _InputPricer]:
    """The master over the neurons that receive a synapse, the inputs left to :class:`_InputPricer`.

    An input's hyperedges lose it: multicast, its ``post(i)`` edge weighs ``c1 s_i`` (its own edge costs at least
    ``dc s_i |D(i)|``, the rest is its penalty); unicast, its synapses' ``dc s_i`` stay out of the master (the
    input's penalty, priced in the subproblem). The inputs' flows are left out of the hop bound, and the groups
    are charged as at least
    ``ceil(N / n_max)`` (the inputs need room too).
    """
    cost = np.asarray(hardware.cost_matrix, float)
    k, n = hardware.num_cores, network.num_neurons
    cap = int(hardware.limits.n_max)
    c0 = float(cost.min())
    c1 = float(cost[~np.eye(k, dtype=bool)].min()) if k > 1 else c0
    dc = c1 - c0
    s = np.asarray(network.spikes, float)
    pre, post = np.asarray(network.pre, np.int64), np.asarray(network.post, np.int64)
    inputs = _inputs(network)
    rest = np.setdiff1d(np.arange(n), inputs)
    pos = -np.ones(n, np.int64)
    pos[rest] = np.arange(rest.size)
    inrow = -np.ones(n, np.int64)
    inrow[inputs] = np.arange(inputs.size)
    static = network.t_run * hardware.energy.p_static
    const = fixed_energy(network, hardware) + (0.0 if hardware.power_gating else static * k)
    live = s[pre] > 0
    if comm == "multicast":
        senders = np.array([i for i in np.unique(pre[live]).tolist()], np.int64)
        targets = [np.unique(post[pre == i]) for i in senders.tolist()]
        edges = [pos[t] for t in targets]
        weights = [np.where(pos[senders] >= 0, c0, c1) * s[senders]]
        hop_src, hop_spk = [pos[senders]], [s[senders]]
        own = pos[senders] >= 0
        if dc > 0:
            edges += [pos[np.union1d(t, [i])] for i, t, o in zip(senders.tolist(), targets, own) if o]
            weights.append(dc * s[senders[own]])
            hop_src.append(-np.ones(int(own.sum()), np.int64))
            hop_spk.append(np.zeros(int(own.sum())))
        const -= dc * float(s[senders].sum())
        ins = [(inrow[i], t) for i, t in zip(senders.tolist(), targets) if inrow[i] >= 0]
        src_all, tg_all = senders[own], [t for t, o in zip(targets, own) if o]
    else:
        snd, tgt = pre[live], post[live]
        const += c0 * float(s[snd].sum())
        both = (pos[snd] >= 0) & (snd != tgt)  # a synapse between two master vertices (not a self-loop)
        edges = [np.array([pos[i], pos[j]], np.int64) for i, j in zip(snd[both].tolist(), tgt[both].tolist())]
        weights = [dc * s[snd[both]]]
        hop_src, hop_spk = [pos[snd[both]]], [s[snd[both]]]
        const -= dc * float(s[snd[both]].sum())
        # an input's synapses pay dc s_i each when they leave the input's group: its penalty, in the subproblem
        ins = [(inrow[i], np.array([j])) for i, j in zip(snd.tolist(), tgt.tolist()) if inrow[i] >= 0]
        mine = pos[snd] >= 0
        src_all, tg_all = snd[mine], [np.array([j]) for j in tgt[mine].tolist()]
    gcost = static if hardware.power_gating else 0.0
    ex = cost - np.where(np.eye(k, dtype=bool), c0, c1)
    rows = np.sort(np.where(np.eye(k, dtype=bool), np.inf, ex), axis=1)[:, : k - 1]
    hop = (np.concatenate(hop_src), np.concatenate(hop_spk), pair_excess(ex), rows)
    autos = location_automorphisms(cost) if k > 1 else np.zeros((0, k), np.int64)
    first = np.array([all(c <= int(a[c]) for a in autos) for c in range(k)], np.bool_)
    deep = int(EXACT_DEPTH * rest.size) if k <= EXACT_CORES else rest.size + 1
    exact = (np.where(np.eye(k, dtype=bool), 0.0, ex), first, deep)
    gmin = math.ceil(n / cap) if hardware.power_gating else 0
    # Multicast: the inputs' penalties and their flows' excess beyond the first hop, bounded in the master too.
    in_floor = None
    if comm == "multicast" and master_inputs and k > 1:
        q_in = np.flatnonzero(pos[senders] < 0)
        in_floor = (q_in, s[senders[q_in]], np.concatenate([[0.0], np.cumsum(least_rows(ex))]), dc)
    comps = None
    if comm == "multicast" and cb is not None and senders.size:
        # An input's edge weighs its penalty less than in the master over all neurons, and every penalty is in
        # the node bound's inputs' part: so a component's floor bounds its edges plus its inputs' penalties
        # (see _bound in target_components), the same floor as over all neurons.
        ecomp, floors = _component_floors(cb, senders, s, dc, senders.size)
        if dc > 0:
            ecomp = np.concatenate([ecomp, ecomp[own]])
        comps = (ecomp, floors)
    ps = PartitionSearch(edges, np.concatenate(weights), rest.size, cap, k, gcost=gcost, stop=stop, hop=hop,
                         exact=exact, gmin=gmin, inputs=in_floor, comps=comps)
    t_ptr = np.zeros(len(tg_all) + 1, np.int64)
    np.cumsum([t.size for t in tg_all], out=t_ptr[1:])
    t_idx = pos[np.concatenate(tg_all)] if tg_all else np.zeros(0, np.int64)
    in_row = np.concatenate([np.full(t.size, r, np.int64) for r, t in ins]) if ins else np.zeros(0, np.int64)
    in_tgt = pos[np.concatenate([t for _, t in ins])] if ins else np.zeros(0, np.int64)
    in_spk = s[inputs[in_row]]
    pricer = _InputPricer(network, hardware, comm, const, rest, inputs, pos[src_all], s[src_all], t_ptr,
                          t_idx.astype(np.int64), in_row, in_spk, in_tgt.astype(np.int64), ex, first, dc, gcost, gmin)
    return ps, pricer


def solve(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
          comm: str | None = None, start: Any = None, progress: ProgressFn | None = None, symmetry: bool = True,
          threads: int | None = None, force: bool = False, split: bool | None = None,
          master_inputs: bool = True) -> Result:
    """Map by the logic-based Benders decomposition of the module docstring.

    Parameters
    ----------
    time_limit
        Seconds; on expiry the incumbent and the last finished round's bound are returned.
    start
        A feasible mapping whose energy is the first incumbent (an infeasible one is ignored, with a note).
    progress
        Receives ``{"nodes", "upper", "lower", "time"}`` about every 5 s.
    symmetry, threads, force
        Accepted for the exact methods' common interface; the search is single-threaded and has no size model.
    split
        Whether the master leaves the inputs (neurons that receive no synapse) to the subproblem; ``None``:
        multicast only (when there are any).
    master_inputs
        Split multicast master: whether its node bound also counts the inputs' least penalties and excess
        (``_inputs_bound`` of :mod:`formulations.target_components`); ``False`` only for comparisons.
    """
    refuse_budget(hardware, METHOD)
    comm = hardware.comm if comm is None else comm
    pins = network.pins is not None and bool(np.any(np.asarray(network.pins) >= 0))
    if pins:
        res = solve_partition(network, hardware, time_limit=time_limit, seed=seed, comm=comm, start=start,
                              progress=progress, symmetry=symmetry, threads=threads, force=force)
        return dataclasses.replace(res, method=METHOD, message="; ".join(
            m for m in (res.message, "pinned neurons: solved by partition-bnb") if m))
    t0 = time.perf_counter()
    problem = precheck(network, hardware)
    if problem:
        return infeasible_result(network, hardware, problem, method=METHOD, runtime=time.perf_counter() - t0,
                                 seed=seed, comm=comm)
    start_map, note = check_start(start, network, hardware, comm)
    best_map, best_e = None, math.inf
    if start_map is not None:
        best_map, best_e = start_map, evaluate(network, hardware, start_map, comm, link_loads=False).total

    def out_of(limit: float | None) -> bool:
        return limit is not None and time.perf_counter() - t0 >= limit

    # The component bound first (multicast): per component, exact where the master over all neurons may not finish.
    cb_bound, cb_s, cb = -math.inf, 0.0, None
    if comm == "multicast":
        cb = component_bound(network, hardware, start=start_map,
                             time_limit=COMPONENT_CAP if time_limit is None else COMPONENT_SHARE * time_limit)
        cb_bound, cb_s = cb.bound, cb.runtime
    # Iterative deepening on the master's cutoff: every partition whose bound is below the target is priced; a
    # finished round proves every mapping costs at least the target (or the incumbent, if lower). The targets
    # close a growing share of the gap, the last one the incumbent itself (the proof).
    # Unicast keeps the inputs in the master by default: their penalties are most of its cut, which the split
    # master would see only in the subproblem (minis: 5 of 10 left open at 60 s, all proven unsplit).
    split = (comm == "multicast" if split is None else split) and _inputs(network).size > 0
    ps, pricer = _master(network, hardware, stop=True, comm=comm, cb=cb, split=split, master_inputs=master_inputs)
    if isinstance(pricer, _InputPricer) and time_limit is not None:
        pricer.deadline = t0 + time_limit
    const = pricer.const
    root = const + ps.root
    lb = max(cb_bound, root)
    # Round 0 minimises the master (its cutoff drops to every better leaf): when it finishes, its least leaf bounds
    # every mapping and its partition is priced.
    least, _ = _master(network, hardware, stop=False, comm=comm, cb=cb, split=split, master_inputs=master_inputs)
    least.ub[0] = best_e - const
    while not least.done and not out_of(None if time_limit is None else LEAST_SHARE * time_limit):
        least.run(MASTER_CHUNK)
    least_s = time.perf_counter() - t0
    if least.done and math.isfinite(least.ub[0]):  # (no partition at all: the rounds prove it infeasible)
        lb = max(lb, const + float(least.ub[0]) * (1 - REL_TOL))
    if least.best.min() >= 0:  # its least leaf so far (else none below the incumbent): a candidate incumbent
        try:
            e, core_of = pricer.price(least.best, least.cost(least.best), best_e)
        except _Expired:
            core_of = None
        if core_of is not None:
            best_map, best_e = core_of, e
    share = FIRST_SHARE if hardware.num_cores <= EXACT_CORES else FIRST_SHARE_WIDE
    rounds, proven, last = 0, False, t0
    while not proven and lb < best_e * (1 - PROOF_GAP) and not out_of(time_limit):
        target = best_e if share >= 1.0 else lb + share * (best_e - lb)
        ps.restart()
        ps.ub[0] = target - const
        while not ps.done and not out_of(time_limit):
            if ps.run(MASTER_CHUNK):
                try:  # priced against the round's target: a partition that cannot beat it needs no more
                    e, core_of = pricer.price(ps.best, ps.leaf_cost(), min(target, best_e))
                except _Expired:  # the round cannot finish in the time left
                    break
                if core_of is not None and e < best_e:
                    best_map, best_e = core_of, e
                    ps.ub[0] = min(target, best_e) - const
            now = time.perf_counter()
            if progress is not None and now - last >= 5.0:
                last = now
                progress({"nodes": ps.nodes, "upper": best_e, "lower": lb, "time": now - t0})
        if not ps.done:
            break
        rounds += 1
        proven = target >= best_e
        lb = max(lb, const + (min(target, best_e) - const) * (1 - REL_TOL))
        share = min(1.0, 2 * share)
    if proven or lb >= best_e * (1 - PROOF_GAP):
        lb = best_e
    if best_map is None:
        return Result(mapping=None, report=None, lower_bound=None,
                      status=Status.INFEASIBLE if proven else Status.TIME_LIMIT, runtime=time.perf_counter() - t0,
                      method=METHOD, seed=seed, message="; ".join(m for m in (note, "no feasible partition") if m))
    status = Status.OPTIMAL if lb >= best_e * (1 - PROOF_GAP) else Status.TIME_LIMIT
    stats = {"nodes": least.nodes + ps.nodes, "rounds": rounds, "placements": pricer.placed,
             "infeasible_partitions": pricer.infeasible, "root_bound": root, "component_bound": cb_bound,
             "component_s": cb_s, "least_done": least.done, "least_s": least_s, "least_nodes": least.nodes,
             "least_bound": const + float(least.ub[0]) if least.done else None,
             "split": split}
    return result_from_mapping(network, hardware, best_map, method=METHOD, status=status,
                               runtime=time.perf_counter() - t0, seed=seed, lower_bound=min(lb, best_e), comm=comm,
                               message=note, stats=stats)
