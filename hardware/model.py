"""The hardware model: cores, their limits, the interconnect and its energy costs.

A :class:`Hardware` is an immutable value. It is built from a preset name, a
TOML file or code, and validated on construction. It knows nothing of networks,
mappings or solvers; it only answers questions about cores and packets.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from functools import cached_property
from typing import Any

import numpy as np

COMM_MODELS = ("multicast", "unicast")
TOPOLOGIES = ("mesh", "torus", "matrix")
_INT64_MAX = 2**63 - 1
# Bytes of the per-core arrays a mapping run holds (loads, cost rows, scratch): the size guard's estimate.
_BYTES_PER_CORE = 64


class HardwareError(ValueError):
    """A hardware description is invalid; the message names the field and the fix."""


class _Table:
    """A preset table as a frozen dataclass: ``items()`` lists its (field, value) pairs in order."""

    def items(self) -> list[tuple[str, Any]]:
        return [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)]


@dataclasses.dataclass(frozen=True)
class Limits(_Table):
    """Per-core and per-neuron capacity limits (``None`` = unlimited).

    Attributes
    ----------
    n_max
        Neurons per core.
    a_max
        Input axons per core: distinct presynaptic neurons with a target on the
        core, local ones included (a local presynaptic neuron also uses a row).
    syn_max
        Synapses stored per core (a synapse is stored on its postsynaptic core).
    fanin_max
        Presynaptic neurons per neuron.
    dest_max
        Destination cores per neuron (its own core counts when it has a local target).
    max_step_time
        Seconds per time step (the evaluator's step time, see
        ``formulations/latency.py``); needs the chip's :class:`LatencyCosts`.
    """

    n_max: int
    a_max: int | None = None
    syn_max: int | None = None
    fanin_max: int | None = None
    dest_max: int | None = None
    max_step_time: float | None = None


@dataclasses.dataclass(frozen=True)
class EnergyCosts(_Table):
    """Energy costs in joules (``p_static`` in watts), as in docs/formulation.md.

    ``e_hop_x`` / ``e_hop_y`` give separate east-west and north-south hop
    costs on a mesh; when ``None`` both equal ``e_hop``. ``e_access`` is
    charged for every neuron at every time step, spiking or not (a clocked
    soma access, as SANA-FE's Loihi charges); 0 for chips whose source
    charges none (event-driven neurons). ``e_hop_chip`` is charged instead of
    the on-chip hop for each step over a link between two chips of a board
    (``Hardware.chip_mesh``); ``None``: the on-chip hop cost.
    """

    e_spike: float = 0.0
    e_syn: float = 0.0
    e_local: float = 0.0
    e_route: float = 0.0
    e_hop: float = 0.0
    p_static: float = 0.0
    e_hop_x: float | None = None
    e_hop_y: float | None = None
    e_access: float = 0.0
    e_hop_chip: float | None = None

    @property
    def hop_x(self) -> float:
        return self.e_hop if self.e_hop_x is None else self.e_hop_x

    @property
    def hop_y(self) -> float:
        return self.e_hop if self.e_hop_y is None else self.e_hop_y


@dataclasses.dataclass(frozen=True)
class LatencyCosts(_Table):
    """Time per event in seconds, as SANA-FE's timing models charge them (``formulations/latency.py``).

    ``t_access`` every neuron every step; ``t_spike`` per spike at the sender
    (soma update + spike out); ``t_msg_out`` per message at the sender;
    ``t_msg_in`` per message and ``t_syn`` per synaptic event at the receiver;
    ``t_hop_x`` / ``t_hop_y`` per tile hop east-west / north-south; the barrier
    ``t_sync[j]`` applies from ``sync_tiles[j]`` tiles in use up (the largest
    key not above the count, as SANA-FE's ``latency_sync`` table).
    """

    t_access: float = 0.0
    t_spike: float = 0.0
    t_msg_out: float = 0.0
    t_msg_in: float = 0.0
    t_syn: float = 0.0
    t_hop_x: float = 0.0
    t_hop_y: float = 0.0
    sync_tiles: tuple[int, ...] = (1,)
    t_sync: tuple[float, ...] = (0.0,)

    def sync(self, tiles_used: int) -> float:
        """Barrier time of one step with ``tiles_used`` tiles holding neurons."""
        j = int(np.searchsorted(np.asarray(self.sync_tiles), tiles_used, side="right")) - 1
        return float(self.t_sync[max(j, 0)])


@dataclasses.dataclass(frozen=True, eq=False)
class Hardware:
    """A neuromorphic chip: ``K`` cores on an interconnect.

    Parameters
    ----------
    name
        Preset or user name.
    topology
        ``"mesh"`` (2-D, XY routing), ``"torus"`` (2-D with wrap-around links,
        dimension-order routing along the shorter way) or ``"matrix"`` (an
        explicit hop-distance matrix).
    mesh
        ``(rows, cols)`` of routers (tiles) for mesh and torus.
    cores_per_tile
        Cores sharing one router (Loihi: 4, DYNAP-SE: 4 per chip). Core ``c``
        sits on tile ``t = c // cores_per_tile``, at row ``t // cols`` and
        column ``t % cols``; cores on one tile are 0 hops apart but a spike
        between them still pays ``e_route``.
    limits, energy
        See :class:`Limits` and :class:`EnergyCosts`.
    comm
        Default communication model, ``"multicast"`` or ``"unicast"``.
    power_gating
        Unused cores draw no static power when ``True``.
    hop_matrix
        ``K x K`` hop counts for ``topology="matrix"``.
    notes
        Free text, e.g. sources; ``source`` is the file it came from.
    chip_mesh
        ``(rows, cols)`` tiles of one chip when ``mesh`` is a board of several
        chips (mesh topology only; ``mesh`` a whole multiple of it); ``None``:
        the mesh is one chip. Tiles keep their board-wide row-major numbering,
        and a step between chips costs ``e_hop_chip``.
    latency
        Time per event (:class:`LatencyCosts`), or ``None`` when the chip's
        sources publish none (then no step time is reported).
    """

    name: str
    limits: Limits
    energy: EnergyCosts
    topology: str = "mesh"
    mesh: tuple[int, int] | None = (1, 1)
    cores_per_tile: int = 1
    comm: str = "multicast"
    power_gating: bool = True
    hop_matrix: np.ndarray | None = None
    notes: str = ""
    source: str = "code"
    chip_mesh: tuple[int, int] | None = None
    latency: LatencyCosts | None = None

    def __post_init__(self) -> None:
        _validate(self)
        if self.hop_matrix is not None:
            self.hop_matrix.setflags(write=False)

    def replace(self, **changes: Any) -> "Hardware":
        """A copy with fields changed, validated again.

        Besides the dataclass fields, any limit (``n_max`` ...) or energy
        cost (``e_hop`` ...) may be named directly.
        """
        limit_names = {f.name for f in dataclasses.fields(Limits)}
        energy_names = {f.name for f in dataclasses.fields(EnergyCosts)}
        lim = {k: changes.pop(k) for k in list(changes) if k in limit_names}
        eng = {k: changes.pop(k) for k in list(changes) if k in energy_names}
        if "cores" in changes:
            cpt = int(changes.get("cores_per_tile", self.cores_per_tile))
            changes["mesh"] = mesh_for(-(-int(changes.pop("cores")) // cpt))
        if "mesh" in changes and changes["mesh"] is not None:
            changes["mesh"] = _mesh_tuple(changes["mesh"], f"{self.name}: mesh")
        if "chips" in changes:
            changes.update(_board(self, changes.pop("chips")))
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise HardwareError(
                f"unknown hardware field(s) {', '.join(unknown)}; known: "
                + ", ".join(sorted(known | limit_names | energy_names | {"cores", "chips"}))
            )
        if lim:
            changes["limits"] = dataclasses.replace(self.limits, **lim)
        if "e_hop" in eng and "e_hop_x" not in eng and "e_hop_y" not in eng:
            # A plain e_hop override means one hop cost in both directions.
            eng["e_hop_x"] = eng["e_hop_y"] = None
        if eng:
            changes["energy"] = dataclasses.replace(self.energy, **eng)
        return dataclasses.replace(self, **changes)

    # --------------------------------------------------------------- geometry
    @property
    def num_cores(self) -> int:
        if self.topology == "matrix":
            assert self.hop_matrix is not None
            return int(self.hop_matrix.shape[0])
        assert self.mesh is not None
        return int(self.mesh[0] * self.mesh[1] * self.cores_per_tile)

    @cached_property
    def coords(self) -> np.ndarray:
        """``(K, 2)`` array of (row, col) of every core (mesh and torus only)."""
        if self.mesh is None or self.topology == "matrix":
            raise HardwareError(f"{self.name}: core coordinates exist only on a mesh or torus")
        tiles = np.arange(self.num_cores) // self.cores_per_tile
        out = np.stack([tiles // self.mesh[1], tiles % self.mesh[1]], axis=1)
        out.setflags(write=False)
        return out

    def hops_xy(self, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Hops along x (columns) and y (rows) from ``src`` to ``dst`` cores (vectorised)."""
        rows, cols = self.mesh  # type: ignore[misc]
        src = np.asarray(src, dtype=np.int64) // self.cores_per_tile
        dst = np.asarray(dst, dtype=np.int64) // self.cores_per_tile
        dx = np.abs(src % cols - dst % cols)
        dy = np.abs(src // cols - dst // cols)
        if self.topology == "torus":
            dx = np.minimum(dx, cols - dx)
            dy = np.minimum(dy, rows - dy)
        return dx, dy

    def hops(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Hop count from ``src`` to ``dst`` cores, element-wise."""
        if self.topology == "matrix":
            return self.hop_matrix[np.asarray(src), np.asarray(dst)]  # type: ignore[index]
        dx, dy = self.hops_xy(src, dst)
        return dx + dy

    @cached_property
    def distance(self) -> np.ndarray:
        """``K x K`` hop counts."""
        if self.topology == "matrix":
            return self.hop_matrix  # type: ignore[return-value]
        k = np.arange(self.num_cores)
        out = self.hops(k[:, None], k[None, :])
        out.setflags(write=False)
        return out

    def hop_energy(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Energy of the hops of one packet from ``src`` to ``dst`` (no ``e_route``)."""
        if self.topology == "matrix":
            return self.hops(src, dst) * self.energy.e_hop
        dx, dy = self.hops_xy(src, dst)
        out = dx * self.energy.hop_x + dy * self.energy.hop_y
        if self.chip_mesh is not None and self.energy.e_hop_chip is not None:
            cx, cy = self._chip_steps(src, dst)
            out = out + cx * (self.energy.e_hop_chip - self.energy.hop_x) + cy * (
                self.energy.e_hop_chip - self.energy.hop_y)
        return out

    def packet_cost(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Energy of delivering one spike packet from core ``src`` to core ``dst``.

        ``e_local`` when both are the same core, otherwise ``e_route`` plus the hops.
        """
        src = np.asarray(src, dtype=np.int64)
        dst = np.asarray(dst, dtype=np.int64)
        remote = self.energy.e_route + self.hop_energy(src, dst)
        return np.where(src == dst, self.energy.e_local, remote)

    @cached_property
    def cost_matrix(self) -> np.ndarray:
        """``K x K`` matrix of :meth:`packet_cost` (built on first use)."""
        k = np.arange(self.num_cores)
        out = self.packet_cost(k[:, None], k[None, :]).astype(np.float64)
        out.setflags(write=False)
        return out

    @property
    def static_energy_per_core(self) -> float:
        """Static power times 1 s; multiply by ``t_run`` for one core's static energy."""
        return float(self.energy.p_static)

    # ------------------------------------------------------ boards of chips
    @property
    def chips(self) -> tuple[int, int]:
        """``(rows, cols)`` of chips on the board; ``(1, 1)`` for one chip."""
        if self.chip_mesh is None:
            return (1, 1)
        return (self.mesh[0] // self.chip_mesh[0], self.mesh[1] // self.chip_mesh[1])  # type: ignore[index]

    @property
    def num_chips(self) -> int:
        rows, cols = self.chips
        return rows * cols

    @property
    def cores_per_chip(self) -> int:
        return self.num_cores // self.num_chips

    def chip_of(self, cores: np.ndarray) -> np.ndarray:
        """Chip index (row-major over the board) of every core in ``cores``."""
        cores = np.asarray(cores, dtype=np.int64)
        if self.chip_mesh is None:
            return np.zeros_like(cores)
        tiles = cores // self.cores_per_tile
        cols = self.mesh[1]  # type: ignore[index]
        return (tiles // cols) // self.chip_mesh[0] * self.chips[1] + (tiles % cols) // self.chip_mesh[1]

    def board_core(self, chip: np.ndarray, local: np.ndarray) -> np.ndarray:
        """Board-wide index of core ``local`` (row-major on its chip, as on a one-chip preset) of ``chip``."""
        chip = np.asarray(chip, dtype=np.int64)
        local = np.asarray(local, dtype=np.int64)
        if self.chip_mesh is None:
            return local
        cr, cc = self.chip_mesh
        tile, slot = local // self.cores_per_tile, local % self.cores_per_tile
        row = chip // self.chips[1] * cr + tile // cc
        col = chip % self.chips[1] * cc + tile % cc
        return (row * self.mesh[1] + col) * self.cores_per_tile + slot  # type: ignore[index]

    def _chip_steps(self, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chip boundaries crossed along x and y from ``src`` to ``dst`` (XY routing on the board mesh)."""
        cols = self.mesh[1]  # type: ignore[index]
        cr, cc = self.chip_mesh  # type: ignore[misc]
        ts = np.asarray(src, dtype=np.int64) // self.cores_per_tile
        td = np.asarray(dst, dtype=np.int64) // self.cores_per_tile
        return np.abs(ts % cols // cc - td % cols // cc), np.abs(ts // cols // cr - td // cols // cr)

    def describe(self) -> str:
        shape = self.topology
        if self.topology != "matrix" and self.mesh:
            shape = f"{self.mesh[0]}x{self.mesh[1]} {self.topology}"
            if self.cores_per_tile > 1:
                shape += f", {self.cores_per_tile} cores per tile"
            if self.chip_mesh is not None:
                shape += f", {self.chips[0]}x{self.chips[1]} chips of {self.chip_mesh[0]}x{self.chip_mesh[1]} tiles"
        lim = ", ".join(f"{k}={v}" for k, v in self.limits.items() if v is not None)
        return f"{self.name}: {self.num_cores} cores ({shape}); {lim}; comm={self.comm}"


def mesh_for(cores: int) -> tuple[int, int]:
    """The most square ``rows x cols`` mesh with at least ``cores`` cores (rows <= cols)."""
    if cores < 1:
        raise HardwareError(f"cores={cores}: a chip needs at least one core")
    rows = int(math.isqrt(cores))
    if rows * rows >= cores:
        return rows, rows
    if rows * (rows + 1) >= cores:
        return rows, rows + 1
    return rows + 1, rows + 1


def _mesh_tuple(value: Any, where: str) -> tuple[int, int]:
    try:
        rows, cols = value
    except (TypeError, ValueError):
        raise HardwareError(f"{where}={value!r}: give [rows, cols], e.g. mesh = [4, 4]") from None
    for v in (rows, cols):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise HardwareError(f"{where}={value!r}: rows and cols must be whole numbers, e.g. mesh = [4, 4]")
    if rows < 1 or cols < 1:
        raise HardwareError(f"{where}={value!r}: rows and cols must be >= 1")
    return int(rows), int(cols)


def _board(hw: Hardware, chips: Any) -> dict[str, Any]:
    """The fields of ``hw`` laid out as a board of ``chips = (rows, cols)`` chips like its (first) chip."""
    rows, cols = _mesh_tuple(chips, f"{hw.name}: chips")
    chip = hw.chip_mesh or hw.mesh
    if hw.topology != "mesh" or chip is None:
        raise HardwareError(f"{hw.name}: chips={chips!r}: a board of chips needs topology 'mesh'")
    if (rows, cols) == (1, 1):
        return {"mesh": chip, "chip_mesh": None}
    return {"mesh": (chip[0] * rows, chip[1] * cols), "chip_mesh": chip}


def _check_size(num_cores: int, where: str) -> None:
    """Refuse a chip whose per-core arrays cannot fit in this machine's memory."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    need = num_cores * _BYTES_PER_CORE
    if need > memory:
        raise HardwareError(
            f"{where}: {num_cores:,} cores need about {need / 2**30:,.1f} GiB of memory for their arrays, more than "
            f"this machine's {memory / 2**30:,.1f} GiB: give a smaller mesh"
        )


def _validate(hw: Hardware) -> None:
    where = f"{hw.source}" if hw.source != "code" else f"hardware {hw.name!r}"
    if hw.topology not in TOPOLOGIES:
        raise HardwareError(f"{where}: topology={hw.topology!r}: must be one of {', '.join(TOPOLOGIES)}")
    if hw.comm not in COMM_MODELS:
        raise HardwareError(f"{where}: comm={hw.comm!r}: must be 'multicast' or 'unicast'")
    if hw.topology == "matrix":
        m = hw.hop_matrix
        if m is None or m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 1:
            raise HardwareError(f"{where}: topology 'matrix' needs a square hop_matrix (K x K)")
        if not np.all(np.isfinite(m)) or np.any(m < 0) or np.any(np.diag(m) != 0):
            raise HardwareError(f"{where}: hop_matrix must be finite, >= 0, with a zero diagonal")
    else:
        rows, cols = _mesh_tuple(hw.mesh, f"{where}: mesh")
        cpt = hw.cores_per_tile
        if isinstance(cpt, bool) or not isinstance(cpt, (int, np.integer)) or not 1 <= cpt <= _INT64_MAX:
            raise HardwareError(f"{where}: cores_per_tile={cpt!r}: must be a whole number >= 1")
        _check_size(rows * cols * int(cpt), where)
        if hw.chip_mesh is not None:
            cr, cc = _mesh_tuple(hw.chip_mesh, f"{where}: chip_mesh")
            if hw.topology != "mesh" or rows % cr or cols % cc:
                raise HardwareError(f"{where}: chip_mesh={hw.chip_mesh!r}: a board needs topology 'mesh' and a mesh "
                                    f"({rows}x{cols}) that is a whole number of chips; give chips = [rows, cols]")
    _validate_latency(hw, where)
    for name, value in hw.limits.items():
        if name == "max_step_time":
            continue
        if value is None:
            if name == "n_max":
                raise HardwareError(f"{where}: limit n_max is required (neurons per core)")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise HardwareError(f"{where}: limit {name}={value!r}: must be a whole number >= 1")
        if value < 1:
            raise HardwareError(f"{where}: limit {name}={value}: must be >= 1 (omit it for no limit)")
        if value > _INT64_MAX:
            raise HardwareError(f"{where}: limit {name}={value}: beyond the 64-bit integer range "
                                "(omit it for no limit)")
    for name, value in hw.energy.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise HardwareError(f"{where}: energy {name}={value!r}: must be a number (joules; watts for p_static)")
        # A whole number beyond the float range (e_syn = 10**400) is as unusable as inf.
        if not value <= sys.float_info.max or not math.isfinite(float(value)) or value < 0:
            raise HardwareError(f"{where}: energy {name}={value!r:.40}: must be finite and >= 0")


def _validate_latency(hw: Hardware, where: str) -> None:
    """Latencies finite and >= 0, the sync table sorted; a step-time budget only with latencies."""
    budget = hw.limits.max_step_time
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, (int, float, np.floating, np.integer)) or not (
                math.isfinite(float(budget)) and budget > 0):
            raise HardwareError(f"{where}: max_step_time={budget!r}: must be a positive number of seconds")
        if hw.latency is None:
            raise HardwareError(f"{where}: max_step_time needs latency numbers, and {hw.name} has none "
                                "(no [latency] table): use a preset with one (loihi) or add it to your file")
    lat = hw.latency
    if lat is None:
        return
    for name, value in lat.items():
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not (
                    math.isfinite(float(v)) and v >= 0):
                raise HardwareError(f"{where}: latency {name}={value!r}: must be finite numbers >= 0 (seconds)")
    tiles = lat.sync_tiles
    if len(tiles) != len(lat.t_sync) or not tiles or any(not isinstance(t, (int, np.integer)) for t in tiles) or (
            list(tiles) != sorted(set(tiles))) or tiles[0] < 1:
        raise HardwareError(f"{where}: latency sync_tiles={list(tiles)!r} and t_sync={list(lat.t_sync)!r}: give "
                            "increasing whole tile counts (>= 1) and one barrier time (s) for each")
