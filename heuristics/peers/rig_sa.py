"""rig 2.4.1's simulated-annealing placer (SpiNNaker's place and route) on snnmap's evaluator.

rig places vertices (each using some of a chip's resources) on a ``Machine`` of
chips so that the nets' bounding boxes, weighted by traffic, are short. The
adapter hands it:

- vertices: the network cut in neuron order into core-sized slices (``n_max``,
  ``a_max``, ``syn_max``; :func:`~snnmap.heuristics.peers.common.core_vertices`),
  each needing one core, as SpiNNaker's tool chain slices populations;
- the machine: one rig chip per tile of the mesh (our routers), with
  ``cores_per_tile`` cores, and no wrap-around links (a mesh, not a torus);
- nets: each neuron's multicast tree from its vertex to the vertices of its
  targets, weighted by its spike count (neurons with the same tree merged).

rig's own ``place`` (annealing, seed ``random.Random(seed)``) and greedy
``allocate`` then give each vertex a tile and a core on it. What rig cannot
express: hop energies (it weighs every hop alike, east-west, north-south and
chip-to-chip, and minimises bounding-box length rather than the sum of hops),
``dest_max`` and a mesh whose cores are not all alike; the evaluator scores
the answer and its verdict on every limit stands.
"""

from __future__ import annotations

import collections
import inspect
import random

import numpy as np

from snnmap.formulations.bounds import precheck
from snnmap.formulations.result import Result
from snnmap.hardware import Hardware
from snnmap.heuristics.common import Progress, Timer, finish
from snnmap.heuristics.peers.common import PeerUnavailable, core_vertices, require, vertex_traffic
from snnmap.instances import SpikingNetwork

METHOD = "rig-sa"


def _restore_getargspec() -> None:
    """rig 2.4.1 calls ``inspect.getargspec``, removed in Python 3.11: restore it (rig's code stays as shipped)."""
    if not hasattr(inspect, "getargspec"):
        arg_spec = collections.namedtuple("ArgSpec", "args varargs keywords defaults")

        def getargspec(func):  # noqa: ANN001, ANN202 (the removed function's signature)
            spec = inspect.getfullargspec(func)
            return arg_spec(spec.args, spec.varargs, spec.varkw, spec.defaults)

        inspect.getargspec = getargspec  # type: ignore[attr-defined]


def solve(network: SpikingNetwork, hardware: Hardware, *, time_limit: float | None = None, seed: int = 0,
          comm: str | None = None, progress: Progress = None, effort: float = 1.0, **_: object) -> Result:
    """Place core-sized slices with rig's annealer (see the module docstring); rig has no time limit."""
    _restore_getargspec()
    require("rig", "rig==2.4.1")
    from rig.links import Links
    from rig.netlist import Net
    from rig.place_and_route import Cores, Machine
    from rig.place_and_route.allocate.greedy import allocate
    from rig.place_and_route.place.sa import place

    timer = Timer(time_limit)
    if hardware.topology != "mesh":
        raise PeerUnavailable(f"{METHOD}: rig places on a mesh of chips; {hardware.name} is a {hardware.topology}")
    problem = precheck(network, hardware)
    vertex_of, k, cut_problem = core_vertices(network, hardware)
    problem = problem or cut_problem
    if not problem and k > hardware.num_cores:
        problem = f"n_max/a_max/syn_max: {k} core-sized slices but {hardware.name} has {hardware.num_cores} cores"
    if problem:
        return finish(network, hardware, None, method=METHOD, timer=timer, seed=seed, comm=comm, message=problem)
    rows, cols = hardware.mesh  # type: ignore[misc]
    dead = {(x, 0, link) for x in range(cols) for link in (Links.south, Links.south_west)}
    dead |= {(x, rows - 1, link) for x in range(cols) for link in (Links.north, Links.north_east)}
    dead |= {(0, y, link) for y in range(rows) for link in (Links.west, Links.south_west)}
    dead |= {(cols - 1, y, link) for y in range(rows) for link in (Links.east, Links.north_east)}
    machine = Machine(cols, rows, chip_resources={Cores: hardware.cores_per_tile}, dead_links=dead)
    vertices = collections.OrderedDict((v, {Cores: 1}) for v in range(k))
    nets = [Net(src, list(sinks), weight) for src, sinks, weight in vertex_traffic(network, vertex_of)]
    placements = place(vertices, nets, machine, [], effort=effort, random=random.Random(seed))
    allocation = allocate(vertices, nets, machine, [], placements)
    core_of_vertex = np.empty(k, dtype=np.int64)
    for v, (x, y) in placements.items():
        core_of_vertex[v] = (y * cols + x) * hardware.cores_per_tile + allocation[v][Cores].start
    return finish(network, hardware, core_of_vertex[vertex_of], method=METHOD, timer=timer, seed=seed, comm=comm,
                  message="rig: hop costs weighed alike, dest_max not expressed (the evaluator checks it)",
                  stats={"vertices": k, "nets": len(nets)})
