"""Shared fixtures: tiny hand-checkable hardware and networks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings

from snnmap.hardware import EnergyCosts, Hardware, Limits

# Property tests are seeded (derandomized) so every run checks the same cases.
settings.register_profile("snnmap", derandomize=True, deadline=None, max_examples=60)
settings.load_profile("snnmap")


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


@pytest.fixture
def toy() -> Hardware:
    return toy_hardware()


def random_network(n: int, m: int, seed: int):
    """A random network with about ``m`` distinct synapses and Poisson spike counts."""
    from snnmap.instances import SpikingNetwork

    rng = np.random.default_rng(seed)
    key = np.unique(rng.integers(0, n, m) * n + rng.integers(0, n, m))
    return SpikingNetwork.from_edges(n, key // n, key % n, rng.poisson(4.0, n), name=f"random{n}")
