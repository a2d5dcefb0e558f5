"""nengo-loihi 1.1.0's splitter and allocators (Loihi's vendor pipeline) on snnmap's evaluator.

nengo-loihi cuts each population sequentially into core-sized blocks
(``split_model``) and gives every block a core of its own on one or several
chips: ``Greedy`` fills chips in order, ``RoundRobin`` deals blocks over the
chips, ``GreedyInterchip`` and ``PartitionInterchip`` (METIS) keep busy block
pairs on one chip. It only decides chips; within a chip, cores are taken in
allocation order. The adapter builds nengo-loihi's ``Model`` by hand (one
``LoihiBlock`` per population, one ``Synapse``/``Axon`` per connected pair,
our spike counts as the allocators' ``ensemble_rates``), runs those functions
unchanged and maps block ``j`` of chip ``i`` to core ``j`` of chip ``i`` of the
board (row-major tiles on each chip, as on one Loihi).

Isolation: nengo-loihi 1.1.0 breaks on numpy 2 (``np.array(..., copy=False)``),
so it runs in its own virtual environment, made on first use under the user's
cache directory (``~/.cache/snnmap/nengo-loihi-1.1.0``: nengo-loihi 1.1.0,
nengo 3.2.0, numpy < 2, networkx, pymetis; about a minute, needs the package
index once) and called as a subprocess on an ``.npz`` file
(:mod:`.nengo_loihi_worker`). ``SNNMAP_NENGO_LOIHI_PYTHON`` names another
Python that has them. ``nxmetis`` (for ``PartitionInterchip``) is not on the
package index: pymetis answers its ``partition`` call.

What nengo-loihi cannot express: one block per core (a small population
still takes a whole core), its splitter's limits are compartments and input
axons (``n_max``, ``a_max``; ``syn_max`` only as Loihi's synapse memory) and
nothing of hop energies; the evaluator checks every limit and its verdict stands.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from snnmap.formulations.bounds import precheck
from snnmap.formulations.result import Result
from snnmap.hardware import Hardware
from snnmap.heuristics.common import Progress, Timer, finish
from snnmap.heuristics.peers.common import PeerUnavailable
from snnmap.instances import SpikingNetwork

METHOD = "nengo-loihi"
ALLOCATORS = ("Greedy", "RoundRobin", "GreedyInterchip", "PartitionInterchip")
PINS = ("nengo-loihi==1.1.0", "nengo==3.2.0", "numpy<2", "networkx", "pymetis")
ENV_VAR = "SNNMAP_NENGO_LOIHI_PYTHON"
WORKER = Path(__file__).with_name("nengo_loihi_worker.py")
LOIHI_CORES_PER_CHIP = 128  # nengo-loihi's allocators refuse more


def env_dir() -> Path:
    """Where the isolated environment lives (``$XDG_CACHE_HOME`` or ``~/.cache``, then ``snnmap/``)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "snnmap" / "nengo-loihi-1.1.0"


def peer_python(create: bool = True) -> Path | None:
    """The Python that runs nengo-loihi: ``$SNNMAP_NENGO_LOIHI_PYTHON``, else the cached environment's.

    With ``create``, a missing environment is made (once); without, ``None`` is returned for it.
    """
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    python = env_dir() / "bin" / "python"
    if python.exists():
        return python
    if not create:
        return None
    target = env_dir()
    tmp = target.with_name(target.name + ".tmp")
    print(f"snnmap: making nengo-loihi's own environment at {target} (once; about a minute)", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(tmp)], check=True, capture_output=True)
        subprocess.run([str(tmp / "bin" / "python"), "-m", "pip", "install", "-q", *PINS], check=True,
                       capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        said = (getattr(exc, "stderr", "") or str(exc)).strip().splitlines()
        raise PeerUnavailable(f"nengo-loihi: could not make its environment at {tmp} ({said[-1] if said else exc}): "
                              f"retry online, or set {ENV_VAR} to a Python with {' '.join(PINS)}") from None
    tmp.rename(target)  # a half-made environment is never taken for a ready one
    return python


def solve(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
          comm: str | None = None, progress: Progress = None, allocator: str = "PartitionInterchip",
          **_: object) -> Result:
    """Split and allocate with nengo-loihi (see the module docstring); it has no time limit and no seed."""
    if allocator not in ALLOCATORS:
        raise PeerUnavailable(f"{METHOD}: allocator={allocator!r}: choose one of {', '.join(ALLOCATORS)}")
    if hardware.topology == "matrix" or hardware.cores_per_chip > LOIHI_CORES_PER_CHIP:
        raise PeerUnavailable(f"{METHOD}: nengo-loihi allocates Loihi chips of at most {LOIHI_CORES_PER_CHIP} cores "
                              f"on a mesh; {hardware.name} has {hardware.cores_per_chip} per chip")
    python = peer_python()
    timer = Timer(time_limit)
    problem = precheck(network, hardware)
    if problem:
        return finish(network, hardware, None, method=METHOD, timer=timer, seed=seed, comm=comm, message=problem)
    lim = hardware.limits
    pop = network.population if network.population is not None else np.zeros(network.num_neurons, np.int64)
    with tempfile.TemporaryDirectory(prefix="snnmap-nengo-loihi-") as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(src, num_neurons=network.num_neurons, indptr=network.indptr, indices=network.indices,
                 spikes=network.spikes, population=pop, n_max=lim.n_max,
                 a_max=lim.a_max if lim.a_max is not None else 2**62, allocator=allocator,
                 n_chips=hardware.num_chips, cores_per_chip=hardware.cores_per_chip)
        run = subprocess.run([str(python), "-I", "-W", "ignore", str(WORKER), str(src), str(dst)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            said = run.stderr.strip().splitlines()
            return finish(network, hardware, None, method=METHOD, timer=timer, seed=seed, comm=comm,
                          message=f"nengo-loihi {allocator}: {said[-1] if said else 'failed'}")
        out = np.load(dst)
        chip_of, local, blocks = out["chip_of"], out["core_of"], int(out["blocks"])
    if local.max(initial=0) >= hardware.cores_per_chip:
        return finish(network, hardware, None, method=METHOD, timer=timer, seed=seed, comm=comm,
                      message=f"nengo-loihi {allocator}: {blocks} blocks need more cores than "
                              f"{hardware.num_chips} chip(s) of {hardware.cores_per_chip}")
    return finish(network, hardware, hardware.board_core(chip_of, local), method=METHOD, timer=timer, seed=seed,
                  comm=comm, message=f"nengo-loihi {allocator}: one block per core, hop energies not expressed",
                  stats={"blocks": blocks, "allocator": allocator})


if __name__ == "__main__":  # python -m snnmap.heuristics.peers.nengo_loihi: make the environment now
    print(peer_python())
