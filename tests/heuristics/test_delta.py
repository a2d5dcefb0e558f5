"""Incremental deltas equal the evaluator's difference on random moves and swaps."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from snnmap.formulations import evaluate
from snnmap.hardware import load_hardware
from snnmap.heuristics.common import CostModel, member_stride, state_from_mapping
from snnmap.heuristics.delta import apply_move, move_eval, state_energy, swap_try
from tests.helpers import random_dense_network


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), comm=st.sampled_from(["multicast", "unicast"]), gating=st.booleans(),
       preset=st.sampled_from(["crossbar128", "loihi", "loihi-davies2018", "truenorth"]))
def test_deltas_match_evaluator(seed, comm, gating, preset):
    rng = np.random.default_rng(seed)
    net = random_dense_network(rng, int(rng.integers(3, 30)))
    hw = load_hardware(preset, mesh=(2, 3), n_max=net.num_neurons, power_gating=gating)
    k = hw.num_cores
    core = rng.integers(0, k, net.num_neurons)
    state = state_from_mapping(net, hw, core, comm)
    S, C, stride = state.args(), CostModel.of(hw).args(), member_stride(state)
    before = evaluate(net, hw, core, comm)
    const = before.total - state_energy(S, C)
    for _ in range(25):
        j = int(rng.integers(net.num_neurons))
        if rng.random() < 0.5:
            b = int(rng.integers(k))
            d = move_eval(S, C, j, b, False)
            apply_move(S, stride, j, b)
        else:
            d = swap_try(S, stride, C, j, int(rng.integers(net.num_neurons)), -1e300)
        after = evaluate(net, hw, state.core_of, comm)
        assert abs((after.total - before.total) - d) <= 1e-9 * before.total
        assert abs(state_energy(S, C) + const - after.total) <= 1e-9 * after.total
        np.testing.assert_array_equal(after.core_axons, state.axcount)
        np.testing.assert_array_equal(after.core_neurons, state.ncount)
        np.testing.assert_array_equal(after.core_synapses, state.syncount)
        before = after


@settings(max_examples=20, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6))
def test_checked_moves_keep_limits(seed):
    rng = np.random.default_rng(seed)
    net = random_dense_network(rng, int(rng.integers(6, 24)))
    m = int(net.in_degree.max()) or 1
    hw = load_hardware("crossbar128", mesh=(2, 4), n_max=8, a_max=2 * m, syn_max=3 * m, dest_max=3)
    core = np.arange(net.num_neurons) % hw.num_cores
    if not evaluate(net, hw, core).feasible:
        return
    state = state_from_mapping(net, hw, core)
    S, C, stride = state.args(), CostModel.of(hw).args(), member_stride(state)
    for _ in range(60):
        j, b = int(rng.integers(net.num_neurons)), int(rng.integers(hw.num_cores))
        if move_eval(S, C, j, b, True) < np.inf:
            apply_move(S, stride, j, b)
            assert evaluate(net, hw, state.core_of).feasible


@settings(max_examples=15, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), comm=st.sampled_from(["multicast", "unicast"]), gating=st.booleans())
def test_all_candidates_at_once_equal_one_by_one(seed, comm, gating):
    """moves_eval (one scan of the inputs' destinations for every candidate core)
    gives exactly move_eval's change and feasibility for each candidate, on
    neurons with wide fan-outs, as the state changes."""
    from snnmap.heuristics.delta import moves_eval

    rng = np.random.default_rng(seed)
    net = random_dense_network(rng, 120, density=0.5)
    m = int(net.in_degree.max())
    hw = load_hardware("crossbar128", mesh=(6, 6), n_max=12, a_max=m + 20, syn_max=8 * m, dest_max=30,
                       power_gating=gating)
    k = hw.num_cores
    state = state_from_mapping(net, hw, np.arange(net.num_neurons) % k, comm)
    S, C, stride = state.args(), CostModel.of(hw).args(), member_stride(state)
    cand = np.empty(12, np.int64)
    cpos, cbv = np.full(k, -1, np.int64), np.empty(12, np.int64)
    dv, okv = np.empty(12), np.empty(12, np.bool_)
    feasible_seen = infeasible_seen = 0
    for _ in range(300):
        j = int(rng.integers(net.num_neurons))
        nc = int(rng.integers(1, 12))
        cand[:nc] = rng.choice(k, nc, replace=False)
        moves_eval(S, C, j, cand, nc, cpos, cbv, dv, okv)
        for u in range(nc):
            assert dv[u] == move_eval(S, C, j, cand[u], False)
            assert okv[u] == (move_eval(S, C, j, cand[u], True) < np.inf)
        assert np.all(cpos == -1)
        feasible_seen += int(okv[:nc].sum())
        infeasible_seen += int((~okv[:nc]).sum())
        ok = cand[:nc][okv[:nc]]
        if ok.size:
            apply_move(S, stride, j, int(ok[0]))
    assert feasible_seen and infeasible_seen  # both outcomes were exercised
