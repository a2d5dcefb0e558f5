"""The spiking-network model: an immutable graph of neurons, synapses and spike counts.

A network is stored in CSR form (synapses sorted by presynaptic neuron, then
postsynaptic neuron) so that every consumer can work on whole numpy arrays.
It knows nothing of hardware, mappings or solvers.
"""

from __future__ import annotations

import dataclasses
import hashlib
from functools import cached_property
from typing import Any, Mapping, Sequence

import numpy as np


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

    def __post_init__(self) -> None:
        _validate(self)
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
        """
        try:
            n = int(num_neurons)
        except (TypeError, ValueError):
            raise NetworkError(f"num_neurons={num_neurons!r}: must be a whole number >= 1") from None
        if n < 1:
            raise NetworkError(f"num_neurons={n}: a network needs at least one neuron")
        pre_a = _int_array(pre, "pre")
        post_a = _int_array(post, "post")
        if pre_a.shape != post_a.shape:
            raise NetworkError(
                f"pre has {pre_a.size} entries but post has {post_a.size}: give one pair per synapse"
            )
        for label, arr in (("pre", pre_a), ("post", post_a)):
            if arr.size and (arr.min() < 0 or arr.max() >= n):
                bad = arr[(arr < 0) | (arr >= n)][0]
                raise NetworkError(
                    f"synapse {label} index {int(bad)} is out of range: neurons are numbered 0..{n - 1}"
                )
        w = None
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64).ravel()
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
                raise NetworkError(
                    f"duplicate synapse ({k // n}, {k % n}): merge parallel synapses into one "
                    "(their weights add) before building the network"
                )
        indices = post_a[order]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(pre_a, minlength=n), out=indptr[1:])
        pop, names = _populations(populations, population_names, n)
        pins_a = None
        if pins is not None:
            pins_a = _int_array(pins, "pins")
        return cls(
            num_neurons=n,
            indptr=indptr,
            indices=indices,
            spikes=np.asarray(spikes, dtype=np.float64).ravel().copy(),
            t_run=t_run,
            population=pop,
            population_names=names,
            weights=None if w is None else w[order],
            pins=pins_a,
            name=name,
            provenance=dict(provenance or {}),
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
        }


# ---------------------------------------------------------------- validation
def _int_array(values: Any, label: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise NetworkError(f"{label} must hold whole neuron indices; found a non-integer value")
    elif arr.dtype.kind not in "iub":
        raise NetworkError(f"{label} must be an integer array, got dtype {arr.dtype}")
    return arr.astype(np.int64).ravel()


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


def _validate(net: SpikingNetwork) -> None:
    n = net.num_neurons
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise NetworkError(f"num_neurons={n!r}: must be a whole number >= 1")
    if net.indptr.shape != (n + 1,) or net.indptr[0] != 0 or net.indptr[-1] != net.indices.size:
        raise NetworkError("indptr must have num_neurons + 1 entries, start at 0 and end at the synapse count")
    if np.any(np.diff(net.indptr) < 0):
        raise NetworkError("indptr must be non-decreasing")
    if net.indices.size and (net.indices.min() < 0 or net.indices.max() >= n):
        raise NetworkError(f"a synapse targets a neuron outside 0..{n - 1}")
    s = net.spikes
    if s.shape != (n,):
        raise NetworkError(f"spikes has {s.size} entries for {n} neurons: give one spike count per neuron")
    if not np.all(np.isfinite(s)):
        bad = int(np.flatnonzero(~np.isfinite(s))[0])
        raise NetworkError(f"spike count of neuron {bad} is {s[bad]}: spike counts must be finite numbers >= 0")
    if np.any(s < 0):
        bad = int(np.flatnonzero(s < 0)[0])
        raise NetworkError(f"spike count of neuron {bad} is {s[bad]:g}: spike counts must be >= 0")
    try:
        t_run = float(net.t_run)
    except (TypeError, ValueError):
        raise NetworkError(f"t_run={net.t_run!r}: must be a positive number of seconds") from None
    if not np.isfinite(t_run) or t_run <= 0:
        raise NetworkError(f"t_run={net.t_run!r}: must be a positive number of seconds")
    if net.population is not None:
        if net.population.shape != (n,):
            raise NetworkError("population must hold one population index per neuron")
        if net.population.size and (net.population.min() < 0 or net.population.max() >= len(net.population_names)):
            raise NetworkError("population index outside population_names")
    if net.weights is not None and net.weights.shape != net.indices.shape:
        raise NetworkError("weights must hold one value per synapse")
    if net.pins is not None:
        if net.pins.shape != (n,):
            raise NetworkError(f"pins has {net.pins.size} entries for {n} neurons: give one per neuron (-1 = free)")
        if net.pins.size and net.pins.min() < -1:
            raise NetworkError("pins must be a core index or -1 (free)")
