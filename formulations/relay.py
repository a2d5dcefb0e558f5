"""What a relay forces on every mapping: two sender populations whose targets tile one population in two ways.

The structure (VisualPursuit's retina, lagged relay and V1): a *direct*
population ``S1`` and a *lagged* population ``S2``, both of ``H x W``
positions, and a target population ``T`` of ``C`` channels over the same
positions. ``S1[p]`` targets ``T[c, p]`` for every channel (and possibly
``S2[p]``); ``S2[q]`` targets ``T[c, q + o_c]`` (one offset per channel, the
synapse left out where ``q + o_c`` leaves the image). Every ``T`` neuron is
then in the target set of exactly one direct and at most one lagged sender,
and the two families of target sets cut ``T`` in two different ways.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from snnmap.instances import SpikingNetwork


@dataclasses.dataclass(frozen=True)
class RelayGeometry:
    """A relay between populations (see the module docstring); neurons C-order from each offset.

    Attributes
    ----------
    direct, lagged, target
        First neuron of ``S1``, ``S2`` and ``T``.
    shape
        ``(H, W)`` of the positions.
    offsets
        ``(dy, dx)`` of each channel: ``S2[y, x]`` targets ``T[c, y + dy, x + dx]``.
    direct_to_lagged
        Whether ``S1[p]`` also targets ``S2[p]``.
    """

    direct: int
    lagged: int
    target: int
    shape: tuple[int, int]
    offsets: tuple[tuple[int, int], ...]
    direct_to_lagged: bool

    @property
    def positions(self) -> int:
        return self.shape[0] * self.shape[1]

    def lagged_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """``(q, c * H * W + x)`` of every lagged -> target synapse (relative numbering)."""
        h, w = self.shape
        y, x = np.divmod(np.arange(h * w), w)
        pres, posts = [], []
        for c, (dy, dx) in enumerate(self.offsets):
            ty, tx = y + dy, x + dx
            ok = (ty >= 0) & (ty < h) & (tx >= 0) & (tx < w)
            pres.append(np.flatnonzero(ok))
            posts.append(c * h * w + ty[ok] * w + tx[ok])
        return np.concatenate(pres), np.concatenate(posts)


def _edge_keys(network: SpikingNetwork, src: np.ndarray, dst: np.ndarray, lo: int, size: int,
               t0: int, t_size: int) -> np.ndarray:
    """Sorted ``(pre - lo) * t_size + (post - t0)`` of the synapses from ``lo..lo+size`` to ``t0..t0+t_size``."""
    sel = (src >= lo) & (src < lo + size) & (dst >= t0) & (dst < t0 + t_size)
    return np.sort((src[sel] - lo) * np.int64(t_size) + (dst[sel] - t0))


@functools.lru_cache(maxsize=4)
def relay_geometry(network: SpikingNetwork) -> RelayGeometry | None:
    """The relay of a built-in application whose synapses the network holds exactly (else ``None``).

    The plan comes from the provenance (``height``, ``width``, ``directions`` as ``(dx, dy)``): populations
    ``retina``, ``lagged``, ``V1``; every synapse between them is checked, so an edited network gets none.
    """
    params = (network.provenance or {}).get("params") or {}
    names = list(network.population_names or ())
    if network.population is None or not {"height", "width", "directions"} <= set(params) \
            or not {"retina", "lagged", "V1"} <= set(names):
        return None
    h, w = int(params["height"]), int(params["width"])
    offsets = tuple((int(d[1]), int(d[0])) for d in params["directions"])
    firsts, sizes = [], []
    for name in ("retina", "lagged", "V1"):
        ids = np.flatnonzero(network.population == names.index(name))
        if not ids.size or ids[-1] - ids[0] + 1 != ids.size:
            return None
        firsts.append(int(ids[0]))
        sizes.append(int(ids.size))
    if sizes != [h * w, h * w, len(offsets) * h * w]:
        return None
    g = RelayGeometry(firsts[0], firsts[1], firsts[2], (h, w), offsets, True)
    pre, post, p = network.pre, network.post, h * w
    c = len(offsets)
    direct = _edge_keys(network, pre, post, g.direct, p, g.target, c * p)
    want = np.sort(np.tile(np.arange(p), c) * np.int64(c * p) + np.arange(c * p))
    lp, lt = g.lagged_edges()
    if not (np.array_equal(direct, want)
            and np.array_equal(_edge_keys(network, pre, post, g.lagged, p, g.target, c * p),
                               np.sort(lp * np.int64(c * p) + lt))):
        return None
    relay = _edge_keys(network, pre, post, g.direct, p, g.lagged, p)
    if np.array_equal(relay, np.arange(p) * np.int64(p + 1)):
        return g
    return dataclasses.replace(g, direct_to_lagged=False) if not relay.size else None
