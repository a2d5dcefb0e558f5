r"""The component bound: exact multicast message counts of the target hypergraph's components.

Multicast sender ``i`` sends ``s_i`` packets to every core of ``D(i)``, the
cores holding its targets ``post(i)``. The number ``|D(i)|`` depends only on
which of ``i``'s targets share a core (the *partition* of the targets), not on
where ``i`` or the cores sit. The **target hypergraph** has the neurons that
receive spikes as vertices and one hyperedge ``post(i)`` of weight ``s_i`` per
sender; its connected components (in a layered network, one per receiving
layer) share no hyperedge, so

    M = sum_i s_i |D(i)| = sum_components M_c,   M_c = sum_{i in c} s_i * (groups of c's targets hit by post(i)).

**Why the bound is valid.** Any mapping, restricted to the targets of one
component, is a partition of them into at most ``K`` groups of at most
``n_max`` neurons (the other limits, pins and the other components only
remove partitions), so ``M_c >= opt_c``, the least ``M_c`` over all such
partitions, and ``M >= sum_c opt_c``. A sender's packets to ``D(i)`` cost at
least ``c0`` (the cheapest packet) for one destination and ``c1`` (the
cheapest packet between two distinct cores, ``>= c0``) for every other, so

    E_comm >= sum_i s_i (c0 + (|D(i)| - 1) c1) = (c0 - c1) sum_i s_i + c1 M >= (c0 - c1) sum_i s_i + c1 sum_c opt_c,

valid for any cost matrix. A finer version also sees whether a sender shares
a core with one of its targets: ``E_comm,i >= s_i (c0 |D(i)| + (c1 - c0)
(|D(i) + own core| - 1))``, a weighted connectivity of the hyperedges
``post(i)`` (weight ``c0 s_i``) and ``{i} + post(i)`` (weight ``(c1 - c0) s_i``)
over the component's targets and senders; each component gets its own copy
of a sender that is also a target elsewhere, which only lowers the minimum.
Each component takes the larger of the two. Adding the fixed energy and the
static energy of the ``ceil(N / n_max)`` cores every mapping powers gives a
bound on the total.

**Exact component solver** (:func:`component_optimum`, numba). A depth-first
branch and bound over the component's targets (most-connected first): a target
joins an open group with room or opens **one** new group (groups are opened in
order, so every partition is met once). At a node, every hyperedge pays for
the groups it already hits, plus ``ceil(excess / n_max)`` further groups when
its unassigned targets outgrow the free room of those groups (at least one if
it hits none yet); a hyperedge not forced that way charges each of its ``r``
unassigned targets ``s_i / r`` for every group it would join that the edge
does not hit yet (at most ``r`` targets share the one packet to a new group,
so the shares never exceed it); each unassigned target takes its cheapest
group, or, where those overfill a group, the unassigned targets take the
cheapest assignment that fits the groups' free room (:func:`transport`: the
shares are lower bounds whatever the others join). On a time limit the
least bound of the unexplored subtrees is returned instead of the optimum,
still a valid lower bound on ``opt_c``.
"""

from __future__ import annotations

import dataclasses
import math
import time

import networkx as nx
import numpy as np
from numba import njit

from snnmap.formulations.energy import fixed_energy
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork

__all__ = ["ComponentBound", "PartitionSearch", "cheapest_free_core", "component_bound", "component_optimum",
           "place_groups", "target_components", "transport",
           "transport_assign"]

REL_TOL = 1e-9
TRANSPORT_TOL = 1e-12  # relative to the largest cost: the least improvement a transportation path must bring
NODE_CHUNK = 200_000  # search nodes per call into the kernel (granularity of the time checks)


@dataclasses.dataclass(frozen=True)
class ComponentBound:
    """The component bound of an instance.

    Attributes
    ----------
    bound
        Valid lower bound on the total energy (joules).
    components
        Per component: ``(targets, senders, bound on its senders' communication
        energy in joules, proven)``.
    comm_bound
        Their sum: a bound on the communication energy.
    runtime
        Seconds spent.
    senders
        The senders of every component.
    messages
        Per component, a bound on ``M_c`` (the plain problem's, spike-weighted destination cores).
    """

    bound: float
    components: tuple[tuple[int, int, float, bool], ...]
    comm_bound: float
    runtime: float
    senders: tuple[np.ndarray, ...] = ()
    messages: tuple[float, ...] = ()

    @property
    def proven(self) -> bool:
        """Whether every component's ``opt_c`` was proven (else some bound stands in)."""
        return all(c[3] for c in self.components)


def target_components(network: SpikingNetwork) -> list[tuple[np.ndarray, np.ndarray]]:
    """Connected components of the target hypergraph: ``(targets, senders)`` per component, sorted arrays."""
    pre, post = np.asarray(network.pre), np.asarray(network.post)
    graph = nx.Graph()
    graph.add_nodes_from(np.unique(post).tolist())
    first: dict[int, int] = {}
    for i, j in zip(pre.tolist(), post.tolist()):  # a sender's targets are joined through its first one
        graph.add_edge(first.setdefault(i, j), j)
    out = []
    for comp in nx.connected_components(graph):
        targets = np.array(sorted(comp), np.int64)
        senders = np.array(sorted(i for i, j in first.items() if j in comp), np.int64)
        out.append((targets, senders))
    return out


@njit(cache=True)
def cheapest_free_core(F, cost, order, pl, used, q, u):
    """Least cost of group ``u`` on a free core against the groups ``order[:q + 1]`` placed on ``pl``.

    ``F`` is the flow between groups, ``cost`` the core-to-core packet cost and
    ``used`` the cores taken: a placement search's bound for one unplaced group.
    """
    m = np.inf
    for e in range(cost.shape[0]):
        if used[e]:
            continue
        v = F[u, u] * cost[e, e]
        for r2 in range(q + 1):
            a = order[r2]
            v += F[a, u] * cost[pl[a], e] + F[u, a] * cost[e, pl[a]]
        m = min(m, v)
    return m


@njit(cache=True)
def place_groups(F, ex, order, first, cutoff, best_p):
    """Least ``sum F[a, b] ex[p_a, p_b]`` over injective ``p`` below ``cutoff``; ``inf`` when none is.

    ``order``: the groups, heaviest first; ``first``: the cores the first group
    may take. ``best_p`` receives the core of every group.
    """
    g = order.size
    k = ex.shape[0]
    pl = -np.ones(g, np.int64)
    used = np.zeros(k, np.bool_)
    nxt = np.zeros(g + 1, np.int64)
    part = np.zeros(g + 1)
    best = cutoff
    found = False
    q = 0
    while q >= 0:
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
        if val >= best:
            continue
        pl[a] = c
        used[c] = True
        if q + 1 == g:
            best = val
            best_p[:] = pl
            found = True
            continue
        lb = val
        for r in range(q + 1, g):  # every unplaced group on its cheapest free core against the placed ones
            lb += cheapest_free_core(F, ex, order, pl, used, q, order[r])
        if lb >= best:
            continue
        q += 1
        part[q] = val
        nxt[q] = 0
    return best if found else np.inf


@njit(cache=True)
def _join_cost(v, g, ng, hit, w, v_ptr, v_idx, rem, forced, share):
    """What ``v`` joining group ``g`` adds: the hyperedges it brings to ``g`` (``share``: only the unforced
    ones, each at ``w / rem``, the share of one packet among the edge's unplaced vertices)."""
    c = 0.0
    for p in range(v_ptr[v], v_ptr[v + 1]):
        e = v_idx[p]
        if g == ng or hit[e, g] == 0:
            if not share:
                c += w[e]
            elif forced[e] == 0:
                c += w[e] / rem[e]
    return c


@njit(cache=True)
def _join_split(v, g, ng, hit, w, v_ptr, v_idx, rem, forced, ecomp, part):
    """:func:`_join_cost` with ``share``, also added per component into ``part`` (``ecomp``: every edge's)."""
    c = 0.0
    for p in range(v_ptr[v], v_ptr[v + 1]):
        e = v_idx[p]
        if (g == ng or hit[e, g] == 0) and forced[e] == 0:
            c += w[e] / rem[e]
            part[ecomp[e]] += w[e] / rem[e]
    return c


@njit(cache=True)
def _open_flows(grp, hit, ng, esrc, espk):
    """``F[a, h]``: the flow of the placed senders of group ``a`` to the other open groups ``h`` (zero diagonal)."""
    F = np.zeros((ng, ng))
    for e in range(esrc.size):
        u = esrc[e]
        if u < 0 or grp[u] < 0:
            continue
        a = grp[u]
        for h in range(ng):
            if h != a and hit[e, h] > 0:
                F[a, h] += espk[e]
    return F


@njit(cache=True)
def _placed_hops(grp, hit, ng, esrc, espk, ex, first, cutoff):
    """Least excess of the open groups' flows so far over their placements on distinct cores (``inf`` when none is
    below ``cutoff``): the exact form of :func:`_hop_bound`, still a bound as flows only grow."""
    F = _open_flows(grp, hit, ng, esrc, espk)
    order = np.argsort(-(F.sum(0) + F.sum(1)), kind="mergesort")
    return place_groups(F, ex, order, first, cutoff, -np.ones(ng, np.int64))


@njit(cache=True)
def _hop_bound(grp, hit, ng, esrc, espk, pair_ex, row_ex):
    """Least excess packet cost of the flows between the ``ng`` open groups (0 when ``pair_ex`` has no columns).

    Edge ``e`` with sender vertex ``esrc[e] >= 0`` carries ``espk[e]`` from the
    sender's group to every other group it hits. The open groups sit on ``ng``
    distinct cores. Two bounds, the larger counts (rearrangement inequality):
    ``pair_ex[ng, j]`` is at most the ``j``-th smallest excess cost among the
    pairs of any ``ng`` cores, paired with the flows heaviest first; and each
    group's own flows, heaviest first, on the sorted excess row ``row_ex[c]``
    of its best core ``c``. With ``K (K - 1) / 2`` columns in ``pair_ex``
    (symmetric costs) the pairs are unordered and carry both directions' flow,
    and the per-group sums count every pair twice (halved).
    """
    if pair_ex.shape[1] == 0 or ng < 2:
        return 0.0
    k = pair_ex.shape[0] - 1
    sym = pair_ex.shape[1] < k * (k - 1)  # unordered pairs (symmetric costs)
    F = _open_flows(grp, hit, ng, esrc, espk)
    if sym:
        F = F + F.T
    flows = np.empty(ng * (ng - 1))
    q = 0
    for a in range(ng):
        for h in range(a + 1 if sym else 0, ng):
            if a != h:
                flows[q] = F[a, h]
                q += 1
    flows = np.sort(flows[:q])
    total = 0.0
    for j in range(q):
        total += flows[q - 1 - j] * pair_ex[ng, j]
    per_group = 0.0
    own = np.empty(ng - 1)
    for a in range(ng):
        r = 0
        for h in range(ng):
            if h != a:
                own[r] = F[a, h]
                r += 1
        own = np.sort(own)
        best = np.inf
        for c in range(k):
            v = 0.0
            for j in range(ng - 1):
                v += own[ng - 2 - j] * row_ex[c, j]
            if v < best:
                best = v
        per_group += best
    if sym:
        per_group *= 0.5
    return max(total, per_group)


@njit(cache=True)
def transport(C, room):
    """Least ``sum_v C[v, t_v]`` over assignments of the rows to the columns with at most ``room[t]`` rows in column
    ``t`` (``inf`` when they do not fit): successive shortest augmenting paths, one row at a time.

    Column ``t`` reaches ``u`` by moving one of its rows to ``u`` (the cheapest such move); the optimum of the rows
    so far has no negative cycle, so a Bellman-Ford pass over the few columns finds each next row's cheapest path.
    A path is only taken when it beats another by more than ``TRANSPORT_TOL`` times the largest cost (rounding could
    otherwise close a zero-cost cycle, corrupting the assignment), so the assignment may miss the optimum by that
    much per row and column: the value returned is lowered by as much, a lower bound on the least cost.
    """
    nv, nt = C.shape
    total = transport_assign(C, room, -np.ones(nv, np.int64))
    return total - nv * nt * TRANSPORT_TOL * _largest(C)


@njit(cache=True)
def _largest(C):
    """The largest finite ``|C|`` (0 when none is finite)."""
    big = 0.0
    for v in range(C.shape[0]):
        for t in range(C.shape[1]):
            x = abs(C[v, t])
            if x < np.inf and x > big:
                big = x
    return big


@njit(cache=True)
def transport_assign(C, room, col):
    """The cost of the assignment :func:`transport` finds (within its tolerance of the least), every row's column
    written into ``col``."""
    nv, nt = C.shape
    if nv == 0:
        return 0.0
    tol = TRANSPORT_TOL * _largest(C)
    col[:] = -1
    cnt = np.zeros(nt, np.int64)
    W = np.empty((nt, nt))
    mover = np.empty((nt, nt), np.int64)
    dist = np.empty(nt)
    pred = np.empty(nt, np.int64)
    total = 0.0
    for v in range(nv):
        W[:, :] = np.inf
        for u in range(v):  # the cheapest move of a placed row out of each column into each other one
            a = col[u]
            for t in range(nt):
                d = C[u, t] - C[u, a]
                if t != a and d < W[a, t]:
                    W[a, t] = d
                    mover[a, t] = u
        for t in range(nt):
            dist[t] = C[v, t]
            pred[t] = -1
        for _ in range(nt - 1):
            changed = False
            for a in range(nt):
                if dist[a] == np.inf or cnt[a] == 0:
                    continue
                for t in range(nt):
                    if dist[a] + W[a, t] < dist[t] - tol:
                        dist[t] = dist[a] + W[a, t]
                        pred[t] = a
                        changed = True
            if not changed:
                break
        end, best = -1, np.inf
        for t in range(nt):
            if cnt[t] < room[t] and dist[t] < best:
                end, best = t, dist[t]
        if end < 0:
            return np.inf
        total += best
        cnt[end] += 1
        t, steps = end, 0
        while pred[t] >= 0 and steps < nt:  # shift one row along the path, the new row into its first column
            col[mover[pred[t], t]] = t
            t = pred[t]
            steps += 1
        col[v] = t
    total = 0.0
    for v in range(nv):
        total += C[v, col[v]]
    return total


@njit(cache=True)
def _inputs_bound(lam, forced, in_e, in_s, in_rg, dc, slots, sv):
    """Least cost of the outside inputs beyond what their edges pay (0 without ``in_e``), given at most ``slots`` of
    them can join a group that holds one of their targets.

    Input ``q`` (edge ``in_e[q]``, spikes ``in_s[q]``) has its targets in ``d >= lam + forced`` (at least 1) groups on
    distinct cores. In one of those groups it pays at least ``s in_rg[d - 1]`` (the excess to the ``d - 1`` others,
    from any core: ``in_rg[j]`` the least sum of ``j`` remote excesses of one core); elsewhere ``s (dc + in_rg[d])``
    (its penalty and all ``d``). Both grow with ``d``, so ``d``'s lower bound gives a bound; at most ``slots`` inputs
    take the cheaper first, hence all pay the second less the ``slots`` largest savings. ``sv``: a work array.
    """
    n = in_e.size
    if n == 0:
        return 0.0
    top = in_rg.size - 1
    total = 0.0
    for q in range(n):
        e = in_e[q]
        d = min(max(lam[e] + forced[e], 1), top)
        hi = in_s[q] * (dc + in_rg[d])
        sv[q] = hi - in_s[q] * in_rg[d - 1]
        total += hi
    if slots >= n:
        for q in range(n):
            total -= sv[q]
        return total
    if slots <= 0:
        return total
    srt = np.sort(sv[:n])
    for q in range(n - 1, n - 1 - slots, -1):
        total -= srt[q]
    return total


@njit(cache=True)
def _bound(depth, order, grp, load, hit, lam, rem, w, v_ptr, v_idx, cap, groups, ng, forced, gcost, gmin, hop_src,
           hop_spk, pair_ex, row_ex, ecomp, comp_lb, vc_ptr, vc_idx, cw, jc, in_e, in_s, in_rg, in_dc, sv, cutoff):
    """Lower bound on ``sum_e w_e * lambda_e + gcost * max(groups, gmin)`` (plus the hop bound of :func:`_hop_bound`)
    over every completion of the partial partition.

    Each unplaced vertex's share of joining each group (``jc``, a work array of
    at least one row a vertex and ``groups + 1`` columns) is a lower bound
    whatever the others join, so the shares of the cheapest assignment that
    respects the groups' free room (:func:`transport`; the new groups one
    column, all alike) bound them together; it replaces every vertex's cheapest
    group when those overfill a group and the bound is still below ``cutoff``.

    With components (``comp_lb`` not empty: ``ecomp`` the component of every
    edge, ``comp_lb`` a bound on each component's edge cost over every
    partition, ``vc_ptr``/``vc_idx`` the components of every vertex's edges,
    ``cw`` a ``(3, components)`` work array), the edge part is also bounded per
    component, by the larger of its own node bound and ``comp_lb``, and the
    larger total counts.

    With outside inputs (``in_e`` not empty, see :func:`_inputs_bound`), their least cost beyond their edges' is
    added: at most the open groups' free room, plus ``cap - 1`` for each unplaced vertex that may open a group, of
    them join groups.
    """
    m = order.size
    ne = w.size
    nc = comp_lb.size
    cw[:, :] = 0.0
    total = 0.0
    for e in range(ne):
        total += w[e] * lam[e]
        if nc > 0:
            cw[0, ecomp[e]] += w[e] * lam[e]
        forced[e] = 0
        if rem[e] > 0:
            room = 0
            if lam[e] > 0:
                for g in range(ng):
                    if hit[e, g] > 0:
                        room += cap - load[g]
            extra = rem[e] - room
            if extra > 0:
                forced[e] = (extra + cap - 1) // cap
                total += w[e] * forced[e]
                if nc > 0:
                    cw[0, ecomp[e]] += w[e] * forced[e]
    free = (groups - ng) * cap
    for g in range(ng):
        free += cap - load[g]
    if m - depth > free:
        return np.inf
    for q in range(depth, m):
        v = order[q]
        best = np.inf
        top = ng + 1 if ng < groups else ng
        for r in range(vc_ptr[v], vc_ptr[v + 1]):
            cw[1, vc_idx[r]] = np.inf
        for g in range(top):
            jc[q - depth, g] = np.inf
            if g < ng and load[g] >= cap:
                continue
            if nc == 0:
                c = _join_cost(v, g, ng, hit, w, v_ptr, v_idx, rem, forced, True)
            else:  # each component's share of the join on its own (their cheapest groups may differ)
                for r in range(vc_ptr[v], vc_ptr[v + 1]):
                    cw[2, vc_idx[r]] = 0.0
                c = _join_split(v, g, ng, hit, w, v_ptr, v_idx, rem, forced, ecomp, cw[2])
                for r in range(vc_ptr[v], vc_ptr[v + 1]):
                    cw[1, vc_idx[r]] = min(cw[1, vc_idx[r]], cw[2, vc_idx[r]])
            jc[q - depth, g] = c
            if c < best:
                best = c
        total += best
        for r in range(vc_ptr[v], vc_ptr[v + 1]):
            cw[0, vc_idx[r]] += cw[1, vc_idx[r]]
    split = -np.inf
    if nc > 0:
        split = 0.0
        for c in range(nc):
            split += max(cw[0, c], comp_lb[c])
    extra = 0.0
    if gcost > 0.0:  # the open groups, and the new ones the unplaced vertices need beyond their free room
        room = free - (groups - ng) * cap
        extra += gcost * max(ng + max(0, m - depth - room + cap - 1) // cap, gmin)
    extra += _hop_bound(grp, hit, ng, hop_src, hop_spk, pair_ex, row_ex)
    inb, inx = 0.0, 0.0
    if in_e.size > 0:
        # the room the inputs may find at most: the open groups' and (cap - 1) more per group still to open
        slots = free - (groups - ng) * cap + (cap - 1) * min(m - depth, groups - ng)
        inb = _inputs_bound(lam, forced, in_e, in_s, in_rg, in_dc, slots, sv)
        if nc > 0:  # a component's floor covers its inputs' penalties too: beside it, only their excess counts
            inx = _inputs_bound(lam, forced, in_e, in_s, in_rg, 0.0, slots, sv)
    if max(total + inb, split + inx) + extra < cutoff and m > depth:
        top = ng + 1 if ng < groups else ng
        room_t = np.empty(top, np.int64)
        for g in range(top):
            room_t[g] = cap - load[g] if g < ng else (groups - ng) * cap
        pick = np.zeros(top, np.int64)
        shares = 0.0
        for q in range(m - depth):
            t = np.argmin(jc[q, :top])
            pick[t] += 1
            shares += jc[q, t]
        if np.any(pick > room_t):  # the cheapest groups overfill one: the capacitated assignment is dearer
            total += transport(jc[: m - depth, :top], room_t) - shares
    return max(total + inb, split + inx) + extra


@njit(cache=True)
def _move(v, g, sign, grp, load, hit, lam, rem, v_ptr, v_idx):
    """Put target ``v`` into group ``g`` (``sign = 1``) or take it out (``sign = -1``)."""
    if sign > 0:
        grp[v] = g
    else:
        grp[v] = -1
    load[g] += sign
    for p in range(v_ptr[v], v_ptr[v + 1]):
        e = v_idx[p]
        if sign > 0:
            if hit[e, g] == 0:
                lam[e] += 1
            hit[e, g] += 1
            rem[e] -= 1
        else:
            hit[e, g] -= 1
            if hit[e, g] == 0:
                lam[e] -= 1
            rem[e] += 1


@njit(cache=True)
def _search(st, order, grp, load, hit, lam, rem, w, v_ptr, v_idx, cap, groups, forced, ch, nch, ptr, nb,
            ub, best, max_nodes, gcost, gmin, stop, leaf, hop_src, hop_spk, pair_ex, row_ex, ex_b, first, deep, ecomp,
            comp_lb, vc_ptr, vc_idx, cw, jc, in_e, in_s, in_rg, in_dc, sv):
    """Resumable depth-first search; ``st = [depth, nodes, open groups, leaf flag]``, ``ub[0]`` the incumbent.

    From depth ``deep`` on, a node's hop bound is the exact placement of its open groups' flows (excess costs
    ``ex_b``, the first group on the cores ``first``) whenever the rest of its bound is below ``ub[0]``.

    ``stop``: at a complete partition below ``ub[0]``, copy it to ``best``, its
    cost to ``leaf[0]``, set ``st[3] = 1`` and return without touching ``ub``
    (the caller prices the partition and lowers ``ub[0]`` itself).
    """
    m = order.size
    d = st[0]
    ng = st[2]
    nodes = 0
    while d >= 0 and nodes < max_nodes:
        v = order[d]
        if grp[v] >= 0:  # the previous child of this level
            g = grp[v]
            _move(v, g, -1, grp, load, hit, lam, rem, v_ptr, v_idx)
            if load[g] == 0:
                ng -= 1
        if ptr[d] >= nch[d]:
            d -= 1
            continue
        g = ch[d, ptr[d]]
        ptr[d] += 1
        if nb[d] >= ub[0] * (1.0 - REL_TOL):  # the incumbent improved since this level was expanded
            ptr[d] = nch[d]
            continue
        _move(v, g, 1, grp, load, hit, lam, rem, v_ptr, v_idx)
        if g == ng:
            ng += 1
        nodes += 1
        if d + 1 == m:
            cost = gcost * max(ng, gmin) + _hop_bound(grp, hit, ng, hop_src, hop_spk, pair_ex, row_ex)
            edges = 0.0
            nc = comp_lb.size
            cw[0, :] = 0.0
            for e in range(w.size):
                edges += w[e] * lam[e]
                if nc > 0:
                    cw[0, ecomp[e]] += w[e] * lam[e]
                forced[e] = 0  # every vertex placed: the groups hit are final
            inb, inx = 0.0, 0.0
            if in_e.size > 0:
                free = 0
                for g2 in range(ng):
                    free += cap - load[g2]
                inb = _inputs_bound(lam, forced, in_e, in_s, in_rg, in_dc, free, sv)
                if nc > 0:
                    inx = _inputs_bound(lam, forced, in_e, in_s, in_rg, 0.0, free, sv)
            if nc > 0:  # the components' floors (see _bound)
                split = inx
                for c in range(nc):
                    split += max(cw[0, c], comp_lb[c])
                cost += max(edges + inb, split)
            else:
                cost += edges + inb
            if stop and cost < ub[0]:
                best[:] = grp
                leaf[0] = cost
                st[3] = 1
                break
            if cost < ub[0]:
                ub[0] = cost
                best[:] = grp
            continue
        b = _bound(d + 1, order, grp, load, hit, lam, rem, w, v_ptr, v_idx, cap, groups, ng, forced, gcost, gmin,
                   hop_src, hop_spk, pair_ex, row_ex, ecomp, comp_lb, vc_ptr, vc_idx, cw, jc, in_e, in_s, in_rg, in_dc,
                   sv, ub[0] * (1.0 - REL_TOL))
        if b >= ub[0] * (1.0 - REL_TOL):
            continue
        if d + 1 >= deep and ng >= 2:  # deep enough: the exact placement of the flows so far replaces the hop bound
            rest = b - _hop_bound(grp, hit, ng, hop_src, hop_spk, pair_ex, row_ex)
            x = _placed_hops(grp, hit, ng, hop_src, hop_spk, ex_b, first, ub[0] * (1.0 - REL_TOL) - rest)
            if not x < np.inf:
                continue
            b = max(b, rest + x)
        d += 1
        nb[d] = b
        _children(d, order[d], ng, groups, cap, load, hit, rem, forced, w, v_ptr, v_idx, ch, nch, ptr)
    st[0] = d
    st[1] += nodes
    st[2] = ng


@njit(cache=True)
def _children(d, v, ng, groups, cap, load, hit, rem, forced, w, v_ptr, v_idx, ch, nch, ptr):
    """Groups ``v`` may join (open ones with room, then one new), cheapest immediate cost first."""
    cnt = 0
    top = ng + 1 if ng < groups else ng
    keys = np.empty(top)
    for g in range(top):
        if g < ng and load[g] >= cap:
            continue
        ch[d, cnt] = g
        keys[cnt] = _join_cost(v, g, ng, hit, w, v_ptr, v_idx, rem, forced, False)
        cnt += 1
    idx = np.argsort(keys[:cnt], kind="mergesort")
    tmp = ch[d, :cnt].copy()
    for q in range(cnt):
        ch[d, q] = tmp[idx[q]]
    nch[d] = cnt
    ptr[d] = 0


def _open_bound(st: np.ndarray, nb: np.ndarray, ptr: np.ndarray, nch: np.ndarray, ub: float) -> float:
    """Least bound of the unexplored subtrees: the bounds of the levels on the stack with children left."""
    lb = ub
    for d in range(st[0] + 1):
        if ptr[d] < nch[d]:
            lb = min(lb, float(nb[d]))
    return lb


class PartitionSearch:
    """The resumable partition search of :func:`component_optimum` over ``num_targets`` vertices.

    Minimises ``sum_e w_e * (groups hit by e) + gcost * max(groups, gmin)`` (plus,
    with ``hop = (sender vertex of every edge or -1, its flow, the least pair
    excess costs among g cores by g, every core's sorted excess row)``, the hop bound of
    :func:`_hop_bound`) over partitions into at most ``groups`` groups of at
    most ``cap`` vertices. With ``stop`` every complete partition below
    ``ub[0]`` is handed back by :meth:`run` (in ``best``, its cost in
    ``leaf[0]``) for the caller to price, and ``ub[0]`` is the caller's to lower.
    ``exact = (excess costs with a zero diagonal, the cores the first group may
    take, depth)``: from that depth on, the hop bound is the exact placement of
    the open groups' flows so far (:func:`place_groups`).
    ``comps = (component of every edge, a bound on each component's edge cost
    over every partition)``: the node bound also takes, per component, the
    larger of its part and that bound (see :func:`_bound`).
    ``gmin``: the groups are charged as at least this many (vertices outside the search need room too).
    ``inputs = (edge of every outside input, its spikes, the least sums of j remote excesses of one core by j, the
    penalty per spike)``: the node bound adds the inputs' least cost beyond their edges' (:func:`_inputs_bound`).
    """

    def __init__(self, edges: list[np.ndarray], weights: np.ndarray, num_targets: int, cap: int, groups: int,
                 gcost: float = 0.0, stop: bool = False,
                 hop: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
                 exact: tuple[np.ndarray, np.ndarray, int] | None = None,
                 comps: tuple[np.ndarray, np.ndarray] | None = None, gmin: int = 0,
                 inputs: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None):
        m = num_targets
        w = np.asarray(weights, np.float64)
        groups = min(groups, m)
        v_lists: list[list[int]] = [[] for _ in range(m)]
        for e, tg in enumerate(edges):
            for v in np.unique(tg).tolist():
                v_lists[v].append(e)
        v_ptr = np.zeros(m + 1, np.int64)
        np.cumsum([len(v) for v in v_lists], out=v_ptr[1:])
        v_idx = np.array([e for v in v_lists for e in v], np.int64)
        # Most-connected first: each next target shares the most weight with the ones before it.
        strength = np.zeros(m)
        for v in range(m):
            strength[v] = w[v_lists[v]].sum()
        order: list[int] = []
        touch = np.zeros(len(edges))
        left = set(range(m))
        while left:
            v = max(left, key=lambda u: (touch[v_lists[u]].sum(), strength[u], -u))
            order.append(v)
            left.remove(v)
            touch[v_lists[v]] = w[v_lists[v]]
        ne = len(edges)
        self.edges, self.w, self.cap, self.groups, self.gcost, self.stop = edges, w, cap, groups, float(gcost), stop
        self.gmin = int(gmin)
        self.order = np.array(order, np.int64)
        self.v_ptr, self.v_idx = v_ptr, v_idx
        self.ch = np.zeros((m, groups + 1), np.int64)
        self.nch = np.zeros(m, np.int64)
        self.ptr = np.zeros(m, np.int64)
        self.nb = np.zeros(m)
        self.ub = np.array([math.inf])
        self.best = -np.ones(m, np.int64)
        self.leaf = np.zeros(1)
        self.forced = np.zeros(ne, np.int64)
        if hop is None:
            hop = (-np.ones(ne, np.int64), np.zeros(ne), np.zeros((groups + 1, 0)), np.zeros((groups, groups)))
        self.hop = (np.asarray(hop[0], np.int64), np.asarray(hop[1], np.float64), np.asarray(hop[2], np.float64),
                    np.asarray(hop[3], np.float64))
        if exact is None:  # never deep enough
            exact = (np.zeros((1, 1)), np.ones(1, np.bool_), m + 1)
        self.exact = (np.asarray(exact[0], np.float64), np.asarray(exact[1], np.bool_), int(exact[2]))
        ecomp, comp_lb = (np.zeros(ne, np.int64), np.zeros(0)) if comps is None else comps
        ecomp = np.asarray(ecomp, np.int64)
        vc = [np.unique(ecomp[v]) if comps is not None else np.zeros(0, np.int64) for v in v_lists]
        vc_ptr = np.zeros(m + 1, np.int64)
        np.cumsum([c.size for c in vc], out=vc_ptr[1:])
        vc_idx = np.concatenate(vc).astype(np.int64) if m else np.zeros(0, np.int64)
        comp_lb = np.asarray(comp_lb, np.float64)
        self.comps = (ecomp, comp_lb, vc_ptr, vc_idx, np.zeros((3, max(comp_lb.size, 1))),
                      np.zeros((m, groups + 1)))
        if inputs is None:
            inputs = (np.zeros(0, np.int64), np.zeros(0), np.zeros(1), 0.0)
        self.inputs = (np.asarray(inputs[0], np.int64), np.asarray(inputs[1], np.float64),
                       np.asarray(inputs[2], np.float64), float(inputs[3]), np.zeros(max(len(inputs[0]), 1)))
        self.st = np.array([0, 0, 0, 0], np.int64)
        self.restart()

    def restart(self) -> None:
        """Back to the root (no vertex placed; ``ub``, ``best`` and the node count are kept)."""
        m, ne = self.order.size, self.w.size
        self.grp = -np.ones(m, np.int64)
        self.load = np.zeros(self.groups, np.int64)
        self.hit = np.zeros((ne, self.groups), np.int64)
        self.lam = np.zeros(ne, np.int64)
        self.rem = np.array([np.unique(tg).size for tg in self.edges], np.int64)
        self.root = _bound(0, self.order, self.grp, self.load, self.hit, self.lam, self.rem, self.w, self.v_ptr,
                           self.v_idx, self.cap, self.groups, 0, self.forced, self.gcost, self.gmin, *self.hop,
                           *self.comps, *self.inputs, np.inf)
        self.nb[0] = self.root
        _children(0, self.order[0], 0, self.groups, self.cap, self.load, self.hit, self.rem, self.forced, self.w,
                  self.v_ptr, self.v_idx, self.ch, self.nch, self.ptr)
        self.st[0] = self.st[2] = self.st[3] = 0

    def cost(self, labels: np.ndarray) -> float:
        """The objective of the partition ``labels`` (a group of every vertex, any labels), without a hop bound."""
        return float(sum(self.w[e] * np.unique(labels[tg]).size for e, tg in enumerate(self.edges))
                     + self.gcost * max(np.unique(labels).size, self.gmin))

    def leaf_cost(self) -> float:
        """:meth:`cost` of the partition the search stopped at (read off its state)."""
        return float(self.w @ self.lam) + self.gcost * max(int(self.st[2]), self.gmin)

    @property
    def done(self) -> bool:
        """Whether the search has met every partition below ``ub[0]``."""
        return bool(self.st[0] < 0)

    @property
    def nodes(self) -> int:
        """Search nodes so far."""
        return int(self.st[1])

    def run(self, max_nodes: int | None = None) -> bool:
        """Search on for at most ``max_nodes`` nodes (:data:`NODE_CHUNK`); ``True`` when it stopped at a partition
        to price."""
        self.st[3] = 0
        _search(self.st, self.order, self.grp, self.load, self.hit, self.lam, self.rem, self.w, self.v_ptr,
                self.v_idx, self.cap, self.groups, self.forced, self.ch, self.nch, self.ptr, self.nb, self.ub,
                self.best, NODE_CHUNK if max_nodes is None else max_nodes, self.gcost, self.gmin, self.stop, self.leaf,
                *self.hop, *self.exact, *self.comps, *self.inputs)
        return bool(self.st[3])

    def open_bound(self) -> float:
        """A lower bound on every partition not yet met (``ub[0]`` when finished), at least the root bound."""
        return min(max(_open_bound(self.st, self.nb, self.ptr, self.nch, float(self.ub[0])), self.root),
                   float(self.ub[0]))


def component_optimum(edges: list[np.ndarray], weights: np.ndarray, num_targets: int, cap: int, groups: int,
                      time_limit: float | None = None, start: np.ndarray | None = None
                      ) -> tuple[float, float, np.ndarray | None, bool]:
    """Least ``sum_e w_e * (groups hit by e)`` over partitions of the targets into ``<= groups`` groups of ``<= cap``.

    Parameters
    ----------
    edges
        Target indices (``0 .. num_targets - 1``) of every hyperedge.
    weights
        Weight of every hyperedge.
    time_limit
        Seconds; on expiry the returned bound is the least bound of the unexplored subtrees.
    start
        A group of every target (any labels) whose cost seeds the incumbent.

    Returns
    -------
    (best, bound, groups, proven)
        Best cost found (``inf`` if none), a valid lower bound on the optimum
        (``best`` less the relative tolerance when proven), the best partition
        and whether the search finished.
    """
    m = num_targets
    if m == 0:
        return 0.0, 0.0, np.zeros(0, np.int64), True
    if m > min(groups, m) * cap:
        return math.inf, math.inf, None, True
    ps = PartitionSearch(edges, weights, m, cap, groups)
    if start is not None:
        labels = np.unique(start, return_inverse=True)[1]
        if labels.max(initial=-1) < ps.groups and np.bincount(labels).max(initial=0) <= cap:
            ps.ub[0] = ps.cost(labels)
            ps.best[:] = labels
    t0 = time.perf_counter()
    while not ps.done:
        ps.run()
        if not ps.done and time_limit is not None and time.perf_counter() - t0 >= time_limit:
            return float(ps.ub[0]), ps.open_bound(), (ps.best if ps.best.min(initial=0) >= 0 else None), False
    if not math.isfinite(ps.ub[0]):
        return math.inf, math.inf, None, True
    return float(ps.ub[0]), float(ps.ub[0]) * (1.0 - REL_TOL), ps.best, True


def _component_comm(targets: np.ndarray, senders: np.ndarray, network: SpikingNetwork, n_max: int, k: int,
                    c0: float, c1: float, own: bool, time_limit: float | None, start: np.ndarray | None
                    ) -> tuple[float, float, bool]:
    """Bound on ``sum_{i in component} E_comm,i`` (joules), the subproblem's bound and whether it is proven.

    ``own=False``: the targets alone, hyperedge weights ``s_i``; the subproblem
    bounds ``M_c`` and the energy bound is ``c1 * M_c + (c0 - c1) * sum_i s_i``.
    ``own=True``: the senders join as vertices; hyperedges ``post(i)`` of weight
    ``c0 s_i`` and ``{i} + post(i)`` of weight ``(c1 - c0) s_i`` (joules).
    """
    s = np.asarray(network.spikes, float)
    pre, post = np.asarray(network.pre), np.asarray(network.post)
    vertices = np.union1d(targets, senders) if own else targets
    pos = -np.ones(network.num_neurons, np.int64)
    pos[vertices] = np.arange(vertices.size)
    edges = [pos[post[pre == i]] for i in senders]
    weights = s[senders] * (c0 if own else 1.0)
    if own:
        edges += [np.append(pos[post[pre == i]], pos[i]) for i in senders]
        weights = np.concatenate([weights, s[senders] * (c1 - c0)])
    _, lb, _, proven = component_optimum(edges, weights, vertices.size, n_max, k, time_limit,
                                         None if start is None else np.asarray(start)[vertices])
    spikes = float(s[senders].sum())
    return (lb if own else c1 * lb) - (c1 - c0) * spikes, lb, proven


def component_bound(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None,
                    start: np.ndarray | None = None) -> ComponentBound:
    """The component bound on the total multicast energy (see the module docstring).

    ``time_limit`` goes first to the plain problems of the components (the
    smallest first, each an equal share of what is left), then to the finer
    ones; a search cut short contributes its bound. ``start`` (a core of
    every neuron) seeds each component's incumbent.
    """
    t0 = time.perf_counter()
    n_max, k = int(hardware.limits.n_max), hardware.num_cores
    cost = np.asarray(hardware.cost_matrix, float)
    c0 = float(cost.min())
    c1 = float(cost[~np.eye(k, dtype=bool)].min()) if k > 1 else c0
    comps = sorted(target_components(network), key=lambda c: c[0].size)
    # First the plain problems (each component's destination counts: cheap, most of the bound), then the finer ones.
    tasks = [(q, False) for q in range(len(comps))] + ([(q, True) for q in range(len(comps))] if c1 > c0 else [])
    best = [-math.inf] * len(comps)
    proven = [False] * len(comps)
    messages = [0.0] * len(comps)
    for done, (q, own) in enumerate(tasks):
        left = None
        if time_limit is not None:  # an equal share of what is left for this and every later one of its kind
            left = max(time_limit - (time.perf_counter() - t0), 0.0) / sum(o == own for _, o in tasks[done:])
        targets, senders = comps[q]
        lb, raw, ok = _component_comm(targets, senders, network, n_max, k, c0, c1, own, left, start)
        best[q], proven[q] = max(best[q], lb), proven[q] or ok
        if not own:
            messages[q] = raw
    rows = [(int(t.size), int(s.size), best[q], proven[q]) for q, (t, s) in enumerate(comps)]
    comm = sum(best)
    if hardware.power_gating:
        static = network.t_run * hardware.energy.p_static * math.ceil(network.num_neurons / n_max)
    else:
        static = network.t_run * hardware.energy.p_static * k
    return ComponentBound(bound=fixed_energy(network, hardware) + comm + static, components=tuple(rows),
                          comm_bound=comm, runtime=time.perf_counter() - t0,
                          senders=tuple(c[1] for c in comps), messages=tuple(messages))
