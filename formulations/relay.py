"""What a relay forces on every mapping: two sender populations whose targets tile one population in two ways.

The structure (VisualPursuit's retina, lagged relay and V1): a *direct*
population ``S1`` and a *lagged* population ``S2``, both of ``H x W``
positions, and a target population ``T`` of ``C`` channels over the same
positions. ``S1[p]`` targets ``T[c, p]`` for every channel (and possibly
``S2[p]``); ``S2[q]`` targets ``T[c, q + o_c]`` (one offset per channel, the
synapse left out where ``q + o_c`` leaves the image). Every ``T`` neuron is
then in the target set of exactly one direct and at most one lagged sender,
and the two families of target sets cut ``T`` in two different ways.

**The bound** (:func:`relay_raise`; the argument in full, with VisualPursuit
worked through, in ``docs/relay_bound.md``). Call position ``x`` *whole* on
core ``c`` when every target of ``S1[x]`` is on ``c``: ``S1[x]`` has one
destination exactly when ``x`` is whole, a core holds at most
``m = n_max // (C + 1)`` whole positions (``C`` without the relay synapse), and
when the offsets are the eight neighbours of a position (VisualPursuit's
directions) a lagged sender whose eight targets are all inside the image has one
destination only if the whole positions around it are all on one core. Two
neighbouring whole positions of a row on different cores (a *gap*) therefore
give the two lagged senders below them a second destination, and one position
between them not whole costs its direct sender one. Counting the gaps row by
row, each row holding ``k`` cores' whole positions has ``k - 1`` of them, and
cores of at most ``m`` positions meet many rows and columns
(:func:`line_need`), so at least :func:`least_second` of the direct senders and
the lagged senders with a full target set reach a second core in every mapping:
the bound charges the cheapest that many.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork
from snnmap.instances.geometry import conv_layers

KING = frozenset((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx)  # the 8 neighbours


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


@functools.lru_cache(maxsize=64)
def line_need(cells: int) -> int:
    """Least ``sum over rows of min(2, cells in the row)`` plus the same over columns, for ``cells`` positions.

    A set with ``R1`` rows of one cell, ``R2`` rows of two or more, ``C1`` and ``C2`` columns likewise has at
    most ``R1 + R2 (C1 + C2)`` cells (a row holds at most one cell per column) and at most ``C1 + C2 (R1 + R2)``;
    the least ``R1 + 2 R2 + C1 + 2 C2`` under both is found by enumeration (``4 sqrt(cells)`` for a square).
    """
    if cells <= 0:
        return 0
    r2 = np.arange(cells + 1)[:, None, None]
    c2 = np.arange(cells + 1)[None, :, None]
    r1 = np.arange(cells + 1)[None, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        by_rows = np.where(r2 > 0, np.ceil((cells - r1) / np.maximum(r2, 1)) - c2, np.where(r1 >= cells, 0, np.inf))
    c1 = np.maximum.reduce([np.zeros_like(by_rows), by_rows, cells - c2 * (r1 + r2)])
    return int(np.min(r1 + 2 * r2 + c1 + 2 * c2))


def least_second(g: RelayGeometry, n_max: int) -> int:
    """Fewest direct senders and full-window lagged senders with two destinations or more, over all mappings.

    ``0`` unless the offsets are the eight neighbours and the image is at least 3 x 3. With ``X`` positions not
    whole (each a direct sender with two destinations or more), the gaps of rows ``0..H-3`` (each giving a second
    destination to lagged senders of the next row) and of columns ``0..W-3`` number at least
    ``rho (H-2)(W-2) - rho X - 2 (H + W - 4)`` together, ``rho`` the least :func:`line_need` per cell of a core's
    whole positions (at most ``m``); rows and columns may charge the same senders, so the count is at least
    ``max(X, half of that)`` for every ``X``.
    """
    h, w = g.shape
    if h < 3 or w < 3 or set(g.offsets) != KING:
        return 0
    most = n_max // (len(g.offsets) + int(g.direct_to_lagged))
    if most < 1:
        return 0
    rho = min(line_need(c) / c for c in range(1, min(most, h * w) + 1))
    inner = (h - 2) * (w - 2)
    half = (rho * inner - 2 * (h + w - 4)) / 2
    return max(0, math.ceil(half / (1 + rho / 2) - 1e-9))


def relay_raise(network: SpikingNetwork, hardware: Hardware, second: np.ndarray) -> float:
    """What the relay adds to the communication bound: the :func:`least_second` cheapest ``second`` (0 without one).

    ``second[i]``: what neuron ``i`` pays more with two destinations or more. Senders that also feed a
    convolution of :mod:`.bounds_tiles` are left to that argument (no relay raise), so no second destination is
    charged twice.
    """
    g = relay_geometry(network)
    if g is None:
        return 0.0
    p = g.positions
    mine = [(g.direct, g.direct + p), (g.lagged, g.lagged + p)]
    if any(lo <= c.in_offset < hi for c in conv_layers(network) for lo, hi in mine):
        return 0.0
    count = least_second(g, hardware.limits.n_max)
    if not count:
        return 0.0
    h, w = g.shape
    full = np.zeros((h, w), dtype=bool)
    full[1:-1, 1:-1] = True
    candidates = np.concatenate([second[g.direct:g.direct + p], second[g.lagged:g.lagged + p][full.ravel()]])
    return float(np.sum(np.sort(candidates)[:count]))
