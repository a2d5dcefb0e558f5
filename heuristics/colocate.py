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

The same holds for a layer whose inputs have inputs of their own (a pooling layer and the
convolution before it: HeartClass's conv2 spikes then reach their pool on their own core), with
those inputs' presynaptic neurons counted exactly against ``a_max``.

EdgeDet:full on ``crossbar128`` (1 -> 4 channels, 3 x 3): 5 x 5 outputs (100 neurons) and
their 25 inputs, 49 axons, 676 cores, where the aligned tiles (built for ``a_max``-free
chips) left the inputs on other cores. The cheapest shapes are also priced under every shift
of the tile grid: on EdgeDet the tiles shifted by two columns put more borders on dark inputs
(comm + static 15.04 -> 14.98 uJ before placement). partition-refine offers these tiles as variants of
its tiling start (:func:`colocated_clusters`, the other layers keep the tiling's clusters)
and keeps whichever the evaluator prices lowest.
"""

from __future__ import annotations

import numpy as np

from snnmap.formulations.arrays import unique_ints
from snnmap.formulations.energy import destination_pairs
from snnmap.hardware import Hardware
from snnmap.heuristics.aligned import window_positions
from snnmap.heuristics.partition import cut_runs
from snnmap.instances import SpikingNetwork
from snnmap.instances.geometry import ConvGeometry, conv_layers, window_range


def _sum_to(d: np.ndarray) -> np.ndarray:
    """``0 + 1 + ... + d`` (0 for ``d < 0``)."""
    return np.where(d >= 0, d * (d + 1) // 2, 0)


def axis_terms(size_in: int, size_out: int, kernel: int, stride: int, padding: int,
               tile: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Along one axis, per input position: the tiles its window meets, its home tile (that of its window's
    centre output), whether the window meets the home tile, and the tile steps from home to the tiles met.
    Output position ``p`` is in tile ``(p + offset) // tile`` (``offset < tile``: the first tile is short)."""
    q = np.arange(size_in)
    lo, hi = window_range(size_in, size_out, kernel, stride, padding)
    meets = lo <= hi
    first, last = (lo + offset) // tile, (hi + offset) // tile
    count = np.where(meets, last - first + 1, 0)
    # An input no window reads (the last rows of a strided layer) is homed nowhere (-1).
    centre = np.clip((q + padding - (kernel - 1) // 2) // stride, 0, size_out - 1)
    home = np.where(meets, (centre + offset) // tile, -1)
    local = meets & (first <= home) & (home <= last)
    a, b = first - home, last - home  # the tiles met, relative to home: sum of |t| over a..b
    steps = np.where(a >= 0, _sum_to(b) - _sum_to(a - 1),
                     np.where(b <= 0, _sum_to(-a) - _sum_to(-b - 1), _sum_to(-a) + _sum_to(b)))
    return count, home, local, np.where(meets, steps, 0)


SHIFTED_SHAPES = 4  # the cheapest tile shapes (unshifted) whose every shift colocated_tilings prices too


def colocated_tilings(g: ConvGeometry, weight: np.ndarray, hardware: Hardware,
                      t_run: float) -> list[tuple[float, int, int, int, int]]:
    """``(energy, a, b, oy, ox)`` of every feasible co-located ``a x b`` tiling of the layer, its tiles shifted by
    ``(oy, ox)`` (output position ``(y, x)`` in tile ``((y + oy) // a, (x + ox) // b)``; see the module docstring):
    the inputs' spike-weighted (``weight``, one per input neuron) deliveries, local and remote with their tile
    steps, plus the tiles' static energy; a tile breaking ``n_max``, ``a_max`` or ``syn_max`` is left out. Every
    shape unshifted, and the :data:`SHIFTED_SHAPES` cheapest of those under every shift: a shift moves the tiles'
    borders, where the windows split, onto darker inputs (and sizes the border tiles)."""
    cin, h, w = g.in_shape
    cout, ho, wo = g.out_shape
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    lim, e = hardware.limits, hardware.energy
    a_max = lim.a_max or np.inf
    syn_max = lim.syn_max or np.inf
    fan_in = (1 if g.depthwise else cin) * kh * kw
    per_q = np.asarray(weight, dtype=np.float64).reshape(cin, h, w).sum(axis=0)
    static = t_run * e.p_static if hardware.power_gating else 0.0

    def priced(a: int, b: int, shifts: list[tuple[int, int]]) -> list[tuple[float, int, int, int, int]]:
        out = []
        for oy, ox in shifts:
            ny, hy, ly, sy = axis_terms(h, ho, kh, sh, ph, a, oy)
            nx, hx, lx, sx = axis_terms(w, wo, kw, sw, pw, b, ox)
            homes = int(np.bincount(hy[hy >= 0]).max()) * int(np.bincount(hx[hx >= 0]).max())
            if cout * a * b + cin * homes > lim.n_max:
                continue
            wy = per_q.T @ ny, per_q.T @ ly, per_q.T @ sy  # weighted over rows, per column
            reached, local = float(wy[0] @ nx), float(wy[1] @ lx)
            steps_y, steps_x = float(wy[2] @ nx), float(wy[0] @ sx)
            comm = e.e_local * local + e.e_route * (reached - local) + e.hop_y * steps_y + e.hop_x * steps_x
            out.append((comm + static * ((ho - 1 + oy) // a + 1) * ((wo - 1 + ox) // b + 1), a, b, oy, ox))
        return out

    # Outputs alone fill a core beyond a width of n_max // cout: no wider tile fits (the inputs only add neurons).
    shapes = [(a, b) for a in range(1, min(ho, lim.n_max // cout) + 1)
              for b in range(1, min(wo, lim.n_max // (cout * a)) + 1)
              if cin * window_positions(g, a, b) <= a_max and cout * a * b * fan_in <= syn_max]
    plain = [t for a, b in shapes for t in priced(a, b, [(0, 0)])]
    best = sorted(plain, key=lambda t: (t[0], abs(t[1] - t[2]), t[1]))[:SHIFTED_SHAPES]
    shifted = [t for _, a, b, _, _ in best for t in priced(a, b, [(oy, ox) for oy in range(a) for ox in range(b)
                                                                   if oy or ox])]
    return plain + shifted


EXACT_TRIES = 8  # cheapest tilings checked exactly for a_max and syn_max where the inputs have inputs of their own


def _tile_of(g: ConvGeometry, a: int, b: int, oy: int = 0, ox: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """Tile (from 0) of every output neuron and of every input neuron (its home), and the number of tiles, for
    ``a x b`` tiles shifted by ``(oy, ox)`` (:func:`colocated_tilings`)."""
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    cout, ho, wo = g.out_shape
    across = (wo - 1 + ox) // b + 1
    _, y, x = np.unravel_index(np.arange(cout * ho * wo), g.out_shape)
    outputs = ((y + oy) // a) * across + (x + ox) // b
    hy = axis_terms(g.in_shape[1], ho, kh, sh, ph, a, oy)[1]
    hx = axis_terms(g.in_shape[2], wo, kw, sw, pw, b, ox)[1]
    _, y, x = np.unravel_index(np.arange(int(np.prod(g.in_shape))), g.in_shape)
    return (outputs, np.where((hy[y] >= 0) & (hx[x] >= 0), hy[y] * across + hx[x], -1),
            ((ho - 1 + oy) // a + 1) * across)


def _fits(network: SpikingNetwork, hardware: Hardware, label: np.ndarray, among: np.ndarray) -> bool:
    """Whether every tile (``label`` per neuron, ``-1`` outside) reads at most ``a_max`` distinct neurons and
    holds at most ``syn_max`` synapses (``among``: the synapses that may end in a tile)."""
    lim = hardware.limits
    tile = label[network.post[among]]
    inside = tile >= 0
    tile, pre = tile[inside], network.pre[among][inside]
    axons = np.bincount(unique_ints(tile * np.int64(network.num_neurons) + pre) // network.num_neurons)
    return bool((not lim.a_max or axons.max(initial=0) <= lim.a_max)
                and (not lim.syn_max or np.bincount(tile).max(initial=0) <= lim.syn_max))


PAIRS = ("sources", "busiest")  # which convolutions get co-located tiles, see colocated_tiles


def colocated_tiles(network: SpikingNetwork, hardware: Hardware, pairs: str = "sources") -> np.ndarray | None:
    """Per neuron its co-located tile (numbered from 0), ``-1`` for the neurons of no such tile; ``None`` when no
    convolution has a feasible co-located tiling.

    ``pairs``: ``"sources"``, the convolutions reading the network's inputs; ``"busiest"``, every convolution
    or pooling, the busiest inputs first (on HeartClass:full, conv2 -> pool2 and conv1 -> pool1 before
    input -> conv1). Each neuron is in one tile at most (a layer whose outputs are another's inputs joins
    the first of the two), the tiles of inputs with inputs of their own checked exactly for ``a_max``."""
    if pairs not in PAIRS:
        raise ValueError(f"pairs={pairs!r}: use one of {', '.join(PAIRS)}")
    label = np.full(network.num_neurons, -1, dtype=np.int64)
    pop_post = None  # population of every synapse's target, when a tiling is checked exactly
    base = 0
    layers = conv_layers(network)
    ins = [slice(g.in_offset, g.in_offset + int(np.prod(g.in_shape))) for g in layers]
    weight = np.array([network.spikes[i].sum() for i in ins])
    inner = np.array([bool(network.in_degree[i].any()) for i in ins])
    for i in np.argsort(-weight, kind="stable"):
        g, inputs, source = layers[i], ins[i], not inner[i]
        outputs = slice(g.out_offset, g.out_offset + int(np.prod(g.out_shape)))
        if (pairs == "sources" and not source) or (label[inputs] >= 0).any() or (label[outputs] >= 0).any():
            continue
        options = sorted(colocated_tilings(g, network.spikes[inputs], hardware, network.t_run),
                         key=lambda t: (t[0], abs(t[1] - t[2]), t[1], t[3], t[4]))
        if not source and options and pop_post is None:
            pop_post = network.population[network.post]
        among = None if source else np.flatnonzero((pop_post == g.source) | (pop_post == g.target))
        for _, a, b, oy, ox in options[:1 if source else EXACT_TRIES]:
            tile_out, tile_in, count = _tile_of(g, a, b, oy, ox)
            trial = label.copy()
            trial[outputs], trial[inputs] = base + tile_out, np.where(tile_in >= 0, base + tile_in, -1)
            if source or _fits(network, hardware, np.where(trial >= base, trial - base, -1), among):
                label, base = trial, base + count
                break
    return label if base else None


def colocated_clusters(network: SpikingNetwork, hardware: Hardware, cluster_of: np.ndarray,
                       pairs: str = "sources") -> tuple[np.ndarray, int] | None:
    """``cluster_of`` (core-feasible clusters, e.g. the tiling's) with the co-located tiles (``pairs`` as in
    :func:`colocated_tiles`) in place of the clusters their neurons had (what those leave packed by population):
    ``(cluster_of, count)``, each cluster cut where a limit would break; ``None`` without co-located tiles or
    when the clusters outnumber the cores."""
    tiles = colocated_tiles(network, hardware, pairs)
    if tiles is None:
        return None
    # What the tiles leave of a cluster joins the other leftovers of its population (in cluster order),
    # so that the remnants do not each power a core; untouched clusters stay as they were.
    touched = np.zeros(int(cluster_of.max()) + 1, dtype=bool)
    touched[cluster_of[tiles >= 0]] = True
    pop = np.zeros(tiles.size, dtype=np.int64) if network.population is None else network.population
    rest = np.where(touched[cluster_of], touched.size + pop, cluster_of)
    group = np.where(tiles >= 0, tiles, rest + tiles.max() + 1)
    out, k = cut_runs(network, hardware, np.lexsort((np.arange(tiles.size), cluster_of, group)), group)
    return (out, k) if k <= hardware.num_cores else None


def unplaced_energy(network: SpikingNetwork, hardware: Hardware, cluster_of: np.ndarray, count: int) -> float:
    """The clusters' communication and static energy before any placement: each delivery to the sender's own
    cluster at ``e_local``, every other at ``e_route`` (no hops), each cluster a powered core."""
    sender, target = destination_pairs(network, cluster_of, count)
    local = cluster_of[sender] == target
    spikes, e = network.spikes[sender], hardware.energy
    static = network.t_run * e.p_static * count if hardware.power_gating else 0.0
    return float(spikes[local].sum() * e.e_local + spikes[~local].sum() * e.e_route + static)
