"""Network files: a compact ``.npz`` and a readable ``.json``, both lossless.

Both are written atomically (:func:`instances.files.atomic_write`) and read
through the one validation path of :class:`SpikingNetwork`.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from snnmap.instances.files import atomic_write, read_text, show_value, whole_numbers
from snnmap.instances.network import NetworkError, SpikingNetwork, check_num_neurons

FORMAT_VERSION = 1


def save_network(network: SpikingNetwork, path: str | Path) -> Path:
    """Write ``network`` to ``path``; the suffix (``.npz`` or ``.json``) picks the format."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".json"):
        raise NetworkError(f"{path}: unknown network file type {suffix!r}; use .npz or .json")
    meta = {
        "format": "snnmap-network",
        "version": FORMAT_VERSION,
        "name": network.name,
        "num_neurons": network.num_neurons,
        "t_run": network.t_run,
        "time_steps": network.time_steps,
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
        atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))
    else:
        doc = dict(meta)
        doc["pre"] = network.pre.tolist()
        doc["post"] = network.post.tolist()
        # repr-exact floats keep the round trip lossless.
        doc["spikes"] = [float(x) for x in network.spikes]
        for key in ("population", "weights", "pins"):
            value = getattr(network, key)
            doc[key] = None if value is None else value.tolist()
        text = json.dumps(doc, sort_keys=True).encode()
        atomic_write(path, lambda fh: fh.write(text))
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
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise NetworkError("not an snnmap .npz network (not a zip archive; is it a text file named .npz?): "
                           "write networks with snnmap.save_network, or give a .json network")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise NetworkError("not an snnmap .npz network: it holds Python objects, not plain arrays") from None
        raise NetworkError(f"not a readable .npz network file ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise NetworkError(f"not a readable .npz network file ({exc}): "
                           "write it again with snnmap.save_network") from None
    missing = [k for k in ("indptr", "indices", "spikes", "meta") if k not in arrays]
    if missing:
        raise NetworkError(f"missing array(s) {', '.join(missing)}: not an snnmap network file")
    try:
        meta = json.loads(arrays["meta"].tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NetworkError(f"metadata is not valid JSON ({exc})") from None
    _check_meta(meta)
    # The constructor checks every array (whole numbers, ranges, sorted rows without duplicates).
    return SpikingNetwork(
        num_neurons=meta["num_neurons"],
        indptr=arrays["indptr"],
        indices=arrays["indices"],
        spikes=arrays["spikes"],
        t_run=float(meta["t_run"]),
        time_steps=meta.get("time_steps"),
        population=arrays.get("population"),
        population_names=tuple(meta.get("population_names", ["all"])),
        weights=arrays.get("weights"),
        pins=arrays.get("pins"),
        name=str(meta.get("name", path.stem)),
        provenance=meta.get("provenance", {}),
    )


def _load_json(path: Path) -> SpikingNetwork:
    try:
        doc = json.loads(read_text(path, "network", NetworkError))
    except json.JSONDecodeError as exc:
        raise NetworkError(f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise NetworkError("a network file must hold a JSON object")
    _check_meta(doc)
    for key in ("pre", "post", "spikes"):
        if not isinstance(doc.get(key), list):
            raise NetworkError(f"field {key!r} is missing or not a list")
    pop = doc.get("population")
    return SpikingNetwork.from_edges(
        doc["num_neurons"],
        doc["pre"],
        doc["post"],
        doc["spikes"],
        t_run=float(doc["t_run"]),
        time_steps=doc.get("time_steps"),
        populations=None if pop is None else whole_numbers(pop, "population", meaning="a population index",
                                                           error=NetworkError),
        population_names=doc.get("population_names"),
        weights=doc.get("weights"),
        pins=doc.get("pins"),
        name=str(doc.get("name", path.stem)),
        provenance=doc.get("provenance", {}),
    )


def _check_meta(meta: Any) -> None:
    if not isinstance(meta, dict) or meta.get("format") != "snnmap-network":
        raise NetworkError("field 'format' must be 'snnmap-network': not an snnmap network file")
    for key in ("num_neurons", "t_run"):
        if key not in meta:
            raise NetworkError(f"field {key!r} is missing")
    check_num_neurons(meta["num_neurons"])
    t_run = meta["t_run"]
    if isinstance(t_run, bool) or not isinstance(t_run, (int, float)) or not 0 < t_run <= sys.float_info.max:
        raise NetworkError(f"field 't_run'={show_value(t_run)}: must be a positive number of seconds")
    names = meta.get("population_names", ["all"])
    if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
        raise NetworkError(f"field 'population_names'={names!r}: must be a list of names")
