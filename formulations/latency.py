"""Time per step of a mapping, from the chip's per-event latencies (``[latency]`` of a preset).

The model is SANA-FE's ``simple`` timing model (``schedule_messages_timestep_simple``,
SANA-FE 2.2.9) on the mean step, plus its ``detailed`` model's network latency
(see :data:`MODEL`). With ``r_i = s_i / T`` the spikes of neuron ``i`` per step
(``T`` = the network's time steps) and ``D(i)`` its destination cores (own core
included, as SANA-FE sends one message per destination core):

- sender side of core ``c`` (its neurons' pipeline):
  ``send_c = n_c * t_access + sum_{i on c} r_i * (t_spike + |D(i)| * t_msg_out)``
- receiver side of core ``d`` (its input messages and synapses):
  ``receive_d = sum_{i: d in D(i)} r_i * (t_msg_in + syn(i, d) * t_syn)``
- network: the longest route a message takes, ``max hop latency(core(i) -> d)``
  over the routes in use (``t_hop_x`` per east-west, ``t_hop_y`` per north-south hop)
- ``step = max_c max(send_c, receive_c) + network + sync(tiles in use)``

SANA-FE's ``simple`` model is the same without the network term and with the
maximum taken step by step (so on a network whose neurons fire at a constant
rate, the evaluator's step time without ``network`` is SANA-FE's exactly). Its
``detailed`` model schedules every message through a queue with hop latency and
congestion; the network term is the part of it that a mapping changes beyond
the busiest core (the last message of a step still has to travel). Unicast
sends one message per synapse (``|D(i)|`` becomes the out-degree). Every sum is
a ``bincount`` over whole arrays; there is no loop over neurons.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from snnmap.hardware import Hardware, HardwareError, LatencyCosts
from snnmap.instances import SpikingNetwork

MODEL = ("SANA-FE 2.2.9 timing: the slowest core's busy time on the mean step (send or receive side, "
         "the 'simple' model) + the longest route's hop latency + the barrier for the tiles in use")


@dataclasses.dataclass(frozen=True, eq=False)
class StepTime:
    """The evaluator's time per step of one mapping (seconds).

    Attributes
    ----------
    total
        Time per step: ``max(busy) + network + sync``.
    send, receive
        Per-core busy time per step on the sender and the receiver side (length ``K``).
    network
        The longest route's hop latency (0 when every message stays on its tile).
    sync
        The barrier time for ``tiles_used`` tiles.
    tiles_used
        Tiles holding at least one neuron.
    """

    total: float
    send: np.ndarray
    receive: np.ndarray
    network: float
    sync: float
    tiles_used: int

    @property
    def busy(self) -> np.ndarray:
        """Per-core busy time per step: the larger of the two sides."""
        return np.maximum(self.send, self.receive)

    @property
    def bottleneck(self) -> int:
        """The core whose busy time sets the step time."""
        return int(np.argmax(self.busy))

    def summary(self) -> dict[str, Any]:
        return {"step_time": self.total, "step_busy": float(self.busy.max(initial=0.0)),
                "step_network": self.network, "step_sync": self.sync, "tiles_used": self.tiles_used}


def require_latency(hardware: Hardware, what: str = "latency") -> LatencyCosts:
    """The chip's :class:`LatencyCosts`, or a one-line :class:`HardwareError` saying it has none."""
    if hardware.latency is None:
        raise HardwareError(f"{what} needs the chip's latency numbers and {hardware.name} has none (no [latency] "
                            "table; none are published for it): use the loihi preset or add [latency] to your file")
    return hardware.latency


def step_time(
    network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray, comm: str | None = None,
) -> StepTime:
    """The time per step of ``core_of`` (see the module docstring for the model).

    Parameters
    ----------
    network, hardware
        The instance; the hardware must carry :class:`LatencyCosts`.
    core_of
        Core of every neuron (checked by the caller).
    comm
        ``"multicast"`` or ``"unicast"``; defaults to the hardware's model.
    """
    lat = require_latency(hardware)
    comm = hardware.comm if comm is None else comm
    k = hardware.num_cores
    core_of = np.asarray(core_of, dtype=np.int64)
    pre, post = network.pre, network.post
    rate = np.asarray(network.spikes, dtype=np.float64) / float(network.steps)
    if comm == "unicast":  # one message per synapse
        msg_src, msg_dst, msg_syn = pre, core_of[post], np.ones(pre.size)
    else:
        key, syn = np.unique(pre * np.int64(k) + core_of[post], return_counts=True)
        msg_src, msg_dst, msg_syn = key // k, key % k, syn.astype(np.float64)
    messages = np.bincount(msg_src, minlength=network.num_neurons)
    send = np.bincount(core_of, weights=lat.t_access + rate * (lat.t_spike + messages * lat.t_msg_out),
                       minlength=k)
    receive = np.bincount(msg_dst, weights=rate[msg_src] * (lat.t_msg_in + msg_syn * lat.t_syn), minlength=k)
    tiles_used = int(np.unique(core_of // hardware.cores_per_tile).size)
    sync = lat.sync(tiles_used)
    network_time = _longest_route(hardware, core_of[msg_src[rate[msg_src] > 0]], msg_dst[rate[msg_src] > 0], lat)
    total = float(max(send.max(initial=0.0), receive.max(initial=0.0)) + network_time + sync)
    return StepTime(total=total, send=send, receive=receive, network=network_time, sync=sync,
                    tiles_used=tiles_used)


def _longest_route(hardware: Hardware, src: np.ndarray, dst: np.ndarray, lat: LatencyCosts) -> float:
    """The largest hop latency over the given routes (0 without any, or on a hop-matrix chip)."""
    if not src.size or hardware.topology == "matrix":
        return 0.0
    dx, dy = hardware.hops_xy(src, dst)
    return float((dx * lat.t_hop_x + dy * lat.t_hop_y).max())


def symmetry_keeps_step_time(hardware: Hardware) -> bool:
    """Whether the exact models' mesh symmetries keep a budgeted step time.

    Flips keep every hop count per axis; a transpose of a square mesh swaps
    the axes, which keeps the energy only when it costs the same per axis
    (the models check that) and the step time only when the hop latencies
    are equal too.
    """
    lat = hardware.latency
    if hardware.limits.max_step_time is None or lat is None or hardware.mesh is None:
        return True
    return hardware.mesh[0] != hardware.mesh[1] or lat.t_hop_x == lat.t_hop_y


def min_step_time(network: SpikingNetwork, hardware: Hardware, comm: str | None = None) -> float:
    """A lower bound on the step time of any mapping: the fastest possible step.

    Every neuron alone on its core, sending as few messages as its targets
    allow (``ceil(targets / n_max)`` destination cores; one per synapse under
    unicast) and receiving each presynaptic neuron's message with at least
    its own synapse; no hops; the barrier of the fewest tiles that hold the
    network. A budget below it cannot be met by any mapping.
    """
    lat = require_latency(hardware)
    comm = hardware.comm if comm is None else comm
    n = network.num_neurons
    rate = np.asarray(network.spikes, dtype=np.float64) / float(network.steps)
    n_max = hardware.limits.n_max
    out_deg = np.asarray(network.out_degree, dtype=np.float64)
    messages = out_deg if comm == "unicast" else np.ceil(out_deg / n_max)
    send = lat.t_access + rate * (lat.t_spike + messages * lat.t_msg_out)
    receive = np.bincount(network.post, weights=rate[network.pre] * (lat.t_msg_in + lat.t_syn), minlength=n)
    tiles = -(-n // (n_max * hardware.cores_per_tile))
    return float(max(send.max(initial=0.0), receive.max(initial=0.0)) + lat.sync(max(tiles, 1)))
