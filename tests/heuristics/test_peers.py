"""Real peers (issue 17): boards of chips on the evaluator, and each adapter on a mini instance.

The adapters' tests skip, saying why, when the peer is not installed (``pip install 'snnmap[peers]'``;
nengo-loihi: its own environment, made by ``python -m snnmap.heuristics.peers.nengo_loihi``).
"""

import importlib.util

import numpy as np
import pytest

from snnmap.api import load_network
from snnmap.cli import main
from snnmap.formulations import evaluate
from snnmap.hardware import HardwareError, load_hardware
from snnmap.heuristics.common import CostModel
from snnmap.heuristics.peers import nengo_loihi
from snnmap.heuristics.peers.common import PeerUnavailable, require
from snnmap.instances import SpikingNetwork
from snnmap.registry import METHODS
from tests.helpers import toy_hardware

HAS_RIG = importlib.util.find_spec("rig") is not None
HAS_PACMAN = importlib.util.find_spec("pacman") is not None
HAS_NENGO_LOIHI = nengo_loihi.peer_python(create=False) is not None
needs_rig = pytest.mark.skipif(not HAS_RIG, reason="rig is not installed: pip install 'snnmap[peers]'")
needs_pacman = pytest.mark.skipif(not HAS_PACMAN, reason="PACMAN is not installed: pip install 'snnmap[peers]'")
needs_nengo_loihi = pytest.mark.skipif(
    not HAS_NENGO_LOIHI, reason="nengo-loihi's environment is not made: python -m snnmap.heuristics.peers.nengo_loihi")


# ------------------------------------------------------------------ boards of chips
def test_one_chip_prices_every_packet_as_before():
    """The one-chip formula (e_local on the core, else e_route + x and y hops) holds exactly on every preset chip."""
    for name in ("loihi", "truenorth", "crossbar128"):
        hw = load_hardware(name)
        assert hw.chip_mesh is None and hw.num_chips == 1
        k = np.arange(hw.num_cores)
        dx, dy = hw.hops_xy(k[:, None], k[None, :])
        old = np.where(k[:, None] == k[None, :], hw.energy.e_local,
                       hw.energy.e_route + (dx * hw.energy.hop_x + dy * hw.energy.hop_y))
        assert np.array_equal(hw.cost_matrix, old)
    net = load_network("LeNet:mini")
    rep = evaluate(net, load_hardware("loihi"), np.arange(net.num_neurons) % 128)
    assert rep.interchip_packets is None and "interchip_packets" not in rep.summary()


def test_board_charges_chip_to_chip_steps_and_counts_their_packets():
    hw = toy_hardware(chips=(1, 2), e_hop_chip=1000.0)  # two 2x2 chips side by side: a 2x4 board
    assert hw.mesh == (2, 4) and hw.num_chips == 2 and hw.cores_per_chip == 4
    assert hw.chip_of(np.arange(8)).tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    assert hw.board_core(np.array([1, 1]), np.array([0, 3])).tolist() == [2, 7]
    # Core 0 (0,0) -> core 3 (0,3): two on-chip hops and one chip-to-chip step; core 0 -> core 1: one hop.
    assert hw.packet_cost(0, 3) == 10.0 + 2 * 100.0 + 1000.0 and hw.packet_cost(0, 1) == 110.0
    net = SpikingNetwork.from_edges(3, [0, 0], [1, 2], [5, 0, 0])
    rep = evaluate(net, hw, [0, 1, 3])
    assert rep.interchip_packets == 5.0 and rep.packets == 10.0
    assert rep.terms["comm"] == 5 * (110.0 + 1210.0)
    # The heuristics' kernels price the board as the evaluator does.
    ip, ep, _, _, hopm = CostModel.of(hw).args()
    assert ip[0] == 2 and ep[1] + hopm[0, 3] * ep[4] == hw.packet_cost(0, 3)


def test_board_preset_and_refusals():
    board = load_hardware("loihi-board")
    assert board.num_chips == 4 and board.cores_per_chip == 128 and board.energy.e_hop_chip == 1e-10
    assert board.chips == (2, 2) and board.mesh == (8, 16)
    one = load_hardware("loihi-board", chips=(1, 1))
    assert np.array_equal(one.cost_matrix, load_hardware("loihi").cost_matrix)
    with pytest.raises(HardwareError, match="whole number of chips"):
        board.replace(mesh=(9, 16))
    with pytest.raises(HardwareError, match="needs topology 'mesh'"):
        load_hardware("loihi", topology="torus").replace(chips=(2, 1))


# ------------------------------------------------------------------ adapters
def test_missing_peer_is_one_line_naming_the_extra(monkeypatch, capsys):
    with pytest.raises(PeerUnavailable, match=r"pip install 'snnmap\[peers\]'"):
        require("snnmap_no_such_peer", "nopeer==1")
    monkeypatch.setitem(__import__("sys").modules, "rig", None)  # as if rig were not installed
    assert main(["map", "LeNet:mini", "-H", "crossbar-mini", "-m", "rig-sa"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "snnmap[peers]" in err[0]


def test_nengo_loihi_refuses_what_it_cannot_take():
    net = load_network("LeNet:mini")
    with pytest.raises(PeerUnavailable, match="allocator='Best'"):
        METHODS["nengo-loihi"](net, load_hardware("loihi"), allocator="Best")
    with pytest.raises(PeerUnavailable, match="at most 128 cores"):
        METHODS["nengo-loihi"](net, load_hardware("loihi", mesh=(8, 8)))


@needs_rig
def test_rig_sa_maps_a_mini_feasibly_and_reproducibly():
    net, hw = load_network("LeNet:mini"), load_hardware("crossbar-mini")
    res = METHODS["rig-sa"](net, hw, seed=3)
    assert res.status == "feasible", res.message
    assert res.energy == evaluate(net, hw, res.mapping).total
    assert np.array_equal(METHODS["rig-sa"](net, hw, seed=3).mapping, res.mapping)
    assert res.stats["vertices"] == res.report.cores_used


@needs_nengo_loihi
@pytest.mark.parametrize("allocator", nengo_loihi.ALLOCATORS)
def test_nengo_loihi_allocators_on_a_board(allocator):
    net, hw = load_network("LeNet:mini"), load_hardware("loihi-board")
    res = METHODS["nengo-loihi"](net, hw, allocator=allocator)
    assert res.status == "feasible", res.message
    assert res.energy == evaluate(net, hw, res.mapping).total
    # One block per core: the five LeNet populations fit a core each.
    assert res.stats["blocks"] == res.report.cores_used == len(net.population_names)
    chips = np.unique(hw.chip_of(res.mapping)).size
    assert (chips == 1) == (allocator in ("Greedy", "GreedyInterchip"))
    assert (res.report.interchip_packets == 0) == (chips == 1)


@needs_pacman
def test_pacman_slices_by_population_and_fills_chips_in_order():
    net, hw = load_network("LeNet:mini"), load_hardware("crossbar-mini")
    res = METHODS["pacman"](net, hw)
    assert res.status == "feasible", res.message
    assert res.energy == evaluate(net, hw, res.mapping).total
    # No core holds neurons of two populations; the first population starts on the first core.
    pairs = np.unique(np.stack([res.mapping, net.population], axis=1), axis=0)
    assert np.unique(pairs[:, 0]).size == pairs.shape[0] and res.mapping[0] == 0


@needs_pacman
def test_pacman_keeps_a_max_through_its_slice_size():
    """PACMAN has no axon limit: each population's neurons per core is cut until its slices keep a_max."""
    from snnmap.heuristics.peers.pacman_fill import slice_size

    net = load_network("LeNet:mini")
    hw = load_hardware("crossbar-mini", a_max=4, mesh=(4, 4))
    sizes = [slice_size(net, np.flatnonzero(net.population == p), hw) for p in range(len(net.population_names))]
    assert sizes == [8, 1, 1, 3, 2]  # C1's neurons each read 4 inputs of 9: one per core keeps a_max = 4
    res = METHODS["pacman"](net, hw)
    assert res.report.feasible and res.report.core_axons.max() == 4
