"""SANA-FE's YAML reader, the co-simulation bridge and its refusals.

Reader tests run everywhere PyYAML is installed; bridge tests need the
optional ``sanafe`` package (``pip install "snnmap[sanafe]"``) and are skipped
without it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("yaml", reason="reading SANA-FE files needs PyYAML (pip install pyyaml)")

from snnmap.hardware import load_hardware  # noqa: E402
from snnmap.instances import SpikingNetwork  # noqa: E402
from snnmap.instances.sanafe_yaml import (  # noqa: E402
    SanafeYamlError,
    address_from_core,
    core_from_address,
    read_sanafe_yaml,
)

needs_sanafe = pytest.mark.skipif(
    importlib.util.find_spec("sanafe") is None, reason='SANA-FE not installed: pip install "snnmap[sanafe]"'
)
DVS = Path(__file__).resolve().parents[3] / "shared" / "external" / "sanafe" / "dvs.yaml"

SMALL = """
network:
  name: small
  groups:
  - name: in
    attributes: {soma_hw_name: loihi_lif, synapse_hw_name: loihi_conv_synapse}
    neurons:
    - 0..17: {}
  - name: out
    attributes: {synapse_hw_name: loihi_dense_synapse}
    neurons:
    - 0..7: {}
  - name: last
    neurons:
    - 0: {bias: 1}
    - 1: {}
  edges:
  - in -> out:
      type: conv2d
      input_width: 3
      input_height: 3
      input_channels: 2
      kernel_width: 2
      kernel_height: 2
      kernel_count: 2
      weight: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
  - out -> last: {type: dense, weight: 2}
  - last.1 -> in.4: [weight: 3]
mappings:
- in.0..17: {core: '0.1'}
- {out: {core: '5.3'}}
- last.0: [core: 1.10]
- last.1: {core: 0.0}
"""
VALID = SMALL.replace("1.10", "'1.3'")


def _write(tmp_path: Path, text: str, name: str = "net.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------- reader
def test_numbering_round_trip_and_column_major_tiles():
    core = np.arange(128)
    tile, off = address_from_core(core)
    assert np.array_equal(core_from_address(tile, off), core)
    # SANA-FE tile 1 is column 0, row 1: one row below tile 0, i.e. snnmap tile 8 on an 8-wide mesh.
    assert int(core_from_address(1, 2)) == 8 * 4 + 2
    assert int(core_from_address(4, 0)) == 1 * 4  # tile 4 = column 1, row 0


def test_reader_expands_conv2d_dense_and_neuron_edges(tmp_path):
    f = read_sanafe_yaml(_write(tmp_path, VALID))
    net = f.network
    assert net.num_neurons == 18 + 8 + 2 and f.groups == ("in", "out", "last")
    assert np.array_equal(f.offsets, [0, 18, 26, 28])
    # conv2d: 8 outputs x 2 input channels x 4 kernel taps, plus dense 8 x 2, plus one edge.
    assert net.num_synapses == 8 * 2 * 4 + 16 + 1
    pre, post, w = net.pre, net.post, net.weights
    # Output (k=1, y=1, x=0) = index 1*4 + 1*2 + 0 = 6; its tap (c=1, ky=0, kx=1) reads input 1*9 + 1*3 + 1 = 13
    # with filter entry ((0*2 + 1)*2 + 1)*2 + 1 = 7, weight 8.
    hit = (pre == 13) & (post == 18 + 6)
    assert hit.sum() == 1 and w[hit][0] == 8
    assert np.all(w[(pre >= 18) & (pre < 26)] == 2)
    assert np.array_equal(net.in_degree[18:26], np.full(8, 8))
    assert ((pre == 27) & (post == 4)).sum() == 1
    assert np.array_equal(f.core_of[:18], np.full(18, int(core_from_address(0, 1))))
    assert np.all(f.core_of[18:26] == int(core_from_address(5, 3)))
    assert f.core_of[26] == int(core_from_address(1, 3)) and f.core_of[27] == 0
    assert f.synapse_hw[20] == "loihi_dense_synapse" and f.synapse_hw[0] == "loihi_conv_synapse"
    assert net.total_spikes == 0 and "placeholder" in net.provenance["spikes"]


@pytest.mark.parametrize(
    "change, message",
    [
        (("type: dense", "type: one_to_one"), "edge type 'one_to_one' is not supported"),
        (("kernel_count: 2", "kernel_count: 3"), "conv2d expects"),
        (("core: '5.3'", "core: '40.0'"), "outside the chip"),
        (("last.1: {core: 0.0}", "last.1: {core: 0.0}\n- nothere.0: {core: '0.0'}"), "names no group"),
        (("    - 0..7: {}", "    - 1..7: {}"), "without gaps"),
        (("network:", "networks:"), "not a SANA-FE network file"),
    ],
)
def test_reader_refuses_bad_files(tmp_path, change, message):
    with pytest.raises(SanafeYamlError, match=message):
        read_sanafe_yaml(_write(tmp_path, VALID.replace(*change)))


def test_reader_sparse_edges_and_parallel_synapses(tmp_path):
    sparse = "  - last -> in: {type: sparse, source_target_pairs: [[0, 3], [1, 17]], weight: [5, 6]}\n"
    text = VALID.replace("mappings:", sparse + "mappings:", 1)
    net = read_sanafe_yaml(_write(tmp_path, text)).network
    assert net.num_synapses == 64 + 16 + 1 + 2
    assert net.weights[(net.pre == 27) & (net.post == 17)][0] == 6
    with pytest.raises(SanafeYamlError, match="duplicate synapse"):
        read_sanafe_yaml(_write(tmp_path, text.replace("[1, 17]", "[1, 4]")))


def test_reader_keeps_core_addresses_textual(tmp_path):
    # 1.10 unquoted would be the float 1.1; the reader must see tile 1, core 10 (and refuse it on Loihi).
    with pytest.raises(SanafeYamlError, match="core 1.10 is outside"):
        read_sanafe_yaml(_write(tmp_path, SMALL))


@pytest.mark.skipif(not DVS.is_file(), reason="shared/external/sanafe/dvs.yaml not present")
def test_reader_dvs_file():
    f = read_sanafe_yaml(DVS)
    assert f.network.num_neurons == 18678 and f.groups == ("0", "1", "2", "3", "4", "5")
    assert f.mapped and np.unique(f.core_of).size == 49
    assert np.bincount(f.core_of).max() <= 1024
    # conv 32x32x1 -> 15x15x16 with 3x3 kernels: 3600 outputs x 9 taps.
    assert int(f.network.out_degree[: f.offsets[1]].sum()) == 3600 * 9
    # The front door reads it too: the network by load_network, its mappings section by load_mapping.
    import snnmap

    net = snnmap.load_network(str(DVS))
    mapping = snnmap.load_mapping(DVS, net)
    assert net.fingerprint == f.network.fingerprint and np.array_equal(mapping.core_of, f.core_of)
    assert (mapping.hardware, mapping.mesh, mapping.num_cores) == ("loihi", (4, 8), 128)


# ------------------------------------------------------------------- bridge
from snnmap import sanafe_bridge as sb  # noqa: E402
from snnmap.formulations.energy import evaluate  # noqa: E402

STEPS = 12


def _random_network(seed: int, n: int, s: int) -> SpikingNetwork:
    rng = np.random.default_rng(seed)
    key = np.unique(rng.integers(0, n, s) * n + rng.integers(0, n, s))
    return SpikingNetwork.from_edges(n, key // n, key % n, rng.integers(0, STEPS + 1, n), name=f"rand{seed}")


def test_missing_sanafe_is_one_line(monkeypatch):
    monkeypatch.setattr(sb.importlib, "import_module", lambda name: (_ for _ in ()).throw(ImportError(name)))
    with pytest.raises(sb.SanafeError, match=r'pip install "snnmap\[sanafe\]"'):
        sb.require_sanafe()


def test_spike_trains_are_evenly_spaced_with_the_right_counts():
    trains = sb.spike_trains(np.array([0, 1, 3, STEPS]), STEPS)
    assert np.array_equal(trains.sum(axis=1), [0, 1, 3, STEPS])
    assert np.flatnonzero(trains[2]).tolist() == [2, 6, 10]


@needs_sanafe
@pytest.mark.parametrize("seed, mesh", [(1, (2, 2)), (2, (1, 3))])
def test_replay_matches_formula_and_evaluator(seed, mesh):
    net = _random_network(seed, 40, 250).replace(time_steps=STEPS)
    hw = load_hardware("loihi", mesh=mesh)
    rng = np.random.default_rng(seed)
    for core in (np.zeros(40, np.int64), rng.integers(0, hw.num_cores, 40), np.arange(40) % hw.num_cores):
        sim = sb.replay(net, hw, core, STEPS)
        formula = sb.loihi_formula(net, core, STEPS, mesh=mesh)
        assert formula.relative_to(sim)["energy"] < 1e-12
        assert formula.relative_to(sim)["step_time"] < 1e-12
        assert (sim.messages, sim.hops, sim.spikes) == (formula.messages, formula.hops, formula.spikes)
        # The evaluator with the loihi preset alone: access, update, spike-out, synapse, messages, hops.
        report = evaluate(net, hw, core)
        assert abs(report.total - sim.energy["total"]) <= 1e-12 * sim.energy["total"]
        assert abs(report.terms["neuron"] - sim.energy["soma"]) <= 1e-12 * sim.energy["soma"]
        assert abs(report.terms["comm"] - sim.energy["network"]) <= 1e-12 * sim.energy["network"]
        assert report.packets + report.local_packets == sim.messages
        assert report.hop_packets == sim.hops


@needs_sanafe
def test_loihi_preset_is_sanafe_loihi():
    # The preset's numbers are SANA-FE's (sanafe/examples/loihi.yaml of the installed 2.2.9).
    assert sb.sanafe_version() == "2.2.9"
    preset, sanafe_hw = load_hardware("loihi"), sb.sanafe_loihi_hardware(n_max=1024)
    for name, value in sanafe_hw.energy.items():
        if value is None:  # a cost neither gives (e_hop_chip: one chip, no chip-to-chip link)
            assert getattr(preset.energy, name) is None, name
            continue
        assert getattr(preset.energy, name) == pytest.approx(value, rel=1e-12, abs=0.0), name
    assert (preset.mesh, preset.cores_per_tile, preset.limits.n_max) == (sanafe_hw.mesh, 4, 1024)


# The agreement of issue 12, item 4: applications x mappings, the evaluator with `loihi` against SANA-FE.
AGREEMENT_METHODS = ("sequential", "random", "greedy", "sneap", "partition-refine")


def _agreement(app: str, spread: int, time_limit: float) -> None:
    import math

    from snnmap import api

    net = api.load_network(app)
    hw = load_hardware("loihi", n_max=math.ceil(net.num_neurons / spread))
    for method in AGREEMENT_METHODS:
        res = api.solve(net, hw, method, time_limit=time_limit, seed=0)
        sim = sb.replay(net, hw, res.mapping, net.steps)
        report = evaluate(net, hw, res.mapping)
        assert abs(report.total - sim.energy["total"]) <= 1e-9 * sim.energy["total"], (app, method)
        assert report.packets + report.local_packets == sim.messages, (app, method)
        assert report.hop_packets == sim.hops, (app, method)


@needs_sanafe
# HeartEstm:mini's and VisualPursuit:mini's replays take about 30 s and 11 s of a cold run: the slow set keeps
# them, LeNet stays in the default run.
@pytest.mark.parametrize("app", ["LeNet:mini", pytest.param("HeartEstm:mini", marks=pytest.mark.slow),
                                 pytest.param("VisualPursuit:mini", marks=pytest.mark.slow)])
def test_agreement_applications(app):
    _agreement(app, spread=8, time_limit=0.5)


@needs_sanafe
@pytest.mark.slow
def test_agreement_full_size():
    # About 5 minutes (the replays of 12.8 M messages); output kept in scripts/results/sanafe_agreement_full.md.
    _agreement("HeartEstm:full", spread=8, time_limit=10.0)


@needs_sanafe
def test_replay_with_synapse_kinds_per_neuron():
    net = _random_network(5, 36, 300)
    hw = sb.sanafe_loihi_hardware(mesh=(2, 2))
    core = np.random.default_rng(5).integers(0, hw.num_cores, 36)
    kinds = np.array(["conv", "dense", "sparse"], dtype=object)[np.arange(36) % 3]
    sim = sb.replay(net, hw, core, STEPS, synapse=kinds)
    formula = sb.loihi_formula(net, core, STEPS, mesh=(2, 2), synapse=kinds)
    assert formula.relative_to(sim)["energy"] < 1e-12 and formula.relative_to(sim)["step_time"] < 1e-12
    one_kind = sb.loihi_formula(net, core, STEPS, mesh=(2, 2), synapse="dense")
    assert one_kind.energy["synapse"] != formula.energy["synapse"]
    with pytest.raises(sb.SanafeError, match="synapse kind"):
        sb.synapse_kinds(np.array(["dense", "analog"] * 18, dtype=object), 36)


@needs_sanafe
def test_export_files_load_in_sanafe_and_read_back(tmp_path):
    import sanafe

    net = _random_network(3, 30, 150)
    hw = sb.sanafe_loihi_hardware(mesh=(2, 3))
    core = np.random.default_rng(3).integers(0, hw.num_cores, 30)
    kinds = np.array(["dense", "sparse", "conv"], dtype=object)[np.arange(30) % 3]
    arch_path, net_path = sb.export(net, hw, core, STEPS, tmp_path, synapse=kinds)
    back = read_sanafe_yaml(net_path, mesh=(2, 3))
    assert np.array_equal(back.network.indices, net.indices) and np.array_equal(back.core_of, core)
    assert np.array_equal(sb.synapse_kinds(back, 30), kinds)
    arch = sanafe.load_arch(str(arch_path))
    chip = sanafe.SpikingChip(arch)
    chip.load(sanafe.load_net(str(net_path), arch))
    res = chip.sim(STEPS, timing_model="simple", processing_threads=1)
    expected = sb.loihi_formula(net, core, STEPS, mesh=(2, 3), synapse=kinds)
    assert abs(res["energy"]["total"] - expected.energy["total"]) <= 1e-12 * expected.energy["total"]
    assert abs(res["sim_time"] / STEPS - expected.step_time) <= 1e-12 * expected.step_time


@needs_sanafe
def test_refusals():
    net = _random_network(4, 20, 60)
    hw = sb.sanafe_loihi_hardware(mesh=(1, 1))
    core = np.zeros(20, np.int64)
    with pytest.raises(sb.SanafeError, match="e_local"):
        sb.check_expressible(net, hw.replace(e_local=0.0), core)
    with pytest.raises(sb.SanafeError, match="not one SANA-FE models"):
        sb.check_expressible(net, load_hardware("truenorth"), core)
    with pytest.raises(sb.SanafeError, match="not one SANA-FE models"):
        sb.check_expressible(net, load_hardware("dynapse"), core)
    with pytest.raises(sb.SanafeError, match="unicast"):
        sb.check_expressible(net, hw.replace(comm="unicast"), core)
    with pytest.raises(sb.SanafeError, match="another network"):
        sb.check_expressible(net, hw, core[:-1])
    with pytest.raises(sb.SanafeError, match="outside"):
        sb.check_expressible(net, hw, core + 4)
    with pytest.raises(sb.SanafeError, match="at least that many steps"):
        sb.check_expressible(net, hw, core, steps=1)
    big = SpikingNetwork.from_edges(1025, [0], [1], np.zeros(1025))
    with pytest.raises(sb.SanafeError, match="1024 input somas"):
        sb.check_expressible(big, hw, np.zeros(1025, np.int64))


@needs_sanafe
@pytest.mark.slow
@pytest.mark.skipif(not DVS.is_file(), reason="shared/external/sanafe/dvs.yaml not present")
def test_dvs_own_simulation_network_terms_match_formula():
    # SANA-FE's own LIF simulation: its messages, hops and network energy follow from the spike
    # counts and the mapping alone, exactly as in the closed form.
    read, res = sb.simulate_file(DVS, 16)
    net = read.network
    assert net.total_spikes == res.spikes and net.time_steps == net.steps == 16
    formula = sb.loihi_formula(net, read.core_of, 16)
    assert (res.messages, res.hops) == (formula.messages, formula.hops)
    assert abs(res.energy["network"] - formula.energy["network"]) <= 1e-12 * res.energy["network"]
