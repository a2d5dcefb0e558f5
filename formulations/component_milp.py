r"""The compact MILP with the component bound as cuts (method ``component-milp``).

The component bound (:mod:`formulations.target_components`) is exact about
how many destination cores the senders of each target-hypergraph component
need, and blind to hops; the compact MILP's LP prices hops and static energy
but spreads the targets thinly over the cores. This method gives the MILP the
component bound as two linear cuts per component ``c`` (multicast):

    sum_{i in c} s_i sum_{k, d} w[i,k,d] >= opt_c                                     (destination cores)
    sum_{i in c} s_i (c1 sum_{k, d} w[i,k,d] - (c1 - c0) sum_k w[i,k,k]) >= B_c             (their energy)

with ``w[i,k,d]`` the compact MILP's packet of ``i`` from core ``k`` to ``d``
(``sum_{k,d} w[i,k,d] = |D(i)|`` and ``sum_k w[i,k,k]`` is 1 when ``i`` shares a
core with one of its targets), ``opt_c`` the plain problem's bound on ``M_c``
and ``B_c`` the component's bound on its senders' communication energy. Both
hold at every mapping (that is the component bound's proof), so the MILP keeps
every mapping and its optimum; its LP bound is then at least the component
bound less the static energy's rounding. The result's bound is the larger of
the MILP's and the component bound; a start is the MIP start and seeds the
component searches.

**Unicast: split rows** (docs/split_rows.md). Unicast has no component
structure; the LP's weakness there is that it spreads every neuron over all
cores so that synapses look local. For a set ``A`` of cores, at any mapping
the neurons on ``A`` and those on the rest each number at most
``n_max * max(|A|, K - |A|)``, and every synapse between the two sides sends
its spikes across, so

    sum_{a, b on different sides of A} flow[a, b] >= cut(|A|),     flow[a, b] = sum_i s_i w[i,a,b],

``cut(|A|)`` the least weighted cut of the synapse graph over bipartitions
with both sides that small (an exact two-group search; cut short, its open
bound). The mapping's own bipartition is one of those, so the row holds at
every mapping: no mapping and no optimum is lost. Rows: every subset on chips
of at most :data:`ALL_SPLITS_UP_TO` cores, the mesh's coordinate lines above.
``splits=False`` gives the compact MILP alone.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from typing import Any

import numpy as np
import pyomo.environ as pyo

from snnmap.formulations.exact_common import ProgressFn, build_outlasts_limit, start_up
from snnmap.formulations.milp import build_compact, solve_compact, solve_model
from snnmap.formulations.result import PROOF_GAP, Result, Status
from snnmap.formulations.target_components import component_bound, component_optimum
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork

__all__ = ["solve"]

METHOD = "component-milp"
BOUND_SHARE = 0.25  # of the time limit, for the component bound
BOUND_CAP = 60.0  # seconds for the component bound without a time limit
ALL_SPLITS_UP_TO = 10  # cores: every core subset is a split; beyond, the mesh's coordinate lines only


def _add_component_cuts(m: pyo.ConcreteModel, hardware: Hardware, network: SpikingNetwork, cb: Any) -> int:
    """Add the two cuts of every component (in units of one spike's packet); the number of cuts added."""
    cost = np.asarray(hardware.cost_matrix, float)
    k = cost.shape[0]
    c0 = float(cost.min())
    c1 = float(cost[~np.eye(k, dtype=bool)].min()) if k > 1 else c0
    s = np.asarray(network.spikes, float)
    rows: list[tuple[list[int], float, float]] = []
    for senders, opt, (_, _, comm_c, _) in zip(cb.senders, cb.messages, cb.components):
        live = [int(i) for i in senders if s[i] > 0]
        if live:
            rows.append((live, float(opt), float(comm_c)))
    m.COMP = pyo.RangeSet(0, len(rows) - 1) if rows else pyo.Set(initialize=[])

    def dests(i: int) -> Any:
        return sum(m.w[i, kk, d] for kk in range(k) for d in range(k))

    def local(i: int) -> Any:
        return sum(m.w[i, kk, kk] for kk in range(k))

    m.comp_dests = pyo.Constraint(m.COMP, rule=lambda m, q: sum(s[i] * dests(i) for i in rows[q][0]) >= rows[q][1])
    m.comp_energy = pyo.Constraint(m.COMP, rule=lambda m, q: sum(
        s[i] * (dests(i) - (c1 - c0) / c1 * local(i)) for i in rows[q][0]) >= rows[q][2] / c1)
    return 2 * len(rows)


@dataclasses.dataclass(frozen=True)
class SplitBound:
    """Unicast split rows: core subsets ``A`` and a lower bound on the spikes sent between ``A`` and the rest."""

    subsets: list[tuple[int, ...]]
    spikes: list[float]
    proven: bool
    runtime: float


def _core_splits(hardware: Hardware) -> list[tuple[int, ...]]:
    """Core subsets ``A`` with ``|A| <= K / 2`` (one of each complementary pair): all of them on small chips, else
    the mesh's coordinate lines (cores on one side of a row or column boundary)."""
    k = hardware.num_cores
    if k <= ALL_SPLITS_UP_TO:
        return [a for size in range(1, k // 2 + 1) for a in itertools.combinations(range(k), size)
                if 2 * size < k or 0 in a]
    xy = np.asarray(hardware.coords)
    out: set[tuple[int, ...]] = set()
    for axis in range(xy.shape[1]):
        for t in np.unique(xy[:, axis])[1:]:
            side = np.flatnonzero(xy[:, axis] < t)
            other = np.setdiff1d(np.arange(k), side)
            out.add(tuple(int(c) for c in min(side, other, key=lambda a: (a.size, tuple(a)))))
    return sorted(out)


def split_bound(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None) -> SplitBound:
    """Per core subset ``A``, a lower bound on the spikes of synapses between ``A`` and its complement.

    At any mapping the neurons on ``A`` number at most ``n_max |A|`` and
    those on the rest at most ``n_max (K - |A|)``, so both sides of the
    neuron bipartition hold at most ``n_max (K - |A|)`` (the larger room): the
    least cut of the synapse graph (edge ``{i, j}`` of weight ``s_i`` per
    synapse) over bipartitions with both sides that small bounds the spikes
    crossing between ``A`` and the rest. The least cut depends on ``|A|``
    only: one exact two-group search (:func:`target_components.component_optimum`)
    per size, the time shared; a search cut short gives its open bound.
    """
    t0 = time.perf_counter()
    n, k, n_max = network.num_neurons, hardware.num_cores, int(hardware.limits.n_max)
    s = np.asarray(network.spikes, float)
    pre, post = np.asarray(network.pre), np.asarray(network.post)
    sel = (s[pre] > 0) & (pre != post)  # a self-loop never crosses
    edges = list(np.stack([pre[sel], post[sel]], axis=1))
    weight = s[pre[sel]]
    subsets = _core_splits(hardware)
    sizes = sorted({len(a) for a in subsets if n_max * (k - len(a)) < n}, reverse=True)  # else the cut may be 0
    least: dict[int, float] = {}
    proven = True
    for q, size in enumerate(sizes):
        left = None if time_limit is None else max(time_limit - (time.perf_counter() - t0), 0.0) / (len(sizes) - q)
        _, lb, _, ok = component_optimum(edges, weight, n, n_max * (k - size), 2, left)
        least[size] = max(0.0, lb - float(weight.sum())) if math.isfinite(lb) else 0.0
        proven = proven and ok
    keep = [(a, least[len(a)]) for a in subsets if least.get(len(a), 0.0) > 0]
    return SplitBound([a for a, _ in keep], [v for _, v in keep], proven, time.perf_counter() - t0)


def _add_split_rows(m: pyo.ConcreteModel, network: SpikingNetwork, sb: SplitBound) -> int:
    """The spikes delivered across every split are at least its bound (rows on core-pair flows of ``w``)."""
    if not sb.subsets:
        return 0
    s = np.asarray(network.spikes, float)
    k = len(m.C)
    spiking = [i for i in m.S if s[i] > 0]
    m.KC = pyo.Set(initialize=[(a, b) for a in range(k) for b in range(k) if a != b], dimen=2)
    m.flow = pyo.Var(m.KC, domain=pyo.NonNegativeReals)
    # flow[a, b]: spikes delivered from core a to core b (the objective still prices w).
    m.flow_def = pyo.Constraint(m.KC, rule=lambda m, a, b: m.flow[a, b] == sum(s[i] * m.w[i, a, b] for i in spiking))
    sides = [set(a) for a in sb.subsets]
    m.SPLIT = pyo.RangeSet(0, len(sides) - 1)
    m.split = pyo.Constraint(m.SPLIT, rule=lambda m, q: sum(
        m.flow[a, b] for a, b in m.KC if (a in sides[q]) != (b in sides[q])) >= sb.spikes[q])
    return len(sides)


def solve(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
          comm: str | None = None, start: Any = None, threads: int | None = None, force: bool = False,
          progress: ProgressFn | None = None, symmetry: bool = True, mip_gap: float | None = None,
          log_path: str | None = None, max_nonzeros: int | None = None, solver: str = "highs",
          solver_options: dict[str, Any] | None = None, splits: bool = True) -> Result:
    """Map by the compact MILP with the component cuts (see the module docstring).

    The options are the MILP's (:func:`formulations.milp.solve`); a quarter of
    ``time_limit`` (at most all of it) goes to the component bound first
    (unicast: the split bound; ``splits=False`` runs the compact MILP alone).
    """
    comm = hardware.comm if comm is None else comm
    opts = dict(time_limit=time_limit, seed=seed, comm=comm, start=start, threads=threads, force=force,
                progress=progress, symmetry=symmetry, mip_gap=mip_gap, log_path=log_path, max_nonzeros=max_nonzeros,
                solver=solver, solver_options=solver_options)
    if comm != "multicast" and not splits:
        res = solve_compact(network, hardware, **opts)
        return dataclasses.replace(res, method=METHOD, message="; ".join(
            m for m in (res.message, "unicast: no split rows, the compact MILP alone") if m))
    run = start_up(network, hardware, method=METHOD, form="compact", comm=comm, seed=seed, start=start,
                   symmetry=symmetry, force=force, max_nonzeros=max_nonzeros)
    if isinstance(run, Result):
        return run
    budget = BOUND_CAP if time_limit is None else BOUND_SHARE * time_limit
    if comm != "multicast":
        return _solve_unicast(network, hardware, run, budget, opts)
    cb = component_bound(network, hardware, time_limit=budget, start=run.start)
    res, cuts = build_outlasts_limit(run, time_limit, method=METHOD, seed=seed), 0
    if res is None:
        t_build = time.perf_counter()
        m = build_compact(network, hardware, comm, data=run.data)
        cuts = _add_component_cuts(m, hardware, network, cb)
        res = solve_model(m, run, method=METHOD, solver=solver, time_limit=run.remaining(time_limit),
                          mip_gap=mip_gap, threads=threads, seed=seed, log_path=log_path,
                          build_time=time.perf_counter() - t_build, progress=progress, solver_options=solver_options)
    stats = {**res.stats, "component_bound": cb.bound, "component_s": cb.runtime, "component_cuts": cuts}
    if res.mapping is None or res.lower_bound is None or cb.bound <= res.lower_bound:
        return dataclasses.replace(res, stats=stats)
    # Within float rounding of the incumbent the bound proves it; further above it is invalid and the Result refuses it.
    lb = res.energy if res.energy < cb.bound <= res.energy * (1 + PROOF_GAP) else cb.bound
    status = res.status
    if status != Status.OPTIMAL and lb >= res.energy * (1 - PROOF_GAP):
        status = Status.OPTIMAL  # the incumbent meets the component bound
    return dataclasses.replace(res, lower_bound=lb, status=status, stats=stats)


def _solve_unicast(network: SpikingNetwork, hardware: Hardware, run: Any, budget: float,
                   opts: dict[str, Any]) -> Result:
    """The compact MILP with the split rows of :func:`split_bound` (unicast)."""
    sb = split_bound(network, hardware, time_limit=budget)
    late = build_outlasts_limit(run, opts["time_limit"], method=METHOD, seed=opts["seed"])
    if late is not None:
        return late
    t_build = time.perf_counter()
    m = build_compact(network, hardware, "unicast", data=run.data)
    rows = _add_split_rows(m, network, sb)
    res = solve_model(m, run, method=METHOD, solver=opts["solver"], time_limit=run.remaining(opts["time_limit"]),
                      mip_gap=opts["mip_gap"], threads=opts["threads"], seed=opts["seed"], log_path=opts["log_path"],
                      build_time=time.perf_counter() - t_build, progress=opts["progress"],
                      solver_options=opts["solver_options"])
    stats = {**res.stats, "split_rows": rows, "split_s": sb.runtime, "split_proven": sb.proven,
             "split_spikes": dict(zip(map(len, sb.subsets), sb.spikes))}
    return dataclasses.replace(res, stats=stats)
