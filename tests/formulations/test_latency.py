"""The evaluator's time per step: the [latency] tables, the model against SANA-FE's, and the lower bound."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from snnmap.formulations import evaluate
from snnmap.formulations.latency import min_step_time, step_time
from snnmap.hardware import HardwareError, hardware_from_dict, load_hardware
from snnmap.instances import SpikingNetwork
from tests.helpers import random_network

needs_sanafe = pytest.mark.skipif(importlib.util.find_spec("sanafe") is None,
                                  reason='SANA-FE not installed: pip install "snnmap[sanafe]"')


def steady_network(n: int = 40, m: int = 200, seed: int = 0, steps: int = 16) -> SpikingNetwork:
    """Every neuron fires at every step or never: each step is the mean step, so SANA-FE's max per step is ours."""
    net = random_network(n, m, seed)
    fire = np.random.default_rng(seed).random(n) < 0.6
    return net.replace(spikes=np.where(fire, float(steps), 0.0), time_steps=steps)


def spread_mapping(n: int, cores: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, cores, n)


def test_loihi_latency_table_is_sanafes():
    lat = load_hardware("loihi").latency
    assert (lat.t_access, lat.t_spike, lat.t_msg_out, lat.t_msg_in, lat.t_syn) == (6.0e-9, 3.37e-8, 5.1e-9, 1.6e-8,
                                                                                    3.8e-9)
    assert [lat.sync(t) for t in (1, 2, 3, 4, 28, 29, 32)] == [6e-7, 1e-6, 1e-6, 1.4e-6, 1.4e-6, 1.8e-6, 1.8e-6]


@pytest.mark.parametrize("preset", ["crossbar128", "crossbar-mini", "dynapse", "truenorth", "loihi-davies2018"])
def test_presets_without_latency_report_no_step_time(preset):
    hw = load_hardware(preset)
    assert hw.latency is None
    net = random_network(12, 30, 1)
    assert evaluate(net, hw, np.zeros(12, dtype=np.int64)).step is None


def test_step_time_by_hand():
    """Two neurons on two cores of one tile, 0 -> 1 with one synapse, neuron 0 fires every other step."""
    hw = load_hardware("loihi")
    net = SpikingNetwork.from_edges(2, np.array([0]), np.array([1]), np.array([5.0, 0.0]), time_steps=10)
    st = step_time(net, hw, np.array([0, 1]))
    lat = hw.latency
    assert st.send[0] == pytest.approx(lat.t_access + 0.5 * (lat.t_spike + lat.t_msg_out))
    assert st.receive[1] == pytest.approx(0.5 * (lat.t_msg_in + lat.t_syn))
    # The message leaves when core 0 is done and is then processed on core 1: the schedule adds core 1's work.
    assert st.network == pytest.approx(st.receive[1]) and st.tiles_used == 1
    assert st.total == pytest.approx(st.send[0] + st.receive[1] + lat.sync(1))
    # Core 4 is on the next tile east: one hop more on the way, and two tiles.
    far = step_time(net, hw, np.array([0, 4]))
    assert far.network == pytest.approx(st.receive[1] + lat.t_hop_x) and far.sync == lat.sync(2)



def test_congestion_paces_a_sender_with_many_messages():
    """Core 0's 20 neurons fire every step, each with 50 synapses on each of cores 1-3 (same tile, 0 hops).

    Under SANA-FE's congestion estimate a sender drains at most 2 messages (0 hops) per mean receive time
    of its messages in flight, so its 60 messages have arrived no earlier than 60 * t_in / 2, later than
    its own pipeline and than any receiver's busy time; the linear part (busy time) is unchanged.
    """
    hw = load_hardware("loihi")
    lat = hw.latency
    senders, fan = 20, 50
    pre = np.repeat(np.arange(senders), 3 * fan)
    post = senders + np.tile(np.arange(3 * fan), senders)
    n = senders + 3 * fan
    net = SpikingNetwork.from_edges(n, pre, post, np.r_[np.full(senders, 8.0), np.zeros(3 * fan)], time_steps=8)
    core_of = np.r_[np.zeros(senders, dtype=np.int64), 1 + np.arange(3 * fan) // fan]
    st = step_time(net, hw, core_of)
    per_message = lat.t_msg_in + fan * lat.t_syn
    pace = senders * 3 * per_message / 2
    assert st.send[0] < pace and st.receive[1] == pytest.approx(senders * per_message) and st.busy.max() < pace
    assert pace + lat.sync(1) < st.total <= pace + per_message + lat.t_msg_out + lat.sync(1)
    assert st.total - st.network == pytest.approx(st.busy.max() + lat.sync(1))
    # One neuron sending: the pace is below its pipeline and adds nothing.
    one = step_time(net, hw, np.r_[np.zeros(1, dtype=np.int64), np.full(senders - 1, 4), core_of[senders:]])
    assert one.network < per_message + 3 * lat.t_msg_out + lat.t_spike

@pytest.mark.parametrize("seed", range(4))
def test_step_time_is_sanafes_simple_closed_form_on_steady_networks(seed):
    pytest.importorskip("yaml")
    if importlib.util.find_spec("sanafe") is None:
        pytest.skip("SANA-FE not installed")
    from snnmap import sanafe_bridge as sb

    net = steady_network(seed=seed)
    hw = load_hardware("loihi", mesh=(2, 2))
    core_of = spread_mapping(net.num_neurons, 4 + 4 * seed, seed)
    st = evaluate(net, hw, core_of).step
    closed = sb.loihi_formula(net, core_of, net.steps, mesh=(2, 2)).step_time
    assert st.total - st.network == pytest.approx(closed, rel=1e-12)


@needs_sanafe
def test_step_time_matches_sanafe_simple_simulation():
    pytest.importorskip("yaml")
    from snnmap import sanafe_bridge as sb

    net = steady_network(seed=5)
    hw = load_hardware("loihi", mesh=(2, 2))
    core_of = spread_mapping(net.num_neurons, 16, 5)
    sim = sb.replay(net, hw, core_of, net.steps, timing_model="simple")
    st = evaluate(net, hw, core_of).step
    assert st.total - st.network == pytest.approx(sim.step_time, rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_min_step_time_is_below_every_mapping(seed):
    net = random_network(30, 120, seed).replace(time_steps=50)
    hw = load_hardware("loihi", n_max=8)
    floor = min_step_time(net, hw)
    for k in (4, 16, 128):
        core_of = spread_mapping(net.num_neurons, k, seed + k)
        counts = np.bincount(core_of, minlength=hw.num_cores)
        if counts.max() <= 8:
            assert floor <= evaluate(net, hw, core_of).step_time * (1 + 1e-12)
    one_each = np.arange(net.num_neurons)  # every neuron alone on a core: the floor's own picture, plus hops
    assert floor <= evaluate(net, hw, one_each).step_time


def test_unicast_sends_one_message_per_synapse():
    net = SpikingNetwork.from_edges(3, np.array([0, 0]), np.array([1, 2]), np.array([4.0, 0.0, 0.0]), time_steps=4)
    hw = load_hardware("loihi")
    core_of = np.array([0, 1, 1])
    multi, uni = step_time(net, hw, core_of, "multicast"), step_time(net, hw, core_of, "unicast")
    assert uni.send[0] - multi.send[0] == pytest.approx(hw.latency.t_msg_out)
    assert uni.receive[1] - multi.receive[1] == pytest.approx(hw.latency.t_msg_in)


def test_budget_is_a_limit_the_evaluator_checks():
    net = random_network(20, 60, 3).replace(time_steps=40)
    hw = load_hardware("loihi")
    core_of = np.zeros(20, dtype=np.int64)
    t = evaluate(net, hw, core_of).step_time
    assert evaluate(net, hw.replace(max_step_time=t * 1.01), core_of).feasible
    tight = evaluate(net, hw.replace(max_step_time=t * 0.99), core_of)
    assert [v.limit for v in tight.violations] == ["max_step_time"]
    assert "max_step_time" in str(tight.violations[0])


def _doc(**latency):
    table = {"t_access": 1e-9, "t_spike": 1e-9, "t_msg_out": 1e-9, "t_msg_in": 1e-9, "t_syn": 1e-9, "t_hop_x": 1e-9,
             "t_hop_y": 1e-9, "sync_tiles": [1, 4], "t_sync": [1e-7, 2e-7]} | latency
    return {"mesh": [2, 2], "limits": {"n_max": 4}, "latency": {k: v for k, v in table.items() if v is not None},
            "energy": {"e_spike": 0.0, "e_syn": 0.0, "e_local": 0.0, "e_route": 0.0, "e_hop": 0.0, "p_static": 0.0}}


def test_latency_table_in_a_users_file():
    hw = hardware_from_dict(_doc())
    assert hw.latency.sync(3) == 1e-7 and hw.latency.sync(4) == 2e-7


@pytest.mark.parametrize("change, words", [
    ({"t_syn": None}, "t_syn missing"),
    ({"t_syn": -1e-9}, "t_syn"),
    ({"t_sync": [1e-7]}, "one barrier time"),
    ({"sync_tiles": [4, 1]}, "increasing"),
    ({"sync_tiles": 4}, "must be a list"),
    ({"t_hop": 1e-9}, "unknown [latency]"),
])
def test_bad_latency_tables_are_refused_in_one_line(change, words):
    with pytest.raises(HardwareError) as err:
        hardware_from_dict(_doc(**change), source="chip.toml")
    assert words in str(err.value) and "\n" not in str(err.value)


def test_budget_on_a_chip_without_latency_is_refused():
    with pytest.raises(HardwareError, match="crossbar128 has none"):
        load_hardware("crossbar128", max_step_time=1e-6)
    with pytest.raises(HardwareError, match="positive number of seconds"):
        load_hardware("loihi", max_step_time=-1.0)


def test_staggered_trains_keep_the_counts_and_spread_the_load():
    pytest.importorskip("yaml")
    from snnmap import sanafe_bridge as sb

    counts = np.array([0, 1, 3, 7, 16, 16, 16, 16])
    aligned, staggered = sb.spike_trains(counts, 16), sb.spike_trains(counts, 16, "staggered")
    assert staggered.sum(axis=1).tolist() == counts.tolist()
    assert staggered.sum(axis=0).max() < aligned.sum(axis=0).max()  # no burst where the counts agree
    with pytest.raises(sb.SanafeError, match="phase"):
        sb.spike_trains(counts, 16, "random")


@needs_sanafe
def test_closed_form_matches_a_staggered_replay():
    pytest.importorskip("yaml")
    from snnmap import sanafe_bridge as sb

    net = random_network(30, 120, 7).replace(time_steps=12)
    hw = load_hardware("loihi", mesh=(2, 2))
    core_of = spread_mapping(net.num_neurons, 12, 7)
    sim = sb.replay(net, hw, core_of, 12, phase="staggered")
    assert sb.loihi_formula(net, core_of, 12, mesh=(2, 2), phase="staggered").step_time == pytest.approx(
        sim.step_time, rel=1e-9)
