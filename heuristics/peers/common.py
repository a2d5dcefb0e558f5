"""What the peer adapters share: the one-line refusal of a missing peer and the core-sized vertices."""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np

from snnmap.hardware import Hardware
from snnmap.heuristics.partition import fill_order
from snnmap.instances import SpikingNetwork


class PeerUnavailable(ValueError):
    """A peer's package is not installed (or its environment cannot be made); the message names the fix."""


def require(module: str, package: str, extra: str = "peers") -> ModuleType:
    """Import ``module`` of the peer ``package`` or refuse in one line naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise PeerUnavailable(f"the peer {package} is not installed: pip install 'snnmap[{extra}]'") from None


def core_vertices(network: SpikingNetwork, hardware: Hardware) -> tuple[np.ndarray, int, str]:
    """Neurons cut, in index order, into core-sized vertices (``n_max``, ``a_max``, ``syn_max``).

    This is how the SpiNNaker tool chain partitions populations before a placer
    sees them (fixed-size slices in order); the placers then place whole vertices.
    Returns the vertex of every neuron, the vertex count and a problem (or ``""``).
    """
    return fill_order(network, hardware)


def vertex_traffic(network: SpikingNetwork, vertex_of: np.ndarray) -> list[tuple[int, tuple[int, ...], float]]:
    """Multicast nets between vertices: ``(source vertex, sink vertices, spikes)``, aggregated.

    Every neuron sends each spike once to each other vertex holding one of its
    targets (traffic inside its own vertex never leaves the core); the neurons of
    one vertex with the same sink set form one net weighted by their spike count.
    """
    pre, post = network.pre, network.post
    keep = vertex_of[pre] != vertex_of[post]
    pairs = np.unique(np.stack([pre[keep], vertex_of[post][keep]], axis=1), axis=0)
    nets: dict[tuple[int, tuple[int, ...]], float] = {}
    if pairs.size:
        starts = np.flatnonzero(np.r_[True, pairs[1:, 0] != pairs[:-1, 0]])
        for lo, hi in zip(starts.tolist(), np.r_[starts[1:], len(pairs)].tolist()):
            neuron = int(pairs[lo, 0])
            key = (int(vertex_of[neuron]), tuple(pairs[lo:hi, 1].tolist()))
            nets[key] = nets.get(key, 0.0) + float(network.spikes[neuron])
    return [(src, sinks, weight) for (src, sinks), weight in nets.items()]
