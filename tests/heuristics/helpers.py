import numpy as np

from snnmap.hardware import load_hardware
from snnmap.instances import SpikingNetwork


def random_network(rng: np.random.Generator, n: int, density: float = 0.15, self_loops: bool = True) -> SpikingNetwork:
    mask = rng.random((n, n)) < density
    if not self_loops:
        np.fill_diagonal(mask, False)
    pre, post = np.nonzero(mask)
    spikes = rng.integers(0, 30, n).astype(float)
    return SpikingNetwork.from_edges(n, pre, post, spikes, t_run=float(rng.uniform(0.1, 2.0)))


def slack_hardware(net: SpikingNetwork, **over):
    """2 x 4 mesh, n_max 8, a_max and syn_max at 4 x the largest fan-in: 8 cores >= 1.2 x the need."""
    m = max(int(net.in_degree.max()), 1)
    return load_hardware("crossbar128", mesh=(2, 4), n_max=8, a_max=4 * m, syn_max=4 * m, **over)
