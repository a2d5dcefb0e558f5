"""Time per step of a mapping, from the chip's per-event latencies (``[latency]`` of a preset).

The model is SANA-FE's timing (2.2.9) on the mean step: its ``simple`` model's
busiest core, plus the wait its ``detailed`` model adds when a core's input
arrives late (see :data:`MODEL`). With ``r_i = s_i / T`` the spikes of neuron ``i`` per step
(``T`` = the network's time steps) and ``D(i)`` its destination cores (own core
included, as SANA-FE sends one message per destination core):

- sender side of core ``c`` (its neurons' pipeline):
  ``send_c = n_c * t_access + sum_{i on c} r_i * (t_spike + |D(i)| * t_msg_out)``
- receiver side of core ``d`` (its input messages and synapses):
  ``receive_d = sum_{i: d in D(i)} r_i * (t_msg_in + syn(i, d) * t_syn)``
- network: what the schedule adds beyond the busiest core. As SANA-FE's ``detailed``
  model does, every core runs its neurons in index order, a neuron's messages leave
  once it is done, travel their hop latency (``t_hop_x`` per east-west, ``t_hop_y``
  per north-south hop) and wait at the receiving core, which takes them in arrival
  order; ``network = max(0, last message processed - max busy)`` (:func:`_schedule`).
  The senders are paced by ``detailed``'s congestion estimate (:func:`paced_send`):
  core ``c``'s last message arrives no earlier than
  ``pace_c = sum_{messages m of c} r_m * t_in_flight / ((h_m + 1) (h_m + 2))``
  (``h_m`` its hops, ``t_in_flight`` the mean receive time of ``c``'s messages in flight),
  so its neurons' done times are stretched by ``max(1, pace_c / send_c)``
- ``step = max_c max(send_c, receive_c) + network + sync(tiles in use)``

SANA-FE's ``simple`` model is the busiest core alone, with the maximum taken step
by step (so on a network whose neurons fire at a constant rate, the evaluator's
step time without ``network`` is SANA-FE's exactly). Its ``detailed`` model
schedules every message of every step through a queue with hop latency and a
congestion estimate; the schedule here is that queue on the mean step, with the
congestion estimate as a pace on each sender (:func:`paced_send` derives it). A
mapping whose receiving core gets its input only from
the end of a busy sender's step pays that sender's time plus its own. The busy
time and the barrier are linear in the assignment (the exact models carry them);
the schedule's wait is not. Unicast
sends one message per synapse (``|D(i)|`` becomes the out-degree). Every sum is
a ``bincount`` over whole arrays; there is no loop over neurons.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from snnmap.hardware import Hardware, HardwareError, LatencyCosts
from snnmap.instances import SpikingNetwork

MODEL = ("SANA-FE 2.2.9 timing on the mean step: the slowest core's busy time (send or receive side, "
         "the 'simple' model) + the wait of the 'detailed' model's message schedule (neurons in index order, "
         "hop latency, arrival-order queues, senders paced by its congestion estimate) + the barrier for the "
         "tiles in use")


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
        What the message schedule adds to the busiest core's time (late input, hops).
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
    per_neuron = lat.t_access + rate * (lat.t_spike + messages * lat.t_msg_out)
    send = np.bincount(core_of, weights=per_neuron, minlength=k)
    work = rate[msg_src] * (lat.t_msg_in + msg_syn * lat.t_syn)
    receive = np.bincount(msg_dst, weights=work, minlength=k)
    tiles_used = int(np.unique(core_of // hardware.cores_per_tile).size)
    sync = lat.sync(tiles_used)
    busy = max(send.max(initial=0.0), receive.max(initial=0.0))
    live = work > 0
    paced = paced_send(hardware, core_of, send, rate, msg_src, msg_dst, lat.t_msg_in + msg_syn * lat.t_syn)
    stretch = np.divide(paced, send, out=np.ones_like(send), where=send > 0)
    finish = _schedule(hardware, core_of, per_neuron * stretch[core_of], msg_src[live], msg_dst[live], work[live],
                       lat)
    network_time = max(finish - busy, 0.0)
    return StepTime(total=float(busy + network_time + sync), send=send, receive=receive, network=network_time,
                    sync=sync, tiles_used=tiles_used)


def paced_send(hardware: Hardware, core_of: np.ndarray, send: np.ndarray, rate: np.ndarray, src: np.ndarray,
               dst: np.ndarray, receive_time: np.ndarray) -> np.ndarray:
    """Per-core time by which the sender's last message has arrived under SANA-FE's congestion estimate.

    In ``schedule_messages_timestep_detailed`` (src/schedule.cpp) each message
    in flight (sent, not yet taken by its receiver) adds ``1 / (h + 2)`` to
    each link of its route, the first being its sender's output link; a
    message's network delay is ``max(hop latency, density along its route *
    t_in_flight / (h + 1))`` and its sender blocks while that density exceeds
    ``link_buffer_size * (h + 1)``. A sender's in-flight density ``rho`` thus
    keeps each message in flight ``rho * t_in_flight / (h + 1)``: by Little's
    law it drains at ``(h + 1) (h + 2) / t_in_flight`` messages per second at
    most, whatever ``rho`` (below the buffer the density rises, at it the
    sender blocks), so its messages have all arrived no earlier than
    ``sum_m r_m * t_in_flight / ((h_m + 1) (h_m + 2))``. The buffer only moves
    time from the sender's blocking to the network delay, so it drops out.
    ``t_in_flight`` is SANA-FE's running mean receive time over the messages
    in flight; estimated per sender (the density on its output link is its
    own messages) as the mean receive time of its messages weighted by their
    share of its receive work (a message stays in flight about as long as its
    receiver takes). Returns ``max(send_c, pace_c)`` per core.
    """
    q = rate[src]
    work = q * receive_time
    if work.sum() <= 0.0:
        return send
    sc = core_of[src]
    wc = np.bincount(sc, weights=work, minlength=send.size)
    t_in_flight = np.bincount(sc, weights=work * receive_time, minlength=send.size) / np.where(wc > 0, wc, 1.0)
    hops = np.asarray(hardware.hops(core_of[src], dst), dtype=np.float64)
    pace = np.bincount(sc, weights=q * t_in_flight[sc] / ((hops + 1.0) * (hops + 2.0)), minlength=send.size)
    return np.maximum(send, pace)


def _schedule(hardware: Hardware, core_of: np.ndarray, per_neuron: np.ndarray, src: np.ndarray, dst: np.ndarray,
              work: np.ndarray, lat: LatencyCosts) -> float:
    """When the last message of the mean step is processed, as SANA-FE's ``detailed`` model schedules it.

    Each core runs its neurons in index order; neuron ``i``'s messages leave when
    its core has done ``i`` and the neurons before it (``per_neuron``), travel
    their hop latency and queue at the receiving core, which processes them in
    arrival order: core ``d`` finishes at ``max_m (arrival_m + work of d's
    messages arriving at or after m)``. (SANA-FE's congestion estimate is left out.)
    """
    if not src.size:
        return 0.0
    order = np.lexsort((np.arange(core_of.size), core_of))
    done_sorted = np.cumsum(per_neuron[order])
    first = np.searchsorted(core_of[order], core_of[order])  # each core's first position in the order
    before = np.concatenate(([0.0], done_sorted))[first]
    done = np.empty_like(per_neuron)
    done[order] = done_sorted - before
    arrival = done[src]
    if hardware.topology != "matrix":
        dx, dy = hardware.hops_xy(core_of[src], dst)
        arrival = arrival + dx * lat.t_hop_x + dy * lat.t_hop_y
    by = np.lexsort((-arrival, dst))  # per destination core, latest arrival first
    d_sorted, w_sorted = dst[by], work[by]
    later = np.cumsum(w_sorted)
    start = np.searchsorted(d_sorted, d_sorted)
    later -= np.concatenate(([0.0], later))[start]  # work arriving at or after each message, per core
    return float((arrival[by] + later).max())


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
