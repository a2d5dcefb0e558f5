"""Shared pieces of the heuristics: the packet-cost model in numba form, the
mapping state with per-(neuron, core) target counts, and the Result helpers.

The hot loops of every heuristic (greedy placement, random placement, local
search) work on one :class:`MapState`: plain numpy arrays that numba functions
in :mod:`heuristics.delta` read and update in place. A neuron's core is ``-1``
while it is unplaced; unplaced neurons contribute no communication energy.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable

import numpy as np

from snnmap.formulations.bounds import combinatorial_lower_bound
from snnmap.formulations.result import Result, Status, infeasible_result, result_from_mapping
from snnmap.hardware import Hardware
from snnmap.heuristics.delta import place_all
from snnmap.instances import SpikingNetwork

BIG = np.int64(1) << np.int64(60)  # "unlimited" for a limit given as None

Progress = Callable[[Any], None] | None


def snake_order(hardware: Hardware) -> np.ndarray:
    """Cores in boustrophedon order over the mesh (consecutive cores are neighbours)."""
    k = hardware.num_cores
    if hardware.topology == "matrix" or hardware.mesh is None:
        return np.arange(k, dtype=np.int64)
    rows, cols = hardware.mesh
    cpt = hardware.cores_per_tile
    tiles = []
    for r in range(rows):
        cs = range(cols) if r % 2 == 0 else range(cols - 1, -1, -1)
        tiles.extend(r * cols + c for c in cs)
    tiles_a = np.asarray(tiles, dtype=np.int64)
    return (tiles_a[:, None] * cpt + np.arange(cpt)[None, :]).ravel()


@dataclasses.dataclass
class CostModel:
    """The packet cost ``cost(c, d)`` as arrays numba functions can read.

    ``ip = [topology (0 mesh, 1 torus, 2 matrix), rows, cols]``,
    ``ep = [e_local, e_route, hop_x, hop_y, e_hop]``; ``crow``/``ccol`` give
    each core's tile row and column; ``hopm`` is the hop matrix (matrix
    topology only, else a 1 x 1 dummy).
    """

    ip: np.ndarray
    ep: np.ndarray
    crow: np.ndarray
    ccol: np.ndarray
    hopm: np.ndarray

    @classmethod
    def of(cls, hardware: Hardware) -> "CostModel":
        e = hardware.energy
        ep = np.array([e.e_local, e.e_route, e.hop_x, e.hop_y, e.e_hop], dtype=np.float64)
        k = hardware.num_cores
        if hardware.chip_mesh is not None:
            # A board of chips: the exact hop energies as a matrix (``ep[4] = 1``), chip-to-chip steps included.
            k_ = np.arange(k)
            hop_e = np.ascontiguousarray(hardware.hop_energy(k_[:, None], k_[None, :]), dtype=np.float64)
            ep[4] = 1.0
            return cls(np.array([2, 1, 1], np.int64), ep, np.zeros(k, np.int64), np.zeros(k, np.int64), hop_e)
        if hardware.topology == "matrix":
            # A writable copy (the hardware's is read-only): numba types it like the mesh's dummy,
            # so one compiled kernel serves every topology.
            return cls(np.array([2, 1, 1], np.int64), ep, np.zeros(k, np.int64), np.zeros(k, np.int64),
                       np.array(hardware.hop_matrix, dtype=np.float64, order="C"))
        rows, cols = hardware.mesh  # type: ignore[misc]
        topo = 0 if hardware.topology == "mesh" else 1
        co = np.asarray(hardware.coords, dtype=np.int64)
        return cls(np.array([topo, rows, cols], np.int64), ep, co[:, 0].copy(), co[:, 1].copy(),
                   np.zeros((1, 1), np.float64))

    def args(self) -> tuple:
        return self.ip, self.ep, self.crow, self.ccol, self.hopm


@dataclasses.dataclass
class MapState:
    """Mutable mapping state shared by the numba kernels (see module docstring).

    ``slot_*`` hold, for every neuron ``i``, the distinct cores of its targets
    and how many targets sit on each (the first ``ndest[i]`` slots of
    ``slot_ptr[i]:slot_ptr[i+1]`` are in use); these are the multicast
    destinations, the per-core axons and the per-neuron destination counts.
    """

    core_of: np.ndarray
    out_ptr: np.ndarray
    out_idx: np.ndarray
    in_ptr: np.ndarray
    in_idx: np.ndarray
    spikes: np.ndarray
    indeg: np.ndarray
    has_self: np.ndarray
    pinned: np.ndarray
    slot_ptr: np.ndarray
    slot_core: np.ndarray
    slot_cnt: np.ndarray
    ndest: np.ndarray
    ncount: np.ndarray
    syncount: np.ndarray
    axcount: np.ndarray
    members: np.ndarray
    mem_pos: np.ndarray
    lim: np.ndarray  # [n_max, a_max, syn_max, dest_max]
    flags: np.ndarray  # [unicast]
    static_e: float

    def args(self) -> tuple:
        return (self.core_of, self.out_ptr, self.out_idx, self.in_ptr, self.in_idx, self.spikes, self.indeg,
                self.has_self, self.pinned, self.slot_ptr, self.slot_core, self.slot_cnt, self.ndest,
                self.ncount, self.syncount, self.axcount, self.members, self.mem_pos, self.lim, self.flags,
                self.static_e)


def in_csr(network: SpikingNetwork) -> tuple[np.ndarray, np.ndarray]:
    """Presynaptic neurons of every neuron, as CSR (``in_ptr``, ``in_idx``)."""
    order = np.argsort(network.post, kind="stable")
    in_idx = np.ascontiguousarray(network.pre[order], dtype=np.int64)
    in_ptr = np.zeros(network.num_neurons + 1, dtype=np.int64)
    np.cumsum(network.in_degree, out=in_ptr[1:])
    return in_ptr, in_idx


def new_state(network: SpikingNetwork, hardware: Hardware, comm: str | None = None) -> MapState:
    """An empty state (every neuron unplaced) for ``network`` on ``hardware``."""
    n, k = network.num_neurons, hardware.num_cores
    comm = hardware.comm if comm is None else comm
    lim = hardware.limits
    in_ptr, in_idx = in_csr(network)
    cap = np.minimum(network.out_degree, k)
    slot_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(cap, out=slot_ptr[1:])
    has_self = np.zeros(n, dtype=np.bool_)
    self_syn = network.pre == network.post
    has_self[network.pre[self_syn]] = True
    pinned = np.zeros(n, dtype=np.bool_)
    if network.pins is not None:
        pinned = network.pins >= 0
    limits = np.array([lim.n_max, lim.a_max if lim.a_max is not None else BIG,
                       lim.syn_max if lim.syn_max is not None else BIG,
                       lim.dest_max if lim.dest_max is not None else BIG], dtype=np.int64)
    st = MapState(
        core_of=np.full(n, -1, dtype=np.int64),
        out_ptr=np.ascontiguousarray(network.indptr, dtype=np.int64),
        out_idx=np.ascontiguousarray(network.indices, dtype=np.int64),
        in_ptr=in_ptr, in_idx=in_idx,
        spikes=np.ascontiguousarray(network.spikes, dtype=np.float64),
        indeg=np.ascontiguousarray(network.in_degree, dtype=np.int64),
        has_self=has_self, pinned=np.ascontiguousarray(pinned),
        slot_ptr=slot_ptr, slot_core=np.full(int(slot_ptr[-1]), -1, dtype=np.int64),
        slot_cnt=np.zeros(int(slot_ptr[-1]), dtype=np.int64), ndest=np.zeros(n, dtype=np.int64),
        ncount=np.zeros(k, dtype=np.int64), syncount=np.zeros(k, dtype=np.int64),
        axcount=np.zeros(k, dtype=np.int64),
        # Members of each core in blocks of min(n_max, N) + 1 (one spare: a swap passes through n_max + 1).
        members=np.full(k * (int(min(lim.n_max, n)) + 1), -1, dtype=np.int64),
        mem_pos=np.full(n, -1, dtype=np.int64), lim=limits,
        flags=np.array([1 if comm == "unicast" else 0], dtype=np.int64),
        static_e=float(network.t_run * hardware.energy.p_static) if hardware.power_gating else 0.0,
    )
    return st


def member_stride(state: MapState) -> int:
    return state.members.size // state.ncount.size


def state_from_mapping(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray,
                       comm: str | None = None) -> MapState:
    """A state holding a complete mapping ``core_of``."""
    st = new_state(network, hardware, comm)
    core_of = np.ascontiguousarray(core_of, dtype=np.int64)
    if np.bincount(core_of, minlength=hardware.num_cores).max() > hardware.limits.n_max:
        raise ValueError(f"the mapping puts more than n_max={hardware.limits.n_max} neurons on a core")
    place_all(core_of, st.args(), member_stride(st))
    return st


def pins_of(network: SpikingNetwork) -> np.ndarray | None:
    if network.pins is None or not np.any(network.pins >= 0):
        return None
    return network.pins


class Timer:
    """Wall-clock budget: ``left()`` seconds remain (``inf`` without a limit).

    A loop that catches Ctrl-C calls :meth:`interrupt`: the budget then counts as
    spent for this timer and its ``parent`` (a run's sub-budgets stop the run),
    and the result says ``interrupted`` rather than ``time_limit``.
    """

    def __init__(self, time_limit: float | None, parent: "Timer | None" = None) -> None:
        self.t0 = time.perf_counter()
        self.limit = None if time_limit is None else float(time_limit)
        self.parent = parent
        self.interrupted = False

    def interrupt(self) -> None:
        self.interrupted = True
        if self.parent is not None:
            self.parent.interrupt()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float:
        return np.inf if self.limit is None else self.limit - self.elapsed()

    def expired(self) -> bool:
        return self.user_stopped() or self.left() <= 0

    def user_stopped(self) -> bool:
        """Whether Ctrl-C stopped this timer or one of its parents."""
        return self.interrupted or (self.parent is not None and self.parent.user_stopped())


def report_progress(progress: Progress, value: Any) -> None:
    if progress is not None:
        progress(value)


def finish(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray | None, *, method: str,
           timer: Timer, seed: int, comm: str | None, message: str = "", interrupted: bool = False,
           stats: dict[str, Any] | None = None) -> Result:
    """Wrap a heuristic's mapping in a :class:`Result` scored by the evaluator.

    A mapping that breaks a limit comes back ``infeasible`` naming the limit
    (``result_from_mapping`` does that); a run stopped by Ctrl-C
    (:meth:`Timer.interrupt`) is ``interrupted``, one stopped by its budget
    (``interrupted=True``) ``time_limit``. Without a mapping (``core_of=None``) the run is
    ``infeasible`` with ``message`` as the reason.
    """
    if core_of is None:
        return infeasible_result(network, hardware, message, method=method, runtime=timer.elapsed(), seed=seed,
                                 comm=comm, stats=stats)
    status = (Status.INTERRUPTED if timer.interrupted else Status.TIME_LIMIT if interrupted
              else Status.FEASIBLE)
    lb = combinatorial_lower_bound(network, hardware, comm)
    return result_from_mapping(network, hardware, core_of, method=method, status=status,
                               runtime=timer.elapsed(), seed=seed, lower_bound=lb, comm=comm,
                               message=message, stats=stats)


def rng_seed(rng: np.random.Generator) -> int:
    """A seed for numba's own generator, drawn from ``rng``."""
    return int(rng.integers(0, 2**31 - 1))

