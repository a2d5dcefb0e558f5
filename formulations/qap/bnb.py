r"""Exact branch and bound for the (rectangular) QAP with the Gilmore-Lawler bound.

Problem: ``min_p sum_{a,b} F[a,b] D[p(a),p(b)] + sum_a L[a,p(a)]`` over injective
``p: {0..n-1} -> {0..m-1}``, ``m >= n`` (no dummy facilities are added: the
bound and the branching work on the rectangular problem directly).

Bound (Gilmore-Lawler, GL). At a node with assigned facilities ``A`` (on used
locations) and unassigned ``U`` / free locations ``V`` (``|U| = r <= |V|``), the
cost of any completion is ``fixed + sum_{i in U} c(i, p(i)) + quadratic(U)``, and

.. math::

    C[i,j] = L[i,j] + F[i,i]D[j,j]
             + \sum_{a \in A} (F[i,a] D[j,p(a)] + F[a,i] D[p(a),j])
             + \langle F[i, U \setminus i]^{\downarrow}, D[j, V \setminus j]^{\uparrow} \rangle

where the last term is the minimal scalar product of facility ``i``'s flows to the
other unassigned facilities (sorted down) with the ``r - 1`` smallest distances
from ``j`` to other free locations (sorted up). Summed over ``i`` the scalar
products bound every ordered pair of unassigned facilities once, so
``fixed + LAP(C)`` (a linear assignment, solved by a numba Hungarian method) is a
valid bound. When ``D`` is symmetric ``F`` is replaced by ``(F + F^T)/2`` (same
objective; each facility then sees flows in both directions), and vice versa.

Branching. The LAP duals ``u, v`` give reduced costs ``rc = C - u - v >= 0``; a
child that fixes ``i -> j`` has bound ``>= GL + rc[i,j]`` (the parent's LAP with
``x_ij = 1`` forced). Children whose bound cannot beat the incumbent are
dropped without evaluation. Polytomic branching picks the facility (or, on
square nodes, the location) with the fewest surviving children, ties broken by
the largest total reduced cost (largest bound increase), and visits children in
order of increasing bound, depth first.

Symmetry. Automorphisms ``g`` of the locations (``D[g][:, g] == D`` and
``L[:, g] == L``; e.g. the reflections and rotations of a mesh) map solutions to
solutions of equal cost. At a node, every automorphism that fixes all used
locations is "active"; a child location ``j`` is skipped if some active ``g``
has ``g[j] < j`` (repeatedly applying such ``g`` reaches a kept location with a
solution of the same cost inside the same subtree).

Pruning tolerance. With integral data (all costs integers), a node is pruned
when its bound exceeds ``UB - 1`` (no strictly better integer value exists).
Otherwise a node is pruned when its bound is ``>= UB - tol`` with
``tol = 1e-9 max(1, |UB|)``; "optimal" then means within ``tol``.

The search is an explicit-stack depth-first loop in numba that runs a budget of
nodes per call, so Python can check the time limit, log and report progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from numba import njit

from snnmap.formulations.qap.core import QAPResult, check_data, is_integral, qap_objective
from snnmap.formulations.qap.heuristic import anneal, complete_start, full_cost
from snnmap.formulations.result import Status

__all__ = ["branch_and_bound", "gilmore_lawler_bound", "lap_hungarian", "location_automorphisms"]

_INF = np.inf


# ----------------------------------------------------------------------------
# Linear assignment (Hungarian method with potentials, rectangular r <= c)
# ----------------------------------------------------------------------------
@njit(cache=True)
def _hungarian(C, r, c, u, v, p, way, minv, used, rowsol):
    """Solve the ``r x c`` LAP in ``C[:r, :c]`` (``r <= c``).

    On return ``u[1..r]``, ``v[1..c]`` are dual potentials (``C[i,j] - u[i+1] - v[j+1] >= 0``),
    ``rowsol[i]`` the column of row ``i``; returns the optimal value.
    """
    for j in range(c + 1):
        v[j] = 0.0
        p[j] = 0
        way[j] = 0
    for i in range(r + 1):
        u[i] = 0.0
    for i in range(1, r + 1):
        p[0] = i
        j0 = 0
        for j in range(c + 1):
            minv[j] = _INF
            used[j] = False
        while True:
            used[j0] = True
            i0 = p[j0]
            delta = _INF
            j1 = 0
            for j in range(1, c + 1):
                if not used[j]:
                    cur = C[i0 - 1, j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(c + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    val = 0.0
    for j in range(1, c + 1):
        if p[j] != 0:
            rowsol[p[j] - 1] = j - 1
            val += C[p[j] - 1, j - 1]
    return val


def lap_hungarian(C: np.ndarray) -> tuple[float, np.ndarray]:
    """Optimal value and row assignment of the rectangular LAP ``C`` (rows <= cols)."""
    C = np.ascontiguousarray(C, dtype=np.float64)
    r, c = C.shape
    u = np.zeros(r + 1)
    v = np.zeros(c + 1)
    p = np.zeros(c + 1, np.int64)
    way = np.zeros(c + 1, np.int64)
    minv = np.zeros(c + 1)
    used = np.zeros(c + 1, np.bool_)
    rowsol = np.zeros(r, np.int64)
    val = _hungarian(C, r, c, u, v, p, way, minv, used, rowsol)
    return val, rowsol


# ----------------------------------------------------------------------------
# Node evaluation
# ----------------------------------------------------------------------------
@njit(cache=True)
def _gl_node(F, D, B, lin, fixed, Forder, Dorder, af, al, U, V, C, fv, dv, ws):
    """GL bound at a node: fills ``C[:r, :c]`` and the LAP workspaces; returns ``fixed + LAP``.

    ``U``/``V`` receive the unassigned facilities / free locations.
    """
    n = F.shape[0]
    m = D.shape[0]
    r = 0
    for i in range(n):
        if af[i] < 0:
            U[r] = i
            r += 1
    c = 0
    for j in range(m):
        if al[j] < 0:
            V[c] = j
            c += 1
    # Flow vectors of unassigned facilities to the other unassigned ones, descending;
    # nf[ii] counts the non-zero entries (zeros add nothing to the scalar product).
    # npos[ii] counts the positive flows, nneg[ii] the negative ones (at the end).
    npos = ws[4]
    nneg = ws[3]
    anyneg = False
    for ii in range(r):
        i = U[ii]
        k = 0
        for t in range(n - 1):
            b = Forder[i, t]
            if af[b] < 0:
                fv[ii, k] = F[i, b]
                k += 1
        cp = 0
        cn = 0
        for t in range(k):
            if fv[ii, t] > 0.0:
                cp += 1
            elif fv[ii, t] < 0.0:
                cn += 1
        npos[ii] = cp
        nneg[ii] = cn
        if cn > 0:
            anyneg = True
    # Distance vectors from free locations to the other free ones, ascending: the
    # r-1 smallest suffice for non-negative flows; negative flows need the largest.
    for jj in range(c):
        j = V[jj]
        k = 0
        for t in range(m - 1):
            l = Dorder[j, t]
            if al[l] < 0:
                dv[jj, k] = D[j, l]
                k += 1
                if k >= r - 1 and not anyneg:
                    break
    # Minimal scalar product over injective maps (rearrangement inequality): the
    # largest positive flows meet the smallest distances, the most negative
    # flows the largest distances; zero flows add nothing.
    for ii in range(r):
        i = U[ii]
        cp = int(npos[ii])
        cn = int(nneg[ii])
        for jj in range(c):
            j = V[jj]
            s = B[i, j] + lin[i, j]
            for t in range(cp):
                s += fv[ii, t] * dv[jj, t]
            for q in range(cn):
                s += fv[ii, r - 2 - q] * dv[jj, c - 2 - q]
            C[ii, jj] = s
    return r, c


@njit(cache=True)
def _improves(b, ub, integral):
    if ub == _INF:
        return True
    if integral:
        return b < ub - 1.0 + 1e-6
    return b < ub - 1e-9 * max(1.0, abs(ub))


@njit(cache=True)
def _assign_update(F, D, lin_src, lin_dst, a, l, af, al):
    """``lin_dst = lin_src`` plus the interaction of every unassigned facility with ``a`` on ``l``."""
    n = F.shape[0]
    m = D.shape[0]
    for i in range(n):
        if af[i] >= 0:
            continue
        fia = F[i, a]
        fai = F[a, i]
        for j in range(m):
            if al[j] >= 0:
                continue
            lin_dst[i, j] = lin_src[i, j] + fia * D[j, l] + fai * D[l, j]


@njit(cache=True)
def _expand(F, D, B, Lm, lin, fixed, inbound, Forder, Dorder, af, al, G, act,
            ub_arr, best, integral, level, ch_fac, ch_loc, ch_bnd, nch, ptr,
            C, fv, dv, ws, iws, bw, try_lap_solution):
    """Evaluate the node (current ``af``/``al``) and write its children into ``level``.

    Returns the node's bound (``inf`` if pruned or childless).
    """
    n = F.shape[0]
    U = iws[0]
    V = iws[1]
    r, c = _gl_node(F, D, B, lin, fixed, Forder, Dorder, af, al, U, V, C, fv, dv, ws)
    u = ws[0]
    v = ws[1]
    minv = ws[2]
    p = iws[2]
    way = iws[3]
    rowsol = iws[4]
    used = bw
    val = _hungarian(C, r, c, u, v, p, way, minv, used, rowsol)
    gl = fixed + val
    nb = max(gl, inbound)
    ub = ub_arr[0]
    if try_lap_solution:
        # The LAP's matching completes the node to a full assignment: a cheap incumbent.
        for ii in range(r):
            af[U[ii]] = V[rowsol[ii]]
        cost = full_cost(F, D, Lm, af)
        for ii in range(r):
            af[U[ii]] = -1
        if cost < ub:
            ub_arr[0] = cost
            ub = cost
            for a in range(n):
                best[a] = af[a]
            for ii in range(r):
                best[U[ii]] = V[rowsol[ii]]
    nch[level] = 0
    ptr[level] = 0
    if not _improves(nb, ub, integral):
        return _INF
    # Reduced costs (clamped: float round-off can make them slightly negative).
    for ii in range(r):
        for jj in range(c):
            x = C[ii, jj] - u[ii + 1] - v[jj + 1]
            C[ii, jj] = max(0.0, x)
    # Symmetry: which locations are orbit representatives under the active automorphisms.
    keep = iws[5]
    nact = 0
    for g in range(G.shape[0]):
        if act[g]:
            nact += 1
    for jj in range(c):
        keep[jj] = 1
        if nact > 0:
            j = V[jj]
            for g in range(G.shape[0]):
                if act[g] and G[g, j] < j:
                    keep[jj] = 0
                    break
    best_kind = -1
    best_idx = -1
    best_cnt = 1 << 30
    best_sum = -1.0
    for ii in range(r):
        cnt = 0
        tot = 0.0
        for jj in range(c):
            tot += C[ii, jj]
            if keep[jj] == 1 and _improves(gl + C[ii, jj], ub, integral):
                cnt += 1
        if cnt < best_cnt or (cnt == best_cnt and tot > best_sum):
            best_cnt = cnt
            best_sum = tot
            best_kind = 0
            best_idx = ii
    if r == c and nact == 0:
        for jj in range(c):
            cnt = 0
            tot = 0.0
            for ii in range(r):
                tot += C[ii, jj]
                if _improves(gl + C[ii, jj], ub, integral):
                    cnt += 1
            if cnt < best_cnt or (cnt == best_cnt and tot > best_sum):
                best_cnt = cnt
                best_sum = tot
                best_kind = 1
                best_idx = jj
    if best_cnt == 0:
        return _INF
    k = 0
    if best_kind == 0:
        ii = best_idx
        for jj in range(c):
            b = max(nb, gl + C[ii, jj])
            if keep[jj] == 1 and _improves(b, ub, integral):
                ch_fac[level, k] = U[ii]
                ch_loc[level, k] = V[jj]
                ch_bnd[level, k] = b
                k += 1
    else:
        jj = best_idx
        for ii in range(r):
            b = max(nb, gl + C[ii, jj])
            if _improves(b, ub, integral):
                ch_fac[level, k] = U[ii]
                ch_loc[level, k] = V[jj]
                ch_bnd[level, k] = b
                k += 1
    # Insertion sort by bound: most promising child first.
    for a in range(1, k):
        fb = ch_bnd[level, a]
        ff = ch_fac[level, a]
        fl = ch_loc[level, a]
        b = a - 1
        while b >= 0 and ch_bnd[level, b] > fb:
            ch_bnd[level, b + 1] = ch_bnd[level, b]
            ch_fac[level, b + 1] = ch_fac[level, b]
            ch_loc[level, b + 1] = ch_loc[level, b]
            b -= 1
        ch_bnd[level, b + 1] = fb
        ch_fac[level, b + 1] = ff
        ch_loc[level, b + 1] = fl
    nch[level] = k
    return nb


@njit(cache=True)
def _search(F, D, B, Lm, Forder, Dorder, G, af, al, lin_st, fixed_st, act_st,
            ch_fac, ch_loc, ch_bnd, nch, ptr, state, ub_arr, best, integral, budget,
            C, fv, dv, ws, iws, bw, lap_depth):
    """Run at most ``budget`` nodes of the depth-first search; ``state = [depth, nodes]``."""
    n = F.shape[0]
    d = state[0]
    nodes = state[1]
    done = 0
    while d >= 0 and done < budget:
        if ptr[d] >= nch[d]:
            d -= 1
            if d >= 0:
                k = ptr[d] - 1
                af[ch_fac[d, k]] = -1
                al[ch_loc[d, k]] = -1
            continue
        k = ptr[d]
        ptr[d] += 1
        cb = ch_bnd[d, k]
        if not _improves(cb, ub_arr[0], integral):
            # Children are sorted by bound: none of the rest can improve either.
            ptr[d] = nch[d]
            continue
        a = ch_fac[d, k]
        l = ch_loc[d, k]
        fixed = fixed_st[d] + B[a, l] + lin_st[d, a, l]
        af[a] = l
        al[l] = a
        nodes += 1
        done += 1
        if d + 1 == n:
            if fixed < ub_arr[0]:
                ub_arr[0] = fixed
                for t in range(n):
                    best[t] = af[t]
            af[a] = -1
            al[l] = -1
            continue
        _assign_update(F, D, lin_st[d], lin_st[d + 1], a, l, af, al)
        fixed_st[d + 1] = fixed
        for g in range(G.shape[0]):
            act_st[d + 1, g] = act_st[d, g] and G[g, l] == l
        nb = _expand(F, D, B, Lm, lin_st[d + 1], fixed, cb, Forder, Dorder, af, al, G,
                     act_st[d + 1], ub_arr, best, integral, d + 1, ch_fac, ch_loc, ch_bnd,
                     nch, ptr, C, fv, dv, ws, iws, bw, d + 1 <= lap_depth)
        if nb == _INF:
            af[a] = -1
            al[l] = -1
            continue
        d += 1
    state[0] = d
    state[1] = nodes


@njit(cache=True)
def _open_bound(ch_bnd, nch, ptr, depth, ub):
    """Smallest bound among the unexplored children on the stack (capped by ``ub``)."""
    lb = ub
    for d in range(depth + 1):
        if ptr[d] < nch[d] and ch_bnd[d, ptr[d]] < lb:
            lb = ch_bnd[d, ptr[d]]
    return lb


# ----------------------------------------------------------------------------
# Location automorphisms
# ----------------------------------------------------------------------------
@njit(cache=True)
def _automorphisms(D, L, max_count, max_nodes):
    m = D.shape[0]
    out = np.zeros((max_count, m), np.int64)
    count = 0
    img = -np.ones(m, np.int64)
    taken = np.zeros(m, np.bool_)
    cand_ptr = np.zeros(m + 1, np.int64)
    # Invariants: sorted rows, columns, diagonal and linear column must match.
    rows = np.empty((m, m))
    cols = np.empty((m, m))
    for j in range(m):
        rows[j] = np.sort(D[j])
        cols[j] = np.sort(D[:, j])
    compat = np.zeros((m, m), np.bool_)
    for s in range(m):
        for t in range(m):
            ok = D[s, s] == D[t, t]
            if ok:
                for k in range(m):
                    if rows[s, k] != rows[t, k] or cols[s, k] != cols[t, k]:
                        ok = False
                        break
            if ok:
                for a in range(L.shape[0]):
                    if L[a, s] != L[a, t]:
                        ok = False
                        break
            compat[s, t] = ok
    nodes = 0
    pos = 0
    cand_ptr[0] = 0
    while pos >= 0 and nodes < max_nodes:
        if pos == m:
            ident = True
            for s in range(m):
                if img[s] != s:
                    ident = False
                    break
            if not ident:
                out[count] = img
                count += 1
                if count >= max_count:
                    break
            pos -= 1
            taken[img[pos]] = False
            img[pos] = -1
            continue
        found = False
        t = cand_ptr[pos]
        while t < m:
            if not taken[t] and compat[pos, t]:
                ok = True
                for s in range(pos):
                    if D[pos, s] != D[t, img[s]] or D[s, pos] != D[img[s], t]:
                        ok = False
                        break
                if ok:
                    found = True
                    break
            t += 1
        nodes += 1
        if found:
            cand_ptr[pos] = t + 1
            img[pos] = t
            taken[t] = True
            pos += 1
            if pos < m:
                cand_ptr[pos] = 0
        else:
            pos -= 1
            if pos >= 0:
                taken[img[pos]] = False
                img[pos] = -1
    return out[:count].copy()


def location_automorphisms(dist, linear=None, *, max_count: int = 512,
                           max_nodes: int = 2_000_000) -> np.ndarray:
    """Non-identity permutations ``g`` with ``D[g][:, g] == D`` and ``L[:, g] == L``.

    A backtracking search with invariant pruning (sorted rows and columns); it
    stops after ``max_count`` automorphisms or ``max_nodes`` search nodes. Any
    subset of the automorphism group is safe for the branch and bound.

    Returns
    -------
    numpy.ndarray
        ``k x m`` int64 array, one automorphism per row (possibly ``k = 0``).
    """
    D = np.ascontiguousarray(dist, dtype=np.float64)
    m = D.shape[0]
    L = np.zeros((0, m)) if linear is None else np.ascontiguousarray(linear, dtype=np.float64)
    return _automorphisms(D, L, max_count, max_nodes)


# ----------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------
def _prepare(F, D, L):
    """Symmetrise where it keeps the objective, and build the static tables."""
    n, m = F.shape[0], D.shape[0]
    Fs, Ds = F, D
    if np.array_equal(D, D.T):
        Fs = (F + F.T) / 2.0
    elif np.array_equal(F, F.T):
        Ds = (D + D.T) / 2.0
    Lm = np.zeros((n, m)) if L is None else L
    B = Lm + np.outer(np.diag(Fs), np.diag(Ds))
    Forder = np.empty((n, max(n - 1, 1)), np.int64)
    for i in range(n):
        others = np.array([b for b in range(n) if b != i], dtype=np.int64)
        if len(others):
            Forder[i, : n - 1] = others[np.argsort(-Fs[i, others], kind="stable")]
    Dorder = np.empty((m, max(m - 1, 1)), np.int64)
    for j in range(m):
        others = np.array([l for l in range(m) if l != j], dtype=np.int64)
        if len(others):
            Dorder[j, : m - 1] = others[np.argsort(Ds[j, others], kind="stable")]
    return (np.ascontiguousarray(Fs), np.ascontiguousarray(Ds), np.ascontiguousarray(B),
            np.ascontiguousarray(Lm), Forder, Dorder)


def gilmore_lawler_bound(flow, dist, linear=None) -> float:
    """The root Gilmore-Lawler bound of the instance (see module docstring)."""
    F, D, L = check_data(flow, dist, linear)
    Fs, Ds, B, _, Forder, Dorder = _prepare(F, D, L)
    n, m = F.shape[0], D.shape[0]
    C = np.zeros((n, m))
    ws = np.zeros((5, max(n, m) + 1))
    iws = np.zeros((6, max(n, m) + 1), np.int64)
    fv = np.zeros((n, max(n, 1)))
    dv = np.zeros((m, max(m, 1)))
    af = -np.ones(n, np.int64)
    al = -np.ones(m, np.int64)
    r, c = _gl_node(Fs, Ds, B, np.zeros((n, m)), 0.0, Forder, Dorder, af, al,
                    iws[0], iws[1], C, fv, dv, ws)
    val, _ = lap_hungarian(C[:r, :c])
    return float(val)


def branch_and_bound(
    flow,
    dist,
    linear=None,
    *,
    time_limit: float | None = None,
    start=None,
    seed: int = 0,
    symmetry: bool = True,
    heuristic: bool = True,
    log: Callable[[str], None] | None = None,
    progress: Callable[[dict], None] | None = None,
    report_every: float = 5.0,
    node_chunk: int = 20000,
) -> QAPResult:
    """Solve the QAP exactly by depth-first branch and bound (see module docstring).

    Parameters
    ----------
    flow, dist, linear : array_like
        Instance data: ``n x n``, ``m x m`` (``m >= n``), optional ``n x m``.
    time_limit : float, optional
        Seconds; on expiry the best assignment and the open-node bound are returned
        with status ``time_limit`` (Ctrl-C: the same with status ``interrupted``).
    start : array_like of int, optional
        Initial incumbent (location of each facility).
    seed : int
        Seed of the incumbent heuristic (the search itself is deterministic).
    symmetry : bool
        Use location automorphisms to skip equivalent subtrees.
    heuristic : bool
        Run simulated annealing first for an incumbent.
    log : callable, optional
        Receives progress lines.
    progress : callable, optional
        Receives ``{"nodes", "upper", "lower", "time"}`` every ``report_every`` seconds.
    report_every : float
        Seconds between ``log``/``progress`` reports.
    node_chunk : int
        Nodes per call into the compiled search (granularity of time checks).

    Returns
    -------
    QAPResult
        Method ``"bnb"``; ``nodes`` counts evaluated nodes.
    """
    t0 = time.perf_counter()
    F, D, L = check_data(flow, dist, linear)
    n, m = F.shape[0], D.shape[0]
    integral = is_integral(F, D, L)
    Fs, Ds, B, Lm, Forder, Dorder = _prepare(F, D, L)
    G = location_automorphisms(D, L) if symmetry and m > 1 else np.zeros((0, m), np.int64)
    # Incumbent: the given start and/or annealing.
    ub, best = np.inf, -np.ones(n, np.int64)
    if start is not None:
        s = complete_start(np.asarray(start, dtype=np.int64), n, m)[:n]
        ub, best = qap_objective(F, D, s, L), s.copy()
    if heuristic and n > 1:
        budget = None if time_limit is None else 0.2 * time_limit
        h = anneal(F, D, L, seed=seed, restarts=4 if n <= 20 else 2, time_limit=budget)
        if h.objective < ub:
            ub, best = h.objective, h.assignment.copy()
    ub_heur = ub
    ub_arr = np.array([ub])
    best = best.astype(np.int64)
    # Search state (explicit stack, one level per assigned facility).
    af = -np.ones(n, np.int64)
    al = -np.ones(m, np.int64)
    lin_st = np.zeros((n + 1, n, m))
    fixed_st = np.zeros(n + 1)
    act_st = np.zeros((n + 1, max(G.shape[0], 1)), np.bool_)
    act_st[0, : G.shape[0]] = True
    ch_fac = np.zeros((n + 1, m), np.int64)
    ch_loc = np.zeros((n + 1, m), np.int64)
    ch_bnd = np.zeros((n + 1, m))
    nch = np.zeros(n + 1, np.int64)
    ptr = np.zeros(n + 1, np.int64)
    C = np.zeros((n, m))
    fv = np.zeros((n, max(n, 1)))
    dv = np.zeros((m, max(m, 1)))
    ws = np.zeros((5, max(n, m) + 1))
    iws = np.zeros((6, max(n, m) + 1), np.int64)
    bw = np.zeros(m + 1, np.bool_)
    lap_depth = 2
    root = _expand(Fs, Ds, B, Lm, lin_st[0], 0.0, -np.inf, Forder, Dorder, af, al, G,
                   act_st[0], ub_arr, best, integral, 0, ch_fac, ch_loc, ch_bnd, nch, ptr,
                   C, fv, dv, ws, iws, bw, True)
    # The root's GL bound, kept even when the root is pruned (then the incumbent is optimal).
    root_bound = gilmore_lawler_bound(F, D, L) if n > 0 else 0.0
    state = np.array([0, 1], np.int64)
    if root == np.inf:
        state[0] = -1
    last = t0
    stopped = None  # Status.TIME_LIMIT or Status.INTERRUPTED when the search ends early
    try:
        while state[0] >= 0:
            _search(Fs, Ds, B, Lm, Forder, Dorder, G, af, al, lin_st, fixed_st, act_st,
                    ch_fac, ch_loc, ch_bnd, nch, ptr, state, ub_arr, best, integral, node_chunk,
                    C, fv, dv, ws, iws, bw, lap_depth)
            now = time.perf_counter()
            if (log is not None or progress is not None) and now - last >= report_every:
                last = now
                lb = _open_bound(ch_bnd, nch, ptr, state[0], ub_arr[0]) if state[0] >= 0 else ub_arr[0]
                info = {"nodes": int(state[1]), "upper": float(ub_arr[0]), "lower": float(lb),
                        "time": now - t0}
                if log is not None:
                    log(f"bnb {info['time']:8.1f}s nodes {info['nodes']:>12d} "
                        f"ub {info['upper']:.10g} lb {info['lower']:.10g}")
                if progress is not None:
                    progress(info)
            if state[0] >= 0 and time_limit is not None and now - t0 >= time_limit:
                stopped = Status.TIME_LIMIT
                break
    except KeyboardInterrupt:
        # Ctrl-C lands between node chunks (a chunk is a fraction of a second): the stack is intact.
        stopped = Status.INTERRUPTED
    ub = float(ub_arr[0])
    if stopped is not None:
        lb = float(_open_bound(ch_bnd, nch, ptr, state[0], ub)) if state[0] >= 0 else ub
        lb = max(lb, root_bound)
        if integral:
            lb = float(np.ceil(lb - 1e-6))
        status = stopped
    else:
        lb, status = ub, Status.OPTIMAL
    if best.min() < 0:  # no incumbent at all (only without heuristic and start)
        return QAPResult(np.full(n, -1, np.int64), np.inf, lb, Status.INFEASIBLE if stopped is None else status,
                         int(state[1]), time.perf_counter() - t0, "bnb", seed)
    obj = qap_objective(F, D, best, L)
    if status == Status.OPTIMAL:
        lb = min(lb, obj)
    return QAPResult(
        assignment=best.copy(), objective=obj, lower_bound=min(lb, obj), status=status,
        nodes=int(state[1]), runtime=time.perf_counter() - t0, method="bnb", seed=seed,
        info={"root_bound": root_bound, "heuristic_objective": float(ub_heur),
              "automorphisms": int(G.shape[0]), "integral": integral},
    )
