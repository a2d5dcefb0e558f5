"""SANA-FE co-simulation: run SANA-FE on its own files, replay snnmap mappings in it, export its files.

SANA-FE (Boyle et al., SLAM-Lab; ``pip install sanafe``) simulates a mapped
spiking network on an architecture calibrated against Loihi silicon
(``sanafe/examples/loihi.yaml``). Three uses:

- :func:`simulate_file`: SANA-FE's own simulation of one of its network files
  (e.g. ``dvs.yaml``), optionally with another mapping, giving per-neuron spike
  counts in :func:`snnmap.instances.sanafe_yaml.read_sanafe_yaml`'s order.
- :func:`replay`: a snnmap network and mapping rebuilt in SANA-FE through its
  Python API. Every neuron is an input soma playing back an evenly spaced spike
  train with its snnmap spike count over ``steps`` time steps; every synapse is
  present with weight 0 (so nothing else fires); neurons sit on the same cores.
  The input somas carry the Loihi LIF soma's costs (``loihi.yaml``'s own input
  somas cost nothing), so the energy is the one the real network would draw
  for the same spikes.
- :func:`export`: SANA-FE's own YAML files (architecture, and network with its
  mapping and spike trains) for people who run SANA-FE themselves.

:func:`loihi_formula` is the closed form of SANA-FE's energy and simple-model
time per step for such a replay; it matches the simulator (see the tests).

What SANA-FE cannot express is refused up front (:func:`check_expressible`).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.metadata
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from snnmap.hardware import EnergyCosts, Hardware, Limits
from snnmap.instances import SpikingNetwork
from snnmap.instances.files import write_text
from snnmap.instances.sanafe_yaml import (
    LOIHI_CORES_PER_TILE,
    LOIHI_MESH,
    SanafeFile,
    address_from_core,
    read_sanafe_yaml,
)

MAX_INPUT_SOMAS = 1024  # loihi.yaml: loihi_inputs[0..1023]; an input soma unit holds one spike train
SYNAPSE_UNITS = {"dense": "loihi_dense_synapse", "sparse": "loihi_sparse_synapse", "conv": "loihi_conv_synapse"}
TIMING_MODELS = ("simple", "detailed")


class SanafeError(ValueError):
    """SANA-FE is missing, or cannot express a network, chip or mapping; the message says which."""


# --------------------------------------------------------------- the package
def require_sanafe() -> Any:
    """The ``sanafe`` module, or a one-line :class:`SanafeError` naming the extra to install."""
    try:
        return importlib.import_module("sanafe")
    except ImportError:
        raise SanafeError('SANA-FE is not installed: pip install "snnmap[sanafe]" (or pip install sanafe)') from None


def sanafe_version() -> str:
    """Installed SANA-FE version (``""`` when not installed)."""
    try:
        return importlib.metadata.version("sanafe")
    except importlib.metadata.PackageNotFoundError:
        return ""


@dataclasses.dataclass(frozen=True)
class LoihiConstants:
    """SANA-FE's Loihi costs (joules, seconds), read from its installed ``loihi.yaml``.

    ``synapse`` and ``latency_synapse`` map a synapse kind (``dense``,
    ``sparse``, ``conv``) to its per-synaptic-spike cost; ``sync`` maps a count
    of tiles in use to the barrier time (SANA-FE takes the largest key not above it).
    """

    version: str
    source: str
    e_access: float
    e_update: float
    e_spike_out: float
    e_message_out: float
    e_message_in: float
    e_hop_ew: float
    e_hop_ns: float
    synapse: dict[str, float]
    t_access: float
    t_update: float
    t_spike_out: float
    t_message_out: float
    t_message_in: float
    t_hop_ew: float
    t_hop_ns: float
    latency_synapse: dict[str, float]
    sync: dict[int, float]
    mesh: tuple[int, int]
    cores_per_tile: int
    max_neurons: int

    def sync_time(self, tiles_used: int) -> float:
        """Barrier time of one step with ``tiles_used`` tiles holding neurons."""
        keys = sorted(self.sync)
        below = [k for k in keys if k <= tiles_used]
        return self.sync[below[-1] if below else keys[0]]


@functools.lru_cache(maxsize=1)
def loihi_constants() -> LoihiConstants:
    """Read SANA-FE's installed ``examples/loihi.yaml`` (its calibrated Loihi)."""
    try:
        import yaml
    except ImportError:
        raise SanafeError("reading SANA-FE's architecture needs PyYAML: pip install pyyaml") from None
    path = Path(require_sanafe().__file__).parent / "examples" / "loihi.yaml"
    arch = yaml.safe_load(path.read_text())["architecture"]
    tile = arch["tile"][0]
    core = tile["core"][0]
    lif = next(s["attributes"] for s in core["soma"] if s["attributes"].get("model") == "leaky_integrate_fire")
    syn = {s["name"]: s["attributes"] for s in core["synapse"]}
    ain = core["axon_in"][0]["attributes"]
    aout = core["axon_out"][0]["attributes"]
    hop = tile["attributes"]
    if hop["energy_east_hop"] != hop["energy_west_hop"] or hop["energy_north_hop"] != hop["energy_south_hop"]:
        raise SanafeError(f"{path}: east/west or north/south hop costs differ; snnmap has one per axis")
    cores_per_tile = _range_count(core["name"])
    return LoihiConstants(
        version=sanafe_version(),
        source=str(path),
        e_access=float(lif["energy_access_neuron"]),
        e_update=float(lif["energy_update_neuron"]),
        e_spike_out=float(lif["energy_spike_out"]),
        e_message_out=float(aout["energy_message_out"]),
        e_message_in=float(ain["energy_message_in"]),
        e_hop_ew=float(hop["energy_east_hop"]),
        e_hop_ns=float(hop["energy_north_hop"]),
        synapse={k: float(syn[v]["energy_process_spike"]) for k, v in SYNAPSE_UNITS.items()},
        t_access=float(lif["latency_access_neuron"]),
        t_update=float(lif["latency_update_neuron"]),
        t_spike_out=float(lif["latency_spike_out"]),
        t_message_out=float(aout["latency_message_out"]),
        t_message_in=float(ain["latency_message_in"]),
        t_hop_ew=float(hop["latency_east_hop"]),
        t_hop_ns=float(hop["latency_north_hop"]),
        latency_synapse={k: float(syn[v]["latency_process_spike"]) for k, v in SYNAPSE_UNITS.items()},
        sync={int(k): float(v) for k, v in arch["attributes"]["latency_sync"].items()},
        mesh=(int(arch["attributes"]["height"]), int(arch["attributes"]["width"])),
        cores_per_tile=cores_per_tile,
        max_neurons=int(core["attributes"]["max_neurons_supported"]),
    )


def _range_count(name: str) -> int:
    """Units in a SANA-FE name such as ``loihi_core[0..3]`` (1 without a range)."""
    if "[" not in name:
        return 1
    first, last = name[name.index("[") + 1: name.index("]")].split("..")
    return int(last) - int(first) + 1


def sanafe_loihi_hardware(
    mesh: tuple[int, int] = LOIHI_MESH, *, n_max: int = MAX_INPUT_SOMAS, synapse: str = "dense",
) -> Hardware:
    """A snnmap chip carrying SANA-FE's Loihi costs, read from the installed SANA-FE.

    ``e_access`` per neuron per time step, ``e_spike`` update plus spike-out
    (charged per spike), ``e_syn`` the chosen synapse kind, ``e_local = e_route``
    the message cost (SANA-FE charges it per destination core, its own
    included), hops per axis, no static power. With the default arguments its
    costs are those of the ``loihi`` preset (a test checks that they agree).
    """
    c = loihi_constants()
    if synapse not in c.synapse:
        raise SanafeError(f"synapse={synapse!r}: choose one of {', '.join(c.synapse)}")
    msg = c.e_message_out + c.e_message_in
    return Hardware(
        name="loihi-sanafe",
        limits=Limits(n_max=n_max),
        energy=EnergyCosts(
            e_spike=c.e_update + c.e_spike_out, e_syn=c.synapse[synapse], e_local=msg, e_route=msg,
            e_hop=c.e_hop_ew, e_hop_x=c.e_hop_ew, e_hop_y=c.e_hop_ns, p_static=0.0, e_access=c.e_access,
        ),
        topology="mesh",
        mesh=tuple(mesh),
        cores_per_tile=c.cores_per_tile,
        comm="multicast",
        notes=f"SANA-FE {c.version} {c.source}",
    )


# ------------------------------------------------------------------- refusals
def check_expressible(
    network: SpikingNetwork, hardware: Hardware, core_of: Any, steps: int | None = None,
) -> np.ndarray:
    """The mapping as ``int64`` cores when SANA-FE can replay it; else a one-line :class:`SanafeError`.

    Refused: a chip that is not a Loihi (named ``loihi...``, a mesh of 4-core
    tiles within SANA-FE's 8 x 4), unicast, ``e_local != e_route`` (SANA-FE charges a
    message to the own core like any other), a mapping of another length or
    off the chip, more than 1,024 neurons (input somas) on a core, and spike
    counts that are not whole numbers or exceed ``steps``.
    """
    mesh = hardware.mesh if hardware.topology == "mesh" else None
    rows, cols = LOIHI_MESH
    if (
        not hardware.name.lower().startswith("loihi") or mesh is None
        or hardware.cores_per_tile != LOIHI_CORES_PER_TILE or mesh[0] > rows or mesh[1] > cols
    ):
        raise SanafeError(
            f"chip {hardware.name!r} ({hardware.describe()}) is not one SANA-FE models: use loihi "
            f"(a mesh of at most {rows}x{cols} tiles with {LOIHI_CORES_PER_TILE} cores each)"
        )
    if hardware.comm != "multicast":
        raise SanafeError(f"chip {hardware.name!r} is unicast: SANA-FE sends one message per destination core")
    if hardware.energy.e_local != hardware.energy.e_route:
        raise SanafeError(
            f"chip {hardware.name!r} has e_local={hardware.energy.e_local:g} != e_route={hardware.energy.e_route:g}: "
            "SANA-FE charges a message to the sender's own core like any other; set e_local = e_route"
        )
    arr = np.asarray(getattr(core_of, "core_of", core_of))
    if arr.shape != (network.num_neurons,) or arr.dtype.kind not in "iu":
        raise SanafeError(
            f"the mapping has shape {arr.shape} ({arr.dtype}) for {network.num_neurons} neurons: "
            "give one whole core index per neuron (is it a mapping of another network?)"
        )
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= hardware.num_cores):
        raise SanafeError(f"the mapping uses cores outside 0..{hardware.num_cores - 1} of {hardware.name!r}")
    load = np.bincount(arr, minlength=hardware.num_cores)
    if load.max() > MAX_INPUT_SOMAS:
        core = int(np.argmax(load))
        raise SanafeError(
            f"core {core} holds {int(load[core])} neurons: SANA-FE's Loihi core has {MAX_INPUT_SOMAS} input somas"
        )
    s = network.spikes
    if np.any(s != np.round(s)):
        raise SanafeError("spike counts must be whole numbers to replay them as spike trains")
    if steps is not None and s.size and s.max() > steps:
        raise SanafeError(f"a neuron spikes {int(s.max())} times: replay over at least that many steps (steps={steps})")
    return arr


PHASES = ("aligned", "staggered")


def spike_trains(spikes: np.ndarray, steps: int, phase: str = "aligned") -> np.ndarray:
    """``(N, steps)`` booleans: neuron ``i``'s ``s_i`` spikes evenly spaced over the steps.

    ``aligned``: spike ``k`` at step ``floor((k + 1/2) * steps / s_i)``, so neurons with
    the same count fire together (bursts). ``staggered``: at ``floor((k + f_i) * steps / s_i)``
    with ``f_i`` the fractional part of ``i`` times the golden ratio, so no two neurons
    are locked in phase and every step carries about the mean load (the evaluator's
    step time assumes that, see ``formulations/latency.py``).
    """
    if phase not in PHASES:
        raise SanafeError(f"phase={phase!r}: choose {' or '.join(PHASES)}")
    s = np.asarray(spikes, dtype=np.int64)
    neuron = np.repeat(np.arange(s.size), s)
    k = np.arange(neuron.size) - np.repeat(np.cumsum(s) - s, s)
    out = np.zeros((s.size, steps), dtype=bool)
    if phase == "aligned":
        out[neuron, ((2 * k + 1) * steps) // (2 * s[neuron])] = True
    else:
        offset = np.modf(np.arange(s.size) * 0.6180339887498949)[0]
        out[neuron, np.floor((k + offset[neuron]) * steps / s[neuron]).astype(np.int64)] = True
    return out


def synapse_kinds(synapse: str | np.ndarray | SanafeFile, n: int) -> np.ndarray:
    """Per-neuron synapse kind (``dense``, ``sparse`` or ``conv``) of each neuron's incoming synapses.

    ``synapse`` is one kind for all, a per-neuron array of kinds, or a
    :class:`SanafeFile` (its groups' ``synapse_hw_name``, e.g. ``loihi_conv_synapse``;
    unset means dense). SANA-FE charges a synapse by its postsynaptic neuron's unit.
    """
    if isinstance(synapse, SanafeFile):
        by_unit = {unit: kind for kind, unit in SYNAPSE_UNITS.items()} | {k: k for k in SYNAPSE_UNITS} | {"": "dense"}
        unknown = sorted(set(synapse.synapse_hw) - set(by_unit))
        if unknown:
            raise SanafeError(f"synapse unit(s) {', '.join(unknown)} are not Loihi's "
                              f"({', '.join(SYNAPSE_UNITS.values())})")
        kinds = np.array([by_unit[u] for u in synapse.synapse_hw], dtype=object)
    else:
        kinds = np.asarray(synapse, dtype=object)
        kinds = np.full(n, kinds.item(), dtype=object) if kinds.ndim == 0 else kinds
    if kinds.shape != (n,):
        raise SanafeError(f"synapse kinds: {kinds.size} given for {n} neurons")
    bad = sorted(set(kinds.tolist()) - set(SYNAPSE_UNITS))
    if bad:
        raise SanafeError(f"synapse kind(s) {', '.join(map(str, bad))}: choose from {', '.join(SYNAPSE_UNITS)}")
    return kinds


# ------------------------------------------------------------------- formula
@dataclasses.dataclass(frozen=True)
class SanafeResult:
    """Energy and time of one replay (from SANA-FE or from :func:`loihi_formula`).

    ``energy`` holds ``total`` and SANA-FE's terms ``synapse``, ``dendrite``,
    ``soma``, ``network``; ``messages`` counts spike messages (one per
    destination core, own included), ``hops`` message-hops; ``step_time``
    is simulated seconds per time step; ``updates`` counts soma updates
    (charged ``e_update``; in a replay only firing neurons update).
    """

    steps: int
    energy: dict[str, float]
    messages: int
    hops: int
    step_time: float
    spikes: int
    updates: int
    timing_model: str

    @classmethod
    def from_sim(cls, res: dict[str, Any], steps: int, timing_model: str) -> "SanafeResult":
        """From the dict ``SpikingChip.sim`` returns (run with ``perf_trace=True``)."""
        return cls(
            steps=int(res["timesteps_executed"]), energy=dict(res["energy"]), messages=int(res["packets_sent"]),
            hops=int(np.sum(res["perf_trace"]["hops"])), step_time=float(res["sim_time"]) / steps,
            spikes=int(res["neurons_fired"]), updates=int(res["neurons_updated"]), timing_model=timing_model,
        )

    def relative_to(self, other: "SanafeResult") -> dict[str, float]:
        """Relative difference of total energy and step time against ``other``."""
        return {
            "energy": abs(self.energy["total"] - other.energy["total"]) / max(abs(other.energy["total"]), 1e-300),
            "step_time": abs(self.step_time - other.step_time) / max(abs(other.step_time), 1e-300),
        }


def loihi_formula(
    network: SpikingNetwork, core_of: np.ndarray, steps: int, *,
    mesh: tuple[int, int] = LOIHI_MESH, synapse: str | np.ndarray | SanafeFile = "dense",
    constants: LoihiConstants | None = None, phase: str = "aligned",
) -> SanafeResult:
    """SANA-FE's energy and simple-model time per step of a replay, in closed form (numpy).

    Energy (``D(i)`` = cores of ``i``'s targets, own core included; ``s_i`` spikes):

    - soma: ``N * steps * e_access + sum_i s_i * (e_update + e_spike_out)``
    - synapse: ``sum_(i->j) s_i * e_syn[kind(j)]`` (one kind: ``sum_i s_i * outdeg(i) * e_syn``)
    - network: ``sum_i s_i * |D(i)| * (e_message_out + e_message_in)
      + sum_i s_i * sum_{d in D(i)} (dx * e_hop_ew + dy * e_hop_ns)``

    Time of step ``t`` (SANA-FE's ``simple`` model): the largest, over cores,
    of the neuron side (every neuron's access, update and spike-out for those
    firing, message-out per message sent) and the message side (message-in
    plus the synapses of every message received), plus the barrier time for
    the tiles in use. The ``detailed`` model adds network and queueing
    effects and is not reproduced here.
    """
    c = constants or loihi_constants()
    rows, cols = mesh
    k = rows * cols * c.cores_per_tile
    core_of = np.asarray(core_of, dtype=np.int64)
    n = network.num_neurons
    s = np.asarray(network.spikes, dtype=np.int64)
    pre, post = network.pre, network.post
    kinds = synapse_kinds(synapse, n)
    e_syn = np.array([c.synapse[x] for x in kinds.tolist()])
    t_syn = np.array([c.latency_synapse[x] for x in kinds.tolist()])
    # One (neuron, destination core) pair per message route.
    route, route_of_synapse = np.unique(pre * k + core_of[post], return_inverse=True)
    r_pre, r_dst = route // k, route % k
    src_tile, dst_tile = core_of[r_pre] // c.cores_per_tile, r_dst // c.cores_per_tile
    dx = np.abs(src_tile % cols - dst_tile % cols)
    dy = np.abs(src_tile // cols - dst_tile // cols)
    routes = np.bincount(r_pre, minlength=n)
    hops = np.bincount(r_pre, weights=dx + dy, minlength=n)
    hop_e = np.bincount(r_pre, weights=dx * c.e_hop_ew + dy * c.e_hop_ns, minlength=n)
    e_msg = c.e_message_out + c.e_message_in
    soma = n * steps * c.e_access + float(s.sum()) * (c.e_update + c.e_spike_out)
    syn = float(np.dot(s[pre], e_syn[post]))
    net = float(np.dot(s, routes)) * e_msg + float(np.dot(s, hop_e))
    energy = {"total": soma + syn + net, "synapse": syn, "dendrite": 0.0, "soma": soma, "network": net}

    fire = spike_trains(s, steps, phase).astype(np.float64)  # (N, steps)
    tiles_used = np.unique(core_of // c.cores_per_tile).size
    per_neuron = c.t_update + c.t_spike_out + routes * c.t_message_out
    neuron_side = np.zeros((k, steps))
    np.add.at(neuron_side, core_of, fire * per_neuron[:, None])
    neuron_side += (np.bincount(core_of, minlength=k) * c.t_access)[:, None]
    # Each route delivers one message: message-in plus its synapses on that core.
    route_cost = c.t_message_in + np.bincount(route_of_synapse, weights=t_syn[post], minlength=route.size)
    message_side = np.zeros((k, steps))
    np.add.at(message_side, r_dst, fire[r_pre] * route_cost[:, None])
    per_step = np.maximum(neuron_side.max(axis=0), message_side.max(axis=0)) + c.sync_time(tiles_used)
    return SanafeResult(
        steps=steps, energy=energy, messages=int(np.dot(s, routes)), hops=int(round(float(np.dot(s, hops)))),
        step_time=float(per_step.mean()), spikes=int(s.sum()), updates=int(s.sum()), timing_model="simple",
    )


# ---------------------------------------------------------------- SANA-FE runs
def _check_run(steps: int, timing_model: str) -> None:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise SanafeError(f"steps={steps!r}: give a whole number of time steps >= 1")
    if timing_model not in TIMING_MODELS:
        raise SanafeError(f"timing_model={timing_model!r}: choose {' or '.join(TIMING_MODELS)}")


def replay(
    network: SpikingNetwork, hardware: Hardware, core_of: Any, steps: int, *,
    synapse: str | np.ndarray | SanafeFile = "dense", timing_model: str = "simple", phase: str = "aligned",
) -> SanafeResult:
    """Rebuild ``network`` on ``core_of`` in SANA-FE, replay its spike counts, simulate ``steps`` steps.

    ``synapse``: the synapse kind(s), see :func:`synapse_kinds`; ``phase``: how the
    trains sit in time, see :func:`spike_trains` (the energy does not depend on it).
    """
    sanafe = require_sanafe()
    _check_run(steps, timing_model)
    cores = check_expressible(network, hardware, core_of, steps)
    c = loihi_constants()
    with tempfile.TemporaryDirectory(prefix="snnmap-sanafe-") as tmp:
        arch_path = Path(tmp) / "arch.yaml"
        arch_path.write_text(architecture_yaml(hardware.mesh, c))
        arch = sanafe.load_arch(str(arch_path))
    net = sanafe.Network()
    kinds = synapse_kinds(synapse, network.num_neurons).tolist()
    group = net.create_neuron_group("snnmap", network.num_neurons, {})
    trains = spike_trains(network.spikes, steps, phase)
    slot = _slots(cores)
    tile, offset = address_from_core(cores, hardware.mesh, hardware.cores_per_tile)
    arch_cores = arch.cores()
    per_tile = hardware.cores_per_tile
    for i, neuron in enumerate(group.neurons):
        neuron.set_attributes(
            soma_hw_name=f"replay[{slot[i]}]", default_synapse_hw_name=kinds[i],
            model_attributes={"spikes": trains[i].tolist()},
        )
        neuron.map_to_core(arch_cores[int(tile[i]) * per_tile + int(offset[i])])
    pairs = list(zip(network.pre.tolist(), network.post.tolist()))
    if pairs:
        group.connect_neurons_sparse(group, {"weight": [0.0] * len(pairs)}, pairs)
    chip = sanafe.SpikingChip(arch)
    chip.load(net)
    res = chip.sim(steps, timing_model=timing_model, processing_threads=1, perf_trace=True)
    return SanafeResult.from_sim(res, steps, timing_model)


def _slots(cores: np.ndarray) -> np.ndarray:
    """Rank of every neuron among the neurons of its core: the input soma unit it plays on."""
    order = np.argsort(cores, kind="stable")
    first = np.searchsorted(cores[order], cores[order])
    slot = np.empty_like(cores)
    slot[order] = np.arange(cores.size) - first
    return slot


def simulate_file(
    path: str | Path, steps: int, *, core_of: np.ndarray | None = None, timing_model: str = "detailed",
) -> tuple[SanafeFile, SanafeResult]:
    """SANA-FE's own simulation of its network file for ``steps`` steps on its Loihi.

    For ``dvs.yaml`` use 128 steps, the frame length of its authors' DVS-gesture
    runs (SANA-FE ``scripts/tcad2025/dvs_gesture.py``).

    The network is SANA-FE's, neurons and all (e.g. ``dvs.yaml``'s LIF
    neurons driven by bias). ``core_of`` (snnmap cores) replaces the file's
    ``mappings``. Returns the file read by snnmap with spike counts set from the
    simulation (``time_steps`` = ``steps``; ``t_run`` = SANA-FE's simulated
    time) and SANA-FE's result.
    """
    sanafe = require_sanafe()
    _check_run(steps, timing_model)
    path = Path(path)
    read = read_sanafe_yaml(path)
    target = path
    with tempfile.TemporaryDirectory(prefix="snnmap-sanafe-") as tmp:
        if core_of is not None:
            cores = np.asarray(core_of, dtype=np.int64)
            if cores.shape != (read.network.num_neurons,):
                raise SanafeError(f"core_of has {cores.size} entries for {read.network.num_neurons} neurons")
            target = Path(tmp) / path.name
            text = path.read_text()
            cut = text.find("\nmappings:")
            if cut < 0:
                raise SanafeError(f"{path}: no top-level 'mappings:' section to replace")
            target.write_text(text[: cut + 1] + _mappings_yaml(read, cores))
        arch = sanafe.load_loihi()
        net = sanafe.load_net(str(target), arch)
    for group in net.groups.values():  # every spike counted, whatever the file asks to log
        for neuron in group.neurons:
            neuron.set_attributes(log_spikes=True)
    chip = sanafe.SpikingChip(arch)
    chip.load(net)
    res = chip.sim(steps, timing_model=timing_model, processing_threads=1, spike_trace=True, perf_trace=True)
    counts = np.zeros(read.network.num_neurons)
    names = {g: i for i, g in enumerate(read.groups)}
    fired = [(names[a.group_name], a.neuron_offset) for step in res["spike_trace"] for a in step]
    if fired:
        g, off = np.asarray(fired, dtype=np.int64).T
        np.add.at(counts, read.offsets[g] + off, 1)
    prov = dict(read.network.provenance, spikes=f"SANA-FE {sanafe_version()} simulation of {steps} steps")
    network = read.network.replace(spikes=counts, t_run=float(res["sim_time"]), provenance=prov, time_steps=steps)
    return dataclasses.replace(read, network=network), SanafeResult.from_sim(res, steps, timing_model)


def _mappings_yaml(read: SanafeFile, cores: np.ndarray) -> str:
    tile, offset = address_from_core(cores, read.mesh, read.cores_per_tile)
    group = np.repeat(np.arange(len(read.groups)), np.diff(read.offsets))
    local = np.arange(cores.size) - read.offsets[group]
    lines = [
        f"- {{'{read.groups[g]}.{i}': {{core: '{t}.{o}'}}}}"
        for g, i, t, o in zip(group.tolist(), local.tolist(), tile.tolist(), offset.tolist())
    ]
    return "mappings:\n" + "\n".join(lines) + "\n"


# --------------------------------------------------------------------- export
def architecture_yaml(mesh: tuple[int, int], constants: LoihiConstants | None = None) -> str:
    """SANA-FE architecture text for a replay: Loihi tiles and costs, input somas priced as the LIF soma.

    Its synapse units are named by kind (``dense``, ``sparse``, ``conv``).
    """
    c = constants or loihi_constants()
    rows, cols = mesh
    synapses = "\n".join(
        f"            - name: {kind}\n"
        f"              attributes: {{model: current_based, energy_process_spike: {c.synapse[kind]!r}, "
        f"latency_process_spike: {c.latency_synapse[kind]!r}}}"
        for kind in SYNAPSE_UNITS
    )
    sync = ", ".join(f"{k}: {v!r}" for k, v in sorted(c.sync.items()))
    return f"""# SANA-FE architecture written by snnmap: SANA-FE {c.version}'s Loihi ({c.source})
#  on {cols} x {rows} tiles, with input somas that cost what its LIF soma costs.
architecture:
  name: snnmap_loihi_replay
  attributes:
    topology: mesh
    width: {cols}
    height: {rows}
    link_buffer_size: 16
    sync_model: table
    latency_sync: {{{sync}}}
  tile:
    - name: tile[0..{rows * cols - 1}]
      attributes:
        energy_north_hop: {c.e_hop_ns!r}
        latency_north_hop: {c.t_hop_ns!r}
        energy_south_hop: {c.e_hop_ns!r}
        latency_south_hop: {c.t_hop_ns!r}
        energy_east_hop: {c.e_hop_ew!r}
        latency_east_hop: {c.t_hop_ew!r}
        energy_west_hop: {c.e_hop_ew!r}
        latency_west_hop: {c.t_hop_ew!r}
      core:
        - name: core[0..{c.cores_per_tile - 1}]
          attributes: {{buffer_position: soma, buffer_inside_unit: false, max_neurons_supported: {c.max_neurons}}}
          axon_in:
            - name: axon_in
              attributes: {{energy_message_in: {c.e_message_in!r}, latency_message_in: {c.t_message_in!r}}}
          soma:
            - name: replay[0..{MAX_INPUT_SOMAS - 1}]
              attributes:
                model: input
                energy_access_neuron: {c.e_access!r}
                latency_access_neuron: {c.t_access!r}
                energy_update_neuron: {c.e_update!r}
                latency_update_neuron: {c.t_update!r}
                energy_spike_out: {c.e_spike_out!r}
                latency_spike_out: {c.t_spike_out!r}
          dendrite:
            - name: dendrite
              attributes: {{model: accumulator, energy_update: 0.0, latency_update: 0.0}}
          synapse:
{synapses}
          axon_out:
            - name: axon_out
              attributes: {{energy_message_out: {c.e_message_out!r}, latency_message_out: {c.t_message_out!r}}}
"""


def network_yaml(
    network: SpikingNetwork, core_of: np.ndarray, steps: int, mesh: tuple[int, int],
    synapse: str | np.ndarray | SanafeFile = "dense",
) -> str:
    """SANA-FE network text of a replay: one group, spike trains, a sparse edge of weight 0, the mapping."""
    cores = np.asarray(core_of, dtype=np.int64)
    kinds = synapse_kinds(synapse, network.num_neurons).tolist()
    trains = spike_trains(network.spikes, steps).astype(np.int8)
    slot = _slots(cores)
    tile, offset = address_from_core(cores, mesh, LOIHI_CORES_PER_TILE)
    neurons = [
        f"      - {i}: {{soma_hw_name: 'replay[{s}]', synapse_hw_name: {kind}, spikes: [{','.join(map(str, row))}]}}"
        for i, (s, kind, row) in enumerate(zip(slot.tolist(), kinds, trains.tolist()))
    ]
    pairs = np.stack([network.pre, network.post], axis=1)
    pair_text = ",".join(f"[{a},{b}]" for a, b in pairs.tolist())
    zeros = ",".join(["0"] * len(pairs))
    edges = (
        f"  - snnmap -> snnmap: {{type: sparse, source_target_pairs: [{pair_text}], weight: [{zeros}]}}\n"
        if len(pairs) else ""
    )
    maps = [f"- {{'snnmap.{i}': {{core: '{t}.{o}'}}}}" for i, (t, o) in enumerate(zip(tile.tolist(), offset.tolist()))]
    return (
        f"# SANA-FE network written by snnmap: {network.name} ({network.fingerprint}), "
        f"spike counts replayed over {steps} steps\n"
        "network:\n"
        f"  name: {network.name}\n"
        "  groups:\n"
        "  - name: snnmap\n"
        "    attributes: {log_spikes: false, log_potential: false}\n"
        "    neurons:\n" + "\n".join(neurons) + "\n"
        "  edges:\n" + (edges or "  []\n") + "mappings:\n" + "\n".join(maps) + "\n"
    )


def export(
    network: SpikingNetwork, hardware: Hardware, core_of: Any, steps: int, out_dir: str | Path, *,
    synapse: str | np.ndarray | SanafeFile = "dense",
) -> tuple[Path, Path]:
    """Write ``arch.yaml`` and ``network.yaml`` for SANA-FE into ``out_dir`` (temporary names, then renamed).

    Run them with SANA-FE's own tools, e.g. ``sanafe.load_arch`` / ``sanafe.load_net``
    and ``SpikingChip.sim(steps)``. The costs are read from the installed SANA-FE.
    """
    cores = check_expressible(network, hardware, core_of, steps)
    out = Path(out_dir)
    arch = architecture_yaml(hardware.mesh)
    net = network_yaml(network, cores, steps, hardware.mesh, synapse)
    out.mkdir(parents=True, exist_ok=True)
    return write_text(out / "arch.yaml", arch), write_text(out / "network.yaml", net)
