"""Read SANA-FE's YAML network format: a :class:`SpikingNetwork` and the file's own mapping.

SANA-FE (SLAM-Lab) describes a mapped network in one YAML file with a
``network`` section (neuron ``groups`` and ``edges``) and a ``mappings``
section placing every neuron on a core written ``tile.core``. This reader
supports the group edge types ``conv2d``, ``dense`` and ``sparse`` and single
neuron-to-neuron edges (``g.i -> h.j``); any other type is refused by name.

Numbering. Neurons are numbered group by group in file order, and by offset
within a group. SANA-FE numbers tiles column-major (tile ``t`` sits at column
``t // rows``, row ``t % rows``; ``src/arch.cpp``) and cores ``0..3`` within
a tile; snnmap numbers tiles row-major (``tile = row * cols + column``) with
``core = tile * cores_per_tile + offset``. :func:`core_from_address` and
:func:`address_from_core` convert, so that hop distances agree.

Spike counts. A YAML file carries no spike counts: the network's ``spikes``
are all zero and ``provenance["spikes"]`` says so until they are replaced,
e.g. by SANA-FE's own simulation (``snnmap.sanafe_bridge.simulate_file``).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np

from snnmap.instances.network import NetworkError, SpikingNetwork

LOIHI_MESH = (4, 8)  # tile rows x columns of SANA-FE's loihi.yaml (height 4, width 8)
LOIHI_CORES_PER_TILE = 4
SUPPORTED_EDGE_TYPES = ("conv2d", "dense", "sparse")
_CONV_KEYS = (
    "input_width", "input_height", "input_channels", "kernel_width", "kernel_height",
    "kernel_count", "stride_width", "stride_height",
)
_ADDRESS = re.compile(r"^(?P<group>.+?)\.(?P<first>\d+)(?:\.\.(?P<last>\d+))?$")
_RANGE = re.compile(r"^(?P<first>\d+)(?:\.\.(?P<last>\d+))?$")


class SanafeYamlError(ValueError):
    """A file is not SANA-FE's YAML network format, or uses a feature this reader refuses."""


@dataclasses.dataclass(frozen=True, eq=False)
class SanafeFile:
    """A SANA-FE network file as snnmap data.

    Attributes
    ----------
    network
        The network; spike counts are zero until simulated (see the module note).
    core_of
        snnmap core of every neuron from the file's ``mappings`` (``-1`` when unmapped).
    mesh
        ``(rows, cols)`` of tiles the cores refer to.
    cores_per_tile
        Cores per tile.
    groups
        Group names in file order; group ``g`` holds neurons ``offsets[g]:offsets[g + 1]``.
    offsets
        First neuron index of every group, with the neuron count appended.
    synapse_hw
        Synapse unit of every neuron's incoming synapses (its own or its group's
        ``synapse_hw_name``, ``""`` when unset): SANA-FE charges a synapse by the unit
        of its postsynaptic neuron.
    """

    network: SpikingNetwork
    core_of: np.ndarray
    mesh: tuple[int, int]
    cores_per_tile: int
    groups: tuple[str, ...]
    offsets: np.ndarray
    synapse_hw: np.ndarray

    @property
    def mapped(self) -> bool:
        """Whether the file maps every neuron."""
        return bool(np.all(self.core_of >= 0))

    def neuron_index(self, group: str, offset: int | np.ndarray) -> int | np.ndarray:
        """Global neuron index of ``offset`` within ``group``."""
        g = self.groups.index(str(group))
        return self.offsets[g] + offset


# ------------------------------------------------------------------ numbering
def core_from_address(
    tile: np.ndarray | int, offset: np.ndarray | int, mesh: tuple[int, int] = LOIHI_MESH,
    cores_per_tile: int = LOIHI_CORES_PER_TILE,
) -> np.ndarray:
    """snnmap core of SANA-FE's core ``tile.offset`` (tiles column-major there, row-major here)."""
    rows, cols = mesh
    tile = np.asarray(tile, dtype=np.int64)
    offset = np.asarray(offset, dtype=np.int64)
    column, row = tile // rows, tile % rows
    return (row * cols + column) * cores_per_tile + offset


def address_from_core(
    core: np.ndarray | int, mesh: tuple[int, int] = LOIHI_MESH, cores_per_tile: int = LOIHI_CORES_PER_TILE,
) -> tuple[np.ndarray, np.ndarray]:
    """SANA-FE ``(tile, core offset)`` of snnmap core ``core`` (inverse of :func:`core_from_address`)."""
    rows, cols = mesh
    core = np.asarray(core, dtype=np.int64)
    tile = core // cores_per_tile
    row, column = tile // cols, tile % cols
    return column * rows + row, core % cores_per_tile


# --------------------------------------------------------------------- reader
def read_sanafe_yaml(
    path: str | Path, *, mesh: tuple[int, int] = LOIHI_MESH, cores_per_tile: int = LOIHI_CORES_PER_TILE,
) -> SanafeFile:
    """Read a SANA-FE YAML network file (network plus optional ``mappings``).

    Parameters
    ----------
    path
        The ``.yaml`` file.
    mesh, cores_per_tile
        The chip the ``mappings`` section refers to (default: SANA-FE's Loihi,
        8 x 4 tiles of 4 cores); a core outside it is refused.

    Raises
    ------
    SanafeYamlError
        Not SANA-FE's format, an unsupported edge type (named), a neuron
        outside its group, or a mapping outside the chip.
    """
    path = Path(path)
    doc = _load_yaml(path)
    where = str(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("network"), dict):
        raise SanafeYamlError(f"{where}: not a SANA-FE network file (no top-level 'network' section)")
    network = doc["network"]
    groups, sizes, synapse_hw = _parse_groups(network.get("groups"), where)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    index = {name: g for g, name in enumerate(groups)}
    pre, post, weights = _parse_edges(network.get("edges") or [], groups, index, sizes, offsets, where)
    n = int(offsets[-1])
    core_of = _parse_mappings(doc.get("mappings") or [], groups, index, sizes, offsets, mesh, cores_per_tile, where)
    population = np.repeat(np.arange(len(groups)), sizes)
    try:
        net = SpikingNetwork.from_edges(
            n, pre, post, np.zeros(n),
            populations=population, population_names=groups,
            weights=weights, name=str(network.get("name") or path.stem).rsplit("/", 1)[-1],
            provenance={
                "builder": "snnmap.instances.sanafe_yaml",
                "source": str(path),
                "format": "SANA-FE YAML network",
                "spikes": "placeholder: zero until simulated (snnmap.sanafe_bridge.simulate_file)",
            },
        )
    except NetworkError as exc:  # e.g. two edges joining the same pair of neurons
        raise SanafeYamlError(f"{where}: {exc}") from None
    return SanafeFile(net, core_of, tuple(mesh), cores_per_tile, groups, offsets, np.concatenate(synapse_hw))


def _load_yaml(path: Path) -> Any:
    try:
        import yaml
    except ImportError:
        raise SanafeYamlError("reading SANA-FE files needs PyYAML: pip install pyyaml") from None
    if not path.is_file():
        raise SanafeYamlError(f"{path}: no such file")
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _Loader(base):  # type: ignore[misc, valid-type]
        """Safe loader that keeps floats as text: a core address ``1.10`` is tile 1, core 10, not 1.1."""

    _Loader.yaml_implicit_resolvers = {
        key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:float"]
        for key, resolvers in base.yaml_implicit_resolvers.items()
    }
    try:
        with path.open("rb") as fh:
            return yaml.load(fh, Loader=_Loader)  # noqa: S506 - a safe loader subclass
    except yaml.YAMLError as exc:
        raise SanafeYamlError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None


def _attributes(value: Any, where: str) -> dict[str, Any]:
    """SANA-FE attributes as a dict: a mapping, or a list of one-key mappings."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        out: dict[str, Any] = {}
        for item in value:
            out.update({str(k): v for k, v in item.items()})
        return out
    raise SanafeYamlError(f"{where}: attributes must be a mapping or a list of 'name: value' entries")


def _parse_groups(groups: Any, where: str) -> tuple[tuple[str, ...], np.ndarray, list[np.ndarray]]:
    if not isinstance(groups, list) or not groups:
        raise SanafeYamlError(f"{where}: network.groups must be a non-empty list of neuron groups")
    names: list[str] = []
    sizes: list[int] = []
    synapse_hw: list[np.ndarray] = []
    for group in groups:
        if not isinstance(group, dict) or "name" not in group:
            raise SanafeYamlError(f"{where}: every group needs a 'name' and a 'neurons' list")
        name = str(group["name"])
        if name in names:
            raise SanafeYamlError(f"{where}: group {name!r} is defined twice")
        attrs = _attributes(group.get("attributes"), f"{where}: group {name}")
        seen: list[tuple[int, int]] = []
        own_hw: list[tuple[int, int, str]] = []  # neurons that name their own synapse unit
        for entry in group.get("neurons") or []:
            items = entry.items() if isinstance(entry, dict) else [(entry, None)]
            for key, value in items:
                m = _RANGE.match(str(key))
                if not m:
                    raise SanafeYamlError(f"{where}: group {name}: neuron id {key!r} is not N or N..M")
                first = int(m["first"])
                last = int(m["last"]) if m["last"] is not None else first
                seen.append((first, last))
                hw = _attributes(value, f"{where}: group {name} neuron {key}").get("synapse_hw_name")
                if hw is not None:
                    own_hw.append((first, last, str(hw)))
        if not seen:
            raise SanafeYamlError(f"{where}: group {name} lists no neurons")
        spans = np.array(sorted(seen), dtype=np.int64)
        count = int((spans[:, 1] - spans[:, 0] + 1).sum())
        if spans[0, 0] != 0 or np.any(spans[1:, 0] != spans[:-1, 1] + 1) or np.any(spans[:, 1] < spans[:, 0]):
            raise SanafeYamlError(
                f"{where}: group {name}: neuron ids must cover 0..{count - 1} once each, without gaps"
            )
        names.append(name)
        sizes.append(count)
        units = np.full(count, str(attrs.get("synapse_hw_name", "")), dtype=object)
        for first, last, hw in own_hw:
            units[first: last + 1] = hw
        synapse_hw.append(units)
    return tuple(names), np.asarray(sizes, dtype=np.int64), synapse_hw


def _neuron(address: str, index: dict[str, int], sizes: np.ndarray, where: str) -> tuple[int, int, int]:
    """``(group, first, last)`` of ``g``, ``g.i`` or ``g.i..j``; a bare group spans all its neurons."""
    address = address.strip()
    if address in index:
        g = index[address]
        return g, 0, int(sizes[g]) - 1
    m = _ADDRESS.match(address)
    if not m or m["group"] not in index:
        raise SanafeYamlError(f"{where}: {address!r} names no group of this network")
    g = index[m["group"]]
    first = int(m["first"])
    last = int(m["last"]) if m["last"] is not None else first
    if last < first or last >= sizes[g]:
        raise SanafeYamlError(f"{where}: {address!r} is outside group {m['group']} (neurons 0..{sizes[g] - 1})")
    return g, first, last


def _parse_edges(
    edges: Any, groups: tuple[str, ...], index: dict[str, int], sizes: np.ndarray, offsets: np.ndarray, where: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    if not isinstance(edges, list):
        raise SanafeYamlError(f"{where}: network.edges must be a list")
    pres: list[np.ndarray] = []
    posts: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for entry in edges:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise SanafeYamlError(f"{where}: every edge is one 'source -> target: attributes' entry")
        ((key, value),) = entry.items()
        ends = str(key).split("->")
        if len(ends) != 2:
            raise SanafeYamlError(f"{where}: edge {key!r} must read 'source -> target'")
        label = f"{where}: edge {str(key).strip()}"
        attrs = _attributes(value, label)
        src, dst = ends[0].strip(), ends[1].strip()
        if src in index and dst in index:
            kind = str(attrs.get("type", ""))
            gs, gd = index[src], index[dst]
            if kind == "conv2d":
                p, q, filt = _conv2d(attrs, int(sizes[gs]), int(sizes[gd]), label)
            elif kind == "dense":
                p = np.repeat(np.arange(sizes[gs]), sizes[gd])
                q = np.tile(np.arange(sizes[gd]), int(sizes[gs]))
                filt = np.arange(p.size)
            elif kind == "sparse":
                p, q = _pairs(attrs.get("source_target_pairs"), int(sizes[gs]), int(sizes[gd]), label)
                filt = np.arange(p.size)
            else:
                shown = kind or "(none)"
                raise SanafeYamlError(
                    f"{label}: edge type {shown!r} is not supported; supported: {', '.join(SUPPORTED_EDGE_TYPES)}"
                )
            pres.append(p + offsets[gs])
            posts.append(q + offsets[gd])
            weights.append(_weights(attrs.get("weight"), filt, label))
        else:
            gs, s0, s1 = _neuron(src, index, sizes, label)
            gd, d0, d1 = _neuron(dst, index, sizes, label)
            if s0 != s1 or d0 != d1 or src in index or dst in index:
                raise SanafeYamlError(f"{label}: an edge joins two groups (with a type) or two single neurons")
            if "type" in attrs:
                raise SanafeYamlError(f"{label}: a neuron-to-neuron edge takes no type")
            pres.append(np.array([offsets[gs] + s0]))
            posts.append(np.array([offsets[gd] + d0]))
            weights.append(_weights(attrs.get("weight"), np.zeros(1, np.int64), label))
    if not pres:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), None
    return np.concatenate(pres), np.concatenate(posts), np.concatenate(weights)


def _conv2d(attrs: dict[str, Any], n_in: int, n_out: int, label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synapses of a SANA-FE ``conv2d`` edge (no padding; channels-first neurons).

    Source ``c*W*H + (y*sh + ky)*W + x*sw + kx``, target ``k*OW*OH + y*OW + x``,
    filter entry ``((ky*KW + kx)*C + c)*K + k`` (SANA-FE ``src/network.cpp``).
    """
    try:
        p = {k: int(attrs.get(k, 1 if k.startswith(("stride", "kernel_count")) else -1)) for k in _CONV_KEYS}
    except (TypeError, ValueError):
        raise SanafeYamlError(f"{label}: conv2d sizes must be whole numbers") from None
    missing = [k for k, v in p.items() if v < 1]
    if missing:
        raise SanafeYamlError(f"{label}: conv2d needs {', '.join(missing)} (whole numbers >= 1)")
    w, h, c = p["input_width"], p["input_height"], p["input_channels"]
    kw, kh, k = p["kernel_width"], p["kernel_height"], p["kernel_count"]
    sw, sh = p["stride_width"], p["stride_height"]
    if kw > w or kh > h:
        raise SanafeYamlError(f"{label}: kernel {kw}x{kh} is larger than the input {w}x{h}")
    ow, oh = (w - kw) // sw + 1, (h - kh) // sh + 1
    if n_in != c * w * h or n_out != k * ow * oh:
        raise SanafeYamlError(
            f"{label}: conv2d expects {c * w * h} source and {k * ow * oh} target neurons, "
            f"the groups have {n_in} and {n_out}"
        )
    ko, y, x, ci, ky, kx = np.meshgrid(
        np.arange(k), np.arange(oh), np.arange(ow), np.arange(c), np.arange(kh), np.arange(kw),
        indexing="ij", sparse=True,
    )
    src = ci * (w * h) + (y * sh + ky) * w + (x * sw + kx)
    dst = ko * (ow * oh) + y * ow + x
    filt = ((ky * kw + kx) * c + ci) * k + ko
    shape = (k, oh, ow, c, kh, kw)
    return (
        np.broadcast_to(src, shape).ravel().astype(np.int64),
        np.broadcast_to(dst, shape).ravel().astype(np.int64),
        np.broadcast_to(filt, shape).ravel().astype(np.int64),
    )


def _pairs(value: Any, n_in: int, n_out: int, label: str) -> tuple[np.ndarray, np.ndarray]:
    """Source and target offsets of a ``sparse`` edge's ``source_target_pairs``."""
    try:
        arr = np.asarray(value if value is not None else [], dtype=np.int64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise SanafeYamlError(f"{label}: source_target_pairs must be a list of [source, target] pairs") from None
    if arr.size and (arr.min() < 0 or arr[:, 0].max() >= n_in or arr[:, 1].max() >= n_out):
        raise SanafeYamlError(f"{label}: a source_target_pair lies outside its groups ({n_in} and {n_out} neurons)")
    return arr[:, 0], arr[:, 1]


def _weights(value: Any, filt: np.ndarray, label: str) -> np.ndarray:
    """Per-synapse weights: a scalar for all, or a list indexed by ``filt``; 1 when absent."""
    if value is None:
        return np.ones(filt.size)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise SanafeYamlError(f"{label}: weight must be a number or a list of numbers") from None
    if arr.ndim == 0:
        return np.full(filt.size, float(arr))
    if arr.ndim != 1 or (filt.size and arr.size <= filt.max()):
        raise SanafeYamlError(f"{label}: weight list has {arr.size} entries, {int(filt.max()) + 1} needed")
    return arr[filt]


def _parse_mappings(
    mappings: Any, groups: tuple[str, ...], index: dict[str, int], sizes: np.ndarray, offsets: np.ndarray,
    mesh: tuple[int, int], cores_per_tile: int, where: str,
) -> np.ndarray:
    if not isinstance(mappings, list):
        raise SanafeYamlError(f"{where}: mappings must be a list of 'neuron: {{core: T.C}}' entries")
    n = int(offsets[-1])
    core_of = np.full(n, -1, dtype=np.int64)
    rows, cols = mesh
    for entry in mappings:
        if not isinstance(entry, dict):
            raise SanafeYamlError(f"{where}: mapping entry {entry!r} must read 'neuron: {{core: T.C}}'")
        for key, value in entry.items():
            label = f"{where}: mapping {key}"
            g, first, last = _neuron(str(key), index, sizes, label)
            core = _attributes(value, label).get("core")
            m = re.fullmatch(r"(\d+)\.(\d+)", str(core).strip()) if core is not None else None
            if not m:
                raise SanafeYamlError(f"{label}: core must read TILE.CORE (e.g. 0.1), got {core!r}")
            tile, off = int(m[1]), int(m[2])
            if tile >= rows * cols or off >= cores_per_tile:
                raise SanafeYamlError(
                    f"{label}: core {tile}.{off} is outside the chip ({rows * cols} tiles of {cores_per_tile} cores)"
                )
            core_of[offsets[g] + first: offsets[g] + last + 1] = core_from_address(tile, off, mesh, cores_per_tile)
    return core_of
