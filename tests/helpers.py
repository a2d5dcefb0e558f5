"""Helpers shared by the test modules: tiny hand-checkable chips, random networks, brute force.

Test modules import from here (``from tests.helpers import ...``), never from one another or from conftest.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import strategies as st

from snnmap.hardware import EnergyCosts, Hardware, Limits, load_hardware
from snnmap.instances import SpikingNetwork


# ---------------------------------------------------------------- hardware
def toy_hardware(**changes) -> Hardware:
    """A 2 x 2 mesh with round, hand-checkable costs (units: joules, watts).

    e_spike=1, e_syn=2, e_local=3, e_route=10, e_hop=100, p_static=1000.
    Cores: 0=(0,0), 1=(0,1), 2=(1,0), 3=(1,1).
    """
    hw = Hardware(
        name="toy",
        limits=Limits(n_max=8),
        energy=EnergyCosts(e_spike=1.0, e_syn=2.0, e_local=3.0, e_route=10.0, e_hop=100.0, p_static=1000.0),
        mesh=(2, 2),
    )
    return hw.replace(**changes) if changes else hw


def slack_hardware(net: SpikingNetwork, **over) -> Hardware:
    """2 x 4 mesh, n_max 8, a_max and syn_max at 4 x the largest fan-in: 8 cores >= 1.2 x the need."""
    m = max(int(net.in_degree.max()), 1)
    return load_hardware("crossbar128", mesh=(2, 4), n_max=8, a_max=4 * m, syn_max=4 * m, **over)


# ---------------------------------------------------------------- networks
def random_network(n: int, m: int, seed: int) -> SpikingNetwork:
    """About ``m`` distinct random synapses among ``n`` neurons, Poisson spike counts (mean 4)."""
    rng = np.random.default_rng(seed)
    key = np.unique(rng.integers(0, n, m) * n + rng.integers(0, n, m))
    return SpikingNetwork.from_edges(n, key // n, key % n, rng.poisson(4.0, n), name=f"random{n}")


def random_dense_network(rng: np.random.Generator, n: int, density: float = 0.15,
                         self_loops: bool = True) -> SpikingNetwork:
    """Each ordered pair a synapse with probability ``density``; spike counts 0..29 and ``t_run`` from ``rng``."""
    mask = rng.random((n, n)) < density
    if not self_loops:
        np.fill_diagonal(mask, False)
    pre, post = np.nonzero(mask)
    spikes = rng.integers(0, 30, n).astype(float)
    return SpikingNetwork.from_edges(n, pre, post, spikes, t_run=float(rng.uniform(0.1, 2.0)))


# ------------------------------------------------------------ brute force
def all_mappings(n: int, k: int) -> np.ndarray:
    """Every mapping of ``n`` neurons onto ``k`` cores, one per row."""
    return np.array(list(itertools.product(range(k), repeat=n)), dtype=np.int64).reshape(-1, n)


def brute_force(network: SpikingNetwork, hardware: Hardware, comm: str) -> tuple[np.ndarray, np.ndarray]:
    """Energy of every mapping (``inf`` when infeasible), computed independently of the evaluator.

    Returns the mappings and their energies.
    """
    n, k = network.num_neurons, hardware.num_cores
    maps = all_mappings(n, k)
    p = maps.shape[0]
    e = hardware.energy
    cost = np.asarray(hardware.cost_matrix)
    s = network.spikes
    lim = hardware.limits
    rows = np.arange(p)
    # dest[p, i, c]: neuron i has a target on core c.
    dest = np.zeros((p, n, k), dtype=bool)
    for i, j in zip(network.pre.tolist(), network.post.tolist()):
        dest[rows, i, maps[:, j]] = True
    if comm == "multicast":
        src_rows = cost[maps]  # (p, n, k): cost from i's core to every core
        comm_e = np.einsum("i,pic->p", s, src_rows * dest)
    else:
        comm_e = np.zeros(p)
        for i, j in zip(network.pre.tolist(), network.post.tolist()):
            comm_e += s[i] * cost[maps[:, i], maps[:, j]]
    onehot = maps[:, :, None] == np.arange(k)[None, None, :]
    neurons = onehot.sum(axis=1)
    synapses = np.einsum("j,pjc->pc", network.in_degree.astype(float), onehot)
    axons = dest.sum(axis=1)
    dests = dest.sum(axis=2)
    used = (neurons > 0).sum(axis=1)
    static = network.t_run * e.p_static * (used if hardware.power_gating else k)
    # The mapping-independent part written out here, not taken from the evaluator's fixed_energy.
    fixed = n * network.steps * e.e_access + s.sum() * e.e_spike + np.dot(s, network.out_degree) * e.e_syn
    energy = fixed + comm_e + static
    ok = neurons.max(axis=1) <= lim.n_max
    if lim.syn_max is not None:
        ok &= synapses.max(axis=1) <= lim.syn_max
    if lim.a_max is not None:
        ok &= axons.max(axis=1) <= lim.a_max
    if lim.dest_max is not None:
        ok &= dests.max(axis=1) <= lim.dest_max
    if lim.fanin_max is not None and network.in_degree.max(initial=0) > lim.fanin_max:
        ok[:] = False
    if network.pins is not None:
        pinned = network.pins >= 0
        ok &= np.all(maps[:, pinned] == network.pins[pinned], axis=1)
    return maps, np.where(ok, energy, np.inf)


# --------------------------------------------------------------- instances
@st.composite
def instances(draw: st.DrawFn) -> tuple[SpikingNetwork, Hardware, str]:
    """Small random instances: N <= 7 neurons, K <= 4 cores, random limits, zero spikes, self-loops, pins,
    a per-neuron, per-step access energy and networks with and without their own step count."""
    mesh = draw(st.sampled_from([(1, 2), (2, 2), (1, 3), (1, 4), (1, 3)]))
    k = mesh[0] * mesh[1]
    n = draw(st.integers(2, 8 if k <= 3 else 7))
    density = draw(st.sampled_from([0.15, 0.3, 0.5]))
    flags = draw(st.lists(st.floats(0, 1), min_size=n * n, max_size=n * n))
    pairs = [(i, j) for idx, (i, j) in enumerate(itertools.product(range(n), repeat=2))
             if flags[idx] < density and (i != j or flags[idx] < density / 4)]
    pre = [a for a, _ in pairs]
    post = [b for _, b in pairs]
    spikes = draw(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.5, 7.0]), min_size=n, max_size=n))
    pins = None
    if draw(st.integers(0, 5)) == 0:
        pins = [-1] * n
        pins[draw(st.integers(0, n - 1))] = draw(st.integers(0, k - 1))
    net = SpikingNetwork.from_edges(n, pre, post, spikes, t_run=draw(st.sampled_from([0.5, 1.0])), pins=pins,
                                    time_steps=draw(st.sampled_from([None, 1, 7])))
    # Limits: mostly absent or loose (feasible), sometimes anything from 1 (often infeasible).
    def limit(loose: int, top: int) -> int | None:
        kind = draw(st.integers(0, 5))
        if kind <= 2:
            return None
        return draw(st.integers(min(loose, top), top) if kind <= 4 else st.integers(1, top))

    n_max = draw(st.integers(1, n)) if draw(st.integers(0, 4)) == 0 else draw(st.integers(-(-n // k), n))
    limits = Limits(n_max=n_max, a_max=limit(n // 2 + 1, n), syn_max=limit(n, max(1, 2 * n)),
                    fanin_max=limit(n // 2 + 1, n), dest_max=limit(2, k))
    hop_y = draw(st.sampled_from([None, 1.5]))
    energy = EnergyCosts(
        e_spike=0.25, e_syn=0.5,
        e_local=draw(st.sampled_from([0.0, 0.5, 2.0])),
        e_route=draw(st.sampled_from([1.0, 3.0])),
        e_hop=draw(st.sampled_from([0.0, 1.0, 2.0])),
        e_hop_x=None, e_hop_y=hop_y,
        p_static=draw(st.sampled_from([0.0, 0.75, 5.0])),
        e_access=draw(st.sampled_from([0.0, 0.01, 0.3])),
    )
    hw = Hardware(name="rand", limits=limits, energy=energy, mesh=mesh,
                  power_gating=draw(st.booleans()))
    comm = draw(st.sampled_from(["multicast", "unicast"]))
    return net, hw, comm


# ---------------------------------------------------------------- scripts

def load_script(name: str):
    """The module ``scripts/NAME.py`` (the scripts are not a package), for testing its functions."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
