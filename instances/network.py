"""The spiking-network model: an immutable graph of neurons, synapses and spike counts.

A network is stored in CSR form (synapses sorted by presynaptic neuron, then
postsynaptic neuron) so that every consumer can work on whole numpy arrays.
It knows nothing of hardware, mappings or solvers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from functools import cached_property
from typing import Any, Mapping, Sequence

import numpy as np

from snnmap.instances.files import check_memory, finite_numbers, show_value, whole_number, whole_numbers

# Bytes of the per-neuron arrays a network and a mapping run hold (CSR pointer,
# spikes, populations, pins, degrees, mapping, scratch): the size guard's estimate.
_BYTES_PER_NEURON = 128
# Seconds per time step assumed when a network does not say how many steps ``t_run`` holds: the
# applications' simulation step (instances/apps/_common.py DT), so their t_run gives their steps exactly.
DEFAULT_DT = 1e-3


class NetworkError(ValueError):
    """A network's data is malformed; the message names the field and the fix."""


@dataclasses.dataclass(frozen=True, eq=False)
class SpikingNetwork:
    """A spiking neural network with one spike count per neuron.

    Parameters
    ----------
    num_neurons
        Number of neurons ``N``.
    indptr
        CSR row pointer, shape ``(N + 1,)``: the synapses of neuron ``i`` are
        ``indices[indptr[i]:indptr[i + 1]]``.
    indices
        Postsynaptic neuron of every synapse, sorted within each row.
    spikes
        Spike count of every neuron over one inference window (``>= 0``).
    t_run
        Duration of the inference window in seconds (static energy scales with it).
    population
        Population (layer) index of every neuron, into ``population_names``.
    population_names
        Names of the populations.
    weights
        Optional synaptic weights, aligned with ``indices``.
    pins
        Core a neuron is fixed to, or ``-1`` for free neurons; ``None`` when
        no neuron is pinned.
    name
        Short name used in reports.
    provenance
        How the network was made (builder, version, seed, data source, parameters).
    time_steps
        Simulated time steps in ``t_run`` (a per-neuron, per-step energy such as
        ``e_access`` scales with it); ``None``: ``t_run / DEFAULT_DT`` (1 ms
        steps, the applications' step), see :attr:`steps`. Not in the fingerprint:
        it prices the run, it does not change the graph or its spikes.

    Build one with :meth:`from_edges`; never mutate the arrays.
    """

    num_neurons: int
    indptr: np.ndarray
    indices: np.ndarray
    spikes: np.ndarray
    t_run: float = 1.0
    population: np.ndarray | None = None
    population_names: tuple[str, ...] = ("all",)
    weights: np.ndarray | None = None
    pins: np.ndarray | None = None
    name: str = "network"
    provenance: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    time_steps: int | None = None

    def __post_init__(self) -> None:
        # The one validation path of every reader: arrays come back as int64 / float64 or are refused.
        for key, value in _validated(self).items():
            object.__setattr__(self, key, value)
        for arr in (self.indptr, self.indices, self.spikes, self.population, self.weights, self.pins):
            if arr is not None:
                arr.setflags(write=False)

    # ------------------------------------------------------------------ build
    @classmethod
    def from_edges(
        cls,
        num_neurons: int,
        pre: Sequence[int] | np.ndarray,
        post: Sequence[int] | np.ndarray,
        spikes: Sequence[float] | np.ndarray,
        *,
        t_run: float = 1.0,
        populations: Sequence[str] | Sequence[int] | np.ndarray | None = None,
        population_names: Sequence[str] | None = None,
        weights: Sequence[float] | np.ndarray | None = None,
        pins: Sequence[int] | np.ndarray | None = None,
        name: str = "network",
        provenance: Mapping[str, Any] | None = None,
        time_steps: int | None = None,
    ) -> "SpikingNetwork":
        """Build a network from synapse endpoint arrays.

        Parameters
        ----------
        num_neurons
            Number of neurons.
        pre, post
            Presynaptic and postsynaptic neuron of every synapse (any order).
        spikes
            Spike count of every neuron (length ``num_neurons``, finite, ``>= 0``).
        t_run
            Inference window in seconds.
        populations
            Per-neuron population: either names (strings) or integer indices
            into ``population_names``.
        weights
            Optional per-synapse weights, aligned with ``pre``/``post``.
        pins
            Optional per-neuron core (``-1`` = free).
        time_steps
            Simulated time steps in ``t_run`` (default: ``t_run / DEFAULT_DT``).
        """
        n = check_num_neurons(num_neurons)
        pre_a = _neuron_ids(pre, "pre", n)
        post_a = _neuron_ids(post, "post", n)
        if pre_a.shape != post_a.shape:
            raise NetworkError(
                f"pre has {pre_a.size} entries but post has {post_a.size}: give one pair per synapse"
            )
        w = None
        if weights is not None:
            w = finite_numbers(weights, "weights", meaning="a synaptic weight", error=NetworkError)
            if w.shape != pre_a.shape:
                raise NetworkError(f"weights has {w.size} entries for {pre_a.size} synapses")
        # Sort synapses by (pre, post): the CSR order every consumer relies on.
        key = pre_a * np.int64(n) + post_a
        order = np.argsort(key, kind="stable")
        key = key[order]
        if key.size > 1:
            dup = np.flatnonzero(key[1:] == key[:-1])
            if dup.size:
                k = int(key[dup[0]])
                first, second = sorted(int(order[j]) for j in (dup[0], dup[0] + 1))
                raise NetworkError(
                    f"duplicate synapse ({k // n}, {k % n}) at entries {first} and {second} of pre/post: "
                    "merge parallel synapses into one (their weights add) before building the network"
                )
        indices = post_a[order]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre_a, minlength=n), out=indptr[1:])
        pop, names = _populations(populations, population_names, n)
        return cls(
            num_neurons=n,
            indptr=indptr,
            indices=indices,
            spikes=finite_numbers(spikes, "spikes", low=0, meaning="a spike count", error=NetworkError).copy(),
            t_run=t_run,
            population=pop,
            population_names=names,
            weights=None if w is None else w[order],
            pins=None if pins is None else np.asarray(pins),
            name=name,
            provenance=dict(provenance or {}),
            time_steps=time_steps,
        )

    def replace(self, **changes: Any) -> "SpikingNetwork":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------- accessors
    @property
    def num_synapses(self) -> int:
        return int(self.indices.size)

    @cached_property
    def pre(self) -> np.ndarray:
        """Presynaptic neuron of every synapse (CSR order)."""
        out = np.repeat(np.arange(self.num_neurons, dtype=np.int64), np.diff(self.indptr))
        out.setflags(write=False)
        return out

    @property
    def post(self) -> np.ndarray:
        """Postsynaptic neuron of every synapse (CSR order)."""
        return self.indices

    @cached_property
    def out_degree(self) -> np.ndarray:
        out = np.diff(self.indptr)
        out.setflags(write=False)
        return out

    @cached_property
    def in_degree(self) -> np.ndarray:
        out = np.bincount(self.indices, minlength=self.num_neurons).astype(np.int64)
        out.setflags(write=False)
        return out

    @property
    def steps(self) -> int:
        """Simulated time steps: ``time_steps``, else ``t_run`` in steps of ``DEFAULT_DT`` (at least 1)."""
        if self.time_steps is not None:
            return self.time_steps
        return max(1, round(self.t_run / DEFAULT_DT))

    @property
    def total_spikes(self) -> float:
        return float(self.spikes.sum())

    @cached_property
    def population_labels(self) -> np.ndarray:
        """Population name of every neuron."""
        names = np.asarray(self.population_names, dtype=object)
        pop = self.population if self.population is not None else np.zeros(self.num_neurons, np.int64)
        return names[pop]

    @cached_property
    def fingerprint(self) -> str:
        """A short hash of the graph and spike counts; mapping files carry it."""
        h = hashlib.sha256()
        h.update(np.int64(self.num_neurons).tobytes())
        h.update(np.ascontiguousarray(self.indptr, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(self.indices, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(self.spikes, dtype=np.float64).tobytes())
        return h.hexdigest()[:16]

    def __repr__(self) -> str:
        return (
            f"SpikingNetwork(name={self.name!r}, neurons={self.num_neurons}, "
            f"synapses={self.num_synapses}, spikes={self.total_spikes:g}, t_run={self.t_run:g})"
        )

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "neurons": self.num_neurons,
            "synapses": self.num_synapses,
            "total_spikes": self.total_spikes,
            "populations": len(self.population_names),
            "t_run": self.t_run,
            "time_steps": self.steps,
        }


# ---------------------------------------------------------------- validation
def check_num_neurons(value: Any) -> int:
    """``value`` as a neuron count: a whole number >= 1 whose arrays fit in this machine's memory."""
    n = whole_number(value, "num_neurons", low=1, meaning="the neuron count", error=NetworkError)
    check_memory(n * _BYTES_PER_NEURON, f"num_neurons={n}", "check the neuron count", NetworkError)
    return n


def _neuron_ids(values: Any, label: str, n: int) -> np.ndarray:
    return whole_numbers(values, label, high=n - 1, meaning="a neuron index", error=NetworkError)


def _populations(
    populations: Any, names: Sequence[str] | None, n: int
) -> tuple[np.ndarray | None, tuple[str, ...]]:
    if populations is None:
        return None, ("all",)
    arr = np.asarray(populations)
    if arr.shape != (n,):
        raise NetworkError(f"populations has {arr.size} entries for {n} neurons: give one per neuron")
    if arr.dtype.kind in "iu":
        if names is None:
            names = tuple(f"pop{k}" for k in range(int(arr.max()) + 1))
        return arr.astype(np.int64), tuple(str(x) for x in names)
    uniq, inverse = np.unique(arr.astype(str), return_inverse=True)
    # Keep populations in order of first appearance (layer order), not alphabetical.
    first = np.full(uniq.size, n, dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(n))
    rank = np.empty(uniq.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(uniq.size)
    order = np.argsort(first, kind="stable")
    return rank[inverse].astype(np.int64), tuple(str(x) for x in uniq[order])


def _validated(net: SpikingNetwork) -> dict[str, Any]:
    """Every field of ``net`` checked, arrays as int64 (indices) or float64 (values)."""
    n = check_num_neurons(net.num_neurons)
    indices = _neuron_ids(net.indices, "indices", n)
    m = indices.size
    indptr = whole_numbers(net.indptr, "indptr", high=m, meaning="a CSR row pointer", error=NetworkError)
    if indptr.shape != (n + 1,) or indptr[0] != 0 or indptr[-1] != m:
        raise NetworkError("indptr must have num_neurons + 1 entries, start at 0 and end at the synapse count")
    if np.any(np.diff(indptr) < 0):
        raise NetworkError("indptr must be non-decreasing")
    if m > 1:
        # Within a row the targets must strictly increase: a repeat is a duplicate synapse,
        # whose energy would be counted twice.
        row_start = np.zeros(m, dtype=bool)
        row_start[indptr[:-1][indptr[:-1] < m]] = True
        bad = np.flatnonzero(~row_start[1:] & (indices[1:] <= indices[:-1]))
        if bad.size:
            j = int(bad[0]) + 1
            i = int(np.searchsorted(indptr, j, side="right")) - 1
            if indices[j] == indices[j - 1]:
                raise NetworkError(f"duplicate synapse ({i}, {int(indices[j])}) at indices entry {j}: merge parallel "
                                   "synapses into one (their weights add)")
            raise NetworkError(f"indices entry {j}: the targets of neuron {i} are not sorted: "
                               "build the network with SpikingNetwork.from_edges")
    spikes = finite_numbers(net.spikes, "spikes", low=0, meaning="a spike count", error=NetworkError)
    if spikes.shape != (n,):
        raise NetworkError(f"spikes has {spikes.size} entries for {n} neurons: give one spike count per neuron")
    t_run = net.t_run
    number = not isinstance(t_run, (bool, np.bool_)) and isinstance(t_run, (int, float, np.integer, np.floating))
    # Python ints compare exactly (10**400 is refused, not an OverflowError); numpy scalars as floats.
    if not number or not 0 < (t_run if isinstance(t_run, int) else float(t_run)) <= sys.float_info.max:
        raise NetworkError(f"t_run={show_value(t_run)}: must be a positive number of seconds")
    names = tuple(net.population_names)
    if not names or not all(isinstance(x, str) for x in names):
        raise NetworkError(f"population_names={list(names)!r}: must be a non-empty list of names")
    out: dict[str, Any] = {"num_neurons": n, "indptr": indptr, "indices": indices, "spikes": spikes,
                           "population_names": names}
    if net.time_steps is not None:
        out["time_steps"] = whole_number(net.time_steps, "time_steps", low=1,
                                         meaning="the number of simulated time steps", error=NetworkError)
    if net.population is not None:
        out["population"] = whole_numbers(net.population, "population", high=len(names) - 1,
                                          meaning="a population index (into population_names)", error=NetworkError)
        if out["population"].shape != (n,):
            raise NetworkError("population must hold one population index per neuron")
    if net.weights is not None:
        out["weights"] = finite_numbers(net.weights, "weights", meaning="a synaptic weight", error=NetworkError)
        if out["weights"].shape != indices.shape:
            raise NetworkError("weights must hold one value per synapse")
    if net.pins is not None:
        out["pins"] = whole_numbers(net.pins, "pins", low=-1, meaning="a pin (a core index, or -1 = free)",
                                    error=NetworkError)
        if out["pins"].shape != (n,):
            raise NetworkError(f"pins has {out['pins'].size} entries for {n} neurons: give one per neuron (-1 = free)")
    return out
