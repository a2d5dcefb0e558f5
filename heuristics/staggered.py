"""Staggered co-located tiles: bands of output tiles offset like bricks, so that no window spans a diagonal.

On a mesh, the co-located tiles of :mod:`heuristics.colocate` laid out like the image meet four at every
tile corner: an input whose window spans the corner reaches its own core, the two beside it (one hop) and
the diagonal one, two hops away, whatever core it sits on (no core of a mesh is next to all four cores of a
2 x 2 block). On ``crossbar128`` that is ``e_hop = 10 pJ`` beside a 25 pJ packet for about one input in six
(EdgeDet: 5 x 5 tiles, 2 x 2 inputs at every corner; ImgSmooth: 4 x 4 tiles, 3 x 3).

Here each band of ``a`` rows of output positions is cut into tiles of ``b`` columns with its own
horizontal offset, alternating between two values, and every tile is placed under the tile of the band
above that holds its centre column (a column shift per band keeps that true). A tile then meets two tiles
of the band above: the one above it on the mesh, and the other over fewer columns than a window is wide
(EdgeDet: 2 of 5 under a 3-wide window), so every window that reaches the other one also reaches a third
tile next to both; each input sits on the target core that makes its packets cheapest, and where that
core's neighbours hold all its other targets it pays no second hop. EdgeDet (5 x 5, offsets 0 and 2):
hops per packet 1.163 -> 1.000, comm + static 14.98 -> 14.33 uJ before any refinement.

Only where the network is one convolution and its inputs (every neuron one of them) on a mesh with one core
per router; the candidates are priced by the evaluator (:func:`staggered_mapping`).
"""

from __future__ import annotations

import itertools

import numpy as np

from snnmap.formulations.energy import evaluate
from snnmap.hardware import Hardware
from snnmap.heuristics.colocate import colocated_tilings
from snnmap.instances import SpikingNetwork
from snnmap.instances.geometry import ConvGeometry, conv_layers, window_range


def band_layout(g: ConvGeometry, hardware: Hardware, a: int, b: int, oy: int, offsets: tuple[int, ...]
                ) -> np.ndarray | None:
    """Core of every output neuron of ``g`` (``C, H, W`` order) for ``a x b`` tiles: band ``r`` holds the rows
    ``y`` with ``(y + oy) // a = r``, cut into tiles ``(x + o_r) // b`` with ``o_r = offsets[r % len(offsets)]``;
    band ``r`` on mesh row ``r``, each tile under the tile of band ``r - 1`` that holds its centre column.
    ``None`` when the bands do not fit the mesh."""
    cout, ho, wo = g.out_shape
    rows, cols = hardware.mesh  # type: ignore[misc]
    bands = (ho - 1 + oy) // a + 1
    o = np.asarray(offsets, dtype=np.int64)[np.arange(bands) % len(offsets)]
    # Tile t of band r covers x in [b t - o_r, b t - o_r + b - 1]; its centre column falls in tile
    # t + (o_(r-1) - o_r + (b - 1) // 2) // b of band r - 1: that tile's mesh column is its own.
    shift = np.concatenate([[0], np.cumsum((o[:-1] - o[1:] + (b - 1) // 2) // b)])
    shift -= shift.min()
    _, y, x = np.unravel_index(np.arange(cout * ho * wo), g.out_shape)
    band = (y + oy) // a
    column = (x + o[band]) // b + shift[band]
    if bands > rows or int(column.max()) >= cols:
        return None
    return band * cols + column


def host_costs(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray, inputs: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (input, target core) pair of ``inputs`` under ``core_of``, by input then core: ``(input, core, cost per
    spike of its deliveries from that core)``, ``e_local`` there and a packet to each other target core.
    Vectorised over the pairs."""
    k = hardware.num_cores
    among = np.zeros(network.num_neurons, dtype=bool)
    among[inputs] = True
    syn = among[network.pre]
    key = np.unique(network.pre[syn].astype(np.int64) * k + core_of[network.post[syn]])
    neuron, core = np.divmod(key, k)
    # Every (candidate, other) pair of target cores of one input: the candidate's cost is the sum over the others.
    first = np.searchsorted(neuron, neuron)
    count = np.bincount(neuron, minlength=network.num_neurons)[neuron]
    cand = np.repeat(np.arange(neuron.size), count)
    other = first[cand] + np.arange(cand.size) - np.repeat(np.cumsum(count) - count, count)
    price = np.where(core[cand] == core[other], hardware.energy.e_local, hardware.packet_cost(core[cand], core[other]))
    return neuron, core, np.bincount(cand, weights=price, minlength=neuron.size)


def host_inputs(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray, inputs: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """``core_of`` with each of ``inputs`` on the core, among its targets' cores, from which its deliveries cost
    least (:func:`host_costs`); ties to the lower core. Also that least cost per neuron (per spike; 0 off
    ``inputs``)."""
    neuron, core, total = host_costs(network, hardware, core_of, inputs)
    # Ties to the lower core: sums in another order differ in the last bits, so compared to 1e-20 J.
    order = np.lexsort((core, np.round(total, 20), neuron))
    best = order[np.r_[True, neuron[order][1:] != neuron[order][:-1]]]
    out = core_of.copy()
    out[neuron[best]] = core[best]
    cost = np.zeros(network.num_neurons)
    cost[neuron[best]] = total[best]
    return out, cost


def _mapping(network: SpikingNetwork, hardware: Hardware, g: ConvGeometry, layout: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """The mapping of the outputs on ``layout`` with the inputs hosted (:func:`host_inputs`), and the inputs' costs."""
    core_of = np.zeros(network.num_neurons, dtype=np.int64)
    core_of[g.out_offset:g.out_offset + layout.size] = layout
    return host_inputs(network, hardware, core_of, np.arange(g.in_offset, g.in_offset + int(np.prod(g.in_shape))))


def band_offsets(network: SpikingNetwork, hardware: Hardware, g: ConvGeometry, a: int, b: int, oy: int
                 ) -> tuple[int, ...] | None:
    """Each band's offset for ``a x b`` tiles (:func:`band_layout`), the least spike-weighted input cost plus static
    energy by dynamic programming over the bands. An input's cost depends only on the bands its window meets (at
    most two where ``a`` is at least the window's height in positions) and their offsets: it is read off the
    layout alternating the two offsets (the relative column shift of two bands depends on their offsets only).
    ``None`` where a window meets three bands or no layout fits (the chosen one may still drift off the mesh)."""
    cin, h, w = g.in_shape
    cout, ho, wo = g.out_shape
    (kh, _), (sh, _), (ph, _) = g.kernel, g.stride, g.padding
    bands = (ho - 1 + oy) // a + 1
    first, last = window_range(h, ho, kh, sh, ph)
    lo, hi = (first + oy) // a, (last + oy) // a
    if np.any(hi - lo > 1):
        return None
    weight = network.spikes[g.in_offset:g.in_offset + cin * h * w].reshape(cin, h, w)
    # row[(u, v)][y]: the spike-weighted cost of input row y in the layout alternating u (even bands), v (odd).
    row = {}
    for u, v in itertools.product(range(b), repeat=2):
        layout = band_layout(g, hardware, a, b, oy, (u, v))
        if layout is None:
            continue
        cost = _mapping(network, hardware, g, layout)[1][g.in_offset:g.in_offset + cin * h * w]
        row[u, v] = (cost.reshape(cin, h, w) * weight).sum(axis=(0, 2))
    if not row:
        return None
    static = network.t_run * hardware.energy.p_static if hardware.power_gating else 0.0
    tiles = static * ((wo - 1 + np.arange(b)) // b + 1)
    inf = float("inf")

    def rows_cost(r: int, upper: int, lower: int) -> float:
        # Rows meeting band r only (lower < 0) or bands r and r + 1, offsets upper and lower.
        sel = (lo == r) & (hi == (r if lower < 0 else r + 1))
        key = (upper, upper) if lower < 0 else ((upper, lower) if r % 2 == 0 else (lower, upper))
        return float(row[key][sel].sum()) if key in row else inf

    best = np.array([tiles[o] + rows_cost(0, o, -1) for o in range(b)])
    back = np.zeros((bands, b), dtype=np.int64)
    for r in range(1, bands):
        step = np.array([[best[u] + rows_cost(r - 1, u, v) for u in range(b)] for v in range(b)])
        back[r] = step.argmin(axis=1)
        best = step.min(axis=1) + np.array([tiles[v] + rows_cost(r, v, -1) for v in range(b)])
    if not np.isfinite(best.min()):
        return None
    o = [int(best.argmin())]
    for r in range(bands - 1, 0, -1):
        o.append(int(back[r, o[-1]]))
    return tuple(o[::-1])


def single_convolution(network: SpikingNetwork, hardware: Hardware) -> ConvGeometry | None:
    """The geometry of ``network`` where it is one convolution and its inputs (every neuron one of them, the inputs
    receiving nothing) on a mesh with one core per router, the only case the staggered bands are built for; else
    ``None``."""
    if hardware.topology != "mesh" or hardware.cores_per_tile != 1 or hardware.mesh is None:
        return None
    layers = conv_layers(network)
    if len(layers) != 1:
        return None
    g = layers[0]
    n_in, n_out = int(np.prod(g.in_shape)), int(np.prod(g.out_shape))
    if n_in + n_out != network.num_neurons or network.in_degree[g.in_offset:g.in_offset + n_in].any():
        return None
    return g


SHAPES = 2  # the cheapest co-located tile shapes (colocated_tilings, unshifted) tried staggered


def staggered_mapping(network: SpikingNetwork, hardware: Hardware, comm: str | None = None) -> np.ndarray | None:
    """The cheapest feasible staggered co-located mapping (see the module docstring), by the evaluator; ``None``
    where it does not apply or no candidate is feasible.

    Candidates: the :data:`SHAPES` cheapest co-located tile shapes; per shape the band offsets ``(o, o + d)``
    alternating, ``d`` in ``1..b - 1``, with ``(oy, o)`` the shape's cheapest shift of :func:`colocated_tilings`
    (tile borders on darker inputs) and unshifted. Deterministic: no randomness, ties to the first candidate."""
    g = single_convolution(network, hardware)
    if g is None:
        return None
    n_in = int(np.prod(g.in_shape))
    inputs = np.arange(g.in_offset, g.in_offset + n_in)
    options = colocated_tilings(g, network.spikes[inputs], hardware, network.t_run)
    plain = sorted((t for t in options if t[3] == 0 and t[4] == 0), key=lambda t: (t[0], abs(t[1] - t[2]), t[1]))
    best: tuple[float, np.ndarray] | None = None
    for _, a, b, _, _ in plain[:SHAPES]:
        shifted = min((t for t in options if t[1] == a and t[2] == b), key=lambda t: (t[0], t[3], t[4]))
        layouts = []
        for oy, o in dict.fromkeys([(0, 0), (shifted[3], shifted[4])]):
            layouts += [(oy, (o, (o + d) % b)) for d in range(1, b)]
            per_band = band_offsets(network, hardware, g, a, b, oy)
            if per_band is not None:
                layouts.append((oy, per_band))
        for oy, offsets in layouts:
            layout = band_layout(g, hardware, a, b, oy, offsets)
            if layout is None:
                continue
            core_of = _mapping(network, hardware, g, layout)[0]
            rep = evaluate(network, hardware, core_of, comm, link_loads=False)
            if rep.feasible and (best is None or rep.total < best[0] * (1 - 1e-12)):
                best = (rep.total, core_of)
    return None if best is None else best[1]
