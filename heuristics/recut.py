"""Re-cut staggered bands: each band's tiles of any width, cut by dynamic programming given its neighbours.

The staggered tiles of :mod:`heuristics.staggered` have one width per shape: a band's borders fall every ``b``
columns whatever the spikes, and a band of few rows (the first or last, shifted) keeps tiles as narrow as the
others although its tiles could be wider (EdgeDet: 3 x 8 fits a core as 5 x 5 does). An input whose window meets
``m`` tiles sends ``m - 1`` packets beside its local delivery, so a band's packets, weighted by spikes, are the sum
over its tiles of the spikes of the inputs their windows read, less those inputs' spikes. With the neighbouring
bands fixed, the least sum plus static energy per tile is a dynamic program over the band's cut columns
(:func:`band_cuts`, every tile within ``n_max`` with its home inputs, ``a_max`` and ``syn_max``); a cut whose
spanning windows also span a neighbour's cut pays a hop per spike (those windows meet four tiles, two of them
diagonal). :func:`settle_cuts` re-cuts even bands then odd ones. The tiles are then laid out band by band
(:func:`band_layout`: band ``r`` on mesh row ``r``, columns by dynamic programming on the hops beyond one) and the
inputs hosted within ``n_max`` (:func:`host_within`).

EdgeDet on ``crossbar128`` (staggered 5 x 5 tiles, comm + static 14.325 uJ): the last band, 3 rows high, re-cut
from 26 tiles 5 wide into 16 tiles 8 wide, and 5 of the other 25 bands' cuts moved onto darker inputs: 676 -> 666
cores, 14.262 uJ. ImgSmooth: no re-cut is cheaper; the evaluator keeps the staggered tiles there.
"""

from __future__ import annotations

import numpy as np

from snnmap.formulations.energy import evaluate
from snnmap.hardware import Hardware
from snnmap.heuristics.aligned import window_positions
from snnmap.heuristics.colocate import axis_terms
from snnmap.heuristics.staggered import host_costs, single_convolution
from snnmap.instances import SpikingNetwork
from snnmap.instances.geometry import ConvGeometry, window_range

Bands = list[tuple[int, int, list[int]]]  # per band: first output row, height, tile widths left to right


def _read(p0: int, p1: int, size_in: int, kernel: int, stride: int, padding: int) -> tuple[int, int]:
    """The input range ``[lo, hi)`` the windows of output positions ``p0..p1`` read along one axis (clipped)."""
    return (min(max(stride * p0 - padding, 0), size_in), min(max(stride * p1 - padding + kernel, 0), size_in))


def widest(g: ConvGeometry, hardware: Hardware, a: int) -> int:
    """The widest tile ``a`` output rows high within ``n_max`` (outputs of every channel and at most ``stride``
    inputs per output per axis homed on it), ``a_max`` and ``syn_max``; 0 if none."""
    cin = g.in_shape[0]
    cout, _, wo = g.out_shape
    (kh, kw), (sh, sw) = g.kernel, g.stride
    lim = hardware.limits
    fan_in = (1 if g.depthwise else cin) * kh * kw
    fits = [b for b in range(1, wo + 1)
            if cout * a * b + cin * sh * a * sw * b <= lim.n_max
            and (not lim.a_max or cin * window_positions(g, a, b) <= lim.a_max)
            and (not lim.syn_max or cout * a * b * fan_in <= lim.syn_max)]
    return max(fits, default=0)


def band_cuts(prefix: np.ndarray, g: ConvGeometry, width: int, static: float, penalty: np.ndarray) -> list[int]:
    """Tile widths (left to right, each at most ``width``) of one band, least ``sum over tiles of (the spikes their
    windows read + static) + sum over cuts X of penalty[X]`` (``prefix``: running sum over input columns of the
    band's inputs' spikes; ``penalty`` per end column ``0..wo``, its ends 0). Ties to the wider last tile."""
    wo = g.out_shape[2]
    w, kw, sw, pw = g.in_shape[2], g.kernel[1], g.stride[1], g.padding[1]
    best = np.full(wo + 1, np.inf)
    best[0] = 0.0
    choice = np.zeros(wo + 1, dtype=np.int64)
    for x1 in range(1, wo + 1):
        for b in range(1, min(width, x1) + 1):
            lo, hi = _read(x1 - b, x1 - 1, w, kw, sw, pw)
            c = best[x1 - b] + prefix[hi] - prefix[lo] + static + penalty[x1]
            if c <= best[x1]:
                best[x1], choice[x1] = c, b
    widths, x1 = [], wo
    while x1 > 0:
        widths.append(int(choice[x1]))
        x1 -= widths[-1]
    return widths[::-1]


def _spans(g: ConvGeometry) -> np.ndarray:
    """``[X, q]``: whether input column ``q``'s window spans the cut before output column ``X`` (``0..wo``)."""
    wo = g.out_shape[2]
    lo, hi = window_range(g.in_shape[2], wo, g.kernel[1], g.stride[1], g.padding[1])
    x = np.arange(wo + 1)
    spans = (lo[None, :] <= x[:, None] - 1) & (hi[None, :] >= x[:, None])
    spans[[0, wo]] = False
    return spans


def settle_cuts(g: ConvGeometry, weight: np.ndarray, hardware: Hardware, bands: Bands, static: float, hop: float,
                rounds: int = 2) -> Bands | None:
    """``bands`` re-cut (see the module docstring), even bands then odd, ``rounds`` times: per band its reads plus
    ``static`` per tile plus ``hop`` per spike of an input whose window spans one of its cuts and one of a
    neighbouring band's (``weight``, one per input neuron; prices in packets). ``None`` when a band's height fits
    no tile."""
    cin, h, w = g.in_shape
    _, ho, wo = g.out_shape
    kh, sh, ph = g.kernel[0], g.stride[0], g.padding[0]
    per_q = np.asarray(weight, dtype=np.float64).reshape(cin, h, w).sum(axis=0)
    spans = _spans(g).astype(np.float64)
    width = {a: widest(g, hardware, a) for _, a, _ in bands}
    if not all(width.values()):
        return None
    ylo, yhi = window_range(h, ho, kh, sh, ph)
    row_band = np.zeros(ho, dtype=np.int64)
    for r, (y0, a, _) in enumerate(bands):
        row_band[y0:y0 + a] = r
    # Per border (band r - 1 | band r), per input column: the spikes of the inputs whose windows meet both bands.
    border = ((row_band[ylo][None, :] == np.arange(len(bands))[:, None] - 1)
              & (row_band[yhi][None, :] == np.arange(len(bands))[:, None])).astype(np.float64) @ per_q
    bands = [(y0, a, list(widths)) for y0, a, widths in bands]
    cuts = [np.cumsum(widths)[:-1] for _, _, widths in bands]
    for _ in range(rounds):
        for parity in (0, 1):
            for r in range(parity, len(bands), 2):
                y0, a, _ = bands[r]
                lo, hi = _read(y0, y0 + a - 1, h, kh, sh, ph)
                prefix = np.concatenate([[0.0], per_q[lo:hi].sum(axis=0).cumsum()])
                penalty = np.zeros(wo + 1)
                for other, edge in ((r - 1, r), (r + 1, r + 1)):
                    if 0 <= other < len(bands):
                        penalty += hop * (spans @ (spans[cuts[other]].max(axis=0, initial=0.0) * border[edge]))
                widths = band_cuts(prefix, g, width[a], static, penalty)
                bands[r] = (y0, a, widths)
                cuts[r] = np.cumsum(widths)[:-1]
    return bands


def mesh_columns(unary: np.ndarray, pair: np.ndarray) -> np.ndarray | None:
    """Strictly increasing mesh columns ``c_t`` for a band's tiles, least ``sum unary[t, c_t] + sum pair[t, c_t,
    c_(t+1)]`` (infinite entries forbid), by dynamic programming; ties to the leftmost. ``None`` when nothing
    finite fits."""
    count, cols = unary.shape
    cost = unary[0]
    back = np.zeros((count, cols), dtype=np.int64)
    for t in range(1, count):
        step = cost[:, None] + pair[t - 1]  # [previous, new]
        back[t] = step.argmin(axis=0)
        cost = step.min(axis=0) + unary[t]
    if not np.isfinite(cost.min()):
        return None
    out = np.zeros(count, dtype=np.int64)
    out[-1] = int(cost.argmin())
    for t in range(count - 1, 0, -1):
        out[t - 1] = back[t, out[t]]
    return out


def band_layout(network: SpikingNetwork, hardware: Hardware, g: ConvGeometry, tile: np.ndarray,
                sizes: np.ndarray) -> np.ndarray | None:
    """Core of every tile (``tile``: per output position; ``sizes``: tiles per band, numbered band by band, left to
    right): band ``r`` on mesh row ``r``, its tiles' columns by :func:`mesh_columns` given the band above, priced per
    input in hops beyond one per packet (spike-weighted, hosted on the best of its tiles): a window meeting one
    tile of the band and tiles ``U`` above costs ``min over U of |c_t - c_u|``; one meeting two adjacent tiles of
    the band costs the gap between them, and with tiles ``U`` above the least distance from either to ``U``.
    ``None`` when the bands do not fit the mesh."""
    rows, cols = hardware.mesh  # type: ignore[misc]
    if sizes.size > rows or sizes.max() > cols:
        return None
    cin, h, w = g.in_shape
    _, ho, wo = g.out_shape
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    start = np.concatenate([[0], np.cumsum(sizes)])
    band = np.repeat(np.arange(sizes.size), sizes)
    index = np.arange(int(start[-1])) - start[band]
    ylo, yhi = window_range(h, ho, kh, sh, ph)
    xlo, xhi = window_range(w, wo, kw, sw, pw)
    spikes = np.asarray(network.spikes[g.in_offset:g.in_offset + cin * h * w], dtype=np.float64)
    spikes = spikes.reshape(cin, h * w).sum(axis=0)
    y, x = np.divmod(np.arange(h * w), w)
    read = (ylo[y] <= yhi[y]) & (xlo[x] <= xhi[x])
    y, x, spikes = y[read], x[read], spikes[read]
    # The window's corner tiles: the lower band from its last row, the upper from its first (one band: the same).
    low = np.stack([tile[yhi[y], xlo[x]], tile[yhi[y], xhi[x]]])
    up = np.stack([tile[ylo[y], xlo[x]], tile[ylo[y], xhi[x]]])
    two_bands = band[low[0]] != band[up[0]]
    wide = low[0] != low[1]
    c = np.arange(cols)
    gaps = (c[None, :] - c[:, None] - 1).astype(np.float64)  # [previous, new]
    column = np.zeros(int(start[-1]), dtype=np.int64)
    for r, size in enumerate(sizes):
        mine = band[low[0]] == r
        unary = np.zeros((size, cols))
        side = np.bincount(index[low[0][mine & wide]], weights=spikes[mine & wide], minlength=size)[:size - 1]
        pair = np.where(gaps >= 0, gaps[None] * side[:, None, None], np.inf)
        if r:
            one, both = [np.flatnonzero(mine & two_bands & (wide == two)) for two in (False, True)]
            near = [np.minimum(np.abs(c[None, :] - column[up[0][i]][:, None]),
                               np.abs(c[None, :] - column[up[1][i]][:, None])) for i in (one, both)]
            np.add.at(unary, index[low[0][one]], spikes[one][:, None] * near[0])
            # Host on whichever of the two band tiles is nearer the tiles above: one pair term per input.
            np.add.at(pair, index[low[0][both]],
                      spikes[both][:, None, None] * np.minimum(near[1][:, :, None], near[1][:, None, :]))
        placed = mesh_columns(unary, pair)
        if placed is None:
            return None
        column[start[r]:start[r + 1]] = placed
    return band * cols + column


def host_within(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """``core_of`` (within ``n_max``) with ``inputs`` moved onto cheaper cores among their targets' (:func:`host_costs`)
    while ``n_max`` holds: in rounds every input asks for its cheapest core with room (or stays), and a core takes
    those that gain most (spikes times the price fall); a move frees room where it leaves. Every move lowers the
    energy, so the rounds end; with room everywhere it costs what :func:`heuristics.staggered.host_inputs` does
    (ties stay where they are)."""
    neuron, core, total = host_costs(network, hardware, core_of, inputs)
    order = np.lexsort((core, np.round(total, 20), neuron))
    neuron, core, total = neuron[order], core[order], total[order]
    room = hardware.limits.n_max - np.bincount(core_of, minlength=hardware.num_cores)
    out = core_of.copy()
    weight = network.spikes[neuron]
    while True:
        here = core == out[neuron]
        # Each input's cheapest pair among the cores with room and its own (first in cost order).
        ok = np.flatnonzero(here | (room[core] > 0))
        ask = ok[np.r_[True, neuron[ok][1:] != neuron[ok][:-1]]]
        now = np.zeros(network.num_neurons)
        now[neuron[here]] = total[here]
        gain = (now[neuron[ask]] - total[ask]) * weight[ask]
        ask, gain = ask[(gain > 0) & ~here[ask]], gain[(gain > 0) & ~here[ask]]
        if not ask.size:
            return out
        by = np.lexsort((neuron[ask], -gain, core[ask]))
        ask = ask[by]
        move = ask[np.arange(ask.size) - np.searchsorted(core[ask], core[ask]) < room[core[ask]]]
        np.add.at(room, out[neuron[move]], 1)
        np.subtract.at(room, core[move], 1)
        out[neuron[move]] = core[move]


def staggered_bands(g: ConvGeometry, hardware: Hardware, core_of: np.ndarray) -> Bands | None:
    """The bands of a staggered mapping (:func:`heuristics.staggered.staggered_mapping`): output rows on one mesh
    row form a band, its tiles the runs of one core along the first row. ``None`` if the outputs are not laid out
    so (a band's rows on different cores, or a band spread over several mesh rows)."""
    cols = hardware.mesh[1]  # type: ignore[index]
    out = core_of[g.out_offset:g.out_offset + int(np.prod(g.out_shape))].reshape(g.out_shape)
    if not (out == out[:1]).all():
        return None
    out = out[0]
    mesh_row = out // cols
    if not (mesh_row == mesh_row[:, :1]).all() or np.any(np.diff(mesh_row[:, 0]) < 0):
        return None
    bands, y = [], 0
    while y < out.shape[0]:
        a = int((mesh_row[:, 0] == mesh_row[y, 0]).sum())
        if not (out[y:y + a] == out[y]).all():
            return None
        widths = np.diff(np.flatnonzero(np.r_[True, out[y, 1:] != out[y, :-1], True]))
        bands.append((y, a, [int(v) for v in widths]))
        y += a
    return bands


def _labels(g: ConvGeometry, bands: Bands) -> tuple[np.ndarray, np.ndarray]:
    """Tile of every output position and of every input (that of its window's centre output), tiles numbered band
    by band, left to right."""
    _, ho, wo = g.out_shape
    tile = np.zeros((ho, wo), dtype=np.int64)
    count = 0
    for y0, a, widths in bands:
        tile[y0:y0 + a] = count + np.searchsorted(np.cumsum(widths), np.arange(wo), side="right")[None, :]
        count += len(widths)
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    cy = np.clip(axis_terms(g.in_shape[1], ho, kh, sh, ph, 1)[1], 0, ho - 1)
    cx = np.clip(axis_terms(g.in_shape[2], wo, kw, sw, pw, 1)[1], 0, wo - 1)
    _, y, x = np.unravel_index(np.arange(int(np.prod(g.in_shape))), g.in_shape)
    return tile, tile[cy[y], cx[x]]


ROUNDS = 2  # settle_cuts passes: on EdgeDet the second changes one band, a third none


def recut_mapping(network: SpikingNetwork, hardware: Hardware, start: np.ndarray, comm: str | None = None,
                  base: float | None = None) -> np.ndarray | None:
    """``start`` (a staggered mapping) with its bands re-cut (:func:`settle_cuts`), laid out (:func:`band_layout`)
    and its inputs hosted (:func:`host_within`); ``None`` where ``start`` is not banded or the chip not a mesh of one
    core per router, the result does not fit, or the evaluator prices it no lower than ``start`` (``base``: its energy,
    if known). Deterministic."""
    g = single_convolution(network, hardware)
    if g is None:
        return None
    bands = staggered_bands(g, hardware, start)
    if bands is None:
        return None
    e = hardware.energy
    unit = e.e_route + (e.hop_x + e.hop_y) / 2  # a routed packet with its hop: the unit of reads
    static = network.t_run * e.p_static / unit if hardware.power_gating else 0.0
    inputs = np.arange(g.in_offset, g.in_offset + int(np.prod(g.in_shape)))
    bands = settle_cuts(g, network.spikes[inputs], hardware, bands, static, (e.hop_x + e.hop_y) / 2 / unit, ROUNDS)
    if bands is None:
        return None
    tile, home = _labels(g, bands)
    core = band_layout(network, hardware, g, tile, np.array([len(widths) for _, _, widths in bands]))
    if core is None:
        return None
    core_of = np.zeros(network.num_neurons, dtype=np.int64)
    core_of[g.out_offset:g.out_offset + tile.size * g.out_shape[0]] = np.broadcast_to(core[tile], g.out_shape).ravel()
    core_of[inputs] = core[home]
    core_of = host_within(network, hardware, core_of, inputs)
    rep = evaluate(network, hardware, core_of, comm, link_loads=False)
    if base is None:
        base = evaluate(network, hardware, start, comm, link_loads=False).total
    return core_of if rep.feasible and rep.total < base * (1 - 1e-12) else None
