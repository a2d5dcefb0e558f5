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
cutoff ``T = lb + share (incumbent - lb)``, ``share`` 1/2 and doubled after
every finished round, the last round's cutoff the incumbent itself. A finished
round has priced every partition whose bound is below ``T``, so every mapping
costs at least ``min(T, incumbent)``: the new ``lb``. On a time limit the
result's bound is the last finished round's (at least the component bound and
the root's), where a single depth-first pass would only have its root's.

**Why the bound is valid.** ``X >= 0`` because every packet costs at least
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
from numba import njit

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
    component_bound,
    place_groups,
)
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork

__all__ = ["solve"]

METHOD = "partition-benders"
PRICE_TOL = 1e-9  # relative: a priced energy and the evaluator's must agree this well
SUBSET_CORES = 16  # cores up to which the least pair costs among g cores are taken over all subsets
FIRST_SHARE = 0.5  # of the gap, closed by the first round of the master; each finished round doubles it
LEAST_SHARE = 0.5  # of the time limit, at most, for round 0 (the master minimised)
MASTER_CHUNK = 20_000  # master nodes between time checks (deep nodes cost a placement search each)
EXACT_DEPTH = 0.5  # share of the neurons placed from which a master node's hop bound is the exact placement
EXACT_CORES = 12  # beyond, no exact placement in the master: one search over many groups can outlast the time limit
COMPONENT_SHARE = 0.15  # of the time limit, for the component bound
COMPONENT_CAP = 60.0  # seconds for the component bound without a time limit


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


def _master(network: SpikingNetwork, hardware: Hardware, stop: bool, comm: str = "multicast",
            cb: ComponentBound | None = None) -> tuple[PartitionSearch, _Pricer]:
    """The master search over all neurons (``stop``: hands every partition back to be priced) and its pricer.

    ``cb`` (multicast): the component bound, whose per-component bounds the master's node bound takes per
    component (:func:`_component_floors`).
    """
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


def solve(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
          comm: str | None = None, start: Any = None, progress: ProgressFn | None = None, symmetry: bool = True,
          threads: int | None = None, force: bool = False) -> Result:
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
    ps, pricer = _master(network, hardware, stop=True, comm=comm, cb=cb)
    const = pricer.const
    root = const + ps.root
    lb = max(cb_bound, root)
    # Round 0 minimises the master (its cutoff drops to every better leaf): when it finishes, its least leaf bounds
    # every mapping and its partition is priced.
    least, _ = _master(network, hardware, stop=False, comm=comm, cb=cb)
    least.ub[0] = best_e - const
    while not least.done and not out_of(None if time_limit is None else LEAST_SHARE * time_limit):
        least.run(MASTER_CHUNK)
    if least.done and math.isfinite(least.ub[0]):  # (no partition at all: the rounds prove it infeasible)
        lb = max(lb, const + float(least.ub[0]) * (1 - REL_TOL))
    if least.best.min() >= 0:  # its least leaf so far (else none below the incumbent): a candidate incumbent
        e, core_of = pricer.price(least.best, least.cost(least.best), best_e)
        if core_of is not None:
            best_map, best_e = core_of, e
    share, rounds, proven, last = FIRST_SHARE, 0, False, t0
    while not proven and lb < best_e * (1 - PROOF_GAP) and not out_of(time_limit):
        target = best_e if share >= 1.0 else lb + share * (best_e - lb)
        ps.restart()
        ps.ub[0] = target - const
        while not ps.done and not out_of(time_limit):
            if ps.run(MASTER_CHUNK):
                e, core_of = pricer.price(ps.best, ps.leaf_cost(), best_e)
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
             "component_s": cb_s}
    return result_from_mapping(network, hardware, best_map, method=METHOD, status=status,
                               runtime=time.perf_counter() - t0, seed=seed, lower_bound=min(lb, best_e), comm=comm,
                               message=note, stats=stats)
