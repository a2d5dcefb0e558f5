"""Hardware model and presets: loading, overrides, geometry and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from snnmap.hardware import HardwareError, list_presets, load_hardware, mesh_for


@pytest.mark.parametrize("name", ["crossbar128", "loihi", "loihi-davies2018", "truenorth", "dynapse"])
def test_presets_load(name):
    hw = load_hardware(name)
    assert hw.name == name and hw.num_cores >= 4
    assert hw.distance.shape == (hw.num_cores, hw.num_cores)
    assert np.array_equal(hw.distance, hw.distance.T) and np.all(np.diag(hw.distance) == 0)
    assert name in list_presets()


def test_preset_facts_from_sources():
    assert load_hardware("loihi").num_cores == 128
    assert load_hardware("truenorth").num_cores == 4096
    tn = load_hardware("truenorth")
    assert (tn.limits.n_max, tn.limits.a_max, tn.limits.dest_max) == (256, 256, 1)
    cb = load_hardware("crossbar128")
    assert cb.mesh == (5, 5) and cb.limits.n_max == 128
    # Sourced energies (issue 12): SANA-FE 2.2.9's loihi.yaml, Davies 2018 Table 2, Merolla 2014 suppl.
    lo, davies = load_hardware("loihi").energy, load_hardware("loihi-davies2018").energy
    assert (lo.e_access, lo.e_spike, lo.e_syn, lo.e_local, lo.e_route) == (51.2e-12, 90.9e-12, 35.5e-12, 111e-12,
                                                                           111e-12)
    assert (lo.hop_x, lo.hop_y, lo.p_static) == (3.0e-12, 4.2e-12, 0.0)
    assert (davies.e_access, davies.e_access + davies.e_spike, davies.e_route, davies.hop_y) == pytest.approx(
        (52e-12, 81e-12, 1.7e-12, 4.0e-12), rel=1e-12)
    assert (tn.energy.e_hop, tn.energy.p_static) == (2.3e-12, 0.0)
    # A chip file without e_access charges none: the crossbar presets' totals are unchanged.
    assert cb.energy.e_access == 0.0


def test_overrides_and_mesh():
    hw = load_hardware("crossbar128", mesh=(2, 3), n_max=4, e_hop=1e-12, comm="unicast")
    assert hw.num_cores == 6 and hw.limits.n_max == 4 and hw.energy.e_hop == 1e-12 and hw.comm == "unicast"
    assert load_hardware("crossbar128", cores=30).mesh == (5, 6)
    loihi = load_hardware("loihi", e_hop=1e-12)
    assert loihi.energy.hop_x == loihi.energy.hop_y == 1e-12  # a plain e_hop means both directions


def test_tiles_share_a_router():
    hw = load_hardware("loihi", mesh=(1, 2))  # 2 tiles x 4 cores
    assert hw.num_cores == 8
    assert hw.distance[0, 3] == 0 and hw.distance[0, 4] == 1
    cost = hw.packet_cost(np.array([0, 0, 0]), np.array([0, 3, 4]))
    e = hw.energy
    assert cost.tolist() == pytest.approx([e.e_local, e.e_route, e.e_route + e.hop_x])


def test_mesh_distances_and_torus():
    mesh = load_hardware("crossbar128", mesh=(3, 4))
    assert mesh.distance[0, 11] == 2 + 3
    torus = mesh.replace(topology="torus")
    assert torus.distance[0, 11] == 1 + 1 and torus.distance[0, 3] == 1


def test_matrix_topology(tmp_path):
    f = tmp_path / "bus.toml"
    f.write_text('name = "bus"\nhop_matrix = [[0, 1, 2], [1, 0, 1], [2, 1, 0]]\n[limits]\nn_max = 4\n' + ENERGY)
    hw = load_hardware(f)
    assert hw.topology == "matrix" and hw.num_cores == 3 and hw.distance[0, 2] == 2


def test_mesh_for():
    assert mesh_for(1) == (1, 1) and mesh_for(5) == (2, 3) and mesh_for(16) == (4, 4) and mesh_for(17) == (4, 5)


# The [energy] table every chip file must give (after its [limits] table).
ENERGY = "[energy]\ne_spike = 1.0\ne_syn = 1.0\ne_local = 0.0\ne_route = 1.0\ne_hop = 1.0\np_static = 0.0\n"


@pytest.mark.parametrize(
    "text, message",
    [
        ("mesh = [2, 2]\n[limits]\nn_max = 0\n" + ENERGY, "n_max=0: must be >= 1"),
        ("mesh = [2, 2]\n[limits]\nn_max = 4\na_max = -2\n" + ENERGY, "a_max=-2"),
        ("mesh = [2, 2]\n[limits]\nn_max = 4\n" + ENERGY.replace("e_hop = 1.0", "e_hop = -1.0"), "e_hop=-1.0"),
        ("mesh = [2, 2]\n[limits]\nn_max = 4\nfoo = 1\n" + ENERGY, "unknown \\[limits\\] field"),
        ("mesh = [2, 2]\n" + ENERGY, "n_max is required"),
        ("mesh = [0, 3]\n[limits]\nn_max = 4\n" + ENERGY, "rows and cols must be >= 1"),
        ("mesh = [2.5, 3]\n[limits]\nn_max = 4\n" + ENERGY, "must be whole numbers"),
        ("mesh = [true, 3]\n[limits]\nn_max = 4\n" + ENERGY, "must be whole numbers"),
        ("[limits]\nn_max = 4\n" + ENERGY, "mesh is required"),
        ("mesh = [2, 2]\ncomm = 'broadcast'\n[limits]\nn_max = 4\n" + ENERGY, "comm='broadcast'"),
        ("n_max = [\n", "not valid TOML"),
        ("mesh = [2, 2]\n[limits]\nn_max = 'many'\n" + ENERGY, "must be a whole number"),
        ("mesh = [2, 2]\n[limits]\nn_max = 4\n", "e_spike, e_syn, e_local, e_route, e_hop, p_static are required"),
        ("mesh = [2, 2]\n[limits]\nn_max = 4\n" + ENERGY.replace("e_syn = 1.0\n", ""), "e_syn is required"),
        ("mesh = [2, 2]\n[limits]\nn_max = 4\n" + ENERGY.replace("e_syn = 1.0", "e_syn = inf"), "e_syn=inf"),
        ("mesh = [2, 2]\n[limits]\nn_max = 4\n" + ENERGY.replace("e_syn = 1.0", "e_syn = 1" + "0" * 400),
         "e_syn=1000"),
        ("mesh = [2, 2]\n[limits]\nn_max = 1" + "0" * 30 + "\n" + ENERGY, "beyond the 64-bit integer range"),
        ("mesh = [100000, 100000]\n[limits]\nn_max = 4\n" + ENERGY, "10,000,000,000 cores need about"),
    ],
)
def test_bad_files_name_the_field(tmp_path, text, message):
    f = tmp_path / "chip.toml"
    f.write_text(text)
    with pytest.raises(HardwareError, match=message) as info:
        load_hardware(f)
    assert "chip.toml" in str(info.value)


def test_unknown_preset_and_override():
    with pytest.raises(HardwareError, match="unknown hardware 'nope'"):
        load_hardware("nope")
    with pytest.raises(HardwareError, match="unknown hardware field"):
        load_hardware("crossbar128", n_maxx=3)
    with pytest.raises(HardwareError, match="n_max=0"):
        load_hardware("crossbar128", n_max=0)


def test_crossbar_mini_has_crossbar128_energies():
    mini, full = load_hardware("crossbar-mini"), load_hardware("crossbar128")
    assert mini.energy == full.energy and mini.mesh == (2, 4) and mini.comm == full.comm
