"""Lower bounds on the evaluator's total energy that hold for every feasible mapping.

- :func:`combinatorial_lower_bound`: seconds at most, from the limits alone
  (with what the input-axon limit forces, :mod:`.bounds_axons`); :func:`bound_terms`
  splits it by energy term and :func:`dominant_term` names where a gap sits;
- :func:`formulations.milp.lp_lower_bound`: the LP relaxation of the compact
  MILP (seconds on small and medium instances).
Every exact run reports ``max(solver bound, combinatorial bound)``.

:func:`precheck` proves from the same limits that no mapping exists; every
method (exact and heuristic) runs it first.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from snnmap.formulations.bounds_axons import class_cores, class_destinations, input_destinations, never_local
from snnmap.formulations.bounds_hops import exclusive_raise
from snnmap.formulations.bounds_local import chain_layers, chain_sized, local_raise, window_cores
from snnmap.formulations.bounds_served import served_destinations, served_raise
from snnmap.formulations.bounds_tiles import border_raise
from snnmap.formulations.energy import TERMS, fixed_energy
from snnmap.formulations.relay import relay_raise
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork


def min_destinations(network: SpikingNetwork, hardware: Hardware) -> np.ndarray:
    """The fewest destination cores each neuron can have, whatever the mapping.

    A neuron with targets has at least one; its targets are distinct neurons,
    at most ``n_max`` per core, and their synapses at most ``syn_max`` per core.
    """
    lim = hardware.limits
    deg = network.out_degree
    need = np.minimum(deg, 1).astype(np.int64)
    need = np.maximum(need, -(-deg // lim.n_max))
    if lim.syn_max is not None and network.num_synapses:
        # Synapses stored on the cores of i's targets: sum of the targets' in-degrees.
        load = np.bincount(network.pre, weights=network.in_degree[network.post], minlength=network.num_neurons)
        need = np.maximum(need, np.ceil(load / lim.syn_max - 1e-9).astype(np.int64))
    return need


def forced_destinations(network: SpikingNetwork, hardware: Hardware) -> np.ndarray:
    """:func:`min_destinations`, raised where the input-axon limit forces more (see :mod:`.bounds_axons`)."""
    return np.maximum.reduce([min_destinations(network, hardware), class_destinations(network, hardware),
                              input_destinations(network, hardware)])


def core_needs(network: SpikingNetwork, hardware: Hardware, axons: bool = False) -> list[tuple[int, str]]:
    """Least core counts forced by each limit, with the reason (see :func:`min_cores`).

    ``axons`` adds what the input-axon arguments of :mod:`.bounds_axons` force (seconds on the largest
    networks): the bound uses them; the precheck every method runs first does not.
    """
    lim = hardware.limits
    n = network.num_neurons
    needs = [(math.ceil(n / lim.n_max), f"n_max={lim.n_max}: {n} neurons need at least {{}} cores")]
    if lim.syn_max is not None:
        needs.append((math.ceil(network.num_synapses / lim.syn_max),
                      f"syn_max={lim.syn_max}: {network.num_synapses} synapses need at least {{}} cores"))
    dests = forced_destinations(network, hardware) if axons else min_destinations(network, hardware)
    if dests.size:
        i = int(np.argmax(dests))
        needs.append((int(dests.max()), f"neuron {i}'s targets need at least {{}} distinct cores "
                                        f"(n_max={lim.n_max}, syn_max={lim.syn_max})"))
    if lim.a_max is not None:
        axon_total = int(dests.sum())
        if axons:  # senders whose targets no core can hold together need more axons (bounds_served)
            axon_total += served_destinations(network, hardware, dests, class_destinations(network, hardware))
        needs.append((math.ceil(axon_total / lim.a_max),
                      f"a_max={lim.a_max}: the neurons need at least {axon_total} input axons, "
                      "which fill at least {} cores"))
    windows = window_cores(network, hardware) if axons else (0, "")
    if windows[0]:
        needs.append(windows)
    saturated = class_cores(network, hardware) if axons else 0
    if saturated:
        needs.append((saturated, f"neurons with a_max={lim.a_max} presynaptic neurons fill their cores' axons: "
                                 "their classes need at least {} distinct cores"))
    if network.pins is not None:
        needs.append((int(np.unique(network.pins[network.pins >= 0]).size), "the pins use {} distinct cores"))
    return needs


def min_cores(network: SpikingNetwork, hardware: Hardware, axons: bool = False) -> int:
    """The fewest cores any feasible mapping can use, from the per-core limits alone.

    Every neuron needs a neuron slot, every synapse a synapse slot on its
    postsynaptic core, and every (neuron, destination core) pair an axon slot;
    a neuron's destination cores are distinct cores, and pinned neurons use
    their pinned cores. ``axons``: also what the input-axon limit forces
    (see :func:`core_needs`).
    """
    return max(1, *(need for need, _ in core_needs(network, hardware, axons)))


def precheck(network: SpikingNetwork, hardware: Hardware) -> str:
    """Why no mapping can be feasible, from the limits alone (``""`` when no check applies).

    Every method runs this first, so an instance without a feasible mapping gets
    the same message from each of them.
    """
    lim = hardware.limits
    k = hardware.num_cores
    if lim.fanin_max is not None and network.num_synapses and network.in_degree.max() > lim.fanin_max:
        j = int(np.argmax(network.in_degree))
        return (f"neuron {j} has {int(network.in_degree[j])} presynaptic neurons, more than "
                f"fanin_max={lim.fanin_max} (no mapping changes a fan-in)")
    if lim.syn_max is not None and network.num_synapses and network.in_degree.max() > lim.syn_max:
        j = int(np.argmax(network.in_degree))
        return f"neuron {j} has {int(network.in_degree[j])} synapses, more than syn_max={lim.syn_max}"
    if lim.a_max is not None and network.num_synapses and network.in_degree.max() > lim.a_max:
        j = int(np.argmax(network.in_degree))
        return (f"neuron {j} has {int(network.in_degree[j])} presynaptic neurons, more than "
                f"a_max={lim.a_max} input axons per core")
    need, why = max(core_needs(network, hardware), key=lambda t: t[0])
    if need > k:
        return (f"{why.format(need)} but {hardware.name} has {k}: "
                f"use a larger mesh, e.g. load_hardware({hardware.name!r}, cores={need})")
    if lim.dest_max is not None:
        dests = min_destinations(network, hardware)
        if dests.size and dests.max() > lim.dest_max:
            i = int(np.argmax(dests))
            return (f"neuron {i} must reach at least {int(dests[i])} destination cores "
                    f"(its targets do not fit fewer cores), more than dest_max={lim.dest_max}")
    pins = network.pins
    if pins is not None:
        bad = np.flatnonzero(pins >= k)
        if bad.size:
            return (f"neuron {int(bad[0])} is pinned to core {int(pins[bad[0]])}, "
                    f"which does not exist (cores 0..{k - 1})")
        counts = np.bincount(pins[pins >= 0], minlength=k)
        if counts.size and counts.max() > lim.n_max:
            c = int(np.argmax(counts))
            return f"{int(counts[c])} neurons are pinned to core {c}, more than n_max={lim.n_max}"
    return ""


BOUND_TABLE_CORES = 2048  # above this many cores the bound prices packets without a K x K table


def price_rows(hardware: Hardware) -> tuple[np.ndarray, np.ndarray]:
    """Packet prices from each sender core (rows) and the column of its own core.

    Up to :data:`BOUND_TABLE_CORES` cores: the exact ``K x K`` cost matrix. Above
    (tens of thousands of crossbars would need gigabytes), one row whose sorted
    prices are below every core's sorted prices:

    - mesh and torus: the prices from a central core. Its hop distances along
      each axis, sorted, are element-wise the smallest of any core's, so a
      one-to-one pairing of its destinations with any other core's never costs
      more; the greedy fill over its prices is a bound for every sender.
    - matrix topology: ``e_local`` for the own core and the cheapest remote
      packet for every other one.
    """
    k = hardware.num_cores
    if k <= BOUND_TABLE_CORES:
        return np.asarray(hardware.cost_matrix, dtype=np.float64), np.arange(k)
    e = hardware.energy
    if hardware.topology != "matrix":
        rows, cols = hardware.mesh  # type: ignore[misc]
        center = ((rows // 2) * cols + cols // 2) * hardware.cores_per_tile
        row = hardware.packet_cost(np.full(k, center), np.arange(k)).astype(np.float64)[None, :]
        return row, np.array([center], dtype=np.int64)
    hops = hardware.hop_matrix[~np.eye(k, dtype=bool)]  # type: ignore[index]
    row = np.full((1, k), e.e_route + float(hops.min()) * e.e_hop)
    row[0, 0] = e.e_local
    return row, np.zeros(1, dtype=np.int64)


def _fill_costs(rows: np.ndarray, own: np.ndarray, local_cap: int, remote_cap: int, units: np.ndarray,
                local: bool) -> np.ndarray:
    """Least cost of ``units`` deliveries from one sender, minimised over its core.

    ``rows[r]`` are the prices from a candidate sender core whose own column is
    ``own[r]``. Deliveries go to cheapest slots first: ``local_cap`` slots at the
    own core (when ``local``) and ``remote_cap`` per other core. The greedy fill
    is the exact minimum of this relaxation, a convex piecewise-linear function
    evaluated by interpolation.
    """
    best = np.full(units.shape, np.inf)
    for r in range(rows.shape[0]):
        prices = np.delete(rows[r], own[r])
        caps = np.full(prices.size, remote_cap, dtype=np.float64)
        if local and local_cap > 0:
            prices = np.append(prices, rows[r, own[r]])
            caps = np.append(caps, local_cap)
        order = np.argsort(prices, kind="stable")
        cum_cap = np.concatenate([[0.0], np.cumsum(caps[order])])
        cum_cost = np.concatenate([[0.0], np.cumsum(caps[order] * prices[order])])
        best = np.minimum(best, np.interp(units, cum_cap, cum_cost))
    return best


def communication_lower_bound(network: SpikingNetwork, hardware: Hardware, comm: str | None = None) -> float:
    """Least communication energy any feasible mapping pays (joules).

    multicast: neuron ``i`` reaches at least :func:`min_destinations` distinct
    cores, at most one of them its own (at ``e_local``; forced when ``i``
    targets itself), the others at the cheapest packet costs from its core.
    unicast: every synapse is one delivery; at most ``n_max - 1`` targets
    share the sender's core and at most ``n_max`` any other core.

    Raises on top of those per-sender prices, combined by the larger of sums over
    disjoint sender sets: the exclusive senders' hop coupling (bounds_hops) with
    the tile-border, relay and local-room raises of the other senders; with the
    served-sender raise (bounds_served: senders of two targets or more); and, on
    chained convolutions, with the local-room rows that price the chained outputs
    beside their layer's inputs (bounds_local).
    """
    comm = hardware.comm if comm is None else comm
    rows, own = price_rows(hardware)
    s = network.spikes
    n_max = hardware.limits.n_max
    self_loop = np.zeros(network.num_neurons, dtype=bool)
    self_loop[network.pre[network.pre == network.post]] = True
    e_local_min = float(rows[np.arange(own.size), own].min())
    # Senders whose targets can never share their core (input axons) pay remote prices only.
    remote_only = never_local(network, hardware)
    if comm == "multicast":
        def cost(m: np.ndarray) -> np.ndarray:
            free = np.where(remote_only, _fill_costs(rows, own, 0, 1, m, local=False),
                            _fill_costs(rows, own, 1, 1, m, local=True))
            # A self-loop forces the own core among the destinations.
            forced = e_local_min + _fill_costs(rows, own, 0, 1, np.maximum(m - 1, 0), local=False)
            return np.where(self_loop, np.maximum(free, forced), free)

        m = forced_destinations(network, hardware).astype(np.float64)
        per = cost(m)
        # Convolution inputs at tile borders reach a second core, and few share a core with all their
        # targets: the others pay a remote packet (see bounds_tiles).
        sends = network.out_degree > 0
        second = np.where(sends, cost(np.maximum(m, 2)) - per, 0.0)
        remote = _fill_costs(rows, own, 0, 1, np.ones(network.num_neurons), local=False)
        alone = np.where(sends & (m == 1), np.maximum(per, remote) - per, 0.0)
        # Each destination beyond the second costs at least the third's price (the cost is convex in them).
        third = np.where(sends & (m <= 2), cost(np.maximum(m, 3)) - cost(np.maximum(m, 2)), 0.0)

        # The j-th cheapest remote price from any sender core (sorted per core, least over the cores).
        remote_prices = np.sort(np.where(np.arange(rows.shape[1]) == own[:, None], np.inf, rows), axis=1).min(axis=0)
        remote_prices = remote_prices[np.isfinite(remote_prices)]

        # What an output of a convolution pays when none of its destinations is its own core (bounds_local).
        off_core = np.where(sends & ~remote_only & ~self_loop,
                            np.maximum(_fill_costs(rows, own, 0, 1, m, local=False) - per, 0.0), 0.0)
        chained, outputs = chain_layers(network)
        outputs &= off_core > 0  # outputs that pay nothing off their core are left to the other arguments
        outputs &= chain_sized(network)

        def border(skip: np.ndarray, chain: bool = False) -> float:
            # A relay's senders reach a second core where its positions split between cores (relay).
            # Local inputs take core room (bounds_local): the larger of the two raises per layer. With ``chain``
            # the outputs of the chained layers are priced with their inputs (``skip`` must hold them).
            def local(g):  # noqa: ANN001, ANN202
                out = s * off_core * outputs if chain and g in chained else None
                return local_raise(network, hardware, g, s * ~skip, per, remote_prices, e_local_min, out)
            return (border_raise(network, hardware, s * second * ~skip, s * alone * ~skip, s * third * ~skip, local)
                    + relay_raise(network, hardware, s * second * ~skip))
    else:
        def border(skip: np.ndarray, chain: bool = False) -> float:
            return 0.0

        outputs = np.zeros(network.num_neurons, dtype=bool)

        others = (network.out_degree - self_loop).astype(np.float64)
        per = self_loop * e_local_min + np.where(remote_only, _fill_costs(rows, own, 0, n_max, others, local=False),
                                                 _fill_costs(rows, own, n_max - 1, n_max, others, local=True))
    per = np.where(network.out_degree > 0, per, 0.0)
    # Exclusive senders crowding the cores around their target (bounds_hops); the border argument then
    # leaves out the senders it re-priced, and the larger of the two combinations holds.
    coupled, raised = exclusive_raise(network, hardware, per, rows, own, remote_only)
    extra = border(np.zeros(network.num_neurons, dtype=bool))
    if coupled > 0:
        extra = max(extra, coupled + border(raised))
    if comm == "multicast":
        # Senders whose other targets fit one core compete for its axons (bounds_served); they have two
        # targets or more, so none of them is an exclusive sender: the two raises add up.
        served, _ = served_raise(network, hardware, cost, m, class_destinations(network, hardware))
        extra = max(extra, coupled + served)
    if outputs.any():
        # The chained outputs' cost is raised with their layer's inputs: the hop coupling leaves them out.
        coupled, raised = exclusive_raise(network, hardware, per, rows, own, remote_only, skip=outputs)
        extra = max(extra, coupled + border(raised | outputs, chain=True))
    return float(np.dot(s, per)) + extra


# Network and hardware are immutable values: every method scored on the same instance
# (e.g. the six heuristics of a gap run) reuses the bound instead of recomputing it.
@functools.lru_cache(maxsize=4)
def bound_terms(network: SpikingNetwork, hardware: Hardware, comm: str | None = None) -> dict[str, float]:
    """:func:`combinatorial_lower_bound` split by energy term (the keys of ``TERMS``).

    - neuron, synapse: exact (no mapping changes them);
    - static: ``t_run * p_static`` times :func:`min_cores` (all cores without power gating);
    - comm: :func:`communication_lower_bound`.
    """
    e = hardware.energy
    with np.errstate(over="ignore"):  # an overflow makes inf, refused by evaluate() with its cause
        synapse = float(np.dot(network.spikes, network.out_degree) * e.e_syn)
    cores = min_cores(network, hardware, axons=True) if hardware.power_gating else hardware.num_cores
    return {"neuron": fixed_energy(network, hardware) - synapse, "synapse": synapse,
            "comm": communication_lower_bound(network, hardware, comm),
            "static": float(network.t_run * e.p_static * cores)}


def combinatorial_lower_bound(network: SpikingNetwork, hardware: Hardware, comm: str | None = None) -> float:
    """A fast valid bound: the sum of :func:`bound_terms` (fixed + forced static + forced communication)."""
    return float(sum(bound_terms(network, hardware, comm).values()))


def gap_split(energy_terms: dict[str, float], bound: dict[str, float]) -> dict[str, float]:
    """Energy minus bound, term by term: where a certified gap sits (the fixed terms give 0)."""
    return {t: energy_terms[t] - bound[t] for t in TERMS}


def dominant_term(energy_terms: dict[str, float], bound: dict[str, float]) -> str:
    """The term holding the largest part of ``energy - bound`` (see :func:`gap_split`); ``"none"`` at no gap."""
    split = gap_split(energy_terms, bound)
    term = max(split, key=split.get)  # type: ignore[arg-type]
    return term if split[term] > 1e-9 * sum(energy_terms.values()) else "none"
