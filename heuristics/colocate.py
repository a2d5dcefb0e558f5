"""Co-located tiles: a convolution's output tile and the network inputs it reads, on one core.

Where the network's inputs feed a convolution whose geometry is known
(:func:`snnmap.instances.geometry.conv_layers`), each core can hold an ``a x b``
tile of output positions (all channels) *and* the block of inputs whose window is
centred in it (their *home* tile). A spike of such an input reaches its own core
(``e_local``) and only the neighbouring tiles its window spills into (``e_route``
plus the hops, one per tile step when the tiles are laid out like the image). The
tile is chosen by that energy, priced per axis in closed form
(:func:`colocated_tilings`), plus the static power of the tiles, among the tiles
whose neurons (outputs and home inputs), input axons (the window span, local inputs
included) and synapses fit one core.

EdgeDet:full on ``crossbar128`` (1 -> 4 channels, 3 x 3): 5 x 5 outputs (100 neurons) and
their 25 inputs, 49 axons, 676 cores, where the aligned tiles (built for ``a_max``-free
chips) left the inputs on other cores. partition-refine offers these tiles as one more
start (:func:`colocated_clusters`, the other layers keep the tiling's clusters) and keeps
whichever of the two the evaluator prices lower.
"""

from __future__ import annotations

import numpy as np

from snnmap.hardware import Hardware
from snnmap.heuristics.aligned import window_positions
from snnmap.heuristics.partition import cut_runs
from snnmap.instances import SpikingNetwork
from snnmap.instances.geometry import ConvGeometry, conv_layers


def _sum_to(d: np.ndarray) -> np.ndarray:
    """``0 + 1 + ... + d`` (0 for ``d < 0``)."""
    return np.where(d >= 0, d * (d + 1) // 2, 0)


def axis_terms(size_in: int, size_out: int, kernel: int, stride: int, padding: int,
               tile: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Along one axis, per input position: the tiles its window meets, its home tile (that of its window's
    centre output), whether the window meets the home tile, and the tile steps from home to the tiles met."""
    q = np.arange(size_in)
    lo = np.maximum(-(-(q + padding - kernel + 1) // stride), 0)
    hi = np.minimum((q + padding) // stride, size_out - 1)
    meets = lo <= hi
    first, last = lo // tile, hi // tile
    count = np.where(meets, last - first + 1, 0)
    home = np.clip((q + padding - (kernel - 1) // 2) // stride, 0, size_out - 1) // tile
    local = meets & (first <= home) & (home <= last)
    a, b = first - home, last - home  # the tiles met, relative to home: sum of |t| over a..b
    steps = np.where(a >= 0, _sum_to(b) - _sum_to(a - 1),
                     np.where(b <= 0, _sum_to(-a) - _sum_to(-b - 1), _sum_to(-a) + _sum_to(b)))
    return count, home, local, np.where(meets, steps, 0)


def colocated_tilings(g: ConvGeometry, weight: np.ndarray, hardware: Hardware,
                      t_run: float) -> list[tuple[float, int, int]]:
    """``(energy, a, b)`` of every feasible co-located ``a x b`` tiling of the layer (see the module docstring):
    the inputs' spike-weighted (``weight``, one per input neuron) deliveries, local and remote with their tile
    steps, plus the tiles' static energy; a tile breaking ``n_max``, ``a_max`` or ``syn_max`` is left out."""
    cin, h, w = g.in_shape
    cout, ho, wo = g.out_shape
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    lim, e = hardware.limits, hardware.energy
    a_max = lim.a_max or np.inf
    syn_max = lim.syn_max or np.inf
    fan_in = (1 if g.depthwise else cin) * kh * kw
    per_q = np.asarray(weight, dtype=np.float64).reshape(cin, h, w).sum(axis=0)
    static = t_run * e.p_static if hardware.power_gating else 0.0
    cols = {b: axis_terms(w, wo, kw, sw, pw, b) for b in range(1, wo + 1)}
    out = []
    for a in range(1, ho + 1):
        ny, hy, ly, sy = axis_terms(h, ho, kh, sh, ph, a)
        rows = int(np.bincount(hy).max())
        wy = per_q.T @ ny, per_q.T @ ly, per_q.T @ sy  # weighted over rows, per column
        for b in range(1, wo + 1):
            nx, hx, lx, sx = cols[b]
            neurons = cout * a * b + cin * rows * int(np.bincount(hx).max())
            if neurons > lim.n_max or cin * window_positions(g, a, b) > a_max or cout * a * b * fan_in > syn_max:
                continue
            reached, local = float(wy[0] @ nx), float(wy[1] @ lx)
            steps_y, steps_x = float(wy[2] @ nx), float(wy[0] @ sx)
            comm = (e.e_local * local + e.e_route * (reached - local)
                    + e.hop_y * steps_y + e.hop_x * steps_x)
            out.append((comm + static * (-(-ho // a)) * (-(-wo // b)), a, b))
    return out


def colocated_tiles(network: SpikingNetwork, hardware: Hardware) -> np.ndarray | None:
    """Per neuron its co-located tile (numbered from 0), ``-1`` for the neurons of no such tile; ``None`` when no
    convolution reads the network's inputs (or none has a feasible co-located tiling)."""
    label = np.full(network.num_neurons, -1, dtype=np.int64)
    base = 0
    for g in conv_layers(network):
        inputs = slice(g.in_offset, g.in_offset + int(np.prod(g.in_shape)))
        outputs = slice(g.out_offset, g.out_offset + int(np.prod(g.out_shape)))
        if network.in_degree[inputs].any() or (label[inputs] >= 0).any() or (label[outputs] >= 0).any():
            continue
        options = colocated_tilings(g, network.spikes[inputs], hardware, network.t_run)
        if not options:
            continue
        _, a, b = min(options, key=lambda t: (t[0], abs(t[1] - t[2]), t[1]))
        (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
        cout, ho, wo = g.out_shape
        across = -(-wo // b)
        _, y, x = np.unravel_index(np.arange(cout * ho * wo), g.out_shape)
        label[outputs] = base + (y // a) * across + x // b
        hy = axis_terms(g.in_shape[1], ho, kh, sh, ph, a)[1]
        hx = axis_terms(g.in_shape[2], wo, kw, sw, pw, b)[1]
        _, y, x = np.unravel_index(np.arange(int(np.prod(g.in_shape))), g.in_shape)
        label[inputs] = base + hy[y] * across + hx[x]
        base += -(-ho // a) * across
    return label if base else None


def colocated_clusters(network: SpikingNetwork, hardware: Hardware,
                       cluster_of: np.ndarray) -> tuple[np.ndarray, int] | None:
    """``cluster_of`` (core-feasible clusters, e.g. the tiling's) with the co-located tiles in place of the
    clusters their neurons had (what is left of those stays together): ``(cluster_of, count)``, each cluster
    cut where a limit would break; ``None`` without co-located tiles or when the clusters outnumber the cores."""
    tiles = colocated_tiles(network, hardware)
    if tiles is None:
        return None
    group = np.where(tiles >= 0, tiles, cluster_of + tiles.max() + 1)
    out, k = cut_runs(network, hardware, np.lexsort((np.arange(group.size), group)), group)
    return (out, k) if k <= hardware.num_cores else None
