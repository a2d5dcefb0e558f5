"""The one-call API: load a network and a chip, map, evaluate."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import numpy as np

from snnmap import registry
from snnmap.formulations import EnergyReport, Result
from snnmap.formulations import evaluate as _evaluate
from snnmap.formulations.bounds import min_cores
from snnmap.hardware import Hardware, load_hardware, mesh_for
from snnmap.instances import NetworkError, SpikingNetwork, load_network_file
from snnmap.instances.files import write_text

NETWORK_SUFFIXES = (".npz", ".json")
SANAFE_SUFFIXES = (".yaml", ".yml")
FORMATS = ("a network file (.npz, .json, NIR .nir/.h5, edge-list .csv, SANA-FE .yaml) or an application name "
           "(snnmap apps lists them)")


AUTO_EXACT_SIZE = 256  # neurons x cores up to which `auto` tries to prove the optimum (the mini instances)
AUTO_EXACT_SECONDS = 60.0  # the exact stage's time limit when none is given


def auto(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
         comm: str | None = None, progress: Callable[..., None] | None = None, log_path: str | None = None,
         threads: int | None = None) -> Result:
    """The default method: an exact model where it can prove the optimum, ``partition-refine`` elsewhere.

    Small instances (neurons x cores <= :data:`AUTO_EXACT_SIZE`) go to CP-SAT,
    hinted with the ``partition-refine`` mapping (CP-SAT proved most mini
    applications here fastest) and limited to ``time_limit`` or
    :data:`AUTO_EXACT_SECONDS`; larger ones to ``partition-refine``.
    ``log_path`` and ``threads`` are the CP-SAT stage's; without one, the log
    file says why.
    """
    heuristic = registry.get("partition-refine").function(network, hardware, time_limit=time_limit, seed=seed,
                                                         comm=comm, progress=progress)
    if heuristic.status == "interrupted":  # Ctrl-C: the user wants the mapping so far, not a second stage
        return dataclasses.replace(heuristic, method=f"auto:{heuristic.method}")
    if network.num_neurons * hardware.num_cores > AUTO_EXACT_SIZE:
        if log_path:
            write_text(log_path, f"auto: {network.num_neurons} neurons x {hardware.num_cores} cores > "
                                  f"{AUTO_EXACT_SIZE}: no exact stage, partition-refine only\n")
        return dataclasses.replace(heuristic, method=f"auto:{heuristic.method}")
    exact = registry.get("cpsat").function(network, hardware, time_limit=time_limit or AUTO_EXACT_SECONDS,
                                           seed=seed, start=heuristic.mapping, comm=comm, progress=progress,
                                           log_path=log_path, threads=threads)
    chosen = exact if exact.energy <= heuristic.energy or exact.status == "infeasible" else heuristic
    return dataclasses.replace(chosen, method=f"auto:{chosen.method}")


def methods() -> dict[str, registry.Method]:
    """Every mapping method by name, in registry order: ``auto``, the exact models, the heuristics.

    Each value is a :class:`snnmap.registry.Method` (``kind``, ``summary``,
    ``options``); calling it runs the method with checked options.
    """
    return dict(registry.METHODS)


def load_network(
    path_or_app_name: str | Path | SpikingNetwork,
    *,
    spikes: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> SpikingNetwork:
    """A network from a file (``.npz``, ``.json``, NIR ``.nir``, edge-list ``.csv``, SANA-FE ``.yaml``) or an app.

    A SANA-FE network file (``.yaml``) has no spike counts: they are zero until
    SANA-FE simulates it (``snnmap.sanafe_bridge.simulate_file``); its
    ``mappings`` section is read by :func:`snnmap.load_mapping`.
    An edge-list CSV (``pre,post[,weight]``) needs a spike file: ``spikes=``,
    or ``NAME.spikes.csv`` beside ``NAME.csv`` (see :func:`instances.edgelist.load_edgelist`).

    Application names are ``LeNet`` (mini scale), ``LeNet:mini`` or ``LeNet:full``;
    ``snnmap apps`` lists them. A full instance is simulated on first use
    (``progress`` receives status messages) and cached.
    """
    if isinstance(path_or_app_name, SpikingNetwork):
        return path_or_app_name
    text = str(path_or_app_name)
    path = Path(text)
    if path.is_dir():
        raise NetworkError(f"{text}: is a directory; give {FORMATS}")
    if path.suffix.lower() in NETWORK_SUFFIXES:
        return load_network_file(path)
    if path.suffix.lower() == ".csv":
        from snnmap.instances.edgelist import load_edgelist

        spike_file = Path(spikes) if spikes is not None else path.with_suffix(".spikes.csv")
        if not spike_file.is_file():
            raise NetworkError(
                f"{path}: an edge list needs its spike counts: give --spikes FILE (spikes=...) "
                f"or put them in {spike_file}"
            )
        return load_edgelist(path, spike_file)
    if path.suffix.lower() in SANAFE_SUFFIXES:
        from snnmap.instances.sanafe_yaml import read_sanafe_yaml

        return read_sanafe_yaml(path).network
    if path.suffix.lower() in (".nir", ".h5", ".hdf5"):
        from snnmap.instances.nir_import import load_nir

        return load_nir(path)
    if path.is_file():
        raise NetworkError(f"{text}: unknown network format {path.suffix!r}; give {FORMATS}")
    from snnmap.instances.apps import APPS, load_app

    if text.partition(":")[0].strip().lower() not in (a.lower() for a in APPS):
        raise NetworkError(f"{text!r}: no such file or application; give {FORMATS}: {', '.join(APPS)}")
    return load_app(text, progress=progress)


def evaluate(network: SpikingNetwork | str, hardware: Hardware | str, core_of: Any,
             comm: str | None = None) -> EnergyReport:
    """Score any mapping with the one evaluator (see :func:`formulations.evaluate`)."""
    net = load_network(network)
    hw = hardware if isinstance(hardware, Hardware) else load_hardware(hardware)
    return _evaluate(net, hw, core_of, comm)


def solve(
    network: SpikingNetwork | str,
    hardware: Hardware | str,
    method: str = "auto",
    time_limit: float | None = None,
    seed: int = 0,
    **options: Any,
) -> Result:
    """Map ``network`` onto ``hardware`` with ``method``; the Result is scored by the evaluator.

    Parameters
    ----------
    network
        A :class:`SpikingNetwork`, a file path or an application name.
    hardware
        A :class:`Hardware` or a preset name / TOML path.
    method
        One of :func:`methods` (``snnmap map --help`` lists them); the default
        ``auto`` proves small instances exactly and uses ``partition-refine`` otherwise.
    time_limit
        Seconds (positive); ``None`` is the method's default. Long methods return
        their best mapping when it expires.
    seed
        From 0 to ``2**31 - 1``. Same seed, same mapping.
    options
        The method's own options (``methods()[method].options``, e.g. ``comm="unicast"``;
        ``start=`` a mapping, a heuristic's name or a mapping file for the exact models;
        ``max_step_time=`` seconds per time step, a limit kept like a core limit, and
        ``objective="energy"|"latency"|"weighted"``, for the methods that list them).

    Raises
    ------
    ValueError
        For an unknown method, an option the method does not take (naming the ones
        it does take), or a time limit or seed out of range; before any work.
    """
    entry = registry.get(method)
    entry.check(options)
    registry.check_run_options(time_limit, seed)
    net = load_network(network)
    hw = hardware if isinstance(hardware, Hardware) else load_hardware(hardware)
    return entry(net, hw, time_limit=time_limit, seed=int(seed), **options)


def fit_network(network: SpikingNetwork, hardware: Hardware | str) -> SpikingNetwork:
    """The network with every fan-in the hardware cannot hold unrolled (else unchanged).

    A neuron with more presynaptic neurons than a core has input axons
    (``a_max``), or than ``fanin_max``, is split into a tree of partial-sum
    neurons, as the seed lab's compiler does for 128 x 128 crossbars
    (see :func:`instances.unroll.unroll_fanin`).
    """
    from snnmap.instances import unroll_fanin

    hw = hardware if isinstance(hardware, Hardware) else load_hardware(hardware)
    caps = [c for c in (hw.limits.a_max, hw.limits.fanin_max, hw.limits.syn_max) if c is not None]
    if not caps or int(network.in_degree.max(initial=0)) <= min(caps):
        return network
    return unroll_fanin(network, min(caps))


def fit_hardware(network: SpikingNetwork, hardware: Hardware | str, *, slack: float = 0.0) -> Hardware:
    """The hardware resized to the smallest near-square mesh that holds ``network``.

    The core count is what sequential fill needs (never below the limits' own
    minimum), plus ``slack`` (a fraction) of spare cores for better mappings.
    """
    from snnmap.heuristics.partition import fill_order

    hw = hardware if isinstance(hardware, Hardware) else load_hardware(hardware)
    _, runs, problem = fill_order(network, hw)
    if problem:
        raise ValueError(f"{network.name} cannot be mapped on {hw.name} at any size: {problem}")
    need = max(runs, min_cores(network, hw))
    need = int(np.ceil(need * (1.0 + slack)))
    tiles = -(-need // hw.cores_per_tile)
    return hw.replace(mesh=mesh_for(tiles))
