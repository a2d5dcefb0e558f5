"""partition-refine: our best heuristic.

1. Partition: METIS on the traffic graph (multicast weights follow the
   hypergraph connectivity cost, see :func:`heuristics.partition.traffic_graph`)
   split into core-feasible clusters (``n_max``, ``a_max``, ``syn_max``); on
   networks too large for METIS, core-feasible runs in index (layer) order.
2. Place clusters on cores: simulated annealing, from the snake order or,
   on chips of more than :data:`LARGE_CHIP_CORES` cores and for the tiling
   start, from a recursive bisection of the cluster graph onto the mesh
   (METIS or spectral halves, the cheaper; pluggable: ``placement="qap"`` for
   exact placement on small chips).
3. Refine on the true objective: neuron moves and swaps with incremental
   energy deltas (both communication models, static energy of emptied and
   opened cores, every limit including ``a_max`` and ``dest_max``), numba.
4. Settle the best refined mapping (:func:`heuristics.replace.settle_cores`): partial sums'
   targets regrouped by their partners' positions, whole cores moved toward their partners;
   kept only when the energy falls.
The same refinement also runs from the layer tiling of :mod:`heuristics.tiling`
(neurons that share their inputs together, receptive fields compact; where the
application's convolution geometry is known, aligned tiles placed by the image,
:mod:`heuristics.aligned`; built first, refined last so the other starts keep
their seeds; on networks of up to :data:`COLOCATE_SYNAPSES` synapses, its variants with convolutions' inputs on
their output tiles, :mod:`heuristics.colocate`, placed alike, or staggered in bands laid out on the mesh directly,
:mod:`heuristics.staggered`, those bands re-cut on the spikes, :mod:`heuristics.recut`, where the evaluator prices
one lower), from
traffic-merging clusters (annealed), from the greedy mapping and from the
sequential fill; the best result is returned. Since
refinement never raises the energy, partition-refine is never worse than the
SNEAP-style start (same partition and placement, on chips up to
:data:`LARGE_CHIP_CORES` cores) nor than the greedy and sequential baselines.

Time: the tiling start is built first (its annealing may take up to
:data:`TILING_SHARE` of the budget), then the METIS start (up to
:data:`PARTITION_SHARE` of what is left); the other starts are built only while
half the budget is left, so on large networks (AlexNet on 128 x 128 crossbars,
17,822 cores) the time goes to the refinement of the best start instead.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from snnmap.formulations.arrays import unique_ints
from snnmap.formulations.bounds import precheck
from snnmap.formulations.energy import evaluate
from snnmap.formulations.result import Result
from snnmap.hardware import Hardware
from snnmap.heuristics.cluster_map import place_cluster_mapping
from snnmap.heuristics.colocate import PAIRS, colocated_clusters, unplaced_energy
from snnmap.heuristics.common import Progress, Timer, finish, report_progress
from snnmap.heuristics.compile import warm_up
from snnmap.heuristics.greedy import greedy_mapping
from snnmap.heuristics.partition import fill_order, merge_clusters, metis_clusters
from snnmap.heuristics.recut import recut_mapping
from snnmap.heuristics.refine import refine
from snnmap.heuristics.relay_tiles import relay_clusters
from snnmap.heuristics.replace import settle_cores
from snnmap.heuristics.staggered import staggered_mapping
from snnmap.heuristics.tiling import tiling_clusters
from snnmap.instances import SpikingNetwork

DEFAULT_BUDGET = 40.0  # seconds, when no time limit is given
LARGE_CHIP_CORES = 4096  # above this: no greedy start (it costs more than it brings), bisection placement
PARTITION_SHARE = 0.7  # of the time left, at most, for annealing the first (METIS) start's placement
TILING_SHARE = 0.3  # of the time left, at most, for annealing the tiling start's placement (built first)
EXTRA_STARTS_WHILE = 0.5  # further starts only while this fraction of the budget is left
RELAY_SHARE = 0.3  # of the time left, at most, for annealing the relay start's placement (a relay only)
# Above this many synapses no co-located variants: their exact checks and evaluations take the refinement's
# time (VGG16:full on loihi: 31 s under load, 16 M synapses; EdgeDet:full has 0.6 M).
COLOCATE_SYNAPSES = 4_000_000
COLOCATE_SHARE = 0.2  # of the time left, at most, for annealing each co-located variant of the tiling start
SETTLE_EVALS = 4.0  # evaluations' worth of time held back from the refinement for settle_cores
TILING_EFFORT = 8.0  # longer annealing schedule for the tiling start (fitted to its time share)


def solve(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
          comm: str | None = None, progress: Progress = None, placement: str = "anneal",
          starts: tuple[str, ...] | None = None, effort: float = 1.0,
          ils_rounds: int | None = None, **options: Any) -> Result:
    """Partition, place and refine (see the module docstring).

    Parameters
    ----------
    time_limit
        Wall-clock budget in seconds (default :data:`DEFAULT_BUDGET`); the
        annealing and the refinement stop at it and the result is ``time_limit``.
    placement
        Cluster placement method of :func:`heuristics.placement.place_clusters`.
    starts
        Start mappings to refine: ``"tiling"`` (layer tiling, or its co-located variant where the evaluator
        prices that lower: the result's ``stats["start"]`` is then ``"colocate"``, ``"staggered"`` or ``"recut"``),
        ``"partition"`` (METIS),
        ``"merge"`` (traffic-merging clusters), ``"greedy"``, ``"sequential"``; default
        all five (no greedy above :data:`LARGE_CHIP_CORES` cores).
    ils_rounds
        Rounds of iterated local search (kick, refine, keep if better) after
        the starts are refined; default: many on small networks, none on large.
    options
        Passed to :func:`heuristics.refine.refine` (``max_cand``, ``swap_tries`` ...).
    """
    warm_up(progress)  # compile before the clock starts: the time limit is the method's
    timer = Timer(DEFAULT_BUDGET if time_limit is None else time_limit)
    if starts is None:
        # The greedy start scans cores per neuron: skipped on chips with many thousands of cores.
        starts = ("tiling", "partition", "merge", "greedy", "sequential") if hardware.num_cores <= LARGE_CHIP_CORES \
            else ("tiling", "partition", "merge", "sequential")
        starts += ("relay",)
    comm_model = hardware.comm if comm is None else comm
    problem = precheck(network, hardware)
    if problem:
        return finish(network, hardware, None, method="partition-refine", timer=timer, seed=seed, comm=comm,
                      message=problem)
    begin: list[tuple[str, np.ndarray]] = []
    notes: list[str] = []
    pinned = network.pins is not None and bool(np.any(network.pins >= 0))

    def affordable() -> bool:
        # Starts after the first are built only while half the budget is left: on
        # large networks the refinement of the first start is worth more than more starts.
        return not begin or timer.limit is None or timer.left() > EXTRA_STARTS_WHILE * timer.limit

    # METIS parts (the SNEAP-style start: same clusters, same annealing with the
    # same seed, so when its annealing runs to the end it is exactly sneap's
    # mapping), and traffic-merging clusters (the SpiNeMap-style clustering,
    # often better on sparse, local networks), each placed on the cores.
    clusterings = (("tiling", lambda: tiling_clusters(network, hardware, seed), TILING_SHARE),
                   ("partition", lambda: metis_clusters(network, hardware, comm=comm_model, seed=seed),
                    PARTITION_SHARE),
                   ("merge", lambda: merge_clusters(network, hardware, comm=comm_model), 0.15))
    # A relay (VisualPursuit's retina and lagged relay) starts first from tiles of its positions (relay_tiles).
    relay = relay_clusters(network, hardware) if "relay" in starts else None
    if relay is not None:
        clusterings = (("relay", lambda: relay, RELAY_SHARE), *clusterings)
    # On large chips the annealing starts from a recursive bisection instead of the snake:
    # it reaches in seconds what the snake start needs minutes of annealing for. The tiling
    # start's always does: its clusters follow the image, and bisection lays them out so.
    large = placement == "anneal" and hardware.num_cores > LARGE_CHIP_CORES
    for name, cluster, share in clusterings:
        if name not in starts or pinned or not affordable():
            continue
        cluster_of, k = cluster()
        method = "bisect-anneal" if large or name in ("tiling", "relay") and placement == "anneal" else placement
        core_of, why = place_cluster_mapping(network, hardware, cluster_of, k, comm=comm_model, method=method,
                                             timer=timer, seed=seed, time_share=share,
                                             effort=effort * (TILING_EFFORT if name == "tiling" else 1.0),
                                             image=name == "tiling")
        if core_of is not None and name == "tiling" and network.num_synapses <= COLOCATE_SYNAPSES:
            name, core_of = _colocated_or(network, hardware, cluster_of, core_of, comm=comm_model, method=method,
                                          timer=timer, seed=seed, effort=effort * TILING_EFFORT)
        if core_of is not None:
            begin.append((name, core_of))
        else:
            notes.append(why)
    if "sequential" in starts and not pinned and affordable():
        cluster_of, runs, why = fill_order(network, hardware)
        if not why and runs <= hardware.num_cores:
            begin.append(("sequential", cluster_of))  # exactly the sequential baseline's mapping
    if ("greedy" in starts and affordable()) or not begin:
        core_of, why = greedy_mapping(network, hardware, comm)
        if core_of is not None:
            begin.append(("greedy", core_of))
        else:
            notes.append(why)
    # The tiling start is built first (on large chips the budget may not reach a later one) but
    # refined last: the other starts keep the refinement seeds they had before it existed.
    begin.sort(key=lambda start: start[0] in ("tiling", "colocate", "staggered", "recut"))
    report_progress(progress, f"{len(begin)} start mapping(s): {', '.join(name for name, _ in begin)}")
    best: tuple[float, np.ndarray, str, bool, dict] | None = None
    interrupted = False
    # Keep time for scoring the refined starts and the result, so that the mapping ends near the time
    # limit, not one evaluation or more past it. The lower bound the result reports is computed after
    # it (by ``finish``): on the full applications it takes 10-30 s, which the refinement needs more.
    clock = time.perf_counter()
    if begin:
        evaluate(network, hardware, begin[0][1], comm, link_loads=False)
    reserve = 2.5 * (time.perf_counter() - clock)
    # Held back for settle_cores on the best start: its cluster flow and its check cost about an evaluation each.
    settle_time = SETTLE_EVALS * (time.perf_counter() - clock)
    for i, (name, core_of) in enumerate(begin):
        left = timer.left() - reserve - settle_time
        share = max(0.0, left) / (len(begin) - i) if np.isfinite(left) else None
        sub = Timer(share, parent=timer)
        improved, stopped, st = refine(network, hardware, core_of, comm=comm, timer=sub, seed=seed + i,
                                       progress=progress, **options)
        ctrl_c = st.get("stop") == "interrupt"
        interrupted |= stopped and (timer.left() <= reserve + settle_time or ctrl_c)
        rep = evaluate(network, hardware, improved, comm, link_loads=False)
        if rep.feasible and (best is None or rep.total < best[0]):
            best = (rep.total, improved, name, stopped, st)
        if ctrl_c:
            break  # the user asked to stop: return the best so far
    if best is None:
        return finish(network, hardware, None, method="partition-refine", timer=timer, seed=seed, comm=comm,
                      message="; ".join(notes) or "no feasible start mapping")
    energy, core_of, name, _, st = best
    # Regroup the partial sums' targets and re-place the cores for the refined partition (heuristics.replace).
    # Its rounds stop on their gain, or on the run's own budget (not on settle_time, a wall-clock measure:
    # the same seed then gives the same mapping whenever the budget is not spent).
    settled = settle_cores(network, hardware, core_of, comm=comm, timer=timer, seed=seed)
    rep = None if np.array_equal(settled, core_of) else evaluate(network, hardware, settled, comm, link_loads=False)
    if rep is not None and rep.feasible and rep.total < energy:
        energy, core_of, st = rep.total, settled, {**st, "settled": True}
    rounds = ils_rounds if ils_rounds is not None else _default_ils_rounds(network)
    kicks = 0
    if rounds and not interrupted:
        energy, core_of, kicks, stopped = _iterated_local_search(network, hardware, core_of, energy, comm=comm,
                                                                 rounds=rounds, seed=seed, timer=timer, **options)
        interrupted |= stopped
    return finish(network, hardware, core_of, method="partition-refine", timer=timer, seed=seed, comm=comm,
                  interrupted=interrupted, stats={"start": name, **st, "ils_improvements": kicks})


def _colocated_or(network: SpikingNetwork, hardware: Hardware, cluster_of: np.ndarray, core_of: np.ndarray, *,
                  comm: str, method: str, timer: Timer, seed: int, effort: float) -> tuple[str, np.ndarray]:
    """The tiling start, or a variant of it with convolutions' inputs on their output tiles
    (:mod:`heuristics.colocate`: the network's inputs only, then every layer pair), placed the
    same way, whichever the evaluator prices lowest (the earlier on ties). A variant is placed only
    where it is a new partition and its energy before hops (:func:`heuristics.colocate.unplaced_energy`)
    is below the tiling's: on the ``loihi`` applications none is, and the refinement keeps its time. Last the
    staggered tiles (:mod:`heuristics.staggered`, a single convolution on a mesh of one core per router), and
    those with their bands re-cut on the spikes (:mod:`heuristics.recut`)."""
    best = ("tiling", core_of, evaluate(network, hardware, core_of, comm, link_loads=False).total)
    seen = [cluster_of]
    tiling = unplaced_energy(network, hardware, cluster_of, int(cluster_of.max()) + 1)
    for pairs in PAIRS:
        colocated = colocated_clusters(network, hardware, cluster_of, pairs)
        # Placed only when its deliveries and cores cost less than the tiling's before any hop.
        if colocated is None or any(_same_partition(colocated[0], other) for other in seen) \
                or unplaced_energy(network, hardware, *colocated) >= tiling:
            continue
        seen.append(colocated[0])
        placed, _ = place_cluster_mapping(network, hardware, *colocated, comm=comm, method=method, timer=timer,
                                          seed=seed, time_share=COLOCATE_SHARE, effort=effort, image=True)
        if placed is None:
            continue
        rep = evaluate(network, hardware, placed, comm, link_loads=False)
        if rep.feasible and rep.total < best[2] * (1 - 1e-12):
            best = ("colocate", placed, rep.total)
    # Bands of co-located tiles offset like bricks, laid out on the mesh directly (no window spans a diagonal).
    staggered = staggered_mapping(network, hardware, comm)
    if staggered is not None:
        rep = evaluate(network, hardware, staggered, comm, link_loads=False)
        if rep.feasible and rep.total < best[2] * (1 - 1e-12):
            best = ("staggered", staggered, rep.total)
        # Its bands re-cut on the spikes (wider tiles in a short band, borders on darker inputs), where cheaper.
        recut = recut_mapping(network, hardware, staggered, comm, base=rep.total)
        if recut is not None:
            rep = evaluate(network, hardware, recut, comm, link_loads=False)
            if rep.feasible and rep.total < best[2] * (1 - 1e-12):
                best = ("recut", recut, rep.total)
    return best[0], best[1]


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two labellings group the neurons alike (whatever their numbers)."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if not a.size:
        return True
    b = b - b.min()
    pairs = unique_ints(a * (b.max() + 1) + b)
    return pairs.size == unique_ints(a).size == unique_ints(b).size


ILS_WORK = 200_000  # (neurons + synapses) x rounds of iterated local search by default


def _default_ils_rounds(network: SpikingNetwork) -> int:
    """Kick-and-refine rounds: many on small networks (cheap, and where local optima
    bite), none on large ones (the refinement's budget goes to the whole network)."""
    return int(min(300, ILS_WORK // max(network.num_neurons + network.num_synapses, 1)))


def _iterated_local_search(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray, energy: float, *,
                           comm: str | None, rounds: int, seed: int, timer: Any,
                           **options: Any) -> tuple[float, np.ndarray, int, bool]:
    """Kick the best mapping (swap a few neurons between cores or move one to another
    core), refine it, and keep it when it is feasible and better. A fixed number of
    rounds, seeded, so the same seed gives the same mapping."""
    rng = np.random.default_rng(seed + 7919)
    n, k = network.num_neurons, hardware.num_cores
    improvements = 0
    for r in range(rounds):
        if timer.expired():
            return energy, core_of, improvements, True
        trial = core_of.copy()
        for _ in range(1 + r % 3):
            a, b = rng.integers(0, n, 2)
            if rng.random() < 0.5:
                trial[a], trial[b] = trial[b], trial[a]
            else:
                trial[a] = rng.integers(0, k)
        if not evaluate(network, hardware, trial, comm, link_loads=False).feasible:
            continue
        improved, stopped, _ = refine(network, hardware, trial, comm=comm, timer=timer, seed=seed + r, **options)
        total = evaluate(network, hardware, improved, comm, link_loads=False).total
        if total < energy * (1 - 1e-12):
            energy, core_of = total, improved
            improvements += 1
        if stopped:
            return energy, core_of, improvements, True
    return energy, core_of, improvements, False
