"""Incremental energy deltas and state updates, in numba.

Every kernel takes the state as the tuple ``S = MapState.args()`` (see
:mod:`heuristics.common`), the member-block size ``stride`` and the cost model
``C = CostModel.args()``. The energy they track is the mapping-dependent part
of the evaluator's total: ``E_comm + E_static`` (static only with power
gating; without it every mapping pays the same static energy).

Moving neuron ``j`` from core ``a`` to ``b`` changes
- its own packets: same destination cores, new source (``cost(b, d)``
  instead of ``cost(a, d)``), except for a self-synapse;
- each presynaptic neuron ``p``'s packets: multicast loses ``cost(core_p, a)``
  if ``j`` was its only target on ``a`` and gains ``cost(core_p, b)`` if it
  had none on ``b``; unicast swaps one ``cost(core_p, a)`` for ``cost(core_p, b)``;
- static energy when ``a`` empties or ``b`` opens (power gating).
The limits of core ``b`` (neurons, synapses, axons: one per presynaptic
neuron new to ``b``) and each presynaptic neuron's destination count are
checked in the same pass.
"""

from __future__ import annotations

import numpy as np
from numba import njit

INF = np.inf


@njit(cache=True, inline="always")
def pcost(c, d, ip, ep, crow, ccol, hopm):
    """Energy of one packet from core ``c`` to core ``d`` (``Hardware.packet_cost``)."""
    if c == d:
        return ep[0]
    if ip[0] == 2:
        return ep[1] + hopm[c, d] * ep[4]
    dx = abs(ccol[c] - ccol[d])
    dy = abs(crow[c] - crow[d])
    if ip[0] == 1:
        dx = min(dx, ip[2] - dx)
        dy = min(dy, ip[1] - dy)
    return ep[1] + dx * ep[2] + dy * ep[3]


@njit(cache=True, inline="always")
def find_slot(slot_ptr, slot_core, ndest, p, c):
    base = slot_ptr[p]
    for s in range(base, base + ndest[p]):
        if slot_core[s] == c:
            return s
    return -1


@njit(cache=True, inline="always")
def target_count(slot_ptr, slot_core, slot_cnt, ndest, p, c):
    """How many targets of neuron ``p`` sit on core ``c``."""
    if c < 0:
        return 0
    s = find_slot(slot_ptr, slot_core, ndest, p, c)
    return 0 if s < 0 else slot_cnt[s]


@njit(cache=True)
def apply_move(S, stride, j, b):
    """Move neuron ``j`` to core ``b`` (``-1`` = unplace), updating every count."""
    core_of, in_ptr, in_idx, indeg = S[0], S[3], S[4], S[6]
    slot_ptr, slot_core, slot_cnt, ndest = S[9], S[10], S[11], S[12]
    ncount, syncount, axcount, members, mem_pos = S[13], S[14], S[15], S[16], S[17]
    a = core_of[j]
    if a == b:
        return
    for q in range(in_ptr[j], in_ptr[j + 1]):
        p = in_idx[q]
        if a >= 0:
            s = find_slot(slot_ptr, slot_core, ndest, p, a)
            slot_cnt[s] -= 1
            if slot_cnt[s] == 0:
                last = slot_ptr[p] + ndest[p] - 1
                slot_core[s] = slot_core[last]
                slot_cnt[s] = slot_cnt[last]
                slot_core[last] = -1
                slot_cnt[last] = 0
                ndest[p] -= 1
                axcount[a] -= 1
        if b >= 0:
            s = find_slot(slot_ptr, slot_core, ndest, p, b)
            if s < 0:
                s = slot_ptr[p] + ndest[p]
                slot_core[s] = b
                slot_cnt[s] = 0
                ndest[p] += 1
                axcount[b] += 1
            slot_cnt[s] += 1
    if a >= 0:
        ncount[a] -= 1
        syncount[a] -= indeg[j]
        pos = mem_pos[j]
        lastpos = a * stride + ncount[a]
        other = members[lastpos]
        members[pos] = other
        mem_pos[other] = pos
        members[lastpos] = -1
        mem_pos[j] = -1
    if b >= 0:
        pos = b * stride + ncount[b]
        members[pos] = j
        mem_pos[j] = pos
        ncount[b] += 1
        syncount[b] += indeg[j]
    core_of[j] = b


@njit(cache=True)
def move_eval(S, C, j, b, check):
    """Energy change of moving neuron ``j`` to core ``b``; ``inf`` if ``check`` and a limit breaks."""
    core_of, in_ptr, in_idx, spikes, indeg = S[0], S[3], S[4], S[5], S[6]
    slot_ptr, slot_core, slot_cnt, ndest = S[9], S[10], S[11], S[12]
    ncount, syncount, axcount, lim, flags = S[13], S[14], S[15], S[18], S[19]
    ip, ep, crow, ccol, hopm = C
    a = core_of[j]
    if a == b:
        return 0.0
    unicast = flags[0] == 1
    if check:
        if ncount[b] + 1 > lim[0] or syncount[b] + indeg[j] > lim[2]:
            return INF
    d = 0.0
    newax = 0
    for q in range(in_ptr[j], in_ptr[j + 1]):
        p = in_idx[q]
        cb = target_count(slot_ptr, slot_core, slot_cnt, ndest, p, b)
        ca = target_count(slot_ptr, slot_core, slot_cnt, ndest, p, a)
        if cb == 0:
            newax += 1
            # p gains a destination core unless j was its only target on a.
            if check and ca != 1 and ndest[p] + 1 > lim[3]:
                return INF
        if p == j:
            continue  # a self-synapse is counted with j's own packets below
        cp = core_of[p]
        if cp >= 0:
            sp = spikes[p]
            if unicast:
                d += sp * pcost(cp, b, ip, ep, crow, ccol, hopm)
                if a >= 0:
                    d -= sp * pcost(cp, a, ip, ep, crow, ccol, hopm)
            else:
                if cb == 0:
                    d += sp * pcost(cp, b, ip, ep, crow, ccol, hopm)
                if ca == 1:
                    d -= sp * pcost(cp, a, ip, ep, crow, ccol, hopm)
    if check and axcount[b] + newax > lim[1]:
        return INF
    return _own_and_static(S, C, j, a, b, d)


@njit(cache=True, inline="always")
def _own_and_static(S, C, j, a, b, d):
    """``d`` plus the change of ``j``'s own packets (same destinations, new
    source; a self-synapse's target moves along) and of the static energy."""
    spikes, has_self, slot_ptr, slot_core, slot_cnt, ndest = S[5], S[7], S[9], S[10], S[11], S[12]
    ncount, flags, static_e = S[13], S[19], S[20]
    ip, ep, crow, ccol, hopm = C
    unicast = flags[0] == 1
    sj = spikes[j]
    if sj != 0.0:
        before = 0.0
        after = 0.0
        selfb = False
        base = slot_ptr[j]
        for s in range(base, base + ndest[j]):
            c = slot_core[s]
            n0 = slot_cnt[s]
            if a >= 0:
                before += (n0 if unicast else 1) * pcost(a, c, ip, ep, crow, ccol, hopm)
            n1 = n0
            if has_self[j]:
                if c == a:
                    n1 -= 1
                if c == b:
                    n1 += 1
                    selfb = True
            if n1 > 0:
                after += (n1 if unicast else 1) * pcost(b, c, ip, ep, crow, ccol, hopm)
        if has_self[j] and not selfb:
            after += pcost(b, b, ip, ep, crow, ccol, hopm)  # the self target now on b, a new destination
        d += sj * (after - before)
    if static_e > 0.0:
        if a >= 0 and ncount[a] == 1:
            d -= static_e
        if ncount[b] == 0:
            d += static_e
    return d


@njit(cache=True)
def moves_eval(S, C, j, cand, nc, cpos, cbv, d_out, ok_out):
    """:func:`move_eval` of neuron ``j`` to each of ``cand[:nc]`` at once (the
    same sums in the same order, so the same values).

    Each presynaptic neuron's destination list is scanned once for all
    candidates instead of twice per candidate: on wide networks (hundreds of
    destination cores per neuron) that is most of the local search's time.
    ``cpos`` (one entry per core, all ``-1``) and ``cbv`` (``nc`` entries) are
    work arrays; ``cpos`` is left all ``-1``. ``d_out[u]`` gets the change,
    ``ok_out[u]`` whether every limit holds.
    """
    core_of, in_ptr, in_idx, spikes, indeg = S[0], S[3], S[4], S[5], S[6]
    slot_ptr, slot_core, slot_cnt, ndest = S[9], S[10], S[11], S[12]
    ncount, syncount, axcount, lim, flags = S[13], S[14], S[15], S[18], S[19]
    ip, ep, crow, ccol, hopm = C
    a = core_of[j]
    unicast = flags[0] == 1
    newax = np.zeros(nc, np.int64)
    for u in range(nc):
        b = cand[u]
        d_out[u] = 0.0
        ok_out[u] = ncount[b] + 1 <= lim[0] and syncount[b] + indeg[j] <= lim[2]
        cpos[b] = u
    for q in range(in_ptr[j], in_ptr[j + 1]):
        p = in_idx[q]
        for u in range(nc):
            cbv[u] = 0
        ca = 0
        base = slot_ptr[p]
        for s in range(base, base + ndest[p]):
            c = slot_core[s]
            if c == a:
                ca = slot_cnt[s]
            u = cpos[c]
            if u >= 0:
                cbv[u] = slot_cnt[s]
        cp = core_of[p] if p != j else -1  # a self-synapse is counted with j's own packets below
        sp = spikes[p]
        for u in range(nc):
            b = cand[u]
            if b == a:
                continue
            cb = cbv[u]
            if cb == 0:
                newax[u] += 1
                # p gains a destination core unless j was its only target on a.
                if ca != 1 and ndest[p] + 1 > lim[3]:
                    ok_out[u] = False
            if cp >= 0:
                if unicast:
                    d_out[u] += sp * pcost(cp, b, ip, ep, crow, ccol, hopm)
                    if a >= 0:
                        d_out[u] -= sp * pcost(cp, a, ip, ep, crow, ccol, hopm)
                else:
                    if cb == 0:
                        d_out[u] += sp * pcost(cp, b, ip, ep, crow, ccol, hopm)
                    if ca == 1:
                        d_out[u] -= sp * pcost(cp, a, ip, ep, crow, ccol, hopm)
    for u in range(nc):
        b = cand[u]
        cpos[b] = -1
        if b == a:
            d_out[u] = 0.0
            ok_out[u] = True
            continue
        if axcount[b] + newax[u] > lim[1]:
            ok_out[u] = False
        d_out[u] = _own_and_static(S, C, j, a, b, d_out[u])


@njit(cache=True)
def swap_try(S, stride, C, j, k, tol):
    """Swap the cores of ``j`` and ``k`` if that lowers the energy by more than ``tol``
    and keeps every limit; returns the change (0 when rejected)."""
    core_of, in_ptr, in_idx = S[0], S[3], S[4]
    ndest, syncount, axcount, lim = S[12], S[14], S[15], S[18]
    a = core_of[j]
    b = core_of[k]
    if a == b:
        return 0.0
    d = move_eval(S, C, j, b, False)
    apply_move(S, stride, j, b)
    d += move_eval(S, C, k, a, False)
    apply_move(S, stride, k, a)
    ok = d < -tol
    if ok:
        ok = (syncount[a] <= lim[2] and syncount[b] <= lim[2]
              and axcount[a] <= lim[1] and axcount[b] <= lim[1])
    if ok and lim[3] < (1 << 60):
        for q in range(in_ptr[j], in_ptr[j + 1]):
            if ndest[in_idx[q]] > lim[3]:
                ok = False
        for q in range(in_ptr[k], in_ptr[k + 1]):
            if ndest[in_idx[q]] > lim[3]:
                ok = False
    if not ok:
        apply_move(S, stride, k, b)
        apply_move(S, stride, j, a)
        return 0.0
    return d


@njit(cache=True)
def place_all(target, S, stride):
    """Place every neuron on ``target[i]`` (an empty state becomes that mapping)."""
    for i in range(target.size):
        apply_move(S, stride, i, target[i])


@njit(cache=True)
def state_energy(S, C):
    """``E_comm + E_static`` of the (complete) mapping held by the state."""
    core_of, spikes, slot_ptr, slot_core, slot_cnt, ndest = S[0], S[5], S[9], S[10], S[11], S[12]
    ncount, flags, static_e = S[13], S[19], S[20]
    ip, ep, crow, ccol, hopm = C
    unicast = flags[0] == 1
    tot = 0.0
    for i in range(core_of.size):
        c = core_of[i]
        if c < 0 or spikes[i] == 0.0:
            continue
        e = 0.0
        for s in range(slot_ptr[i], slot_ptr[i] + ndest[i]):
            e += (slot_cnt[s] if unicast else 1) * pcost(c, slot_core[s], ip, ep, crow, ccol, hopm)
        tot += spikes[i] * e
    used = 0
    for c in range(ncount.size):
        if ncount[c] > 0:
            used += 1
    return tot + static_e * used
