"""Every heuristic: feasible on slack instances, scored by the evaluator, seeded, honest when stuck."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snnmap.formulations import evaluate
from snnmap.hardware import load_hardware
from snnmap.instances.synthetic import layered
from snnmap.registry import METHODS, names
from tests.helpers import random_dense_network, slack_hardware

NAMES = sorted(names(kind="heuristic"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=8, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), comm=st.sampled_from(["multicast", "unicast"]))
def test_feasible_with_slack_and_scored_by_evaluator(name, seed, comm):
    rng = np.random.default_rng(seed)
    net = random_dense_network(rng, int(rng.integers(6, 25)))
    hw = slack_hardware(net)
    res = METHODS[name](net, hw, seed=seed, comm=comm, time_limit=5)
    assert res.status in ("feasible", "time_limit", "optimal"), res.message
    rep = evaluate(net, hw, res.mapping, comm)
    assert rep.feasible
    assert res.report.total == rep.total
    assert res.energy >= res.lower_bound * (1 - 1e-9)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_mapping(name, rng):
    net = random_dense_network(rng, 40, density=0.1)
    hw = load_hardware("crossbar128", mesh=(2, 4), n_max=8)
    a = METHODS[name](net, hw, seed=7)
    b = METHODS[name](net, hw, seed=7)
    np.testing.assert_array_equal(a.mapping, b.mapping)


@pytest.mark.parametrize("name", NAMES)
def test_too_few_cores_is_infeasible_and_named(name, rng):
    net = random_dense_network(rng, 30)
    hw = load_hardware("crossbar128", mesh=(1, 2), n_max=8)
    res = METHODS[name](net, hw)
    assert res.status == "infeasible"
    assert "n_max" in res.message


@pytest.mark.parametrize("name", NAMES)
def test_axon_limit_no_packing_can_meet_is_infeasible_and_named(name):
    # Four neurons with three private inputs each: a core of a_max=3 holds one of them,
    # and the chip has two cores, though every single neuron fits and n_max leaves room.
    from snnmap.instances import SpikingNetwork

    pre = np.arange(12)
    net = SpikingNetwork.from_edges(16, pre, 12 + pre // 3, np.ones(16))
    hw = load_hardware("crossbar128", mesh=(1, 2), n_max=8, a_max=3)
    res = METHODS[name](net, hw, time_limit=5)
    assert res.status == "infeasible" and res.mapping is None
    assert "a_max" in res.message or "n_max/a_max/syn_max" in res.message, res.message


def test_partition_refine_not_worse_than_baselines(rng):
    from snnmap.instances.synthetic import layered

    net = layered([200, 300, 200, 60], fan=6, window=6, seed=12345)
    hw = load_hardware("crossbar128", cores=16)
    # A few kick-and-refine rounds keep the test fast; the guarantee does not depend on them.
    pr = METHODS["partition-refine"](net, hw, ils_rounds=3)
    assert pr.status in ("feasible", "time_limit") and pr.report.feasible
    for name in ("greedy", "sequential", "sneap", "spinemap", "random"):
        other = METHODS[name](net, hw)
        assert pr.energy <= other.energy * (1 + 1e-12), name


def test_dest_max_respected(rng):
    net = random_dense_network(rng, 20, density=0.2)
    hw = load_hardware("crossbar128", mesh=(2, 4), n_max=8, dest_max=4)
    for name in NAMES:
        res = METHODS[name](net, hw)
        if res.status != "infeasible":
            assert evaluate(net, hw, res.mapping).feasible
        else:
            assert res.message


def test_interrupt_returns_best_so_far(rng, monkeypatch):
    import sys

    refine_mod = sys.modules["snnmap.heuristics.refine"]

    net = random_dense_network(rng, 40, density=0.1)
    hw = load_hardware("crossbar128", mesh=(2, 4), n_max=8)
    calls = {"n": 0}
    real = refine_mod.refine_chunk

    def boom(*args):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(refine_mod, "refine_chunk", boom)
    res = METHODS["partition-refine"](net, hw, starts=("greedy",))
    assert res.status == "interrupted"  # Ctrl-C is not a time limit
    assert evaluate(net, hw, res.mapping).feasible


@pytest.mark.parametrize("name, stop_on", [("partition-refine", "refine pass"), ("sneap", 0.0)])
def test_ctrl_c_keeps_the_mapping_and_says_interrupted(name, stop_on):
    # Ctrl-C arrives as KeyboardInterrupt inside the method's loop (here raised from its progress callback).
    net = layered([300] * 4, 6, seed=1)  # enough clusters to anneal
    hw = load_hardware("crossbar-mini", mesh=(16, 16))

    def progress(update, *more):
        if (isinstance(stop_on, str) and str(update).startswith(stop_on)) or (
                isinstance(stop_on, float) and isinstance(update, float)):
            raise KeyboardInterrupt

    res = METHODS[name](net, hw, seed=0, time_limit=30, progress=progress)
    assert res.status == "interrupted" and res.report.feasible
    assert res.energy == evaluate(net, hw, res.mapping).total and res.lower_bound <= res.energy
