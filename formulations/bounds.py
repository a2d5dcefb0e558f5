"""Lower bounds on the evaluator's total energy that hold for every feasible mapping."""

from __future__ import annotations

import math

import numpy as np

from formulations.energy import fixed_energy
from hardware import Hardware
from instances import SpikingNetwork


def min_cores(network: SpikingNetwork, hardware: Hardware) -> int:
    """The fewest cores any feasible mapping can use, from the per-core limits alone.

    Every neuron needs a neuron slot, every synapse a synapse slot on its
    postsynaptic core, and every neuron with a target at least one axon slot.
    """
    lim = hardware.limits
    need = math.ceil(network.num_neurons / lim.n_max)
    if lim.syn_max is not None:
        need = max(need, math.ceil(network.num_synapses / lim.syn_max))
    if lim.a_max is not None:
        senders = int(np.count_nonzero(network.out_degree))
        need = max(need, math.ceil(senders / lim.a_max))
    return max(need, 1)


def combinatorial_lower_bound(network: SpikingNetwork, hardware: Hardware, comm: str | None = None) -> float:
    """A fast valid bound: fixed energy + forced static energy + forced communication.

    - static: ``t_run * p_static`` times :func:`min_cores` (all cores without power gating);
    - communication: each spike of a neuron with a target is delivered at least
      once (multicast) or once per synapse (unicast), at no less than
      ``min(e_local, e_route)``; a neuron whose targets cannot share one core
      (more targets than ``n_max``, or more synapses than ``syn_max``) sends at
      least ``ceil(targets / n_max)`` packets, all but one of them remote.
    """
    comm = hardware.comm if comm is None else comm
    e = hardware.energy
    lim = hardware.limits
    cores = min_cores(network, hardware) if hardware.power_gating else hardware.num_cores
    static = network.t_run * e.p_static * cores
    s = network.spikes
    out_deg = network.out_degree
    cheapest = min(e.e_local, e.e_route)
    if comm == "unicast":
        comm_lb = float(np.dot(s, out_deg)) * cheapest
    else:
        # Destination cores forced by the neuron limit (targets are distinct neurons).
        dests = np.ceil(out_deg / lim.n_max)
        remote = np.maximum(dests - 1, 0)
        comm_lb = float(np.dot(s, np.minimum(dests, 1))) * cheapest + float(np.dot(s, remote)) * e.e_route
    return fixed_energy(network, hardware) + static + comm_lb
