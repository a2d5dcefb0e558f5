"""Geometry-aligned tiles: every convolution's output positions in aligned ``a x b`` tiles.

Where a built-in application's convolution geometry is known
(:func:`snnmap.instances.geometry.conv_layers`, every synapse checked), the
output neurons of each convolution or pooling layer are labelled by the aligned
tile of whole positions (all channels of a position together; a pooling layer's
channels grouped as many as fit) whose shape gives the layer's inputs the fewest
spike-weighted destination tiles (:func:`snnmap.instances.geometry.aligned_tilings`),
among those least the largest tile (fewest cores), then the squarest. A tile of at
most ``n_max`` neurons reached by an input reaches one core, so the layer's input
messages are exactly the tiling's count wherever the tiles respect the other
limits; :func:`snnmap.heuristics.tiling.tiling_clusters` offers these tiles as one
more candidate per layer (cut into runs where a tile breaks ``a_max`` or ``syn_max``).
"""

from __future__ import annotations

import numpy as np

from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork
from snnmap.instances.geometry import aligned_tilings, conv_layers

TIE = 1e-9  # relative: tilings this close in destinations count as equal


def aligned_tiles(network: SpikingNetwork, hardware: Hardware) -> np.ndarray | None:
    """Per neuron its aligned tile (numbered from 0 across layers), ``-1`` outside the convolutions' outputs;
    ``None`` when the network has no known convolution geometry."""
    layers = conv_layers(network)
    if not layers:
        return None
    n_max = hardware.limits.n_max
    label = np.full(network.num_neurons, -1, dtype=np.int64)
    base = 0
    for g in layers:
        cout, ho, wo = g.out_shape
        positions = n_max // (1 if g.depthwise else cout)
        if positions < 1:
            continue
        weight = network.spikes[g.in_offset:g.in_offset + int(np.prod(g.in_shape))]
        options = aligned_tilings(g, weight, positions)
        least = min(v for v, _, _ in options)
        _, _, a, b = min((-a * b, abs(a - b), a, b) for v, a, b in options if v <= least * (1 + TIE))
        group = max(1, n_max // (a * b)) if g.depthwise else cout  # channels sharing a tile
        c, y, x = np.unravel_index(np.arange(cout * ho * wo), (cout, ho, wo))
        across = -(-wo // b)
        tile = ((c // group) * -(-ho // a) + y // a) * across + x // b
        label[g.out_offset:g.out_offset + tile.size] = base + tile
        base += int(tile.max()) + 1
    return label
