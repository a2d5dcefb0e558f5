"""Network files: a compact ``.npz`` and a readable ``.json``, both lossless."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from snnmap.instances.network import NetworkError, SpikingNetwork

FORMAT_VERSION = 1


def save_network(network: SpikingNetwork, path: str | Path) -> Path:
    """Write ``network`` to ``path``; the suffix (``.npz`` or ``.json``) picks the format."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".json"):
        raise NetworkError(f"{path}: unknown network file type {suffix!r}; use .npz or .json")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "format": "snnmap-network",
        "version": FORMAT_VERSION,
        "name": network.name,
        "num_neurons": network.num_neurons,
        "t_run": network.t_run,
        "population_names": list(network.population_names),
        "provenance": network.provenance,
    }
    if suffix == ".npz":
        arrays: dict[str, np.ndarray] = {
            "indptr": network.indptr,
            "indices": network.indices,
            "spikes": network.spikes,
            "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
        }
        for key in ("population", "weights", "pins"):
            value = getattr(network, key)
            if value is not None:
                arrays[key] = value
        # Write through a file handle so numpy does not append a second suffix.
        with open(path, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    else:
        doc = dict(meta)
        doc["pre"] = network.pre.tolist()
        doc["post"] = network.post.tolist()
        # repr-exact floats keep the round trip lossless.
        doc["spikes"] = [float(x) for x in network.spikes]
        for key in ("population", "weights", "pins"):
            value = getattr(network, key)
            doc[key] = None if value is None else value.tolist()
        path.write_text(json.dumps(doc, sort_keys=True))
    return path


def load_network_file(path: str | Path) -> SpikingNetwork:
    """Read a network written by :func:`save_network`, with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise NetworkError(f"{path}: no such network file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            return _load_npz(path)
        if suffix == ".json":
            return _load_json(path)
    except NetworkError as exc:
        raise NetworkError(f"{path}: {exc}") from None
    raise NetworkError(f"{path}: unknown network file type {suffix!r}; use .npz or .json")


def _load_npz(path: Path) -> SpikingNetwork:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise NetworkError(f"not a readable .npz network file ({exc})") from None
    missing = [k for k in ("indptr", "indices", "spikes", "meta") if k not in arrays]
    if missing:
        raise NetworkError(f"missing array(s) {', '.join(missing)}: not an snnmap network file")
    try:
        meta = json.loads(arrays["meta"].tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NetworkError(f"metadata is not valid JSON ({exc})") from None
    _check_meta(meta)
    return SpikingNetwork(
        num_neurons=int(meta["num_neurons"]),
        indptr=arrays["indptr"].astype(np.int64),
        indices=arrays["indices"].astype(np.int64),
        spikes=arrays["spikes"].astype(np.float64),
        t_run=float(meta["t_run"]),
        population=arrays["population"].astype(np.int64) if "population" in arrays else None,
        population_names=tuple(meta.get("population_names", ["all"])),
        weights=arrays.get("weights"),
        pins=arrays["pins"].astype(np.int64) if "pins" in arrays else None,
        name=str(meta.get("name", path.stem)),
        provenance=meta.get("provenance", {}),
    )


def _load_json(path: Path) -> SpikingNetwork:
    try:
        doc = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NetworkError(f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise NetworkError("a network file must hold a JSON object")
    _check_meta(doc)
    for key in ("pre", "post", "spikes"):
        if not isinstance(doc.get(key), list):
            raise NetworkError(f"field {key!r} is missing or not a list")
    pop = doc.get("population")
    return SpikingNetwork.from_edges(
        int(doc["num_neurons"]),
        np.asarray(doc["pre"], dtype=np.int64) if doc["pre"] else np.zeros(0, np.int64),
        np.asarray(doc["post"], dtype=np.int64) if doc["post"] else np.zeros(0, np.int64),
        _float_list(doc["spikes"], "spikes"),
        t_run=float(doc["t_run"]),
        populations=None if pop is None else np.asarray(pop, dtype=np.int64),
        population_names=doc.get("population_names"),
        weights=doc.get("weights"),
        pins=doc.get("pins"),
        name=str(doc.get("name", path.stem)),
        provenance=doc.get("provenance", {}),
    )


def _float_list(values: list[Any], label: str) -> np.ndarray:
    try:
        return np.asarray([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise NetworkError(f"field {label!r} must hold numbers") from None


def _check_meta(meta: Any) -> None:
    if not isinstance(meta, dict) or meta.get("format") != "snnmap-network":
        raise NetworkError("field 'format' must be 'snnmap-network': not an snnmap network file")
    for key in ("num_neurons", "t_run"):
        if key not in meta:
            raise NetworkError(f"field {key!r} is missing")
    if not isinstance(meta["num_neurons"], int):
        raise NetworkError(f"field 'num_neurons'={meta['num_neurons']!r}: must be a whole number")
    if not isinstance(meta["t_run"], (int, float)):
        raise NetworkError(f"field 't_run'={meta['t_run']!r}: must be a number of seconds")
