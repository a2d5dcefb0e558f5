"""The 10 applications of the seed paper as simulated spiking-network instances.

>>> from instances.apps import APPS, build, load_app
>>> net = load_app("LeNet:mini")          # scale defaults to mini

Full instances are written to a cache directory (``~/.cache/snnmap``, or
``$SNNMAP_CACHE``, or ``cache_dir=``) on first build and reloaded from there;
files are written atomically, and a corrupt cached file is built again.
Mini instances ship in ``instances/data/`` (seed 0) and are rebuilt from
the same builders when missing or for other seeds.
"""

from __future__ import annotations

import importlib
import importlib.resources
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from threadpoolctl import threadpool_limits

from snnmap.instances.files import FileError
from snnmap.instances.io import load_network_file, save_network
from snnmap.instances.network import NetworkError, SpikingNetwork

APPS: tuple[str, ...] = (
    "LeNet", "AlexNet", "VGG16", "HeartClass", "DigitRecogMLP",
    "DigitRecogSTDP", "EdgeDet", "ImgSmooth", "HeartEstm", "VisualPursuit",
)
SCALES: tuple[str, ...] = ("mini", "full")
_MODULES = {
    "LeNet": "lenet", "AlexNet": "alexnet", "VGG16": "vgg16", "HeartClass": "heartclass",
    "DigitRecogMLP": "digitrecog_mlp", "DigitRecogSTDP": "digitrecog_stdp", "EdgeDet": "edgedet",
    "ImgSmooth": "imgsmooth", "HeartEstm": "heartestm", "VisualPursuit": "visualpursuit",
}
# Package data of snnmap.instances: found the same way in a source checkout and in an installed wheel.
DATA_DIR = Path(str(importlib.resources.files("snnmap.instances").joinpath("data")))
FULL_SUMMARY = DATA_DIR / "full_summary.json"


def app_module(name: str) -> ModuleType:
    """The builder module of application ``name`` (case-insensitive)."""
    return importlib.import_module(f"snnmap.instances.apps.{_MODULES[canonical(name)]}")


def canonical(name: str) -> str:
    """The registered spelling of ``name``; unknown names raise :class:`NetworkError`."""
    for app in APPS:
        if app.lower() == str(name).strip().lower():
            return app
    raise NetworkError(f"unknown application {name!r}: choose one of {', '.join(APPS)}")


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """Where full instances are cached: the argument, ``$SNNMAP_CACHE`` or ``~/.cache/snnmap``."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("SNNMAP_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "snnmap"


def cache_path(name: str, scale: str, seed: int, cache_dir: str | Path | None = None) -> Path:
    mod = app_module(name)
    return cache_root(cache_dir) / f"{canonical(name)}-{scale}-seed{seed}-v{mod.VERSION}.npz"


def mini_path(name: str) -> Path:
    """The shipped seed-0 mini instance of ``name``."""
    return DATA_DIR / f"{canonical(name)}-mini.npz"


def build(
    name: str, scale: str = "mini", seed: int = 0, cache_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None, *, rebuild: bool = False,
) -> SpikingNetwork:
    """Build (or fetch) application ``name`` at ``scale``.

    Parameters
    ----------
    name
        One of :data:`APPS` (case-insensitive).
    scale
        ``"mini"`` (at most 32 neurons, for exact solvers) or ``"full"``.
    seed
        Seed of every random choice (data split, initialisation, Poisson input).
    cache_dir
        Cache of full instances (default ``$SNNMAP_CACHE`` or ``~/.cache/snnmap``).
    progress
        Called with short status messages while building.
    rebuild
        Ignore cached and shipped files and build again.
    """
    app = canonical(name)
    if scale not in SCALES:
        raise NetworkError(f"{app}: unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    mod = app_module(app)
    if scale == "mini":
        shipped = mini_path(app)
        if seed == 0 and shipped.is_file() and not rebuild:
            net = load_network_file(shipped)
            if net.provenance.get("version") == mod.VERSION:
                return net
        with threadpool_limits(1):
            return mod.build(scale, seed=seed, progress=progress)
    path = cache_path(app, scale, seed, cache_dir)
    if path.is_file() and not rebuild:
        try:
            return load_network_file(path)
        except NetworkError as exc:
            # A corrupt cached file (torn by a crash, or edited) is never used: build it again.
            if progress is not None:
                progress(f"cached file unreadable, building again ({exc})")
    # Single-threaded BLAS: faster for these small products on a shared machine, and reproducible.
    with threadpool_limits(1):
        net = mod.build(scale, seed=seed, progress=progress)
    try:
        # Written atomically: a concurrent build or reader never sees a half-written file.
        save_network(net, path)
    except FileError as exc:
        raise FileError(f"{exc} (the cache of full instances: set $SNNMAP_CACHE or cache_dir)") from None
    return load_network_file(path)


def load_app(spec: str, *, seed: int = 0, cache_dir: str | Path | None = None,
             progress: Callable[[str], None] | None = None) -> SpikingNetwork:
    """An application from ``"NAME"`` or ``"NAME:SCALE"`` (scale defaults to mini)."""
    name, _, scale = str(spec).partition(":")
    return build(name, scale.strip().lower() or "mini", seed=seed, cache_dir=cache_dir, progress=progress)


def declared_sizes(name: str, scale: str) -> tuple[int, int]:
    """Neurons and synapses of an instance computed by its builder's arithmetic (no build)."""
    return tuple(int(v) for v in app_module(name).sizes(scale))  # type: ignore[return-value]


def full_summary() -> dict[str, Any]:
    """The committed summary of the full instances (sizes, spikes, build time, peak memory)."""
    return json.loads(FULL_SUMMARY.read_text()) if FULL_SUMMARY.is_file() else {}


def app_rows(scales: tuple[str, ...] = SCALES) -> list[dict[str, Any]]:
    """Rows of the ``snnmap apps`` table: name, scale, neurons, synapses, total spikes, sources.

    Mini rows come from the shipped (or rebuilt) instances; full rows from the
    committed summary of measured builds (``full_summary.json``), falling back
    to the declared sizes when it lacks an application.
    """
    summary = full_summary()
    rows = []
    for app in APPS:
        mod = app_module(app)
        for scale in scales:
            if scale == "mini":
                net = build(app, "mini")
                n, m, s = net.num_neurons, net.num_synapses, net.total_spikes
            else:
                rec = summary.get(app)
                if rec is None:
                    n, m = declared_sizes(app, "full")
                    s = None
                else:
                    n, m, s = rec["neurons"], rec["synapses"], rec["total_spikes"]
            rows.append({"name": app, "scale": scale, "neurons": n, "synapses": m, "total_spikes": s,
                         "input_source": mod.INPUT_SOURCE, "weight_source": mod.WEIGHT_SOURCE})
    return rows


__all__ = ["APPS", "SCALES", "app_module", "app_rows", "build", "cache_path", "canonical", "declared_sizes",
           "full_summary", "load_app", "mini_path"]
