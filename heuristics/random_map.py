"""Random feasible mapping: the floor every method must clear.

Neurons in a random order each go to a uniformly random core that can still
take them (all limits checked). When that process runs out of room (typical
when the axon limit binds: neurons with unrelated inputs exhaust a core's
axons long before its neuron slots), the fallback keeps the feasibility of a
sequential fill and randomises the rest: the fill's core-sized groups of
neurons are placed on randomly chosen cores.
"""

from __future__ import annotations

import numpy as np

from snnmap.formulations.bounds import precheck
from snnmap.formulations.result import Result
from snnmap.hardware import Hardware
from snnmap.heuristics.common import CostModel, Progress, Timer, finish, member_stride, new_state
from snnmap.heuristics.compile import warm_up
from snnmap.heuristics.greedy import blocking_limit, place_pinned
from snnmap.heuristics.kernels import FAIL_NONE, random_place, seed_numba
from snnmap.heuristics.partition import fill_order
from snnmap.instances import SpikingNetwork


def solve(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
          comm: str | None = None, progress: Progress = None, tries: int = 16, **_: object) -> Result:
    """Map every neuron to a random feasible core (seeded by ``seed``)."""
    warm_up(progress)  # compile before the clock starts: the time limit is the method's
    timer = Timer(time_limit)
    problem = precheck(network, hardware)
    st = new_state(network, hardware, comm)
    C = CostModel.of(hardware).args()
    problem = problem or place_pinned(st, network, hardware, C)
    if problem:
        return finish(network, hardware, None, method="random", timer=timer, seed=seed, comm=comm, message=problem)
    rng = np.random.default_rng(seed)
    seed_numba(int(rng.integers(0, 2**31 - 1)))
    order = rng.permutation(network.num_neurons).astype(np.int64)
    code, i = random_place(st.args(), member_stride(st), C, order, tries)
    if code == FAIL_NONE:
        return finish(network, hardware, st.core_of.copy(), method="random", timer=timer, seed=seed, comm=comm)
    why = blocking_limit(st, network, hardware, int(i))
    pinned = network.pins is not None and bool(np.any(network.pins >= 0))
    cluster_of, runs, problem = fill_order(network, hardware)
    if pinned or problem or runs > hardware.num_cores:
        return finish(network, hardware, None, method="random", timer=timer, seed=seed, comm=comm, message=why)
    cores = rng.permutation(hardware.num_cores)[:runs]
    return finish(network, hardware, cores[cluster_of], method="random", timer=timer, seed=seed, comm=comm,
                  message="random groups: neuron-level random placement ran out of room", stats={"fallback": why})
