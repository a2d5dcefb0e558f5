"""Geometry-aligned tiles: every convolution's output positions in aligned ``a x b`` tiles.

Where a built-in application's convolution geometry is known
(:func:`snnmap.instances.geometry.conv_layers`, every synapse checked), the
output neurons of each convolution or pooling layer are labelled by the aligned
tile of whole positions (all channels of a position together; a pooling layer's
channels in groups over a wider tile only where that saves messages) whose shape
gives the layer's inputs the fewest spike-weighted destination tiles
(:func:`snnmap.instances.geometry.aligned_tilings`), among those least the largest
tile (fewest cores), then the squarest. A tile of at most ``n_max`` neurons reached
by an input reaches one core, so the layer's input messages are exactly the
tiling's count wherever the tiles respect the other limits;
:func:`snnmap.heuristics.tiling.tiling_clusters` offers these tiles as one more
candidate per layer (cut into runs where a tile breaks ``a_max`` or ``syn_max``).
The network's inputs are labelled by the tile of their window's centre, and
:func:`image_layout` gives the clusters image coordinates for the placement.

EdgeDet:full on ``loihi`` (16 x 16 tiles of 4 channels): 554.0 k input messages, the
best aligned tiling's count, where the grown tiles sent 580.0 k (``scripts/results/tile_layers.md``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork
from snnmap.instances.geometry import ConvGeometry, aligned_tilings, conv_layers

TIE = 1e-9  # relative: tilings this close in destinations count as equal


def _least(options: list[tuple[float, int, int]]) -> tuple[float, int, int]:
    """The tiling with the fewest destinations; among those (within :data:`TIE`) the largest, then squarest."""
    least = min(v for v, _, _ in options)
    return min(options, key=lambda t: (t[0] > least * (1 + TIE), -t[1] * t[2], abs(t[1] - t[2]), t[1]))


def window_positions(g: ConvGeometry, a: int, b: int) -> int:
    """Input positions (per channel) an ``a x b`` tile of outputs reads at most: its windows' span."""
    (kh, kw), (sh, sw) = g.kernel, g.stride
    return min(g.in_shape[1], (a - 1) * sh + kh) * min(g.in_shape[2], (b - 1) * sw + kw)


def aligned_tiles(network: SpikingNetwork, hardware: Hardware) -> np.ndarray | None:
    """Per neuron its aligned tile (numbered from 0 across layers), ``-1`` outside the convolutions' outputs;
    ``None`` when the network has no known convolution geometry."""
    layers = conv_layers(network)
    if not layers:
        return None
    n_max = hardware.limits.n_max
    a_max = hardware.limits.a_max or network.num_neurons
    label = np.full(network.num_neurons, -1, dtype=np.int64)
    base = 0
    for g in layers:
        cout, ho, wo = g.out_shape
        weight = network.spikes[g.in_offset:g.in_offset + int(np.prod(g.in_shape))]
        # All channels of a position together; a pooling layer's channels apart only where that
        # saves messages (its input reaches one channel: channels grouped over a wider tile).
        # Tiles whose inputs (every channel's, or one group's) break a_max are left out.
        per_channel = a_max // (cout if g.depthwise else g.in_shape[0])
        tiling = _least([t for t in aligned_tilings(g, weight, n_max // cout)
                         if window_positions(g, *t[1:]) <= per_channel] or [(np.inf, 0, 0)])
        if g.depthwise:
            wide = _least([t for t in aligned_tilings(g, weight, n_max) if window_positions(g, *t[1:]) <= a_max]
                          or [(np.inf, 0, 0)])
            if wide[0] < tiling[0] * (1 - TIE):
                tiling = wide
        if not np.isfinite(tiling[0]):
            continue
        _, a, b = tiling
        # channels sharing a tile
        group = min(cout, n_max // (a * b), a_max // window_positions(g, a, b)) if g.depthwise else cout
        c, y, x = np.unravel_index(np.arange(cout * ho * wo), (cout, ho, wo))
        across = -(-wo // b)
        tile = ((c // group) * -(-ho // a) + y // a) * across + x // b
        label[g.out_offset:g.out_offset + tile.size] = base + tile
        base += int(tile.max()) + 1
        if network.in_degree[g.in_offset:g.in_offset + int(np.prod(g.in_shape))].any():
            continue
        # The network's inputs: apart from the outputs, each with the tile of its window's centre
        # (all its targets there or next to it), so that a placement can put them beside it.
        cin, h, w = g.in_shape
        c, y, x = np.unravel_index(np.arange(cin * h * w), g.in_shape)
        (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
        ty = np.clip((y + ph - (kh - 1) // 2) // sh, 0, ho - 1) // a
        tx = np.clip((x + pw - (kw - 1) // 2) // sw, 0, wo - 1) // b
        inner = (c // group if g.depthwise else 0) * -(-ho // a) + ty
        source = inner * across + tx
        label[g.in_offset:g.in_offset + source.size] = base + source
        base += int(source.max()) + 1
    return label


SPREAD_ROUNDS = 4  # passes spreading the image coordinates to clusters without a convolution neuron


def image_layout(network: SpikingNetwork, cluster_of: np.ndarray, num_clusters: int,
                 flow: sp.spmatrix) -> np.ndarray | None:
    """Two coordinates per cluster, the image row and column (each in ``[0, 1]``, every layer scaled to
    the same frame) its convolution neurons stand at on average; a cluster without one takes the
    flow-weighted mean of its neighbours' (a few passes), else the centre. ``None`` without geometry.

    A recursive bisection by these coordinates (:func:`heuristics.placement.bisection_positions`) lays
    every layer's tiles out like the image, all layers over one another: a tile's inputs sit on or beside
    its core, which the graph's own layouts find only approximately."""
    layers = conv_layers(network)
    if not layers:
        return None
    yx = np.full((network.num_neurons, 2), np.nan)
    for g in layers:
        for offset, (c, h, w) in ((g.in_offset, g.in_shape), (g.out_offset, g.out_shape)):
            _, y, x = np.unravel_index(np.arange(c * h * w), (c, h, w))
            yx[offset:offset + y.size] = np.stack([(y + 0.5) / h, (x + 0.5) / w], axis=1)
    known = ~np.isnan(yx[:, 0])
    count = np.bincount(cluster_of[known], minlength=num_clusters).astype(np.float64)
    total = np.stack([np.bincount(cluster_of[known], weights=yx[known, i], minlength=num_clusters)
                      for i in range(2)], axis=1)
    located = count > 0
    coords = np.where(located[:, None], total / np.maximum(count, 1.0)[:, None], 0.5)
    a = sp.csr_matrix(flow + flow.T)
    for _ in range(SPREAD_ROUNDS):
        weight = a @ located.astype(np.float64)
        pulled = (a @ (coords * located[:, None])) / np.maximum(weight, 1e-300)[:, None]
        fill = ~located & (weight > 0)
        coords[fill] = pulled[fill]
        located = located | fill
    return coords
