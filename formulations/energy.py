"""The energy formulation and the one evaluator that scores every method.

``E = E_neuron + E_synapse + E_comm + E_static`` (docs/formulation.md):

- ``E_neuron  = N * T * e_access + sum_i s_i * e_spike``       (mapping-independent;
  ``T`` = the network's time steps: every neuron's soma is accessed every step)
- ``E_synapse = sum_(i,j) s_i * e_syn``                        (mapping-independent)
- ``E_static  = t_run * p_static * (#cores used, or K without power gating)``
- ``E_comm    = sum_i s_i * comm_i`` where, with ``D(i)`` the cores of ``i``'s targets,
  multicast: ``comm_i = sum_{d in D(i)} cost(core(i), d)``,
  unicast:   ``comm_i = sum_{j in post(i)} cost(core(i), core(j))``,
  ``cost(c, c) = e_local`` and ``cost(c, d) = e_route + hop energy(c -> d)``.

Everything is computed on whole arrays: no Python loop over neurons or synapses.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from snnmap.formulations.arrays import unique_ints
from snnmap.formulations.latency import StepTime, step_time
from snnmap.hardware import COMM_MODELS, Hardware, HardwareError
from snnmap.instances import SpikingNetwork
from snnmap.instances.files import read_text, whole_number, whole_numbers, write_text
from snnmap.instances.sanafe_yaml import read_sanafe_yaml

TERMS = ("neuron", "synapse", "comm", "static")
_TABLE_CORES = 2048  # up to this many cores the K x K cost tables (<= 32 MiB) are used


class MappingError(ValueError):
    """A mapping does not fit its network or hardware; the message says how to fix it."""


@dataclasses.dataclass(frozen=True)
class Violation:
    """One kind of violated limit, with every core (or neuron) that breaks it.

    ``where`` holds core indices for per-core limits (``n_max``, ``a_max``,
    ``syn_max``) and neuron indices for per-neuron ones (``fanin_max``,
    ``dest_max``, ``pin``); ``amount`` the value found there; ``allowed`` the limit.
    """

    limit: str
    kind: str  # "core" or "neuron"
    where: np.ndarray
    amount: np.ndarray
    allowed: int | float

    @property
    def count(self) -> int:
        return int(self.where.size)

    def __str__(self) -> str:
        shown = ", ".join(f"{self.kind} {w}: {a:g}" for w, a in zip(self.where[:3].tolist(), self.amount[:3].tolist()))
        more = f" and {self.count - 3} more" if self.count > 3 else ""
        if self.limit == "pin":
            return f"pin broken on {self.count} neuron(s) ({shown}{more}: on another core than pinned)"
        return f"{self.limit}={self.allowed} exceeded on {self.count} {self.kind}(s) ({shown}{more})"


@dataclasses.dataclass(frozen=True, eq=False)
class EnergyReport:
    """Everything the evaluator measures for one mapping.

    Attributes
    ----------
    total
        Total energy in joules.
    terms
        Energy by term: ``neuron``, ``synapse``, ``comm``, ``static``.
    comm_model
        ``"multicast"`` or ``"unicast"``.
    packets
        Spike packets that leave their core (each spike times its remote destinations).
    local_packets
        Spike deliveries inside the sending core.
    hop_packets
        Packets times hops travelled.
    cores_used
        Cores holding at least one neuron.
    core_neurons, core_axons, core_synapses
        Per-core loads (length ``K``).
    link_load
        Packets over every directed mesh link under XY routing: arrays
        ``east``/``west`` of shape ``(rows, cols - 1)`` and ``south``/``north``
        of shape ``(rows - 1, cols)``; ``None`` for other topologies.
    violations
        Every violated limit (empty when the mapping is feasible).
    interchip_packets
        On a board of several chips (``Hardware.chip_mesh``), the packets
        (spikes times destination cores) that go from one chip to another;
        ``None`` on one chip.
    step
        Time per step (:class:`~snnmap.formulations.latency.StepTime`), or
        ``None`` when the chip has no latency numbers.
    """

    total: float
    terms: dict[str, float]
    comm_model: str
    packets: float
    local_packets: float
    hop_packets: float
    cores_used: int
    core_neurons: np.ndarray
    core_axons: np.ndarray
    core_synapses: np.ndarray
    link_load: dict[str, np.ndarray] | None
    violations: tuple[Violation, ...]
    interchip_packets: float | None = None
    step: StepTime | None = None

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def step_time(self) -> float | None:
        """Seconds per time step (``None`` without the chip's latency numbers)."""
        return None if self.step is None else self.step.total

    @property
    def max_link_load(self) -> float:
        """Congestion: the largest packet count on one link (0 without link loads)."""
        if not self.link_load:
            return 0.0
        return float(max((a.max() if a.size else 0.0) for a in self.link_load.values()))

    def summary(self) -> dict[str, Any]:
        """Plain numbers for tables and JSON."""
        return {
            "energy": self.total,
            **{f"E_{k}": v for k, v in self.terms.items()},
            "comm_model": self.comm_model,
            "packets": self.packets,
            "local_packets": self.local_packets,
            "hop_packets": self.hop_packets,
            "cores_used": self.cores_used,
            "max_link_load": self.max_link_load,
            "feasible": self.feasible,
            "violations": [str(v) for v in self.violations],
            **({} if self.interchip_packets is None else {"interchip_packets": self.interchip_packets}),
            **(self.step.summary() if self.step is not None else {}),
        }


# ------------------------------------------------------------------ evaluator
def check_mapping(network: SpikingNetwork, hardware: Hardware, mapping: Any) -> np.ndarray:
    """The mapping as an int64 array ``core_of``, or a :class:`MappingError` saying what is wrong."""
    core_of = getattr(mapping, "core_of", mapping)
    try:
        arr = np.asarray(core_of)
    except (TypeError, ValueError):
        raise MappingError("a mapping must be a sequence of core indices, one per neuron") from None
    if arr.ndim != 1 or arr.size != network.num_neurons:
        raise MappingError(
            f"mapping has {arr.size} entries but the network has {network.num_neurons} neurons: "
            "give one core per neuron"
        )
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise MappingError("mapping must hold whole core indices")
    elif arr.dtype.kind not in "iu":
        raise MappingError(f"mapping must hold core indices (integers), got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    k = hardware.num_cores
    if arr.size and (arr.min() < 0 or arr.max() >= k):
        bad = int(np.flatnonzero((arr < 0) | (arr >= k))[0])
        raise MappingError(
            f"neuron {bad} is mapped to core {int(arr[bad])}, which does not exist: "
            f"{hardware.name} has cores 0..{k - 1}"
        )
    return arr


def destination_pairs(network: SpikingNetwork, core_of: np.ndarray, num_cores: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (neuron, destination core) pairs: ``D(i)`` for every neuron, as two arrays.

    These are the multicast packets and, per core, the input axons.
    """
    key = unique_ints(network.pre * np.int64(num_cores) + core_of[network.post])
    return key // num_cores, key % num_cores


def evaluate(
    network: SpikingNetwork,
    hardware: Hardware,
    mapping: Any,
    comm: str | None = None,
    *,
    link_loads: bool = True,
) -> EnergyReport:
    """Score a mapping: energy by term, traffic, loads and violated limits.

    Parameters
    ----------
    network, hardware
        The instance.
    mapping
        Core of every neuron (array or :class:`Mapping`).
    comm
        ``"multicast"`` or ``"unicast"``; defaults to the hardware's model.
    link_loads
        Compute per-link traffic under XY routing (mesh only).
    """
    comm = hardware.comm if comm is None else comm
    if comm not in COMM_MODELS:
        raise MappingError(f"comm={comm!r}: must be 'multicast' or 'unicast'")
    core_of = check_mapping(network, hardware, mapping)
    k = hardware.num_cores
    e = hardware.energy
    s = network.spikes
    pre, post = network.pre, network.post

    pair_neuron, pair_core = destination_pairs(network, core_of, k)
    if comm == "multicast":
        src, dst, w = core_of[pair_neuron], pair_core, s[pair_neuron]
    else:
        src, dst, w = core_of[pre], core_of[post], s[pre]
    if k <= _TABLE_CORES:
        # Aggregate packets into a core-to-core traffic matrix first: everything
        # after this works on at most K^2 core pairs instead of every packet.
        traffic = np.bincount(src * k + dst, weights=w, minlength=k * k)
        flat = np.flatnonzero(traffic)
        src, dst, w = flat // k, flat % k, traffic[flat]
        hops = hardware.distance.ravel().take(flat)
        cost = hardware.cost_matrix.ravel().take(flat)
    else:
        hops = hardware.hops(src, dst)
        cost = hardware.packet_cost(src, dst)
    local = src == dst
    core_neurons = np.bincount(core_of, minlength=k)
    used = int(np.count_nonzero(core_neurons))
    cores_powered = used if hardware.power_gating else k
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below, with its cause
        terms = {
            "neuron": _neuron_energy(network, hardware),
            "synapse": float(np.dot(s, network.out_degree) * e.e_syn),
            "comm": float(np.dot(w, cost)),
            "static": float(network.t_run * e.p_static * cores_powered),
        }
        total = float(sum(terms.values()))
    _check_finite(terms, total, hardware)
    core_axons = np.bincount(pair_core, minlength=k)
    core_synapses = np.bincount(core_of[post], minlength=k)
    dest_count = np.bincount(pair_neuron, minlength=network.num_neurons)
    step = step_time(network, hardware, core_of, comm) if hardware.latency is not None else None
    return EnergyReport(
        total=total,
        terms=terms,
        comm_model=comm,
        packets=float(w[~local].sum()),
        local_packets=float(w[local].sum()),
        hop_packets=float(np.dot(w, hops)),
        cores_used=used,
        core_neurons=core_neurons,
        core_axons=core_axons,
        core_synapses=core_synapses,
        link_load=_link_loads(hardware, src[~local], dst[~local], w[~local]) if link_loads else None,
        interchip_packets=(None if hardware.chip_mesh is None
                           else float(w[hardware.chip_of(src) != hardware.chip_of(dst)].sum())),
        violations=_violations(network, hardware, core_of, core_neurons, core_axons, core_synapses, dest_count)
        + _step_violation(hardware, step),
        step=step,
    )


def _step_violation(hardware: Hardware, step: StepTime | None) -> tuple[Violation, ...]:
    """``max_step_time`` broken: named with the core that sets the step time."""
    budget = hardware.limits.max_step_time
    if budget is None or step is None or step.total <= budget * (1 + 1e-9):
        return ()
    return (Violation("max_step_time", "core", np.array([step.bottleneck]), np.array([step.total]), budget),)


_TERM_FIELDS = {"neuron": "e_spike, e_access", "synapse": "e_syn", "comm": "e_local, e_route, e_hop",
                "static": "p_static"}


def _check_finite(terms: dict[str, float], total: float, hardware: Hardware) -> None:
    """Refuse an energy beyond the float range: an infinite total must never be reported as feasible."""
    if np.isfinite(total):
        return
    bad = [k for k, v in terms.items() if not np.isfinite(v)] or list(terms)
    fields = ", ".join(_TERM_FIELDS[k] for k in bad)
    raise HardwareError(
        f"{hardware.source if hardware.source != 'code' else hardware.name}: energy "
        f"{', '.join('E_' + k for k in bad)} overflows to {total} (beyond the float range): "
        f"check {fields} (joules per event; p_static in watts) and the network's spike counts"
    )


def _neuron_energy(network: SpikingNetwork, hardware: Hardware) -> float:
    """``E_neuron``: every neuron's soma access at every time step, plus ``e_spike`` per spike."""
    e = hardware.energy
    access = float(network.num_neurons) * float(network.steps) * e.e_access
    return float(access + network.spikes.sum() * e.e_spike)


def fixed_energy(network: SpikingNetwork, hardware: Hardware) -> float:
    """The mapping-independent part: ``E_neuron + E_synapse`` (the mappers never see it)."""
    with np.errstate(over="ignore"):  # an overflow makes inf here and is refused by evaluate()
        return _neuron_energy(network, hardware) + float(
            np.dot(network.spikes, network.out_degree) * hardware.energy.e_syn)


def _violations(
    network: SpikingNetwork,
    hardware: Hardware,
    core_of: np.ndarray,
    core_neurons: np.ndarray,
    core_axons: np.ndarray,
    core_synapses: np.ndarray,
    dest_count: np.ndarray,
) -> tuple[Violation, ...]:
    lim = hardware.limits
    checks = (
        ("n_max", "core", core_neurons, lim.n_max),
        ("a_max", "core", core_axons, lim.a_max),
        ("syn_max", "core", core_synapses, lim.syn_max),
        ("fanin_max", "neuron", network.in_degree, lim.fanin_max),
        ("dest_max", "neuron", dest_count, lim.dest_max),
    )
    out = []
    for name, kind, load, allowed in checks:
        if allowed is None:
            continue
        bad = np.flatnonzero(load > allowed)
        if bad.size:
            out.append(Violation(name, kind, bad, load[bad], int(allowed)))
    if network.pins is not None:
        bad = np.flatnonzero((network.pins >= 0) & (network.pins != core_of))
        if bad.size:
            out.append(Violation("pin", "neuron", bad, core_of[bad], -1))
    return tuple(out)


def _link_loads(hardware: Hardware, src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray] | None:
    """Packets over each directed link under XY routing (x first, then y).

    Each packet adds its weight to a contiguous run of links in one row and
    one column; difference arrays plus a cumulative sum turn all runs into
    loads at once.
    """
    if hardware.topology != "mesh":
        return None
    rows, cols = hardware.mesh  # type: ignore[misc]
    tile_src = src // hardware.cores_per_tile
    tile_dst = dst // hardware.cores_per_tile
    r1, c1 = tile_src // cols, tile_src % cols
    r2, c2 = tile_dst // cols, tile_dst % cols

    def runs(line: np.ndarray, a: np.ndarray, b: np.ndarray, weight: np.ndarray, n_lines: int,
             length: int) -> np.ndarray:
        # Links k joins positions k and k+1; a run from a to b (a < b) covers links a..b-1.
        diff = np.bincount(line * (length + 1) + a, weights=weight, minlength=n_lines * (length + 1))
        diff -= np.bincount(line * (length + 1) + b, weights=weight, minlength=n_lines * (length + 1))
        return np.cumsum(diff.reshape(n_lines, length + 1).astype(np.float64), axis=1)[:, : max(length - 1, 0)]

    east, west = c2 > c1, c2 < c1
    south, north = r2 > r1, r2 < r1
    return {
        "east": runs(r1[east], c1[east], c2[east], w[east], rows, cols),
        "west": runs(r1[west], c2[west], c1[west], w[west], rows, cols),
        # The vertical leg runs in the destination column.
        "south": runs(c2[south], r1[south], r2[south], w[south], cols, rows).T,
        "north": runs(c2[north], r2[north], r1[north], w[north], cols, rows).T,
    }


# ------------------------------------------------------------------- mappings
@dataclasses.dataclass(frozen=True, eq=False)
class Mapping:
    """The core of every neuron, with what it was made for."""

    core_of: np.ndarray
    network_fingerprint: str | None = None
    hardware: str | None = None
    num_cores: int | None = None
    mesh: tuple[int, int] | None = None
    method: str | None = None
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)


def save_mapping(
    path: str | Path,
    core_of: np.ndarray,
    network: SpikingNetwork,
    hardware: Hardware,
    *,
    method: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write a mapping file (JSON) carrying the network's fingerprint."""
    doc = {
        "format": "snnmap-mapping",
        "version": 1,
        "network": network.name,
        "network_fingerprint": network.fingerprint,
        "num_neurons": network.num_neurons,
        "hardware": hardware.name,
        "num_cores": hardware.num_cores,
        "mesh": list(hardware.mesh) if hardware.mesh else None,
        "method": method,
        "meta": meta or {},
        "core_of": np.asarray(core_of, dtype=np.int64).tolist(),
    }
    return write_text(path, json.dumps(doc))


def load_mapping(path: str | Path, network: SpikingNetwork | None = None) -> Mapping:
    """Read a mapping file; with ``network``, refuse one made for another network.

    A file is a JSON object written by :func:`save_mapping`, a bare list of
    cores, or a SANA-FE network file (``.yaml``) whose ``mappings`` section
    places every neuron on a Loihi core (``hardware`` is then ``loihi``).
    Cores, ``num_cores``, ``num_neurons`` and ``mesh`` must be whole
    numbers (not ``true``, ``"2"`` or ``2.6``); errors name the file, the field and the entry.
    """
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _sanafe_mapping(path, network)
    try:
        doc = json.loads(read_text(path, "mapping", MappingError))
    except json.JSONDecodeError as exc:
        raise MappingError(f"{path}: not valid JSON ({exc})") from None
    if isinstance(doc, list):  # a bare list of cores, e.g. from another tool
        doc = {"core_of": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("core_of"), list):
        raise MappingError(f"{path}: field 'core_of' (a list with the core of every neuron) is missing")
    try:
        core_of = whole_numbers(doc["core_of"], "core_of", meaning="a core index", error=MappingError)
        sizes = {key: whole_number(doc[key], key, low=1, meaning=meaning, error=MappingError)
                 for key, meaning in (("num_cores", "the core count"), ("num_neurons", "the neuron count"))
                 if doc.get(key) is not None}
        mesh = doc.get("mesh")
        if mesh is not None:
            if not isinstance(mesh, list) or len(mesh) != 2:
                raise MappingError(f"field 'mesh'={mesh!r}: must be [rows, cols]")
            mesh = tuple(int(v) for v in whole_numbers(mesh, "mesh", low=1, meaning="a mesh size", error=MappingError))
    except MappingError as exc:
        raise MappingError(f"{path}: {exc}") from None
    fp = doc.get("network_fingerprint")
    if network is not None and fp is not None and fp != network.fingerprint:
        raise MappingError(
            f"{path}: this mapping was made for network {doc.get('network')!r} (fingerprint {fp}), "
            f"not for {network.name!r} (fingerprint {network.fingerprint}): map this network again"
        )
    return Mapping(
        core_of=core_of,
        network_fingerprint=fp,
        hardware=doc.get("hardware"),
        num_cores=sizes.get("num_cores"),
        mesh=mesh,
        method=doc.get("method"),
        meta=doc.get("meta") or {},
    )


def _sanafe_mapping(path: Path, network: SpikingNetwork | None) -> Mapping:
    """The ``mappings`` section of a SANA-FE network file, in snnmap's core numbers."""
    read = read_sanafe_yaml(path)
    if not read.mapped:
        first = int(np.flatnonzero(read.core_of < 0)[0])
        raise MappingError(f"{path}: neuron {first} (and maybe more) has no core in the file's 'mappings' section: "
                           "map every neuron")
    theirs = read.network
    same = network is None or (network.num_neurons == theirs.num_neurons and np.array_equal(
        network.indptr, theirs.indptr) and np.array_equal(network.indices, theirs.indices))
    if not same:
        raise MappingError(f"{path}: this file's mapping is for network {theirs.name!r} "
                           f"({theirs.num_neurons} neurons), not for {network.name!r}: give its own network")
    mesh = tuple(read.mesh)
    return Mapping(core_of=read.core_of, hardware="loihi", num_cores=mesh[0] * mesh[1] * read.cores_per_tile,
                   mesh=mesh, method="SANA-FE file", meta={"source": str(path)})
