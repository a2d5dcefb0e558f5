"""A step-time budget kept by every method that takes it, the latency objectives, and the refusals."""

from __future__ import annotations

import pytest

from snnmap import registry
from snnmap.api import load_network, solve
from snnmap.cli import main
from snnmap.formulations.latency import min_step_time
from snnmap.hardware import HardwareError, load_hardware

BUDGETED = [m for m in registry.METHODS.values() if "max_step_time" in m.options]


@pytest.fixture(scope="module")
def case():
    net = load_network("LeNet:mini")
    hw = load_hardware("loihi", mesh=(1, 2))
    free = solve(net, hw, "partition-refine", time_limit=5, seed=0)
    return net, hw, free.report.step_time, min_step_time(net, hw)


def test_every_heuristic_and_auto_take_the_budget():
    for name in (*registry.names(kind="heuristic"), "auto"):
        assert {"max_step_time", "objective"} <= set(registry.get(name).options), name


# "auto" runs its exact candidates to their limit (11-31 s): the slow set keeps it.
@pytest.mark.parametrize("method", [pytest.param(m.name, marks=pytest.mark.slow) if m.name == "auto" else m.name
                                    for m in BUDGETED])
def test_budget_respected_or_named(case, method):
    net, hw, t_free, floor = case
    budget = floor + 0.5 * (t_free - floor)
    res = solve(net, hw, method, time_limit=10, seed=0, max_step_time=budget)
    if res.report is not None and res.report.feasible:
        assert res.report.step_time <= budget * (1 + 1e-9)
        assert res.status in ("feasible", "optimal", "time_limit", "gap_limit")
    elif res.mapping is not None:  # a mapping that breaks the budget is never passed off as a solution
        assert res.status == "infeasible" and "max_step_time" in res.message
    else:  # an exact model stopped by its time limit (a loaded machine) before any mapping
        assert res.status in ("time_limit", "infeasible"), res.message


def test_partition_refine_meets_a_binding_budget(case):
    net, hw, t_free, floor = case
    budget = floor + 0.7 * (t_free - floor)
    res = solve(net, hw, "partition-refine", time_limit=10, seed=0, max_step_time=budget)
    assert res.report.feasible and t_free > budget >= res.report.step_time


def test_objectives_order_energy_and_time(case):
    net, hw, _, _ = case
    runs = {obj: solve(net, hw, "greedy", seed=0, objective=obj) for obj in registry.OBJECTIVES}
    e, lat, w = (runs[o].report for o in ("energy", "latency", "weighted"))
    assert lat.step_time < e.step_time and lat.total >= e.total
    assert w.total / e.total + w.step_time / e.step_time <= 2.0 + 1e-12


def test_budget_below_the_fastest_step_is_refused_with_the_minimum(case):
    net, hw, _, floor = case
    with pytest.raises(registry.OptionError, match=f"{floor:.6g}"):
        solve(net, hw, "greedy", max_step_time=floor / 2)


def test_bad_latency_options():
    net = load_network("LeNet:mini")
    with pytest.raises(registry.OptionError, match="choose energy, latency, weighted"):
        solve(net, "loihi", "greedy", objective="fast")
    with pytest.raises(registry.OptionError, match="positive number of seconds"):
        solve(net, "loihi", "greedy", max_step_time=float("nan"))
    with pytest.raises(HardwareError, match="crossbar-mini has none"):
        solve(net, "crossbar-mini", "greedy", objective="latency")
    with pytest.raises(registry.OptionError, match="does not take max_step_time"):
        solve(net, "loihi", "neuron-bnb", max_step_time=1e-5)


def test_cli_refuses_in_one_line(capsys):
    assert main(["map", "LeNet:mini", "-H", "loihi", "-m", "greedy", "--max-step-time", "1e-9"]) == 2
    err = capsys.readouterr().err.strip()
    assert "fastest possible step" in err and "\n" not in err
    assert main(["map", "LeNet:mini", "-H", "crossbar-mini", "-m", "greedy", "--objective", "latency"]) == 2
    assert "no [latency] table" in capsys.readouterr().err


def test_cli_maps_within_a_budget(capsys, case):
    _, _, t_free, floor = case
    budget = floor + 0.6 * (t_free - floor)
    assert main(["map", "LeNet:mini", "-H", "loihi", "--mesh", "1x2", "-m", "sequential",
                 "--max-step-time", f"{budget!r}"]) == 0
    assert "time per step" in capsys.readouterr().out


def test_gap_takes_the_budget_and_refuses_it_on_a_chip_without_latency():
    from snnmap.gap_evaluator import gap

    with pytest.raises(HardwareError, match="crossbar-mini has none"):
        gap(["LeNet"], methods=["greedy"], max_step_time=1e-6, out=None, figures=False, progress=None)
    report = gap(["LeNet"], hardware="loihi", methods=["sequential"], max_step_time=1.0, out=None, figures=False,
                 progress=None, workers=1)
    assert report.rows[0].status == "feasible"


def test_gap_under_a_budget_runs_only_exact_methods_that_carry_it():
    from snnmap.gap_evaluator import gap

    with pytest.raises(ValueError, match="partition-bnb cannot keep a step-time budget"):
        gap(["LeNet"], hardware="loihi", methods=["partition-bnb"], max_step_time=1.0, out=None, figures=False,
            progress=None)
    report = gap(["LeNet"], hardware="loihi", max_step_time=8e-7, time_limit=1, out=None, figures=False,
                 progress=None, workers=1)
    exact = {r.method: r for r in report.rows if r.method in ("milp", "cpsat", "partition-bnb")}
    assert set(exact) == {"milp", "cpsat"}
    for r in exact.values():  # both carry the budget as constraints: a mapping within it, never "infeasible"
        assert r.status in ("optimal", "feasible", "time_limit") and r.energy > 0
