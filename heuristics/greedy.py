"""The seed paper's greedy mapping (Titirsha et al., CF 2021), in our reading.

Neurons are visited in decreasing spike traffic (spikes they send times
their synapses, plus spikes they receive). Each goes to the feasible core
that adds the least energy given the neurons already placed: packets to and
from placed neighbours in both directions, plus the static energy of opening
an empty core. Candidates are the cores holding most of its placed traffic,
the core opened last and the next empty core along a snake over the mesh;
if none can take it, every core is tried. Every limit is checked on each
placement, so the result is feasible unless some neuron fits nowhere, and
then the result says which limit blocked it.

Our addition: visiting by traffic puts neurons with unrelated inputs side by
side, so the axon limit (``a_max``) can strand a neuron with every core
open (that pass gives up once its fallback has scanned 10 cores per core of
the chip, so that failing stays cheap). The greedy is then rerun visiting
neurons in index order (layer order in our networks, so neighbours share
inputs), first with cores filled up to ``n_max``, then only to 80 %, 60 %,
45 %, 33 % and 25 % of it; the first complete mapping wins and ``stats["greedy_attempt"]`` says which.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from snnmap.formulations.bounds import precheck
from snnmap.formulations.result import Result
from snnmap.hardware import Hardware
from snnmap.heuristics.common import (
    CostModel,
    MapState,
    Progress,
    Timer,
    finish,
    member_stride,
    new_state,
    snake_order,
)
from snnmap.heuristics.compile import warm_up
from snnmap.heuristics.kernels import FAIL_NONE, FAIL_PIN, greedy_place, place_pins
from snnmap.instances import SpikingNetwork

FILL_LADDER = (1.0, 1.0, 0.8, 0.6, 0.45, 0.33, 0.25)  # the first is traffic order, the rest index order
TRAFFIC_SCAN_BUDGET_PER_CORE = 10  # fallback core scans allowed to the traffic-order attempt, per core,
TRAFFIC_SCAN_BUDGET_FLOOR = 10_000  # plus this many (small chips)


def _copy_state(st: MapState) -> MapState:
    return dataclasses.replace(st, **{f.name: getattr(st, f.name).copy() for f in dataclasses.fields(st)
                                      if isinstance(getattr(st, f.name), np.ndarray)})


def traffic(network: SpikingNetwork) -> np.ndarray:
    """Spike traffic of every neuron: sent (``s_i * out_degree``) plus received."""
    recv = np.bincount(network.post, weights=network.spikes[network.pre], minlength=network.num_neurons)
    return network.spikes * network.out_degree + recv


def blocking_limit(state: MapState, network: SpikingNetwork, hardware: Hardware, i: int) -> str:
    """Name the limit that keeps neuron ``i`` off every core (for messages)."""
    lim = hardware.limits
    if np.all(state.ncount >= lim.n_max):
        return f"n_max={lim.n_max}: every core is full when neuron {i} comes"
    free = np.flatnonzero(state.ncount < lim.n_max)
    if lim.syn_max is not None and np.all(state.syncount[free] + network.in_degree[i] > lim.syn_max):
        return f"syn_max={lim.syn_max}: no core with room for a neuron has room for neuron {i}'s synapses"
    if lim.a_max is not None:
        return (f"a_max={lim.a_max} or dest_max: no core with room can take neuron {i}'s "
                f"{int(network.in_degree[i])} input axons or its presynaptic neurons' destinations")
    return f"dest_max={lim.dest_max}: neuron {i}'s presynaptic neurons would exceed their destination cores"


def place_pinned(state: MapState, network: SpikingNetwork, hardware: Hardware, C: tuple) -> str:
    """Place pinned neurons first; empty string or the reason it fails."""
    if network.pins is None:
        return ""
    code, i = place_pins(state.args(), member_stride(state), C, np.ascontiguousarray(network.pins, dtype=np.int64))
    if code == FAIL_PIN:
        return f"pin: neuron {i} is pinned to core {int(network.pins[i])}, where it breaks a core limit"
    return ""


def greedy_mapping(network: SpikingNetwork, hardware: Hardware, comm: str | None = None,
                   max_cand: int = 8, order: np.ndarray | None = None) -> tuple[np.ndarray | None, str]:
    """The greedy mapping and a note (which attempt succeeded), or ``None`` and why it failed."""
    problem = precheck(network, hardware)
    if problem:
        return None, problem
    st = new_state(network, hardware, comm)
    C = CostModel.of(hardware).args()
    problem = place_pinned(st, network, hardware, C)
    if problem:
        return None, problem
    pinned_only = _copy_state(st)
    if order is None:
        order = np.argsort(-traffic(network), kind="stable")
    order = np.ascontiguousarray(order, dtype=np.int64)
    natural = np.arange(network.num_neurons, dtype=np.int64)
    snake = snake_order(hardware)
    n_max = hardware.limits.n_max
    first_problem = ""
    for attempt, fill in enumerate(FILL_LADDER):
        if attempt > 0:
            order = natural
        cap = max(1, int(n_max * fill))
        if fill < 1.0 and cap * hardware.num_cores < network.num_neurons:
            break
        trial = st if fill == 1.0 else _copy_state(st)
        trial.lim = trial.lim.copy()
        trial.lim[0] = cap
        # The traffic order may strand neurons: bound its fallback scans so that it fails
        # fast (AlexNet:full on 17,822 crossbars: 140 s to fail without the bound).
        budget = (TRAFFIC_SCAN_BUDGET_PER_CORE * hardware.num_cores + TRAFFIC_SCAN_BUDGET_FLOOR
                  if attempt == 0 else -1)
        code, i = greedy_place(trial.args(), member_stride(trial), C, order, snake, max_cand, budget)
        if code == FAIL_NONE:
            return trial.core_of.copy(), "" if attempt == 0 else f"attempt {attempt}: index order, fill {fill:g}"
        if not first_problem:
            first_problem = blocking_limit(trial, network, hardware, int(i))
        if pinned_only is not None:
            st = _copy_state(pinned_only)
    return None, first_problem


def solve(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
          comm: str | None = None, progress: Progress = None, max_cand: int = 8, **_: object) -> Result:
    """Map with the seed paper's greedy (see the module docstring).

    Parameters
    ----------
    max_cand
        Cores holding placed neighbours that are evaluated per neuron.
    time_limit, seed, progress
        Accepted for the common signature; the greedy is deterministic and one pass.
    """
    warm_up(progress)  # compile before the clock starts: the time limit is the method's
    timer = Timer(time_limit)
    core_of, note = greedy_mapping(network, hardware, comm, max_cand)
    if core_of is None:
        return finish(network, hardware, None, method="greedy", timer=timer, seed=seed, comm=comm, message=note)
    return finish(network, hardware, core_of, method="greedy", timer=timer, seed=seed, comm=comm,
                  message=note, stats={"greedy_attempt": note or "traffic order"})
