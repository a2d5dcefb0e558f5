"""Local search on the true objective: neuron moves and swaps with incremental deltas.

The hot loop (:func:`heuristics.kernels.refine_chunk`) is numba; this module
drives it in chunks so that the time limit, progress reports and Ctrl-C are
handled between chunks, where the state is always a complete, feasible
mapping. Only moves that keep every limit are made, so a feasible start
stays feasible and the energy never rises.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnmap.formulations.energy import evaluate
from snnmap.hardware import Hardware
from snnmap.heuristics.common import CostModel, Progress, Timer, member_stride, report_progress, state_from_mapping
from snnmap.heuristics.delta import state_energy
from snnmap.heuristics.kernels import dissolve_cores, refine_chunk, seed_numba
from snnmap.instances import SpikingNetwork

CHUNK = 1 << 13  # neurons between time-limit checks (about a second on the largest networks)
MOVES_FIRST_NEURONS = 20_000  # from this size the first pass only moves (see ``refine``)


def refine(
    network: SpikingNetwork,
    hardware: Hardware,
    core_of: np.ndarray,
    *,
    comm: str | None = None,
    timer: Timer | None = None,
    seed: int = 0,
    progress: Progress = None,
    max_passes: int = 60,
    max_cand: int = 16,
    p_random: float = 0.02,
    swap_tries: int = 2,
    min_gain: float = 1e-6,
    dissolve_tries: int = 64,
    moves_first: bool | None = None,
) -> tuple[np.ndarray, bool, dict[str, Any]]:
    """Improve a feasible mapping by moves and swaps until no pass gains ``min_gain`` (relative).

    Parameters
    ----------
    core_of
        A feasible mapping (an infeasible one is returned unchanged).
    timer
        Wall-clock budget shared with the caller.
    max_cand
        Candidate cores per neuron (cores of its neighbours).
    p_random
        Chance per neuron of also trying a random core (reaches empty cores).
    swap_tries
        Swaps tried when no move helps.
    moves_first
        Skip swaps in the first pass (default: on networks of
        :data:`MOVES_FIRST_NEURONS` neurons or more). Swaps cost about twice
        the moves' time on wide networks and gain little while moves still do.
    dissolve_tries
        Least-loaded cores the search tries to empty after each pass (with
        power gating): every neuron of the core moves to its best feasible
        neighbour core, kept only if the static energy saved outweighs the
        communication added.

    Returns
    -------
    core_of, interrupted, stats
        The improved mapping, whether the time limit or Ctrl-C stopped the
        search, and counts (passes, moves, swaps, energy before and after).
    """
    timer = timer or Timer(None)
    core_of = np.ascontiguousarray(core_of, dtype=np.int64)
    stats: dict[str, Any] = {"passes": 0, "moves": 0, "swaps": 0}
    if not evaluate(network, hardware, core_of, comm, link_loads=False).feasible:
        stats["skipped"] = "start mapping breaks a limit"
        return core_of, False, stats
    st = state_from_mapping(network, hardware, core_of, comm)
    S, C, stride = st.args(), CostModel.of(hardware).args(), member_stride(st)
    energy = state_energy(S, C)
    stats["energy_start"] = energy
    n = network.num_neurons
    tol = 1e-10 * max(energy, 1e-300) / n
    rng = np.random.default_rng(seed)
    seed_numba(int(rng.integers(0, 2**31 - 1)))
    stamp = np.zeros(hardware.num_cores + 1, dtype=np.int64)
    interrupted = False
    if moves_first is None:
        moves_first = n >= MOVES_FIRST_NEURONS
    try:
        for p in range(max_passes):
            tries = 0 if (moves_first and p == 0) else swap_tries
            order = rng.permutation(n).astype(np.int64)
            gain = 0.0
            for start in range(0, n, CHUNK):
                if timer.expired():
                    interrupted = True
                    break
                d, mv, sw = refine_chunk(S, stride, C, order, start, min(n, start + CHUNK), stamp,
                                         max_cand, p_random, tries, tol)
                gain -= d
                stats["moves"] += int(mv)
                stats["swaps"] += int(sw)
            if not interrupted and st.static_e > 0:
                # Try to empty the least-loaded cores: saves their static energy.
                d, nd = dissolve_cores(S, stride, C, np.argsort(st.ncount, kind="stable").astype(np.int64),
                                       stamp, max_cand, tol, dissolve_tries)
                gain -= d
                stats["dissolved"] = stats.get("dissolved", 0) + int(nd)
            energy -= gain
            stats["passes"] = p + 1
            report_progress(progress, f"refine pass {p + 1}: energy {energy:.6g} J (mapping-dependent part)")
            if interrupted or (gain <= min_gain * max(energy, 1e-300) and tries == swap_tries):
                break
    except KeyboardInterrupt:
        interrupted = True
        stats["stop"] = "interrupt"
        timer.interrupt()
    stats["energy_end"] = energy
    # The state between chunks is a complete mapping; a Ctrl-C inside a chunk
    # lands after numba returns, so the arrays are consistent.
    return st.core_of.copy(), interrupted, stats
