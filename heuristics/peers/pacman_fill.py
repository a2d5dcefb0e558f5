"""PACMAN (spinnaker-pacman 1!7.4.1), SpiNNaker's partitioner and placer, on snnmap's evaluator.

PACMAN slices every population (an ``ApplicationVertex``) into machine vertices
of at most ``max_atoms_per_core`` neurons (``SplitterFixedLegacy``, via
``splitter_partitioner``) and places them with its application placer, which
fills chips in order and keeps a population's slices on neighbouring chips; it
reads no traffic. As in PACMAN's unit tests the graph lives in a mocked
``PacmanDataWriter`` with ``SimpleTestVertex`` vertices, on a virtual machine:

- one SpiNNaker chip stands for one tile of our mesh, with ``cores_per_tile``
  application cores (``[Machine] max_machine_core``; core 0 stays SpiNNaker's
  monitor), chip ``(x, y)`` being our tile at column ``x``, row ``y``: a
  version-5 machine (48-chip boards, 12 x 12 chips per 3 boards) with the chips
  outside our mesh marked down;
- each population's ``max_atoms_per_core`` is the largest slice size, at most
  ``n_max``, whose fixed-size slices all keep ``a_max`` and ``syn_max``
  (PACMAN has no axon or synapse limit of its own: a population's neurons per
  core is how sPyNNaker users express them).

What PACMAN cannot express: traffic, hop energies and ``dest_max``; the evaluator
scores the placement and checks every limit.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math

import numpy as np

from snnmap.formulations.bounds import precheck
from snnmap.formulations.result import Result
from snnmap.hardware import Hardware
from snnmap.heuristics.common import Progress, Timer, finish
from snnmap.heuristics.peers.common import PeerUnavailable, require
from snnmap.instances import SpikingNetwork

METHOD = "pacman"
BOARD = 12  # chips per side of a whole number of version-5 boards (a rectangle PACMAN's virtual machine accepts)
SPINNAKER_CORES = 18  # cores of a SpiNNaker chip, one of them the monitor


def slice_size(network: SpikingNetwork, members: np.ndarray, hardware: Hardware) -> int:
    """The largest ``m <= n_max`` whose ``m``-neuron slices of ``members`` all keep ``a_max`` and ``syn_max``."""
    lim = hardware.limits
    pos = np.full(network.num_neurons, -1, dtype=np.int64)
    pos[members] = np.arange(members.size)
    into = pos[network.post] >= 0
    pre, at = network.pre[into], pos[network.post[into]]
    m = int(min(lim.n_max, members.size))
    while m > 1:
        part = at // m
        axons = np.bincount(np.unique(part * network.num_neurons + pre) // network.num_neurons)
        synapses = np.bincount(part)
        if (lim.a_max is None or axons.max(initial=0) <= lim.a_max) and (
                lim.syn_max is None or synapses.max(initial=0) <= lim.syn_max):
            break
        m = max(1, math.floor(m * 0.9))
    return m


def solve(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
          comm: str | None = None, progress: Progress = None, **_: object) -> Result:
    """Slice by population and fill chips in order with PACMAN (see the module docstring)."""
    require("pacman", "spinnaker-pacman==1!7.4.1")
    from pacman.config_setup import unittest_setup
    from pacman.data.pacman_data_writer import PacmanDataWriter
    from pacman.exceptions import PacmanException
    from pacman.model.graphs.application import ApplicationEdge
    from pacman.model.partitioner_splitters import SplitterFixedLegacy
    from pacman.model.placements import Placements
    from pacman.operations.partition_algorithms import splitter_partitioner
    from pacman.operations.placer_algorithms import place_application_graph
    from pacman_test_objects import SimpleTestVertex
    from spinn_machine.virtual_machine import virtual_machine
    from spinn_utilities.config_holder import set_config

    timer = Timer(time_limit)
    if hardware.topology != "mesh" or hardware.cores_per_tile >= SPINNAKER_CORES:
        raise PeerUnavailable(f"{METHOD}: PACMAN places on a mesh of SpiNNaker chips of at most "
                              f"{SPINNAKER_CORES - 1} cores; {hardware.name} is not one")
    problem = precheck(network, hardware)
    if problem:
        return finish(network, hardware, None, method=METHOD, timer=timer, seed=seed, comm=comm, message=problem)
    rows, cols = hardware.mesh  # type: ignore[misc]
    width, height = BOARD * math.ceil(cols / BOARD), BOARD * math.ceil(rows / BOARD)
    pop = network.population if network.population is not None else np.zeros(network.num_neurons, np.int64)
    members = [np.flatnonzero(pop == p) for p in range(int(pop.max(initial=-1)) + 1)]
    members = [m for m in members if m.size]
    quiet = logging.getLogger("spinn_machine"), logging.getLogger("pacman")
    levels = [log.level for log in quiet]
    try:
        for log in quiet:  # PACMAN's notes on our deliberate settings are no news to the user
            log.setLevel(logging.ERROR)
        with contextlib.redirect_stderr(io.StringIO()):  # its progress bars
            unittest_setup()
            set_config("Machine", "version", 5)
            set_config("Machine", "max_machine_core", hardware.cores_per_tile + 1)
            set_config("Machine", "down_chips", ":".join(
                f"{x},{y}" for x in range(width) for y in range(height) if x >= cols or y >= rows) or "None")
            writer = PacmanDataWriter.mock()
            vertices = []
            for p, m in enumerate(members):
                vertex = SimpleTestVertex(int(m.size), f"pop{p}", max_atoms_per_core=slice_size(network, m, hardware),
                                          splitter=SplitterFixedLegacy())
                writer.add_vertex(vertex)
                vertices.append(vertex)
            index = np.full(network.num_neurons, -1, dtype=np.int64)
            for p, m in enumerate(members):
                index[m] = p
            for key in np.unique(index[network.pre] * len(members) + index[network.post]).tolist():
                a, b = divmod(key, len(members))
                writer.add_edge(ApplicationEdge(vertices[a], vertices[b]), "spikes")
            writer.set_machine(virtual_machine(width, height, validate=False))
            splitter_partitioner()
            placements = place_application_graph(Placements())
    except PacmanException as exc:
        return finish(network, hardware, None, method=METHOD, timer=timer, seed=seed, comm=comm,
                      message=f"PACMAN: {str(exc).strip().splitlines()[0]}")
    finally:
        for log, level in zip(quiet, levels):
            log.setLevel(level)
    core_of = np.full(network.num_neurons, -1, dtype=np.int64)
    pop_of = {id(v): p for p, v in enumerate(vertices)}
    for placement in placements:
        vertex = placement.vertex
        p = pop_of[id(vertex.app_vertex)]
        lo, hi = vertex.vertex_slice.lo_atom, vertex.vertex_slice.hi_atom
        core_of[members[p][lo:hi + 1]] = (placement.y * cols + placement.x) * hardware.cores_per_tile + placement.p - 1
    return finish(network, hardware, core_of, method=METHOD, timer=timer, seed=seed, comm=comm,
                  message="PACMAN: slices by population, fills chips in order; reads no traffic",
                  stats={"vertices": len(list(placements))})
