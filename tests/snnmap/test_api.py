"""The public API names users and later checks rely on (issue 2, item 6)."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import snnmap
from snnmap import registry


def test_public_api_end_to_end():
    net = snnmap.SpikingNetwork.from_edges(6, [0, 0, 1, 2, 3, 4], [2, 3, 4, 5, 5, 5], [9, 1, 4, 3, 2, 0], t_run=0.5)
    assert (net.num_neurons, net.num_synapses, net.t_run) == (6, 6, 0.5)
    assert net.pre.tolist() == [0, 0, 1, 2, 3, 4] and net.spikes.tolist() == [9, 1, 4, 3, 2, 0]
    hw = snnmap.load_hardware("crossbar128", mesh=(2, 2), n_max=2, e_hop=1e-12, comm="unicast")
    assert hw.num_cores == 4 and hw.distance.shape == (4, 4) and hw.limits.n_max == 2
    assert hw.energy.e_hop == 1e-12 and hw.comm == "unicast" and hw.power_gating
    # The preset's other limits are kept: 128 input rows and 128 x 128 crosspoints per core.
    assert (hw.limits.a_max, hw.limits.syn_max) == (128, 16384) and hw.energy.e_spike == 5.0e-11
    res = snnmap.solve(net, hw, method="sequential", time_limit=None, seed=0)
    assert res.status == "feasible" and res.method == "sequential" and res.seed == 0 and res.runtime >= 0
    assert isinstance(res.mapping, np.ndarray) and res.mapping.tolist() == [0, 0, 1, 1, 2, 2]
    rep = snnmap.evaluate(net, hw, res.mapping)
    assert set(rep.terms) == {"neuron", "synapse", "comm", "static"}
    assert rep.total == pytest.approx(sum(rep.terms.values())) == pytest.approx(res.report.total)
    assert rep.feasible and rep.violations == ()
    assert res.lower_bound is not None and res.lower_bound <= rep.total
    # The multicast evaluation of the same mapping differs only in communication.
    multi = snnmap.evaluate(net, hw, res.mapping, comm="multicast")
    assert multi.terms["comm"] <= rep.terms["comm"] and multi.terms["static"] == rep.terms["static"]


def test_fit_hardware_picks_the_smallest_mesh():
    net = snnmap.SpikingNetwork.from_edges(10, [0, 1], [1, 2], np.ones(10))
    hw = snnmap.fit_hardware(net, snnmap.load_hardware("crossbar128", n_max=3))
    assert hw.num_cores == 4 and hw.mesh == (2, 2)
    assert snnmap.solve(net, hw, method="sequential").status == "feasible"


def test_auto_proves_small_instances_and_scales_to_large():
    net = snnmap.load_network("VGG16:mini")
    hw = snnmap.load_hardware("crossbar-mini")
    res = snnmap.solve(net, hw, time_limit=60)  # method="auto" is the default
    assert res.method == "auto:cpsat" and res.status == "optimal"
    heuristic = snnmap.solve(net, hw, method="partition-refine")
    assert res.energy <= heuristic.energy * (1 + 1e-9)
    big = snnmap.SpikingNetwork.from_edges(300, np.arange(299), np.arange(1, 300), np.ones(300))
    res = snnmap.solve(big, snnmap.load_hardware("crossbar128", mesh=(2, 2)), time_limit=5)
    assert res.method == "auto:partition-refine" and res.report.feasible


def test_methods_come_from_the_registry():
    table = snnmap.methods()
    assert list(table) == list(registry.METHODS)
    assert {m.kind for m in table.values()} == {"meta", "exact", "heuristic", "peer"}
    assert registry.names(kind="exact") == ("milp", "cpsat", "milp-textbook", "neuron-bnb", "partition-bnb",
                                             "neuron-portfolio", "component-milp", "partition-benders")
    assert registry.names(role="exact") == ("partition-bnb",)
    assert table["partition-refine"].kind == "heuristic" and "placement" in table["partition-refine"].options
    assert all(m.summary and m.use_when and {"time_limit", "seed", "comm"} <= set(m.options) for m in table.values())


def _accepted(fn) -> set[str]:
    return {name for name, p in inspect.signature(fn).parameters.items()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)} - {"network", "hardware"}


@pytest.mark.parametrize("name", list(registry.METHODS))
def test_every_registered_option_is_a_parameter_of_the_method(name):
    """The registry never promises an option the method's function would drop or reject."""
    method = registry.METHODS[name]
    fn = method.function
    if name in ("milp", "milp-textbook"):
        from snnmap.formulations import milp

        fn = milp.solve
    accepted = _accepted(fn)
    if name == "partition-refine":  # its further options go to the refinement
        from snnmap.heuristics.refine import refine

        accepted |= _accepted(refine) - {"core_of", "timer"}
    own = set(method.options) - set(registry.FRONT_DOOR_OPTIONS)
    assert own <= accepted, own - accepted
    assert set(method.options) <= set(registry.FLAGS)


def test_solve_refuses_options_the_method_does_not_take():
    net = snnmap.SpikingNetwork.from_edges(4, [0, 1, 2], [1, 2, 3], [1, 2, 3, 4])
    hw = snnmap.load_hardware("crossbar128", mesh=(2, 2), n_max=2)
    with pytest.raises(ValueError, match="method 'partition-refine' does not take threads; it takes time_limit"):
        snnmap.solve(net, hw, method="partition-refine", threads=2)
    with pytest.raises(ValueError, match="method 'sequential' does not take start"):
        snnmap.solve(net, hw, method="sequential", start="greedy")
    with pytest.raises(ValueError, match="unknown method 'magic'"):
        snnmap.solve(net, hw, method="magic")
    for bad in ({"seed": 2**64}, {"seed": -1}, {"time_limit": 0}, {"time_limit": float("inf")}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            snnmap.solve(net, hw, method="greedy", **bad)


def test_start_by_heuristic_name_mapping_file_or_array(tmp_path):
    net = snnmap.SpikingNetwork.from_edges(6, [0, 1, 2, 3, 4], [1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 9])
    hw = snnmap.load_hardware("crossbar128", mesh=(2, 2), n_max=2)
    seq = snnmap.solve(net, hw, method="sequential")
    path = snnmap.save_mapping(tmp_path / "seq.json", seq.mapping, net, hw)
    energies = set()
    for start in ("sequential", str(path), path, seq.mapping, seq.mapping.tolist()):
        res = snnmap.solve(net, hw, method="cpsat", start=start, threads=1)
        assert res.status == "optimal" and res.energy <= seq.energy * (1 + 1e-12)
        energies.add(round(res.energy, 20))
    assert len(energies) == 1
    with pytest.raises(ValueError, match="not a heuristic"):
        snnmap.solve(net, hw, method="milp", start="cpsat")
    with pytest.raises(ValueError, match="neither a heuristic"):
        snnmap.solve(net, hw, method="milp", start=str(tmp_path / "missing.json"))
    other = snnmap.load_hardware("crossbar128", mesh=(3, 3), n_max=2)
    with pytest.raises(ValueError, match="made for 4 cores"):
        snnmap.solve(net, other, method="milp", start=str(path))


def test_readme_methods_table_is_the_registry():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert registry.methods_table() in readme


def test_importing_a_layer_loads_no_numba_or_solver():
    # The front door's names load lazily (PEP 562): the hardware model alone stays light.
    code = ("import sys, snnmap.hardware, snnmap.instances, snnmap\n"
            "heavy = sorted(m for m in ('numba', 'pyomo', 'ortools', 'highspy', 'distributed') if m in sys.modules)\n"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
