"""Neuron-level MILP models of the mapping problem, in Pyomo, solved by HiGHS or any Pyomo solver.

Two forms of the same model (docs/formulation.md, "The exact models"):

- **textbook** (:func:`build_textbook`): reads like the formulation, for
  teaching (``docs/textbook_milp.md`` puts each equation next to its code);
  the hop cost of a (neuron, own core, destination core) triple is the
  product ``x[i,k] * z[i,c]`` linearised by ``w >= x + z - 1`` (unicast:
  per synapse, ``y >= x[i,k] + x[j,c] - 1``).
- **compact** (:func:`build_compact`): built for speed; the same products
  by a transportation (RLT) linearisation per (neuron, destination core):
  ``sum_k w[i,k,c] = z[i,c]`` with ``w[i,k,c] <= x[i,k]``, which implies the
  textbook rows and has a much stronger LP; plus valid cuts (every sender
  reaches at least ``min_dests`` cores; at most ``n_max - 1`` targets share
  a sender's core).

Both are assembled from named parts (variables, assignment, capacity,
communication, objective). The objective is the mapping-dependent energy
(communication, plus static energy of used cores under power gating) times
``objective_scale`` (largest coefficient = 1); the constant part is added
back outside the solver. :func:`solve_model` solves a built model;
:func:`solve_textbook` / :func:`solve_compact` are the ``METHODS`` entries.
Every answer is re-scored by the evaluator: ``optimal`` only when the
solver proved it and its objective equals the evaluator's energy.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import networkx as nx
import numpy as np
import pyomo.environ as pyo

from snnmap.formulations import cpsat
from snnmap.formulations.bounds import combinatorial_lower_bound, precheck
from snnmap.formulations.energy import evaluate
from snnmap.formulations.exact_common import (
    ExactData,
    ModelTooLargeError,
    ProgressFn,
    SolverOutcome,
    StartUp,
    build_outlasts_limit,
    check_size,
    finish,
    interrupted_result,
    prepare,
    start_up,
    valid_lower_bound,
)
from snnmap.formulations.latency import symmetry_keeps_step_time
from snnmap.formulations.pyomo_solve import solve_highs, solve_pyomo
from snnmap.formulations.result import Result, Status, asks_for_proof, proof_status
from snnmap.formulations.solver_options import SolverUnavailableError, solver_family, translate
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork

__all__ = [
    "ModelTooLargeError", "build_compact", "build_textbook", "lp_lower_bound", "solve",
    "solve_compact", "solve_model", "solve_textbook",
]

#: Default stopping gaps. The objective is scaled so the largest packet energy is 1, so the
#: absolute gap proves the optimum to a millionth of one packet; the relative gap alone would not
#: (one core's static energy can be worth a million packets). HiGHS's own 1e-4 is not "proven".
DEFAULT_GAP = 1e-9
DEFAULT_ABS_GAP = 1e-6


# ==================================================================== parts
def _rows(rule: Any) -> Any:
    """A constraint rule that tolerates empty sums: a row that reduces to a constant is skipped.

    (``sum(...) <= a_max`` over no variables is ``True`` in Python, which Pyomo refuses.)
    """
    def wrapped(*args: Any) -> Any:
        row = rule(*args)
        if isinstance(row, bool):
            return pyo.Constraint.Feasible if row else pyo.Constraint.Infeasible
        return row

    return wrapped


def _add_assignment(m: pyo.ConcreteModel, d: ExactData, binary_u: bool) -> None:
    """Variables ``x[i,c]`` (neuron i on core c) and ``u[c]`` (core c powered), and the assignment rows."""
    m.I = pyo.RangeSet(0, d.n - 1)
    m.C = pyo.RangeSet(0, d.k - 1)
    m.S = pyo.Set(initialize=d.senders.tolist())  # neurons with at least one target
    m.x = pyo.Var(m.I, m.C, domain=pyo.Binary)
    m.u = pyo.Var(m.C, domain=pyo.Binary if binary_u else pyo.UnitInterval)

    # Every neuron sits on exactly one core.
    m.assign = pyo.Constraint(m.I, rule=lambda m, i: sum(m.x[i, c] for c in m.C) == 1)

    # Pins and symmetry breaking: a neuron may only take its allowed cores.
    for i, cores in enumerate(d.allowed):
        if cores is None:
            continue
        keep = set(cores.tolist())
        for c in range(d.k):
            if c not in keep:
                m.x[i, c].fix(0)
        if cores.size == 1:
            m.x[i, int(cores[0])].fix(1)


def _add_axons(m: pyo.ConcreteModel, d: ExactData, exact: bool) -> None:
    """Axon indicators ``z[i,c]``: neuron i has a target on core c (so its spikes arrive there)."""
    m.z = pyo.Var(m.S, m.C, domain=pyo.UnitInterval)
    syn = list(zip(d.pre.tolist(), d.post.tolist()))
    m.SYN = pyo.Set(initialize=syn, dimen=2)

    # A target j of i on core c brings i's axon to c.
    m.axon_on = pyo.Constraint(m.SYN, m.C, rule=lambda m, i, j, c: m.z[i, c] >= m.x[j, c])
    if exact:
        # ... and no target on c means no axon there (keeps z exact at every integer point).
        m.axon_off = pyo.Constraint(
            m.S, m.C, rule=lambda m, i, c: m.z[i, c] <= sum(m.x[int(j), c] for j in d.targets[i]))


def _add_capacity(m: pyo.ConcreteModel, d: ExactData, link_u: str) -> None:
    """Per-core limits (neurons, synapses, axons), per-neuron destination limit, and core use.

    ``link_u``: ``"each"`` (``u[c] >= x[i,c]`` for every neuron) or ``"both"``
    (that plus ``sum_i x[i,c] <= n_max * u[c]``).
    """
    lim = d.limits
    # A core is powered if any neuron sits on it.
    m.used = pyo.Constraint(m.I, m.C, rule=lambda m, i, c: m.u[c] >= m.x[i, c])
    # At most n_max neurons per core (and none on an unpowered core).
    if link_u == "both":
        m.n_max = pyo.Constraint(m.C, rule=lambda m, c: sum(m.x[i, c] for i in m.I) <= lim.n_max * m.u[c])
    else:
        m.n_max = pyo.Constraint(m.C, rule=lambda m, c: sum(m.x[i, c] for i in m.I) <= lim.n_max)
    # At most syn_max synapses per core (a synapse is stored with its postsynaptic neuron).
    if lim.syn_max is not None:
        deg = d.in_degree.tolist()
        m.syn_max = pyo.Constraint(
            m.C, rule=_rows(lambda m, c: sum(deg[j] * m.x[j, c] for j in m.I if deg[j]) <= lim.syn_max))
    # At most a_max input axons per core.
    if lim.a_max is not None:
        m.a_max = pyo.Constraint(m.C, rule=_rows(lambda m, c: sum(m.z[i, c] for i in m.S) <= lim.a_max))
    # At most dest_max destination cores per neuron.
    if lim.dest_max is not None:
        m.dest_max = pyo.Constraint(m.S, rule=_rows(lambda m, i: sum(m.z[i, c] for c in m.C) <= lim.dest_max))


def _add_objective(m: pyo.ConcreteModel, d: ExactData, comm_expr: Any) -> None:
    """Minimise communication energy plus static energy of powered cores (scaled)."""
    scale = d.objective_scale()
    m.objective_scale = scale
    static = d.static_per_core * scale
    m.energy = pyo.Objective(expr=comm_expr + static * sum(m.u[c] for c in m.C), sense=pyo.minimize)


def _coef(d: ExactData, i: int, k: int, c: int, scale: float) -> float:
    return float(d.spikes[i] * d.cost[k, c] * scale)


# ================================================================ textbook
def build_textbook(network: SpikingNetwork, hardware: Hardware, comm: str | None = None, *,
                   symmetry: bool = True, data: ExactData | None = None) -> pyo.ConcreteModel:
    """The textbook MILP (docs/textbook_milp.md, one row per product), for teaching and cross-checks.

    Variables: ``x[i,c]`` binary, ``u[c]`` binary, ``z[i,c]`` in [0, 1];
    multicast ``w[i,k,c] >= 0``, unicast ``y[i,j,k,c] >= 0``.

    multicast::

        min  sum_{i,k,c} s_i * cost[k,c] * w[i,k,c] + E_core * sum_c u[c]
        s.t. sum_c x[i,c] = 1                      (assignment)
             u[c] >= x[i,c]                        (core used)
             z[i,c] >= x[j,c]       (i,j) in S     (axon of i arrives at c)
             w[i,k,c] >= x[i,k] + z[i,c] - 1       (i on k sends to c)
             limits (n_max, syn_max, a_max, dest_max)

    unicast replaces ``w`` by ``y[i,j,k,c] >= x[i,k] + x[j,c] - 1`` per synapse.
    """
    d = data or prepare(network, hardware, comm, symmetry=symmetry)
    m = pyo.ConcreteModel(name="snnmap_textbook")
    m.form = "textbook"
    _add_assignment(m, d, binary_u=True)
    if d.needs_axons:
        _add_axons(m, d, exact=False)
    _add_capacity(m, d, link_u="each")
    scale = d.objective_scale()
    if d.comm == "multicast":
        idx = [(i, k, c) for i in d.senders.tolist() for k in range(d.k) for c in range(d.k)]
        m.W = pyo.Set(initialize=idx, dimen=3)
        m.w = pyo.Var(m.W, domain=pyo.NonNegativeReals)
        # Neuron i on core k with an axon at core c pays one packet k -> c per spike.
        m.hop = pyo.Constraint(m.W, rule=lambda m, i, k, c: m.w[i, k, c] >= m.x[i, k] + m.z[i, c] - 1)
        comm_expr = sum(_coef(d, i, k, c, scale) * m.w[i, k, c] for i, k, c in idx)
    else:
        idx = [(i, j, k, c) for i, j in zip(d.pre.tolist(), d.post.tolist()) for k in range(d.k) for c in range(d.k)]
        m.Y = pyo.Set(initialize=idx, dimen=4)
        m.y = pyo.Var(m.Y, domain=pyo.NonNegativeReals)
        # Synapse (i, j) with i on k and j on c pays one packet k -> c per spike of i.
        m.hop = pyo.Constraint(m.Y, rule=lambda m, i, j, k, c: m.y[i, j, k, c] >= m.x[i, k] + m.x[j, c] - 1)
        comm_expr = sum(_coef(d, i, k, c, scale) * m.y[i, j, k, c] for i, j, k, c in idx)
    _add_objective(m, d, comm_expr)
    return m


# ================================================================= compact
def build_compact(network: SpikingNetwork, hardware: Hardware, comm: str | None = None, *,
                  symmetry: bool = True, pair_cuts: bool = True, data: ExactData | None = None) -> pyo.ConcreteModel:
    """The compact MILP: transportation (RLT) linearisation per (sender, destination core).

    multicast, for every sender ``i`` (``m_i`` = least destination cores)::

        sum_k w[i,k,c] = z[i,c]            (the axon at c is sent from i's core)
        w[i,k,c] <= x[i,k]                 (only from the core i is on)
        sum_c w[i,k,c] >= m_i * x[i,k]     (i reaches at least m_i cores)
        z[i,c] <= sum_{j in post(i)} x[j,c]

    unicast, with ``n_ic = sum_{j in post(i)} x[j,c]`` (targets of i on c)::

        sum_k w[i,k,c] = n_ic              (deliveries to c come from i's core)
        sum_c w[i,k,c] = deg_i * x[i,k]    (all deg_i deliveries leave i's core)
        w[i,k,k] <= (n_max - 1 + self_i) * x[i,k],  w[i,k,c] <= min(deg_i, n_max) * x[i,k]

    At an integer ``x`` these force ``w[i,core(i),c]`` to the exact product,
    so the objective is the evaluator's energy.
    """
    d = data or prepare(network, hardware, comm, symmetry=symmetry)
    m = pyo.ConcreteModel(name="snnmap_compact")
    m.form = "compact"
    _add_assignment(m, d, binary_u=False)
    if d.needs_axons or d.limits.max_step_time is not None:
        _add_axons(m, d, exact=True)
    _add_capacity(m, d, link_u="both")
    scale = d.objective_scale()
    senders = d.senders.tolist()
    idx = [(i, k, c) for i in senders for k in range(d.k) for c in range(d.k)]
    m.W = pyo.Set(initialize=idx, dimen=3)
    m.w = pyo.Var(m.W, domain=pyo.NonNegativeReals)
    m.SC = pyo.Set(initialize=[(i, c) for i in senders for c in range(d.k)], dimen=2)
    n_max = d.limits.n_max
    if d.comm == "multicast":
        # The axon of i at c is sent from the core i sits on.
        m.supply = pyo.Constraint(m.SC, rule=lambda m, i, c: sum(m.w[i, k, c] for k in m.C) == m.z[i, c])
        # Only the core i sits on sends i's packets.
        m.from_own = pyo.Constraint(m.W, rule=lambda m, i, k, c: m.w[i, k, c] <= m.x[i, k])
        # A sender reaches at least m_i destination cores (cut).
        mins = d.min_dests
        m.reach = pyo.Constraint(
            m.S, m.C, rule=lambda m, i, k: sum(m.w[i, k, c] for c in m.C) >= int(mins[i]) * m.x[i, k])
    else:
        deg = d.out_degree
        self_loop = np.zeros(d.n, dtype=np.int64)
        self_loop[d.pre[d.pre == d.post]] = 1
        # Deliveries of i to core c (one per target there) come from i's core.
        m.supply = pyo.Constraint(
            m.SC, rule=lambda m, i, c: sum(m.w[i, k, c] for k in m.C) == sum(m.x[int(j), c] for j in d.targets[i]))
        # All deg_i deliveries of i leave the core i sits on.
        m.demand = pyo.Constraint(
            m.S, m.C, rule=lambda m, i, k: sum(m.w[i, k, c] for c in m.C) == int(deg[i]) * m.x[i, k])

        # At most n_max - 1 other targets share i's core, n_max on any other core (cut).
        def cap(m: pyo.ConcreteModel, i: int, k: int, c: int) -> Any:
            top = min(int(deg[i]), n_max - 1 + int(self_loop[i])) if k == c else min(int(deg[i]), n_max)
            return m.w[i, k, c] <= top * m.x[i, k]

        m.from_own = pyo.Constraint(m.W, rule=cap)
    if pair_cuts:
        _add_colocation(m, d)
    if d.limits.max_step_time is not None:
        _add_step_budget(m, d, network, hardware)
    comm_expr = sum(_coef(d, i, k, c, scale) * m.w[i, k, c] for i, k, c in idx)
    _add_objective(m, d, comm_expr)
    return m


STEP_MARGIN = 1e-6  # relative: the budget the model keeps, below the evaluator's, for the solver's tolerances


def _add_step_budget(m: pyo.ConcreteModel, d: ExactData, network: SpikingNetwork, hardware: Hardware) -> None:
    """``hardware.limits.max_step_time`` as rows on the linear part of the evaluator's step time, in us.

    For every core ``k``: ``send_k + sync <= B`` and ``receive_k + sync <= B``
    (formulations/latency.py). ``send_k = sum_i x[i,k] (t_access + r_i t_spike) + r_i t_msg_out sum_c w[i,k,c]``
    (multicast: ``w`` is the exact product ``x[i,k] z[i,c]``, so the destinations of
    ``i`` counted on its own core are linear; unicast sends ``deg_i`` messages);
    ``receive_c = sum_i r_i (t_msg_in z[i,c] + t_syn * targets of i on c)``; ``sync`` steps
    up with binaries once the tiles in use reach each key of the table. The message
    schedule's wait is not linear: the evaluator checks it (an answer over the budget
    comes back ``infeasible``, naming ``max_step_time``).
    """
    lat = hardware.latency
    us = 1e6  # rows in microseconds: coefficients near 1 for the solver
    rate = d.spikes / float(network.steps)
    cpt = hardware.cores_per_tile
    tiles = -(-d.k // cpt)
    spiking = [i for i in d.senders.tolist() if rate[i] > 0]
    unicast = d.comm == "unicast"
    budget = hardware.limits.max_step_time * us * (1 - STEP_MARGIN)
    m.TILES = pyo.RangeSet(0, tiles - 1)
    m.tile_on = pyo.Var(m.TILES, domain=pyo.UnitInterval)
    m.tile_used = pyo.Constraint(m.C, rule=lambda m, c: m.tile_on[c // cpt] >= m.u[c])
    levels = list(range(1, len(lat.sync_tiles)))
    m.LEVELS = pyo.Set(initialize=levels)
    m.sync_on = pyo.Var(m.LEVELS, domain=pyo.Binary)
    m.sync_step = pyo.Constraint(m.LEVELS, rule=lambda m, j: sum(m.tile_on[t] for t in m.TILES)
                                 <= int(lat.sync_tiles[j]) - 1 + tiles * m.sync_on[j])
    sync = lat.t_sync[0] * us + sum((lat.t_sync[j] - lat.t_sync[j - 1]) * us * m.sync_on[j] for j in levels)
    fixed = [(lat.t_access + rate[i] * (lat.t_spike + (d.out_degree[i] * lat.t_msg_out if unicast else 0))) * us
             for i in range(d.n)]

    def send(m: pyo.ConcreteModel, k: int) -> Any:
        expr = sum(fixed[i] * m.x[i, k] for i in range(d.n))
        if not unicast:
            expr += sum(rate[i] * lat.t_msg_out * us * m.w[i, k, c] for i in spiking for c in range(d.k))
        return expr + sync <= budget

    def receive(m: pyo.ConcreteModel, c: int) -> Any:
        per_syn = [rate[i] * (lat.t_syn + (lat.t_msg_in if unicast else 0)) * us for i in range(d.n)]
        expr = sum(per_syn[i] * m.x[int(j), c] for i in spiking for j in d.targets[i])
        if not unicast:
            expr += sum(rate[i] * lat.t_msg_in * us * m.z[i, c] for i in spiking)
        return expr + sync <= budget

    m.step_send = pyo.Constraint(m.C, rule=send)
    m.step_receive = pyo.Constraint(m.C, rule=receive)


def neighbour_pairs(d: ExactData) -> np.ndarray:
    """Distinct unordered pairs ``(a, b)``, ``a < b``, joined by a synapse in either direction."""
    a = np.minimum(d.pre, d.post)
    b = np.maximum(d.pre, d.post)
    keep = a != b
    key = np.unique(a[keep] * np.int64(d.n) + b[keep])
    return np.stack([key // d.n, key % d.n], axis=1)


def max_pairs_within(pairs: np.ndarray, n: int, size: int) -> int:
    """An upper bound on the neighbour pairs among any ``size`` neurons.

    The least of ``size choose 2``, ``floor(size^2 / 4)`` when the neighbour
    graph is bipartite (layered networks are, between even and odd layers),
    and half the sum of the ``size`` largest degrees capped at ``size - 1``.
    """
    best = size * (size - 1) // 2
    deg = np.bincount(pairs.ravel(), minlength=n)
    top = np.sort(np.minimum(deg, size - 1))[::-1][:size]
    best = min(best, int(top.sum()) // 2)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(pairs.tolist())
    if nx.is_bipartite(g):
        best = min(best, size * size // 4)
    return best


def _add_colocation(m: pyo.ConcreteModel, d: ExactData) -> None:
    """Co-location cuts: ``same[p,c]`` (both neurons of neighbour pair p on core c) with the core's capacity.

    ``same[p,c] <= x[a,c]``, ``same[p,c] <= x[b,c]`` and, the capacity row times
    ``x[i,c]`` (RLT), ``sum_{p ni i} same[p,c] <= (n_max - 1) x[i,c]``: a neuron
    shares its core with at most ``n_max - 1`` neighbours. The LP can then no
    longer keep every synapse local by spreading all neurons evenly over all
    cores. Linking to the cost (multicast): if ``i`` sits on ``k`` and its
    target ``j`` does not, ``i`` sends at least one remote packet, and its
    ``d_i`` targets off its core need ``ceil(./n_max)`` remote cores;
    unicast: ``i``'s local deliveries are its co-located targets.
    """
    pairs = neighbour_pairs(d)
    if pairs.size == 0:
        return
    n_max = d.limits.n_max
    pid = {(int(a), int(b)): q for q, (a, b) in enumerate(pairs.tolist())}
    m.P = pyo.RangeSet(0, len(pairs) - 1)
    m.same = pyo.Var(m.P, m.C, domain=pyo.UnitInterval)
    pa, pb = pairs[:, 0].tolist(), pairs[:, 1].tolist()
    # Both neurons of a co-located pair sit on that core.
    m.pair_a = pyo.Constraint(m.P, m.C, rule=lambda m, q, c: m.same[q, c] <= m.x[pa[q], c])
    m.pair_b = pyo.Constraint(m.P, m.C, rule=lambda m, q, c: m.same[q, c] <= m.x[pb[q], c])
    # A neuron shares its core with at most n_max - 1 of its neighbours.
    member: list[list[int]] = [[] for _ in range(d.n)]
    for q, (a, b) in enumerate(zip(pa, pb)):
        member[a].append(q)
        member[b].append(q)
    star = [i for i in range(d.n) if len(member[i]) > n_max - 1]
    m.STAR = pyo.Set(initialize=star)
    m.star = pyo.Constraint(
        m.STAR, m.C, rule=lambda m, i, c: sum(m.same[q, c] for q in member[i]) <= (n_max - 1) * m.x[i, c])

    # A core's n_max neurons hold at most E neighbour pairs (no more edges than n_max vertices allow).
    e_max = max_pairs_within(pairs, d.n, n_max)
    m.cluster = pyo.Constraint(m.C, rule=lambda m, c: sum(m.same[q, c] for q in m.P) <= e_max * m.u[c])

    def y_of(i: int, j: int, c: int) -> Any:
        return m.same[pid[(min(i, j), max(i, j))], c]

    others = {i: [int(j) for j in d.targets[i] if j != i] for i in d.senders.tolist()}
    if d.comm == "multicast":
        pairs_ij = [(i, j) for i, js in others.items() for j in js]
        m.TJ = pyo.Set(initialize=pairs_ij, dimen=2)

        # i on k with target j elsewhere sends at least one remote packet.
        def remote_one(m: pyo.ConcreteModel, i: int, j: int, k: int) -> Any:
            return sum(m.w[i, k, c] for c in m.C if c != k) >= m.x[i, k] - y_of(i, j, k)

        m.remote_one = pyo.Constraint(m.TJ, m.C, rule=remote_one)
        many = [i for i, js in others.items() if len(js) > 1]
        m.MANY = pyo.Set(initialize=many)

        # Targets off i's core fill remote cores at most n_max each.
        def remote_many(m: pyo.ConcreteModel, i: int, k: int) -> Any:
            off = len(others[i]) * m.x[i, k] - sum(y_of(i, j, k) for j in others[i])
            return n_max * sum(m.w[i, k, c] for c in m.C if c != k) >= off

        m.remote_many = pyo.Constraint(m.MANY, m.C, rule=remote_many)
    else:
        self_loop = {i: int(len(others[i]) < int(d.out_degree[i])) for i in others}

        # i's deliveries on its own core are to itself and to co-located targets.
        def local(m: pyo.ConcreteModel, i: int, k: int) -> Any:
            return m.w[i, k, k] <= self_loop[i] * m.x[i, k] + sum(y_of(i, j, k) for j in others[i])

        m.local = pyo.Constraint(m.S, m.C, rule=local)


# ============================================================== solving
def _mapping_of(m: pyo.ConcreteModel, d: ExactData) -> np.ndarray:
    vals = np.array([[pyo.value(m.x[i, c], exception=False) or 0.0 for c in range(d.k)] for i in range(d.n)])
    return np.argmax(vals, axis=1).astype(np.int64)


def set_start(m: pyo.ConcreteModel, d: ExactData, core_of: np.ndarray) -> None:
    """Give every variable its value at the mapping ``core_of`` (a MIP start)."""
    x = np.zeros((d.n, d.k))
    x[np.arange(d.n), core_of] = 1.0
    for (i, c), v in m.x.items():
        if not v.fixed:
            v.set_value(x[i, c])
    for c in range(d.k):
        m.u[c].set_value(float(x[:, c].any()))
    if hasattr(m, "z"):
        for (i, c), v in m.z.items():
            v.set_value(float(x[d.targets[i], c].any()))
    if hasattr(m, "w"):
        for (i, k, c), v in m.w.items():
            if core_of[i] != k:
                v.set_value(0.0)
            elif d.comm == "multicast":
                v.set_value(float(x[d.targets[i], c].any()))
            else:
                v.set_value(float(x[d.targets[i], c].sum()))
    if hasattr(m, "y"):
        for (i, j, k, c), v in m.y.items():
            v.set_value(float(core_of[i] == k and core_of[j] == c))
    if hasattr(m, "same"):
        pairs = neighbour_pairs(d)
        for (q, c), v in m.same.items():
            v.set_value(float(core_of[pairs[q, 0]] == c and core_of[pairs[q, 1]] == c))


def solve_model(
    m: pyo.ConcreteModel,
    run: StartUp,
    *,
    method: str,
    solver: str = "highs",
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    log_path: str | None = None,
    solver_options: dict[str, Any] | None = None,
    build_time: float = 0.0,
    progress: ProgressFn | None = None,
) -> Result:
    """Solve a model from :func:`build_textbook` or :func:`build_compact` and score its mapping.

    The solver objective (``stats["solver_objective"]``, in joules including
    the constant part) must equal the evaluator's energy for ``optimal``;
    otherwise the status drops to ``feasible`` with a message. A run that
    stops at a requested ``mip_gap`` above 1e-9 is ``gap_limit``; Ctrl-C
    returns the incumbent as ``interrupted``. Without a solver mapping, the
    start mapping (if any) is returned (:func:`exact_common.finish`).
    """
    d = run.data
    network, hardware, comm = d.network, d.hardware, d.comm
    gap = DEFAULT_GAP if mip_gap is None else mip_gap
    highs = solver_family(solver) == "highs"
    opts = translate(solver, time_limit=time_limit, mip_gap=gap, threads=threads, seed=seed,
                     log_path=log_path if highs else None)
    if highs:
        opts["mip_abs_gap"] = DEFAULT_ABS_GAP
    opts.update(solver_options or {})
    if run.start is not None:
        set_start(m, d, run.start)
    stats: dict[str, Any] = {"form": m.form, "solver": solver, "build_time": build_time, "symmetry": d.symmetry,
                             "objective_scale": m.objective_scale, **run.size}
    def joules(value: float | None) -> float | None:
        """Model units -> joules including the constant energy."""
        return None if value is None else value / m.objective_scale + d.constant

    on_solution = None
    if progress is not None:
        combinatorial = valid_lower_bound(network, hardware, comm, None)

        def on_solution(elapsed: float, objective: float, bound: float) -> None:
            lb = max(combinatorial, joules(bound)) if math.isfinite(bound) else combinatorial
            progress(elapsed, joules(objective), lb)

    try:
        raw = solve_highs(m, opts, run.start is not None, relax=False, on_solution=on_solution) if highs else \
            solve_pyomo(m, solver, opts, run.start is not None, log_path)
    except SolverUnavailableError as exc:  # a missing solver is a result (status error), not a crash
        return finish(run, SolverOutcome(Status.ERROR, "not available"), method=method, seed=seed, stats=stats,
                      notes=[str(exc)])
    except Exception as exc:  # so is a solver failure
        return finish(run, SolverOutcome(Status.ERROR, "failed"), method=method, seed=seed, stats=stats,
                      notes=[f"{solver} failed: {type(exc).__name__}: {exc}"])
    stats.update(solve_time=raw["solve_time"], nodes=raw["nodes"])
    status = raw["status"]
    if status == Status.OPTIMAL and raw["objective"] is not None:
        # Stopped at its gap: a proof only at the default (proof) gap or when the bound meets the objective.
        status = proof_status(asks_for_proof(mip_gap), raw["objective"], raw["bound"])
    out = SolverOutcome(status=status, termination=raw["termination"],
                        mapping=_mapping_of(m, d) if raw["has_solution"] else None,
                        objective=joules(raw["objective"]), bound=joules(raw["bound"]))
    return finish(run, out, method=method, seed=seed, stats=stats, notes=[], log_path=log_path)


def solve(
    network: SpikingNetwork,
    hardware: Hardware,
    *,
    form: str = "compact",
    time_limit: float | None = None,
    seed: int = 0,
    comm: str | None = None,
    start: Any = None,
    solver: str = "highs",
    threads: int | None = None,
    mip_gap: float | None = None,
    log_path: str | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
    symmetry: bool = True,
    pair_cuts: bool = True,
    warmup: float = 0.0,
    max_nonzeros: int | None = None,
    solver_options: dict[str, Any] | None = None,
    **options: Any,
) -> Result:
    """Map by the neuron-level MILP (``form="compact"`` or ``"textbook"``).

    Parameters
    ----------
    network, hardware
        The instance.
    form
        ``"compact"`` (fast) or ``"textbook"`` (reads like docs/formulation.md).
    time_limit, mip_gap, threads, seed
        Generic solver options (translated by :mod:`formulations.solver_options`);
        ``mip_gap`` defaults to ``1e-9`` (HiGHS also stops at an absolute gap of 1e-6 packet energies).
        A run that stops at a larger requested ``mip_gap`` is ``gap_limit``, not ``optimal``.
    comm
        ``"multicast"`` or ``"unicast"`` (default: the hardware's).
    start
        A start mapping (array of cores, or a :class:`~formulations.energy.Mapping`): the MIP
        start (and, for HiGHS, a cutoff). Heuristic names are resolved by the front door
        (``snnmap.solve(..., start="greedy")``).
    solver
        Any Pyomo solver name; ``"highs"`` (default) uses HiGHS through Pyomo's persistent interface.
        A solver that is not installed gives an ``error`` Result saying how to install it.
    log_path
        Write the solver log there.
    force
        Build models above the size ceiling (:class:`ModelTooLargeError` otherwise).
    progress
        HiGHS only: called as ``progress(elapsed, incumbent_joules, bound_joules)`` on every
        improving solution (other Pyomo solvers ignore it).
    symmetry
        Break mesh / interchangeable-core symmetries (valid only where costs allow; checked).
    pair_cuts
        Compact form only: add the co-location cuts (see :func:`build_compact`).
    warmup
        Seconds of CP-SAT (hinted with ``start``) run first; its mapping becomes
        the MIP start when better, and its bound counts towards the lower bound.
    max_nonzeros
        Size ceiling (default :data:`formulations.exact_common.MAX_NONZEROS`).
    solver_options
        Solver-specific options passed verbatim.

    Returns
    -------
    Result
        Scored by the evaluator; ``lower_bound = max(solver bound, combinatorial bound)``.
        Ctrl-C stops the solver and returns its incumbent with status ``interrupted``.
    """
    if options:
        raise TypeError(f"unknown option(s) for the MILP: {', '.join(sorted(options))}")
    if form not in ("compact", "textbook"):
        raise ValueError(f"form={form!r}: must be 'compact' or 'textbook'")
    method = "milp" if form == "compact" else "milp-textbook"
    symmetry = symmetry and symmetry_keeps_step_time(hardware)
    run = start_up(network, hardware, method=method, form=form, comm=comm, seed=seed, start=start,
                   symmetry=symmetry, force=force, max_nonzeros=max_nonzeros)
    if isinstance(run, Result):
        return run
    warm_bound = None
    if time_limit is not None:
        warmup = min(warmup, 0.5 * time_limit)
    if warmup > 0:
        warm = cpsat.solve(network, hardware, time_limit=warmup, seed=seed, comm=comm, start=run.start,
                           threads=threads, symmetry=symmetry, force=True)
        if warm.status == Status.INTERRUPTED:
            return dataclasses.replace(warm, method=method)
        warm_bound = warm.lower_bound
        if warm.mapping is not None and warm.report.feasible and (
                run.start is None or warm.energy < evaluate(network, hardware, run.start, comm).total):
            # CP-SAT's mapping obeys the same symmetry breaking: it is a canonical start already.
            run = dataclasses.replace(run, start=warm.mapping)
    late = build_outlasts_limit(run, time_limit, method=method, seed=seed)
    if late is not None:
        return late
    t_build = time.perf_counter()
    try:
        if form == "compact":
            m = build_compact(network, hardware, comm, data=run.data, pair_cuts=pair_cuts)
        else:
            m = build_textbook(network, hardware, comm, data=run.data)
    except KeyboardInterrupt:
        return interrupted_result(run, method=method, seed=seed)
    build_time = time.perf_counter() - t_build
    res = solve_model(m, run, method=method, solver=solver, time_limit=run.remaining(time_limit), mip_gap=mip_gap,
                      threads=threads, seed=seed, log_path=log_path, solver_options=solver_options,
                      build_time=build_time, progress=progress)
    if warm_bound is not None and res.lower_bound is not None and warm_bound > res.lower_bound:
        res = dataclasses.replace(res, lower_bound=warm_bound)
    return res


def solve_compact(network: SpikingNetwork, hardware: Hardware, **kwargs: Any) -> Result:
    """``METHODS["milp"]``: the compact MILP (see :func:`solve`)."""
    return solve(network, hardware, form="compact", **kwargs)


def solve_textbook(network: SpikingNetwork, hardware: Hardware, **kwargs: Any) -> Result:
    """``METHODS["milp-textbook"]``: the textbook MILP (see :func:`solve`)."""
    return solve(network, hardware, form="textbook", **kwargs)


def lp_lower_bound(network: SpikingNetwork, hardware: Hardware, comm: str | None = None, *,
                   time_limit: float | None = 60.0, max_nonzeros: int | None = None) -> float:
    """The LP relaxation of the compact MILP (with symmetry breaking) plus the constant energy.

    Returns the combinatorial bound instead when the instance is trivially
    infeasible, the LP is too large (see :class:`ModelTooLargeError`) or does
    not finish within ``time_limit``; always the larger of the two.
    """
    lb = combinatorial_lower_bound(network, hardware, comm)
    if precheck(network, hardware):
        return lb
    d = prepare(network, hardware, comm, symmetry=True)
    try:
        check_size(d, "compact", "lp bound", False, max_nonzeros)
    except ModelTooLargeError:
        return lb
    m = build_compact(network, hardware, comm, data=d)
    out = solve_highs(m, translate("highs", time_limit=time_limit), start=False, relax=True)
    if out["bound"] is None:
        return lb
    return max(lb, out["bound"] / m.objective_scale + d.constant)
