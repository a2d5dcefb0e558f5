"""A start for partition-refine on a relay (:mod:`snnmap.formulations.relay`): square-ish tiles of positions.

A direct sender reaches one core when its position is whole on a core (its
lagged relay and every channel of its target population there); a lagged
sender when every target around it is. Cutting the positions into tiles, one
core each, makes every direct sender single and leaves second destinations
only to the lagged senders along the tile borders: their count grows with
the cut length, so the tiles are rows of near-equal rectangles whose total
cut is least (:func:`tile_rows`). Direct senders join their tile's core where
it has room. The other neurons are cut in runs ordered by their first input,
so that units reading the same channels share a core (VisualPursuit's MT:
a direction beside its opposite, whose V1 maps both feed it).
"""

from __future__ import annotations

import numpy as np

from snnmap.formulations.relay import relay_geometry
from snnmap.hardware import Hardware
from snnmap.heuristics.common import in_csr
from snnmap.heuristics.partition import cut_runs
from snnmap.instances import SpikingNetwork


def tile_rows(h: int, w: int, most: int) -> list[tuple[int, int]]:
    """Rows of tiles of an ``h x w`` grid, each tile at most ``most`` positions, with the least cut length.

    Returns ``(row height, tiles in the row)`` from the top. A row of height ``r`` holds
    ``ceil(w / floor(most / r))`` tiles (widths as equal as whole numbers allow); the cut is ``w`` per row border
    and ``r`` per tile border inside a row, minimised by dynamic programming over the rows' heights.
    """
    if most < 1:
        raise ValueError(f"a tile must hold at least one position (most={most})")
    best = np.full(h + 1, np.inf)
    best[0] = -w  # the first row has no border above it
    pick = np.zeros(h + 1, dtype=np.int64)
    for top in range(1, h + 1):
        for r in range(1, min(top, most) + 1):
            k = -(-w // (most // r)) if most // r else 0
            if k and k <= w and best[top - r] + w + (k - 1) * r < best[top]:
                best[top], pick[top] = best[top - r] + w + (k - 1) * r, r
    rows, top = [], h
    while top:
        r = int(pick[top])
        rows.append((r, -(-w // (most // r))))
        top -= r
    return rows[::-1]


def tile_of_positions(h: int, w: int, most: int) -> np.ndarray:
    """Tile index of every position (row-major) of the :func:`tile_rows` tiling."""
    tile = np.empty((h, w), dtype=np.int64)
    y, first = 0, 0
    for r, k in tile_rows(h, w, most):
        cuts = np.arange(k + 1) * w // k
        for j in range(k):
            tile[y:y + r, cuts[j]:cuts[j + 1]] = first + j
        y, first = y + r, first + k
    return tile.ravel()


def relay_clusters(network: SpikingNetwork, hardware: Hardware) -> tuple[np.ndarray, int] | None:
    """Core-feasible clusters of the relay tiling (see the module docstring), or ``None`` without a relay."""
    g = relay_geometry(network)
    if g is None:
        return None
    h, w = g.shape
    p, chans = g.positions, len(g.offsets)
    tile = tile_of_positions(h, w, max(1, hardware.limits.n_max // (1 + chans)))
    tiles = int(tile.max()) + 1
    n = network.num_neurons
    # Group per neuron: the tile of its position for the relay, the direct senders after the rest of their tile
    # (a tile too full for them overflows into a run of its own), then everything else by its first input.
    group = np.full(n, 2 * tiles, dtype=np.int64)
    key = np.zeros(n, dtype=np.int64)
    lag = np.arange(g.lagged, g.lagged + p)
    tgt = np.arange(g.target, g.target + chans * p)
    group[lag], group[tgt] = 2 * tile, 2 * tile[np.arange(chans * p) % p]
    group[g.direct:g.direct + p] = 2 * tile + 1
    in_ptr, in_idx = in_csr(network)
    rest = group == 2 * tiles
    first_in = np.full(n, n, dtype=np.int64)
    has = network.in_degree > 0
    first_in[has] = np.minimum.reduceat(in_idx, in_ptr[:-1][has])
    key[rest] = first_in[rest]
    order = np.lexsort((np.arange(n), key, group))
    # Direct senders share their tile's core: one run per tile, relay and direct senders together.
    label = np.where(group < 2 * tiles, group // 2, tiles + network.population)
    return cut_runs(network, hardware, order, label, (in_ptr, in_idx))
