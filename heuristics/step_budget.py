"""The step-time budget and the latency objectives for every heuristic: one shared hook.

:func:`map_within` runs a heuristic for energy, then again with fewer neurons
allowed per core (``n_max`` halved each time: its own optimiser spreads the
load) while that is what the objective needs, and repairs each answer with
:func:`apply_step_budget`, which moves neurons off
the core that sets the step time (the busiest core's send or receive side,
see :mod:`snnmap.formulations.latency`) onto the cores where the move costs
the least energy, one move at a time, each keeping every core limit and never
raising the step time. This traces energy against step time from the
heuristic's mapping towards the fastest one it can reach:

- ``objective="energy"`` with a budget: stop at the first mapping within it
  (the cheapest on that path); none reached: ``infeasible``, naming ``max_step_time``;
- ``objective="latency"``: go as far as moves help, return the fastest;
- ``objective="weighted"``: return the mapping on the path that minimises
  ``E / E0 + t / t0`` (``E0``, ``t0``: the heuristic's own energy and step
  time), i.e. a 1 % saving of energy weighs as much as a 1 % saving of time;
  within the budget when one is given.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from snnmap.formulations.energy import evaluate
from snnmap.formulations.latency import step_time
from snnmap.formulations.result import Result, infeasible_result, result_from_mapping
from snnmap.hardware import Hardware
from snnmap.heuristics.common import CostModel, Timer, member_stride, state_from_mapping
from snnmap.heuristics.delta import apply_move, moves_eval
from snnmap.instances import SpikingNetwork

OBJECTIVES = ("energy", "latency", "weighted")
NEURON_TRIES = 8  # neurons of the bottleneck core tried per step, largest contribution first
CORE_TRIES = 16  # cheapest destination cores tried per neuron
SOURCE_TRIES = 4  # busiest cores tried as sources per step
POLISH_PASSES = 2  # energy-saving passes over the neurons once the step time is met
MAX_MOVES_PER_NEURON = 4  # a guard: moves never raise the step time, but may trade busy time between cores


def map_within(network: SpikingNetwork, hardware: Hardware, run: Callable[[Hardware], Result], *,
               objective: str = "energy", comm: str | None = None, time_limit: float | None = None) -> Result:
    """A heuristic's answer within ``hardware.limits.max_step_time``, best for ``objective``.

    ``run(chip)`` runs the heuristic on ``chip`` (the budget removed). Rounds:
    the chip as given, then ``n_max`` halved from the most neurons the last
    answer put on a core, each answer repaired (:func:`apply_step_budget`).
    ``energy``: rounds until the heuristic's own answer meets the budget (fewer
    neurons per core cost energy), the cheapest repaired answer wins; ``latency``: rounds go on
    while the step time falls, the fastest wins; ``weighted``: the same rounds,
    the lowest ``E / E0 + t / t0`` wins (``E0``, ``t0``: the first answer's).
    The runtime adds up over the rounds.
    """
    free = hardware.replace(max_step_time=None)
    results: list[Result] = []
    n_cap = hardware.limits.n_max
    first = None
    while True:
        raw = run(free.replace(n_max=n_cap))
        if first is None:
            first = raw
        if raw.mapping is None or raw.status == "interrupted":
            break
        fixed = apply_step_budget(network, hardware.replace(n_max=n_cap), raw, objective=objective, comm=comm,
                                  time_limit=time_limit)
        if fixed.report is not None:
            fixed = dataclasses.replace(fixed, stats=dict(fixed.stats, n_max_round=n_cap))
        results.append(fixed)
        good = [r for r in results if r.report is not None and r.report.feasible]
        if objective == "energy" and raw.report.step_time <= hardware.limits.max_step_time:
            break  # the heuristic meets the budget by itself: spreading further only costs energy
        if objective != "energy" and len(good) >= 2 and good[-1].report.step_time >= good[-2].report.step_time:
            break
        n_cap = min(n_cap, int(np.bincount(raw.mapping).max())) // 2
        if n_cap < 1 or n_cap * hardware.num_cores < network.num_neurons:
            break
    runtime = sum(r.runtime for r in results) or first.runtime
    good = [r for r in results if r.report is not None and r.report.feasible]
    if not good:
        last = results[-1] if results else first
        return dataclasses.replace(last, runtime=runtime)
    if objective == "latency":
        best = min(good, key=lambda r: (r.report.step_time, r.report.total))
    elif objective == "weighted":
        e0, t0 = first.report.total, first.report.step_time
        best = min(good, key=lambda r: r.report.total / e0 + r.report.step_time / t0)
    else:
        best = min(good, key=lambda r: r.report.total)
    # Scored again on the chip as given (its own n_max): the rounds' lower caps are the method's choice.
    out = result_from_mapping(network, hardware, best.mapping, method=best.method, status=best.status,
                              runtime=runtime, seed=best.seed, lower_bound=best.lower_bound, comm=comm,
                              message=best.message, stats=best.stats)
    return dataclasses.replace(out, log_path=best.log_path)


def apply_step_budget(network: SpikingNetwork, hardware: Hardware, result: Result, *, objective: str = "energy",
                      comm: str | None = None, time_limit: float | None = None) -> Result:
    """``result`` moved within ``hardware.limits.max_step_time`` and towards ``objective`` (module docstring).

    A result without a mapping, or one already within the budget with the
    energy objective, comes back unchanged.
    """
    budget = hardware.limits.max_step_time
    if result.mapping is None or (objective == "energy" and budget is None):
        return result
    timer = Timer(time_limit)
    free = hardware.replace(max_step_time=None)
    start = np.asarray(result.mapping, dtype=np.int64)
    if not evaluate(network, free, start, comm, link_loads=False).feasible:
        return result  # a core limit is broken already: the evaluator's verdict stands
    energy, times, moves = _descend(network, free, start, comm, budget if objective == "energy" else None, timer)
    ok = times <= budget * (1 + 1e-9) if budget is not None else np.ones(times.size, dtype=bool)
    method = result.method
    runtime = result.runtime + timer.elapsed()
    if not ok.any():
        return infeasible_result(
            network, hardware, f"max_step_time={budget:g} s not met: the fastest mapping reached from {method}'s "
            f"takes {times.min():.4g} s per step (raise the budget or try another method)", method=method,
            runtime=runtime, seed=result.seed, comm=comm, stats=result.stats)
    if objective == "latency":
        pick = int(np.argmin(np.where(ok, times, np.inf)))
    elif objective == "weighted":
        pick = int(np.argmin(np.where(ok, energy / energy[0] + times / times[0], np.inf)))
    else:
        pick = int(np.flatnonzero(ok)[0])
    core_of = start.copy()
    for j, c in moves[:pick].tolist():
        core_of[j] = c
    core_of, polished = _polish(network, free, core_of, comm, times[pick], timer)
    stats = dict(result.stats, step_moves=pick, polish_moves=polished, objective=objective)
    out = result_from_mapping(network, hardware, core_of, method=method, status=result.status,
                              runtime=runtime, seed=result.seed, lower_bound=result.lower_bound, comm=comm,
                              message=result.message, stats=stats)
    return dataclasses.replace(out, log_path=result.log_path)


def _polish(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray, comm: str | None, bound: float,
            timer: Timer, passes: int = POLISH_PASSES) -> tuple[np.ndarray, int]:
    """Moves that save energy and keep the step time within ``bound`` (the repair's moves can overshoot).

    Each neuron, busiest first, goes to the cheapest core (energy falls, every
    limit kept) whose step time stays within ``bound``. Returns the mapping and the moves made.
    """
    state = state_from_mapping(network, hardware, core_of, comm)
    args, cost, stride = state.args(), CostModel.of(hardware).args(), member_stride(state)
    k = hardware.num_cores
    cand = np.arange(k, dtype=np.int64)
    cpos, cbv = np.full(k, -1, dtype=np.int64), np.zeros(k, dtype=np.int64)
    d_out, ok_out = np.zeros(k), np.zeros(k, dtype=np.bool_)
    tol = 1e-12 * evaluate(network, hardware, core_of, comm, link_loads=False).total
    made = 0
    for _ in range(passes):
        gained = False
        for j in np.argsort(-network.spikes, kind="stable"):
            if timer.expired():
                return state.core_of.copy(), made
            a = int(state.core_of[j])
            moves_eval(args, cost, j, cand, k, cpos, cbv, d_out, ok_out)
            ok_out[a] = False
            better = np.flatnonzero(ok_out & (d_out < -tol))
            for c in better[np.argsort(d_out[better], kind="stable")][:CORE_TRIES]:
                apply_move(args, stride, j, c)
                if step_time(network, hardware, state.core_of, comm).total <= bound * (1 + 1e-9):
                    made += 1
                    gained = True
                    break
                apply_move(args, stride, j, a)
        if not gained:
            break
    return state.core_of.copy(), made


def _descend(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray, comm: str | None,
             stop_at: float | None, timer: Timer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Energy and step time from ``core_of`` on, after each accepted move, and the moves (neuron, core).

    Stops when the step time is within ``stop_at``, when no move of the
    bottleneck core's neurons lowers its busy time without raising the step
    time, or when the time limit is spent.
    """
    lat = hardware.latency
    state = state_from_mapping(network, hardware, core_of, comm)
    args, cost, stride = state.args(), CostModel.of(hardware).args(), member_stride(state)
    rate = np.asarray(network.spikes, dtype=np.float64) / float(network.steps)
    k = hardware.num_cores
    energy = evaluate(network, hardware, core_of, comm, link_loads=False).total
    st = step_time(network, hardware, state.core_of, comm)
    energies, times, moves = [energy], [st.total], []
    cand = np.arange(k, dtype=np.int64)
    cpos, cbv = np.full(k, -1, dtype=np.int64), np.zeros(k, dtype=np.int64)
    d_out, ok_out = np.zeros(k), np.zeros(k, dtype=np.bool_)
    rec_of = np.bincount(network.post, weights=rate[network.pre], minlength=network.num_neurons)
    while not timer.expired() and len(moves) < MAX_MOVES_PER_NEURON * network.num_neurons and (
            stop_at is None or st.total > stop_at * (1 + 1e-9)):
        move = None
        # The bottleneck first; the next busiest cores when no move off it helps (a move there can
        # load another core, e.g. the senders of a dense layer gain a destination core each).
        for b in np.argsort(-st.busy, kind="stable")[:SOURCE_TRIES]:
            move = _best_move(state, args, cost, stride, b, st, rate, rec_of, lat, network, hardware, comm,
                              (cand, cpos, cbv, d_out, ok_out))
            if move is not None:
                break
        if move is None:
            break
        j, c, delta, st = move
        energy += delta
        energies.append(energy)
        times.append(st.total)
        moves.append((j, c))
    return np.array(energies), np.array(times), np.array(moves, dtype=np.int64).reshape(-1, 2)


def _best_move(state, args, cost, stride, b, st, rate, rec_of, lat, network, hardware, comm, work):
    """The cheapest move off core ``b`` that lowers its busy time without raising the step time, made.

    Returns ``(neuron, core, energy change, new step time)`` or ``None`` (nothing changed).
    """
    cand, cpos, cbv, d_out, ok_out = work
    members = state.members[b * stride: b * stride + state.ncount[b]]
    if st.send[b] >= st.receive[b]:
        weight = lat.t_access + rate[members] * (lat.t_spike + state.ndest[members] * lat.t_msg_out)
    else:
        weight = rec_of[members]
    for j in members[np.argsort(-weight, kind="stable")][:NEURON_TRIES]:
        moves_eval(args, cost, j, cand, cand.size, cpos, cbv, d_out, ok_out)
        ok_out[b] = False
        order = np.argsort(np.where(ok_out, d_out, np.inf), kind="stable")
        for c in order[:CORE_TRIES]:
            if not ok_out[c]:
                break
            apply_move(args, stride, j, c)
            new = step_time(network, hardware, state.core_of, comm)
            if new.total <= st.total * (1 + 1e-12) and new.busy[b] < st.busy[b] and new.busy[c] < st.busy[b]:
                return int(j), int(c), float(d_out[c]), new
            apply_move(args, stride, j, b)
    return None
