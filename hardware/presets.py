"""Hardware presets and users' chips as TOML files.

A preset is data: ``hardware/presets/NAME.toml``. A user's chip is one more
TOML file of the same shape (see ``crossbar128.toml`` for a commented example).
"""

from __future__ import annotations

import importlib.resources
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from snnmap.hardware.model import EnergyCosts, Hardware, HardwareError, LatencyCosts, Limits

# Package data: found the same way in a source checkout and in an installed wheel.
PRESET_DIR = Path(str(importlib.resources.files("snnmap.hardware").joinpath("presets")))
_TOP_KEYS = {
    "name", "description", "topology", "mesh", "cores_per_tile", "comm",
    "power_gating", "hop_matrix", "limits", "energy", "sources", "chips", "latency",
}
_LIMIT_KEYS = {"n_max", "a_max", "syn_max", "fanin_max", "dest_max", "max_step_time"}
_LATENCY_KEYS = {"t_access", "t_spike", "t_msg_out", "t_msg_in", "t_syn", "t_hop_x", "t_hop_y", "sync_tiles", "t_sync"}
_ENERGY_KEYS = {"e_spike", "e_syn", "e_local", "e_route", "e_hop", "e_hop_x", "e_hop_y", "p_static", "e_access",
                "e_hop_chip"}
# Every cost changes the answer, so a file must give each one (0.0 where the chip has no such cost);
# optional are e_hop_x / e_hop_y (they default to e_hop) and e_access (default 0: an event-driven chip
# charges its neurons only when they spike; a clocked soma access is a separate, sourced figure).
_REQUIRED_ENERGY = ("e_spike", "e_syn", "e_local", "e_route", "e_hop", "p_static")


def list_presets() -> list[str]:
    """Names of the built-in presets."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def load_hardware(
    name_or_path: str | Path | Hardware,
    *,
    mesh: tuple[int, int] | None = None,
    cores: int | None = None,
    **overrides: Any,
) -> Hardware:
    """A :class:`Hardware` from a preset name or a TOML file, with overrides.

    Parameters
    ----------
    name_or_path
        A preset name (``snnmap hardware`` lists them), a path to a TOML file,
        or a :class:`Hardware` to derive from.
    mesh
        ``(rows, cols)`` replacing the preset's mesh (of tiles).
    cores
        Alternatively, a core count: the most square mesh that holds it.
    overrides
        Any limit or energy field (``n_max=4``, ``e_hop=1e-12``), ``comm``,
        ``power_gating`` or ``topology``.
    """
    if isinstance(name_or_path, Hardware):
        hw = name_or_path
    else:
        hw = _load(name_or_path)
    changes: dict[str, Any] = dict(overrides)
    if mesh is not None and cores is not None:
        raise HardwareError("give either mesh=(rows, cols) or cores=N, not both")
    if mesh is not None:
        changes["mesh"] = mesh
    if cores is not None:
        changes["cores"] = cores
    return hw.replace(**changes) if changes else hw


def _load(name_or_path: str | Path) -> Hardware:
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() != ".toml":
        preset = PRESET_DIR / f"{text.lower()}.toml"
        if not preset.is_file():
            raise HardwareError(
                f"unknown hardware {text!r}: use a preset ({', '.join(list_presets())}) or a path to a .toml file"
            )
        path = preset
    if not path.is_file():
        raise HardwareError(f"{path}: no such hardware file")
    try:
        # utf-8-sig: a byte-order mark (as some Windows editors write) is allowed.
        doc = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise HardwareError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise HardwareError(f"{path}: not a text file") from None
    return hardware_from_dict(doc, source=str(path))


def hardware_from_dict(doc: dict[str, Any], *, source: str = "dict") -> Hardware:
    """Build a :class:`Hardware` from a parsed TOML document, checking every key.

    Required: ``mesh`` (or ``hop_matrix``), ``[limits] n_max`` and every
    ``[energy]`` cost except ``e_hop_x`` / ``e_hop_y`` (which default to
    ``e_hop``) and ``e_access`` (per neuron per time step; default 0, no such
    charge). Optional, with these defaults: ``name`` (the file stem),
    ``topology`` (``"mesh"``, or ``"matrix"`` with a hop matrix),
    ``cores_per_tile = 1``, ``comm = "multicast"``, ``power_gating = true``
    and no limit for the other ``[limits]`` fields. An optional ``[latency]``
    table gives the time per event (:class:`LatencyCosts`; every field, seconds):
    without it the chip reports no step time.
    """
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise HardwareError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}; "
                            f"allowed: {', '.join(sorted(_TOP_KEYS))}")
    limits = _table(doc, "limits", _LIMIT_KEYS, source)
    energy = _table(doc, "energy", _ENERGY_KEYS, source)
    if "n_max" not in limits:
        raise HardwareError(f"{source}: [limits] n_max is required (neurons per core)")
    missing = [k for k in _REQUIRED_ENERGY if k not in energy]
    if missing:
        raise HardwareError(
            f"{source}: [energy] {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required "
            "(joules per event, p_static in watts): give 0.0 where the chip has no such cost"
        )
    hop_matrix = doc.get("hop_matrix")
    if hop_matrix is not None:
        try:
            hop_matrix = np.asarray(hop_matrix, dtype=np.float64)
        except (TypeError, ValueError):
            raise HardwareError(f"{source}: hop_matrix must be a K x K list of numbers") from None
    if hop_matrix is None and "mesh" not in doc:
        raise HardwareError(f"{source}: mesh is required (rows, cols of routers, e.g. mesh = [4, 4]), "
                            "or give hop_matrix = [[...]]")
    mesh = doc.get("mesh")
    if isinstance(mesh, list):
        mesh = tuple(mesh)
    for key in ("name", "topology", "comm"):
        if key in doc and not isinstance(doc[key], str):
            raise HardwareError(f"{source}: {key}={doc[key]!r}: must be a string")
    if "power_gating" in doc and not isinstance(doc["power_gating"], bool):
        raise HardwareError(f"{source}: power_gating={doc['power_gating']!r}: must be true or false")
    try:
        hw = Hardware(
            name=doc.get("name", Path(source).stem),
            limits=Limits(**limits),
            energy=EnergyCosts(**energy),
            topology=doc.get("topology", "mesh" if hop_matrix is None else "matrix"),
            mesh=None if hop_matrix is not None else mesh,  # type: ignore[arg-type]
            cores_per_tile=doc.get("cores_per_tile", 1),
            comm=doc.get("comm", "multicast"),
            power_gating=doc.get("power_gating", True),
            hop_matrix=hop_matrix,
            notes=str(doc.get("description", "")),
            source=source,
            latency=_latency(doc, source),
        )
    except HardwareError:
        raise
    except (TypeError, ValueError) as exc:
        raise HardwareError(f"{source}: {exc}") from None
    if "chips" in doc:  # a board: ``mesh`` is one chip's, ``chips = [rows, cols]`` how many of them it joins
        hw = hw.replace(chips=doc["chips"])
    return hw


def _table(doc: dict[str, Any], key: str, allowed: set[str], source: str) -> dict[str, Any]:
    table = doc.get(key, {})
    if not isinstance(table, dict):
        raise HardwareError(f"{source}: [{key}] must be a table")
    unknown = set(table) - allowed
    if unknown:
        raise HardwareError(
            f"{source}: unknown [{key}] field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}"
        )
    return dict(table)


def _latency(doc: dict[str, Any], source: str) -> LatencyCosts | None:
    """The ``[latency]`` table as :class:`LatencyCosts` (``None`` without one); every field is required."""
    if "latency" not in doc:
        return None
    table = _table(doc, "latency", _LATENCY_KEYS, source)
    missing = sorted(_LATENCY_KEYS - set(table))
    if missing:
        raise HardwareError(f"{source}: [latency] {', '.join(missing)} missing: give every event's time in seconds "
                            "(0.0 where the chip spends none; sync_tiles / t_sync as lists)")
    for key in ("sync_tiles", "t_sync"):
        if not isinstance(table[key], list):
            raise HardwareError(f"{source}: [latency] {key}={table[key]!r}: must be a list")
        table[key] = tuple(table[key])
    return LatencyCosts(**table)
