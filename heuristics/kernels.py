"""numba loops of the constructive heuristics and of the local search.

All take the state tuple ``S``, member-block ``stride`` and cost model ``C``
of :mod:`heuristics.delta`. Failure is reported by a return code, never by an
exception (numba), and the Python drivers turn it into a clear message.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from snnmap.heuristics.delta import apply_move, move_eval, moves_eval, swap_try

INF = np.inf

# Failure codes of the placement loops: which limit left a neuron without a core.
FAIL_NONE = 0
FAIL_PIN = 1
FAIL_NOCORE = 2


@njit(cache=True)
def seed_numba(seed):
    np.random.seed(seed)


@njit(cache=True)
def _scan_all(S, C, i, start, want, limit):
    """Best feasible core for ``i`` scanning at most ``limit`` cores from ``start``
    (the fallback when candidates fail). Returns (core or -1, cores scanned).

    With ``want > 0`` the scan stops after ``want`` feasible cores: on chips with
    tens of thousands of cores a full scan per neuron would dominate the run.
    """
    k = S[13].size
    best = INF
    bc = -1
    found = 0
    t = 0
    for t in range(min(k, limit)):
        c = (start + t) % k
        d = move_eval(S, C, i, c, True)
        if d < INF:
            found += 1
        if d < best:
            best = d
            bc = c
        if want > 0 and found >= want:
            break
    return bc, t + 1


@njit(cache=True)
def place_pins(S, stride, C, pins):
    """Put every pinned neuron on its core; returns (code, neuron)."""
    for i in range(pins.size):
        c = pins[i]
        if c >= 0:
            if move_eval(S, C, i, c, True) == INF:
                return FAIL_PIN, i
            apply_move(S, stride, i, c)
    return FAIL_NONE, -1


@njit(cache=True)
def greedy_place(S, stride, C, order, snake, max_cand, scan_budget):
    """The greedy of the seed paper, in our reading (see :mod:`heuristics.greedy`).

    Each neuron of ``order`` (unplaced ones only) goes to the feasible core
    that adds the least energy, among: the ``max_cand`` cores holding most of
    its already-placed traffic, the core opened last, and the next empty core
    in snake order. If none is feasible every core is tried. The fallback
    scans at most ``scan_budget`` cores in all (``< 0``: no limit): once the
    empty cores run out, an order that strands neurons would otherwise scan
    the whole chip for each of them before failing.
    Returns (code, neuron).
    """
    core_of, in_ptr, in_idx, spikes = S[0], S[3], S[4], S[5]
    slot_ptr, slot_core, slot_cnt, ndest, ncount, flags = S[9], S[10], S[11], S[12], S[13], S[19]
    unicast = flags[0] == 1
    k = ncount.size
    stamp = np.zeros(k, np.int64)
    score = np.zeros(k, np.float64)
    cand = np.empty(k, np.int64)
    evc = np.empty(max_cand + 2, np.int64)
    cpos = np.full(k, -1, np.int64)
    cbv = np.empty(max_cand + 2, np.int64)
    dv = np.empty(max_cand + 2, np.float64)
    okv = np.empty(max_cand + 2, np.bool_)
    fresh = 0
    last_open = -1
    scan_from = 0
    for t in range(order.size):
        i = order[t]
        if core_of[i] >= 0:
            continue
        tick = t + 1
        nc = 0
        for q in range(in_ptr[i], in_ptr[i + 1]):
            c = core_of[in_idx[q]]
            if c >= 0:
                if stamp[c] != tick:
                    stamp[c] = tick
                    score[c] = 0.0
                    cand[nc] = c
                    nc += 1
                score[c] += spikes[in_idx[q]]
        for s in range(slot_ptr[i], slot_ptr[i] + ndest[i]):
            c = slot_core[s]
            if stamp[c] != tick:
                stamp[c] = tick
                score[c] = 0.0
                cand[nc] = c
                nc += 1
            score[c] += spikes[i] * (slot_cnt[s] if unicast else 1)
        if nc > max_cand:
            top = np.argsort(-score[cand[:nc]])[:max_cand]
            sel = cand[:nc][top].copy()
        else:
            sel = cand[:nc].copy()
        m = sel.size
        evc[:m] = sel
        if last_open >= 0 and stamp[last_open] != tick:
            evc[m] = last_open
            m += 1
        while fresh < k and ncount[snake[fresh]] > 0:
            fresh += 1
        if fresh < k:
            evc[m] = snake[fresh]  # empty, so neither a neighbour's core nor the last opened
            m += 1
        moves_eval(S, C, i, evc, m, cpos, cbv, dv, okv)
        best = INF
        bc = -1
        for u in range(m):
            if okv[u] and dv[u] < best:
                best = dv[u]
                bc = evc[u]
        if bc < 0:
            # Next-fit: resume where the last fallback found room, compare a few cores.
            limit = k if scan_budget < 0 else min(k, scan_budget)
            bc, scanned = _scan_all(S, C, i, scan_from, 64, limit)
            if scan_budget >= 0:
                scan_budget -= scanned
            if bc < 0:
                return FAIL_NOCORE, i
            scan_from = bc
        opened = ncount[bc] == 0
        apply_move(S, stride, i, bc)
        if opened:
            last_open = bc
    return FAIL_NONE, -1


@njit(cache=True)
def random_place(S, stride, C, order, tries):
    """Each unplaced neuron of ``order`` on a uniformly random feasible core.

    ``tries`` random cores are drawn; if none fits, every core is scanned from
    a random start and the first feasible one is taken. Returns (code, neuron).
    """
    core_of, ncount = S[0], S[13]
    k = ncount.size
    for t in range(order.size):
        i = order[t]
        if core_of[i] >= 0:
            continue
        bc = -1
        for _ in range(tries):
            c = np.random.randint(k)
            if move_eval(S, C, i, c, True) < INF:
                bc = c
                break
        if bc < 0:
            start = np.random.randint(k)
            for u in range(k):
                c = (start + u) % k
                if move_eval(S, C, i, c, True) < INF:
                    bc = c
                    break
        if bc < 0:
            return FAIL_NOCORE, i
        apply_move(S, stride, i, bc)
    return FAIL_NONE, -1


@njit(cache=True)
def _neighbour_cores(S, j, a, stamp, cand, max_cand, rotate):
    """Candidate cores for neuron ``j`` (on core ``a``, excluded) into ``cand``:
    its destination cores, then the cores of its presynaptic neurons, at most
    ``max_cand``, each once. Marks them in ``stamp`` under a fresh tick
    (``stamp[-1]``). With ``rotate`` the inputs are read from a random offset,
    so that big fan-ins do not always offer the same cores. Returns the count."""
    core_of, in_ptr, in_idx = S[0], S[3], S[4]
    slot_ptr, slot_core, ndest = S[9], S[10], S[12]
    k = stamp.size - 1
    stamp[k] += 1
    tick = stamp[k]
    stamp[a] = tick
    nc = 0
    for s in range(slot_ptr[j], slot_ptr[j] + ndest[j]):
        c = slot_core[s]
        if stamp[c] != tick and nc < max_cand:
            stamp[c] = tick
            cand[nc] = c
            nc += 1
    lo = in_ptr[j]
    hi = in_ptr[j + 1]
    if hi > lo:
        off = np.random.randint(hi - lo) if rotate else 0
        for u in range(hi - lo):
            c = core_of[in_idx[lo + (off + u) % (hi - lo)]]
            if stamp[c] != tick:
                if nc >= max_cand:
                    break
                stamp[c] = tick
                cand[nc] = c
                nc += 1
    return nc


@njit(cache=True)
def refine_chunk(S, stride, C, order, start, stop, stamp, max_cand, p_random, swap_tries, tol):
    """One sweep of the local search over ``order[start:stop]``.

    For each free neuron: the cores of its neighbours (and, with probability
    ``p_random``, one random core) are candidates; the best feasible move
    that lowers the energy by more than ``tol`` is made. If none does, the
    candidate core that attracts the neuron most is tried with up to
    ``swap_tries`` swaps against random neurons on it.
    Returns (energy change, moves, swaps).
    """
    core_of, pinned, ncount, members = S[0], S[8], S[13], S[16]
    k = ncount.size
    cand = np.empty(max_cand + 1, np.int64)
    cpos = np.full(k, -1, np.int64)
    cbv = np.empty(max_cand + 1, np.int64)
    dv = np.empty(max_cand + 1, np.float64)
    okv = np.empty(max_cand + 1, np.bool_)
    total = 0.0
    moves = 0
    swaps = 0
    for t in range(start, stop):
        j = order[t]
        if pinned[j]:
            continue
        nc = _neighbour_cores(S, j, core_of[j], stamp, cand, max_cand, True)
        tick = stamp[k]
        if p_random > 0.0 and np.random.random() < p_random:
            c = np.random.randint(k)
            if stamp[c] != tick:
                cand[nc] = c
                nc += 1
        if nc == 0:
            continue  # every neighbour shares j's core: nothing to gain by moving it
        best = -tol
        bc = -1
        att = INF
        ac = -1
        moves_eval(S, C, j, cand, nc, cpos, cbv, dv, okv)
        for u in range(nc):
            c = cand[u]
            du = dv[u]
            if du < best and okv[u]:
                best = du
                bc = c
            elif du < att:
                att = du
                ac = c
        if bc >= 0:
            apply_move(S, stride, j, bc)
            total += best
            moves += 1
        elif ac >= 0 and swap_tries > 0 and ncount[ac] > 0:
            for _ in range(swap_tries):
                kk = members[ac * stride + np.random.randint(ncount[ac])]
                if pinned[kk]:
                    continue
                d = swap_try(S, stride, C, j, kk, tol)
                if d < 0.0:
                    total += d
                    swaps += 1
                    break
    return total, moves, swaps


@njit(cache=True)
def dissolve_cores(S, stride, C, cores, stamp, max_cand, tol, tries):
    """Try to empty cores (least loaded first): move each neuron to its best
    feasible other core among its neighbours' cores; keep the result only if
    the total energy falls by more than ``tol``, else undo.
    Returns (energy change, cores emptied)."""
    pinned, ncount, members = S[8], S[13], S[16]
    k = ncount.size
    total = 0.0
    emptied = 0
    moved = np.empty(stride, np.int64)
    cand = np.empty(max_cand + 1, np.int64)
    cpos = np.full(k, -1, np.int64)
    cbv = np.empty(max_cand + 1, np.int64)
    dv = np.empty(max_cand + 1, np.float64)
    okv = np.empty(max_cand + 1, np.bool_)
    done = 0
    for ci in range(cores.size):
        c = cores[ci]
        if ncount[c] == 0:
            continue
        if done >= tries:
            break
        done += 1
        nm = 0
        acc = 0.0
        ok = True
        while ncount[c] > 0:
            j = members[c * stride + ncount[c] - 1]
            if pinned[j]:
                ok = False
                break
            nc = _neighbour_cores(S, j, c, stamp, cand, max_cand, False)
            moves_eval(S, C, j, cand, nc, cpos, cbv, dv, okv)
            best = INF
            bc = -1
            for u in range(nc):
                if okv[u] and dv[u] < best and ncount[cand[u]] > 0:
                    best = dv[u]
                    bc = cand[u]
            if bc < 0:
                ok = False
                break
            apply_move(S, stride, j, bc)
            moved[nm] = j
            nm += 1
            acc += best
        if ok and acc < -tol:
            total += acc
            emptied += 1
        else:
            for u in range(nm - 1, -1, -1):
                apply_move(S, stride, moved[u], c)
    return total, emptied
