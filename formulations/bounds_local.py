"""Local inputs cost core room: a convolution's inputs cannot all keep a local first delivery.

An input neuron of a convolution (:mod:`snnmap.instances.geometry`) pays ``e_local`` for a destination only
when that destination is its own core, which must then hold one of its targets: the input takes one of that
core's ``n_max`` neuron slots beside the output neurons there. Every other destination is a packet of at
least ``c1`` (the cheapest remote price). Per core ``c`` holding ``n`` output neurons of a set ``R`` of
positions (``n / C_out`` positions' worth), with ``L`` local inputs and ``inc`` incidences of the inputs:

- ``inc >= C_in f(ceil(n / C_out))`` (the union of windows of whole positions, :func:`~.bounds_tiles.union_least`) and
  ``inc <= a_max`` (a local input takes an axon too), which caps ``n``;
- ``L <= min(n_max - n, inc)``.

For any ``lam`` in ``[0, c1 - e_local]`` the core's ``c1 inc - (c1 - e_local - lam) L`` is at least
``h(n) = c1 C_in f - (c1 - e_local - lam) min(n_max - n, C_in f)``, so at least ``rho_lam n`` with
``rho_lam`` the least ``h(n) / n`` over the counts a core can hold. Summed over a box ``B`` of inputs and
the positions ``R(B)`` whose whole window lies in ``B`` (every local input of ``B`` on a core without
such a position is one more incidence of its own), with each input's ``q = c1 d - (c1 - e_local) l``
(``d`` destinations, ``l`` local) and ``l <= 1``::

    sum over B of q  >=  rho_lam C_out |R(B)| - lam |B|     for every lam.

An input's cost is at least its own floor and convex in ``q`` (:func:`cost_pieces`). The spike-weighted
bound is the least total cost under every box row of a grid of boxes (an LP; within a super-cell the extra
``q`` may sit on its darkest inputs, each up to its pieces), certified from its dual only, so a solver
tolerance can only lower it. The same count caps a core's outputs by ``a_max`` alone (:func:`window_cores`).

Two sharpenings, each a tighter per-core count that still holds for every feasible mapping: a local input
is a neuron of its core, so its own presynaptic neurons are axons there too (where the inputs are the
outputs of a convolution without padding, :func:`inner_axons` counts at least the union of their windows),
which caps ``L`` further; and the count holds for any subset of the input channels (a full convolution's
window covers every channel, ``a_max`` still holds them all), so each box gets one row per nested subset of
the brightest channels (:func:`channel_groups`): dark channels cannot take the forced incidences for free.
Third, where the layer's outputs feed a further layer, an output delivering to its own core is one more
axon there, ``L1 <= min(n, a_max - inc - inner[L])``; with a multiplier ``nu`` per row the outputs that stay
off their core (``U``, priced per output cell from below) enter the box rows, and the raise covers the
outputs as well (:func:`chain_layers`: the other arguments leave them out).
Fourth (:func:`joint_rows`, ``JOINT``), the tile argument's interior count joins the same LP: an input with a full
window and two destinations or more has ``q >= c1 + e_local``, so the first part of its ``q`` above its base
(``cap``) is full, and in every box at most ``room(B)`` inputs (:func:`~.bounds_tiles.interior_within`, whole
positions per core capped by ``a_max`` too, :func:`whole_cap`) keep one destination: the dark inputs can no longer
take the local rows' extra cost while every bright one keeps a single local delivery.
Fifth (:func:`level_masks`, ``LEVELS``), the local rows hold on any set of inputs, not only boxes: rows on the nested
level sets of the smoothed spikes keep the LP from meeting a large box's count on its dark part alone.
See ``docs/tile_bound.md``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import block_diag, csr_matrix, hstack, vstack

from snnmap.formulations.bounds_tiles import (
    full_windows,
    inside_span,
    interior_within,
    prefix_rows,
    union_least,
    whole_positions,
)
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork
from snnmap.instances.geometry import ConvGeometry, conv_layers

LOCAL_GRID = 20  # super-cells per axis of the local LP (boxes of whole super-cells)
MULTIPLIERS = 25  # values of lam tried in [0, c1 - e_local] (each gives a valid row)
CHAIN_NUS = (0.05, 0.1, 0.2, 0.4, 0.8)  # multipliers nu of the outputs' local deliveries, in c1
CHAIN_INPUTS = 2048  # larger layers get no output rows (AlexNet's conv1: 20 min of LP; gain below 0.1 %)
CHAIN_ROWS = 2000  # most rows per partial channel subset and per multiplier nu (the LP's time on 2-D layers)
OUT_PIECES = 4  # linear pieces of each output cell's cost in its non-local outputs
GROUPS = 8  # nested channel subsets of the local LP's rows (brightest channels first)
JOINT_STEP = 2  # the counting rows of joint_rows: boxes whose edges are on every JOINT_STEP-th cut of the grid
JOINT_SMALL = 4  # and every box of at most this many super-cells a side
LEVELS = 16  # local rows on the level sets of the smoothed spikes (level_masks), at this many quantiles
LEVEL_RADIUS = 3  # the smoothing square's half side, in inputs
JOINT = True  # local_raise also counts the inputs held interior (the tile rows, coupled per input: joint_rows)
PIECES = 3  # linear pieces of each input's cost in its destinations (equal prices grouped, the rest merged)


def inner_axons(network: SpikingNetwork, g: ConvGeometry, most: int) -> np.ndarray | None:
    """Fewest axons the own inputs of ``L`` input neurons of ``g`` take on a core holding them, ``L = 0..most``.

    A neuron's presynaptic neurons are axons of its core. Where ``g``'s inputs are the outputs of a convolution
    ``g'`` without padding (every window whole), ``L`` of them on one core cover at least the union of
    ``L / C_out'`` positions' windows (:func:`~.bounds_tiles.union_per_core`; per channel for a depthwise
    ``g'``, and the union is subadditive) of ``g'``'s inputs, a population other than ``g``'s inputs.
    ``None`` where no such ``g'`` is known.
    """
    for h in conv_layers(network):
        if h.target == g.source and h.source != g.target and h.padding == (0, 0):
            per_pos, cin = (1, 1) if h.depthwise else (h.out_shape[0], h.in_shape[0])
            return cin * np.asarray(union_least(h, -(-np.arange(most + 1) // per_pos)), dtype=np.float64)
    return None


def local_rates(g: ConvGeometry, hardware: Hardware, c1: float, e_local: float,
                min_indeg: int, inner: np.ndarray | None = None, share: float = 1.0, nu: float = 0.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """The multipliers ``lam`` and, per multiplier, ``rho_lam``: the least ``h_lam(n) / n`` over the output
    neuron counts ``n`` one core can hold (``a_max`` on the union of their windows, ``syn_max``).

    ``inner[L]`` (:func:`inner_axons`): the axons ``L`` local inputs' own inputs take at least, beside the
    ``inc`` the windows take, so at most the largest ``L`` with ``inc + inner[L] <= a_max`` inputs are local.
    ``share``: the fraction of the input channels counted (a full convolution's window covers every channel,
    so a channel subset takes ``share`` of the union; ``a_max`` still holds the whole union). Depthwise layers
    count a channel subset through their outputs instead (``share = 1``).
    ``nu > 0``: the core's ``L1`` outputs that deliver locally enter as ``- nu L1`` (:func:`local_raise`); each
    is an axon of the core beside the windows' and the local inputs' own, ``L1 <= min(n, a_max - inc -
    inner[L])``, and ``h`` takes the best ``L`` for that. The caller adds ``nu`` back.
    ``rho`` is 0 everywhere when no count fits (no mapping exists; nothing is claimed).
    """
    lim = hardware.limits
    per_pos = 1 if g.depthwise else g.out_shape[0]
    cin = 1 if g.depthwise else g.in_shape[0]
    n = np.arange(1, lim.n_max + 1, dtype=np.float64)
    # n outputs stand at ceil(n / per_pos) positions at least: a whole number's least union (union_least).
    inc = cin * np.asarray(union_least(g, -(-n.astype(np.int64) // per_pos)))
    fits = np.ones(n.size, dtype=bool)
    if lim.a_max is not None:
        fits &= inc <= lim.a_max + 1e-9
    if lim.syn_max is not None and min_indeg > 0:
        fits &= n * min_indeg <= lim.syn_max
    lam = np.linspace(0.0, max(c1 - e_local, 0.0), MULTIPLIERS)
    if not fits.any():
        return lam, np.zeros(lam.size)
    counted = share * inc
    cap = lim.n_max - n  # the integer caps on local inputs; both fall as the true window union grows
    if inner is not None and lim.a_max is not None:
        # Local inputs bring their own inputs' axons: the most that fit beside the windows' (inner increases).
        fit = np.searchsorted(inner, lim.a_max - inc + 1e-9, side="right") - 1
        cap = np.minimum(cap, np.maximum(fit, 0))
    room = np.minimum(cap, counted)
    if nu > 0 and lim.a_max is not None:
        ell = np.arange(lim.n_max + 1, dtype=np.float64)
        own = np.zeros(ell.size) if inner is None else np.asarray(inner, dtype=np.float64)[:ell.size]
        left = lim.a_max - inc[:, None] - own[None, :]  # axons left for local outputs, per n and L
        # A core whose true union exceeds ``inc`` may hold ceil(share * inc) local inputs, not its floor: the
        # count is allowed up to the ceiling (beyond it the core pays at least as much, since every further
        # local input needs ``1 / share`` more union and leaves fewer axons for outputs).
        ok = (ell[None, :] <= np.minimum(np.ceil(counted - 1e-9), cap)[:, None]) & (left >= -1e-9)
        outs = np.clip(np.minimum(n[:, None], np.floor(left + 1e-9)), 0.0, None)
        save = (c1 - e_local - lam[:, None, None]) * ell[None, None, :] + nu * outs[None]
        best = np.where(ok[None], save, -np.inf).max(axis=2)
        h = c1 * counted[None, :] - best
    else:
        h = c1 * counted[None, :] - (c1 - e_local - lam[:, None]) * room[None, :]
    return lam, (h / n)[:, fits].min(axis=1)


def _axis_boxes(size: int, size_out: int, kernel: int, stride: int, padding: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The grid's cuts along one axis and, per run of consecutive parts ``a..b-1``: ``a``, ``b``, and the
    output positions whose whole window lies in the run."""
    cut = np.unique(np.arange(min(LOCAL_GRID, size) + 1) * size // min(LOCAL_GRID, size))
    a, b = np.triu_indices(cut.size, 1)
    inside = np.array([inside_span(int(cut[u]), int(cut[v]) - 1, size_out, kernel, stride, padding)[0]
                       for u, v in zip(a, b)])
    return cut, a, b, inside


def cost_pieces(prices: np.ndarray, e_local: float, most: np.ndarray, floor: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each input's least ``q = c1 d - (c1 - e_local) l`` and the pieces of its cost above it.

    One local destination and ``d - 1`` remote ones cost at least ``e_local`` plus the ``d - 1`` cheapest
    ``prices`` (sorted; ``c1 = prices[0]``), and no destination local costs more at the same ``q``: the cost is at
    least ``psi(q)``, convex, of slope ``prices[j] / c1`` over the ``j``-th further destination (``c1`` of ``q``
    each), up to ``most`` destinations (``l = 0`` there: ``c1 - e_local`` more at the last slope). The cost is
    also at least ``floor``: ``q`` is free up to ``psi^-1(floor)`` (the base). Returns the base per input, and
    per input and piece its span of ``q`` and its slope (pieces of equal price merged, the rest at the slope of
    the last piece kept: a lower bound, the slopes rising).
    """
    c1 = float(prices[0])
    top = int(most.max(initial=1))
    step = np.asarray(prices[:max(top, 1)], dtype=np.float64) / c1  # slope of further destination j (0-based)
    starts = np.flatnonzero(np.diff(np.concatenate([[-1.0], step])) != 0)[:PIECES]
    ends = np.append(starts[1:], top)
    slope = step[starts]
    j0, j1 = starts[None, :], ends[None, :]
    further = np.maximum(most - 1, 0)[:, None]  # further destinations beyond the first
    span = c1 * np.clip(np.minimum(j1, further) - j0, 0, None).astype(np.float64)
    last = np.clip(np.searchsorted(starts, further[:, 0] - (further[:, 0] > 0), side="right") - 1, 0, None)
    span[np.arange(most.size), last] += np.where(most > 0, c1 - e_local, 0.0)
    # The floor's cost consumed along the pieces: q is free up to where psi reaches it.
    base = np.where(most > 0, e_local, 0.0)
    left = np.maximum(floor - e_local, 0.0) * (most > 0)
    for k in range(slope.size):
        used = np.minimum(span[:, k], left / slope[k])
        base, left, span[:, k] = base + used, left - used * slope[k], span[:, k] - used
    return base, span, np.broadcast_to(slope, span.shape)


def channel_groups(g: ConvGeometry, weight: np.ndarray) -> np.ndarray:
    """Each input channel's group: the channels by decreasing weight, cut into at most :data:`GROUPS` runs.

    The rows of :func:`local_rows` count the first ``k + 1`` groups, ``k = 0, 1, ...``: with dark channels
    left out, the forced incidences cannot all fall on them. One group where a depthwise layer's output
    channels are not its input channels.
    """
    cin, h, w = g.in_shape
    if g.depthwise and g.out_shape[0] != cin:
        return np.zeros(cin, dtype=np.int64)
    mass = np.asarray(weight[g.in_offset:g.in_offset + cin * h * w], dtype=np.float64).reshape(cin, -1).sum(axis=1)
    group = np.empty(cin, dtype=np.int64)
    for k, part in enumerate(np.array_split(np.argsort(-mass, kind="stable"), min(GROUPS, cin))):
        group[part] = k
    return group


def _output_cells(size_out: int, kernel: int, stride: int, padding: int, cut: np.ndarray, a: np.ndarray,
                  b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cuts of the output positions along one axis such that each run's inside positions (:func:`_axis_boxes`)
    are whole cells, and each run's first and last-plus-one cell."""
    lo = np.maximum(-(-(cut[a] + padding) // stride), 0)
    hi = np.maximum(np.minimum((cut[b] - 1 + padding - kernel + 1) // stride, size_out - 1) + 1, lo)
    ocut = np.unique(np.concatenate([[0, size_out], np.clip(lo, 0, size_out), np.clip(hi, 0, size_out)]))
    return ocut, np.searchsorted(ocut, np.clip(lo, 0, size_out)), np.searchsorted(ocut, np.clip(hi, 0, size_out))


def _output_pieces(cell: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output cell, :data:`OUT_PIECES` runs of its outputs by increasing ``value``: each run's cell, its
    price (its cheapest output's value: the LP never prices ``U`` non-local outputs above the ``U`` cheapest)
    and size."""
    order = np.lexsort((value, cell))
    cell, value = cell[order], value[order]
    first = np.searchsorted(cell, cell)
    count = np.bincount(cell)[cell]
    piece = cell * OUT_PIECES + (np.arange(cell.size) - first) * OUT_PIECES // count
    keys, start, sizes = np.unique(piece, return_index=True, return_counts=True)
    return keys // OUT_PIECES, value[start], sizes.astype(np.float64)


def local_rows(network: SpikingNetwork, hardware: Hardware, g: ConvGeometry, weight: np.ndarray,
               floor: np.ndarray, prices: np.ndarray, e_local: float, out_cost: np.ndarray | None = None
               ) -> dict:
    """The local LP of :func:`local_raise`: its super-cells, box rows and variables.

    A neuron's ``q = c1 d - (c1 - e_local) l`` sums over every box to at least its forced value; each input's
    ``q`` above its base costs at least its weight times the slope of its piece (:func:`cost_pieces`). Returns
    ``sy, sx`` (the grid's super-cells), ``groups`` (:func:`channel_groups`), per row its box ``(y0, y1, x0,
    x1)`` (super-cells ``y0..y1-1`` by ``x0..x1-1``), the last group it counts (groups ``0..k``) and how much
    its inputs' ``q`` must exceed their bases (``rhs``, joules per spike), and per variable (input neuron in
    channel, row, column order, then piece) its ``cell`` (group, then super-cell row-major), ``unit`` cost
    and ``span``. With ``out_cost`` (:func:`local_raise`) also the output variables (``o``-prefixed: their
    cell in the ``soy x sox`` output grid per output group, price and size) and per row its output box and
    multiplier ``nu`` (0: none).
    """
    c1 = float(prices[0])
    e_local = min(e_local, c1)  # a local delivery dearer than a packet: every incidence costs c1 at least
    cin, h, w = g.in_shape
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    cout, ho, wo = g.out_shape
    min_indeg = int(network.in_degree[g.out_offset:g.out_offset + cout * ho * wo].min())
    inner = inner_axons(network, g, hardware.limits.n_max)
    cy, ay, by, iy = _axis_boxes(h, ho, kh, sh, ph)
    cx, ax, bx, ix = _axis_boxes(w, wo, kw, sw, pw)
    sy, sx = cy.size - 1, cx.size - 1
    every = np.arange(g.in_offset, g.in_offset + cin * h * w)
    most = np.minimum(network.out_degree[every], hardware.num_cores)
    base, span, slope = cost_pieces(prices, e_local, most, floor[every].astype(np.float64))
    # Without a cheaper local delivery (loihi) the subsets add rows and time, not value: one group there.
    group = channel_groups(g, weight) if e_local < c1 else np.zeros(cin, dtype=np.int64)
    groups = int(group.max()) + 1
    chain = (out_cost is not None and hardware.limits.a_max is not None and cin * h * w <= CHAIN_INPUTS
             and bool(np.any(out_cost[g.out_offset:g.out_offset + cout * ho * wo] > 0)))
    if chain:
        oy, ly, hy = _output_cells(ho, kh, sh, ph, cy, ay, by)
        ox, lx, hx = _output_cells(wo, kw, sw, pw, cx, ax, bx)
    nus = [0.0] + ([c1 * v for v in CHAIN_NUS] if chain else [])
    y0, y1, x0, x1 = cy[ay][:, None], cy[by][:, None], cx[ax][None, :], cx[bx][None, :]
    area = np.outer(cy[by] - cy[ay], cx[bx] - cx[ax]).astype(np.float64)
    per_channel = base.reshape(cin, h, w)
    boxes, last, rhs, oboxes, mult = [], [], [], [], []
    for k in range(groups):
        chans = int(np.sum(group <= k))
        # Bases summed over each box through 2-D prefix sums of the grid (the subset's channels summed).
        base_pre = np.zeros((h + 1, w + 1))
        base_pre[1:, 1:] = per_channel[group <= k].sum(axis=0).cumsum(axis=0).cumsum(axis=1)
        box_base = base_pre[y1, x1] - base_pre[y0, x1] - base_pre[y1, x0] + base_pre[y0, x0]
        share = 1.0 if g.depthwise else chans / cin
        outputs = (chans if g.depthwise else cout) * np.outer(iy, ix).astype(np.float64)
        inputs = chans * area
        for nu in nus:
            lam, rho = local_rates(g, hardware, c1, e_local, min_indeg, inner, share, nu)
            forced = np.max((rho[:, None, None] + nu) * outputs[None] - lam[:, None, None] * inputs[None], axis=0)
            need = forced - box_base
            keep = need > 1e-9 * c1 * inputs  # rows a rounding error away from none are left out
            if nu > 0:
                keep &= outputs > 0
            ky, kx = np.nonzero(keep)
            if (nu > 0 or k < groups - 1) and ky.size > CHAIN_ROWS:  # any subset of valid rows is valid: the
                # largest, for time (the all-channel rows without nu are kept whole)
                top = np.argsort(-need[ky, kx], kind="stable")[:CHAIN_ROWS]
                ky, kx = ky[top], kx[top]
            boxes.append(np.stack([ay[ky], by[ky], ax[kx], bx[kx]], axis=1))
            last.append(np.full(ky.size, k))
            rhs.append(need[ky, kx])
            mult.append(np.full(ky.size, nu))
            oboxes.append(np.stack([ly[ky], hy[ky], lx[kx], hx[kx]], axis=1) if chain
                          else np.zeros((ky.size, 4), dtype=np.int64))
    # Rows on the bright parts of the layer (level_masks), all channels: the box rows let a large box's incidences
    # pile on its dark inputs, these make its bright part carry its own.
    lam, rho = local_rates(g, hardware, c1, e_local, min_indeg, inner, 1.0)
    masks = level_masks(g, weight[every]) if e_local < c1 and not g.depthwise else []
    set_rows, set_rhs = [], []
    for mask in masks:
        outputs = cout * inside_positions(g, mask)
        forced = float(np.max(rho * outputs - lam * cin * np.count_nonzero(mask)))
        need = forced - float(per_channel[:, mask].sum())
        if outputs and need > 1e-9 * c1 * cin * np.count_nonzero(mask):
            set_rows.append(np.flatnonzero(np.tile(mask.ravel(), cin)))
            set_rhs.append(need)
    sets = csr_matrix((np.ones(sum(r.size for r in set_rows)),
                       (np.repeat(np.arange(len(set_rows)), [r.size for r in set_rows]),
                        np.concatenate(set_rows) if set_rows else np.zeros(0, dtype=np.int64))),
                      shape=(len(set_rows), cin * h * w))
    py, px = np.searchsorted(cy, np.arange(h), side="right") - 1, np.searchsorted(cx, np.arange(w), side="right") - 1
    spatial = (py[:, None] * sx + px[None, :]).ravel()
    lp = {"sy": sy, "sx": sx, "groups": groups, "boxes": np.concatenate(boxes), "last": np.concatenate(last),
          "rhs": np.concatenate(rhs), "nu": np.concatenate(mult), "oboxes": np.concatenate(oboxes),
          "cell": np.repeat((group[:, None] * (sy * sx) + spatial[None, :]).ravel(), slope.shape[1]),
          "unit": (weight[every].astype(np.float64)[:, None] * slope).ravel(), "span": span.ravel(),
          "soy": 0, "sox": 0, "ogroups": 0, "ocell": np.zeros(0, dtype=np.int64), "ounit": np.zeros(0),
          "ospan": np.zeros(0), "base": base, "first": span[:, 0].copy(), "spatial": spatial, "cuts": (cy, cx),
          "min_indeg": min_indeg, "most": most, "sets": sets, "set_rhs": np.array(set_rhs)}
    if chain:
        # Output neurons (channel, row, column order): their group (a depthwise layer's rows count the outputs of
        # their channels only; a full convolution's count every output) and cell of the output grid.
        soy, sox = oy.size - 1, ox.size - 1
        qy = np.searchsorted(oy, np.arange(ho), side="right") - 1
        qx = np.searchsorted(ox, np.arange(wo), side="right") - 1
        ogroup = group if g.depthwise else np.zeros(cout, dtype=np.int64)
        ocell = (ogroup[:, None] * (soy * sox) + (qy[:, None] * sox + qx[None, :]).ravel()[None, :]).ravel()
        value = np.asarray(out_cost[g.out_offset:g.out_offset + cout * ho * wo], dtype=np.float64)
        lp["ocell"], lp["ounit"], lp["ospan"] = _output_pieces(ocell, value)
        lp["soy"], lp["sox"], lp["ogroups"] = soy, sox, (groups if g.depthwise else 1)
    return lp


def level_masks(g: ConvGeometry, weight: np.ndarray) -> list[np.ndarray]:
    """Spatial masks (``h x w``) of the layer's brighter inputs: the level sets, at :data:`LEVELS` quantiles, of
    the spikes (summed over the channels) averaged over a square of side ``2 LEVEL_RADIUS + 1`` (the part inside
    the layer). Any set of inputs gives a valid row; these are the ones the spikes make worth one."""
    cin, h, w = g.in_shape
    r = LEVEL_RADIUS
    if not LEVELS or h < 2 * r + 1 or w < 2 * r + 1:
        return []
    bright = np.asarray(weight, dtype=np.float64).reshape(cin, h, w).sum(axis=0)
    y0, y1 = np.clip(np.arange(h) - r, 0, h), np.clip(np.arange(h) + r + 1, 0, h)
    x0, x1 = np.clip(np.arange(w) - r, 0, w), np.clip(np.arange(w) + r + 1, 0, w)

    def box(a: np.ndarray) -> np.ndarray:
        pre = np.zeros((h + 1, w + 1))
        pre[1:, 1:] = a.cumsum(axis=0).cumsum(axis=1)
        return pre[np.ix_(y1, x1)] - pre[np.ix_(y0, x1)] - pre[np.ix_(y1, x0)] + pre[np.ix_(y0, x0)]

    smooth = box(bright) / box(np.ones((h, w)))
    levels = np.unique(np.quantile(smooth, np.arange(1, LEVELS + 1) / (LEVELS + 1)))
    return [smooth >= v for v in levels]


def inside_positions(g: ConvGeometry, mask: np.ndarray) -> int:
    """Output positions whose whole, unclipped window lies in the inputs of ``mask`` (spatial ``h x w``)."""
    _, h, w = g.in_shape
    _, ho, wo = g.out_shape
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    pre = np.zeros((h + 1, w + 1))
    pre[1:, 1:] = mask.cumsum(axis=0).cumsum(axis=1)
    y0, x0 = np.arange(ho) * sh - ph, np.arange(wo) * sw - pw
    oky, okx = (y0 >= 0) & (y0 + kh <= h), (x0 >= 0) & (x0 + kw <= w)
    y0, x0 = y0[oky], x0[okx]
    y1, x1 = y0 + kh, x0 + kw
    held = pre[np.ix_(y1, x1)] - pre[np.ix_(y0, x1)] - pre[np.ix_(y1, x0)] + pre[np.ix_(y0, x0)]
    return int(np.count_nonzero(held > kh * kw - 0.5))


def joint_rows(hardware: Hardware, g: ConvGeometry, lp: dict, c1: float, e_local: float) -> dict:
    """The rows :func:`local_raise` adds to the local LP to count the inputs held interior (``JOINT``).

    An input ``i`` with a full window and ``d_i`` destinations, ``l_i <= min(1, d_i)`` of them local, has
    ``q_i = c1 d_i - (c1 - e_local) l_i >= c1 + e_local`` when ``d_i >= 2`` (a packet beside the first delivery):
    its ``q`` above its base is then at least ``need_i = e_local + c1 - base_i``. The first ``cap_i =
    min(need_i, span of its first piece)`` of it becomes a variable of its own, ``t_i`` (same slope: the pieces'
    order is kept), full (``t_i = cap_i``) at every input with two destinations or more. The inputs with one
    destination are interior to the positions their core holds whole, at most
    :func:`~.bounds_tiles.interior_within` of them in a box of inputs (the count of ``docs/tile_bound.md`` on the
    positions its full-window inputs' windows reach, a position one unit: its ``C_in`` input neurons; a core
    holds at most :func:`whole_cap` positions whole with unclipped windows: where that is below
:func:`~.bounds_tiles.whole_positions` only the inputs whose window holds no clipped position are counted,
:func:`deep_windows`). So every box ``B`` of the local LP's super-cells has
    ``sum over its coupled inputs of t_i / cap_i >= full(B) - room(B) - free(B)`` (``free``: its full-window
    inputs with ``cap_i = 0``, which may count as not interior at no cost). A mapping's pieces meet every
    row, so the LP with them is still a relaxation.

    Returns ``coupled`` (input index in the layer, channel-row-column order), ``cap`` (joules per spike),
    ``boxes`` (super-cells ``y0..y1-1`` by ``x0..x1-1``) and ``rhs`` per box (rows with ``rhs > 0`` only). Empty
    for a depthwise layer (left to the local rows alone).
    """
    cin, h, w = g.in_shape
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    _, ho, wo = g.out_shape
    empty = {"coupled": np.zeros(0, dtype=np.int64), "cap": np.zeros(0), "boxes": np.zeros((0, 4), dtype=np.int64),
             "rhs": np.zeros(0)}
    if g.depthwise:
        return empty
    tau, capped = whole_positions(g, hardware, lp["min_indeg"]), whole_cap(g, hardware, lp["min_indeg"])
    if capped < tau:  # a_max caps the whole positions with unclipped windows: count the deep inputs only
        fy, fx, tau = deep_windows(h, ho, kh, sh, ph), deep_windows(w, wo, kw, sw, pw), capped
    else:
        fy, fx = full_windows(h, ho, kh, sh, ph), full_windows(w, wo, kw, sw, pw)
    counted = np.broadcast_to((fy[:, None] & fx[None, :])[None], (cin, h, w)).ravel()
    full = counted & (lp["most"] > 0)  # with a target (every full-window input of a convolution has one)
    cap = np.where(full, np.minimum(e_local + c1 - lp["base"], lp["first"]), 0.0)
    coupled = full & (cap > 1e-9 * c1)
    cy, cx = lp["cuts"]
    spans = []
    for cut, mask1, k, st, p in ((cy, fy, kh, sh, ph), (cx, fx, kw, sw, pw)):
        a, b = np.triu_indices(cut.size, 1)
        inner = np.flatnonzero(mask1)
        first = np.searchsorted(inner, cut[a])
        count = np.searchsorted(inner, cut[b] - 1, side="right") - first
        last = max(inner.size - 1, 0)
        q0 = inner[np.minimum(first, last)] if inner.size else np.zeros_like(a)
        q1 = inner[np.clip(first + count - 1, 0, last)] if inner.size else np.zeros_like(a)
        window = np.where(count > 0, (q1 + p) // st + (q0 + p - k + 1) // -st + 1, 0)
        spans.append((a, b, count, window))
    (ay, by, ny, wy), (ax, bx, nx, wx) = spans
    room = cin * interior_within(g, tau, np.outer(wy, wx)).astype(np.float64)
    # Full-window inputs of each box that are not coupled (2-D prefix sums over the super-cells).
    sy, sx = cy.size - 1, cx.size - 1
    loose = np.zeros((sy + 1, sx + 1))
    np.add.at(loose[1:, 1:], np.divmod(lp["spatial"], sx), (counted & ~coupled).reshape(cin, -1).sum(axis=0))
    loose = loose.cumsum(axis=0).cumsum(axis=1)
    free = (loose[np.ix_(by, bx)] - loose[np.ix_(ay, bx)] - loose[np.ix_(by, ax)] + loose[np.ix_(ay, ax)])
    rhs = cin * np.outer(ny, nx) - room - free
    keep = rhs > 0.5  # counts: a row is worth keeping from one input on
    # Any subset of valid rows is valid: the boxes whose edges are on every JOINT_STEP-th cut (for time).
    on_y = (ay % JOINT_STEP == 0) & ((by % JOINT_STEP == 0) | (by == sy))
    on_x = (ax % JOINT_STEP == 0) & ((bx % JOINT_STEP == 0) | (bx == sx))
    small = ((by - ay) <= JOINT_SMALL)[:, None] & ((bx - ax) <= JOINT_SMALL)[None, :]
    keep &= (on_y[:, None] & on_x[None, :]) | small
    ky, kx = np.nonzero(keep)
    idx = np.flatnonzero(coupled)
    return {"coupled": idx, "cap": cap[idx], "boxes": np.stack([ay[ky], by[ky], ax[kx], bx[kx]], axis=1),
            "rhs": rhs[keep]}


def deep_windows(size_in: int, size_out: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """Inputs along one axis whose window holds only output positions whose own windows are unclipped (a mask)."""
    q = np.arange(size_in)
    lo, hi = -(-(q + padding - kernel + 1) // stride), (q + padding) // stride
    first = -(-padding // stride)  # the unclipped positions: first..last
    last = min((size_in - kernel + padding) // stride, size_out - 1)
    return (lo >= first) & (hi <= last) & (lo <= hi)


def whole_cap(g: ConvGeometry, hardware: Hardware, min_indeg: int) -> int:
    """Most output positions one core holds whole: :func:`~.bounds_tiles.whole_positions`, and at most the most
    ``m`` whose windows' union (:func:`~.bounds_tiles.union_per_core`, ``C_in`` inputs a unit, each an axon of
    the core) fits ``a_max`` (full-window positions, which are the ones the interior count is about)."""
    tau = whole_positions(g, hardware, min_indeg)
    a_max = hardware.limits.a_max
    if a_max is None or g.depthwise or tau <= 0:
        return tau
    m = np.arange(1, tau + 1)
    fits = g.in_shape[0] * np.asarray(union_least(g, m)) <= a_max + 1e-9
    # union_per_core is 0 where strides pass the kernel (no argument): then every count fits.
    return int(m[fits].max()) if fits.any() else tau


def _held(boxes: np.ndarray, weight: np.ndarray, last: np.ndarray | None, sy: int, sx: int, groups: int
          ) -> np.ndarray:
    """Per cell (group, then super-cell of an ``sy x sx`` grid), the sum of ``weight`` over the rows whose box
    holds it and that count its group (rows of group ``last`` count ``0..last``; all, for ``None``)."""
    act = np.flatnonzero(weight > 0)
    held = np.zeros(groups * sy * sx)
    yy, xx = np.divmod(np.arange(sy * sx), sx)
    for part in np.array_split(act, max(1, act.size // 4096)):
        b = boxes[part]
        holds = ((b[:, 0:1] <= yy) & (yy < b[:, 1:2]) & (b[:, 2:3] <= xx) & (xx < b[:, 3:4])).astype(np.float64)
        for k in range(groups):
            counts = weight[part] if last is None else weight[part] * (last[part] >= k)
            held[k * sy * sx:(k + 1) * sy * sx] += holds.T @ counts
    return held


def _prefix_block(sy: int, sx: int, groups: int, boxes: np.ndarray, last: np.ndarray | None,
                  scale: np.ndarray) -> csr_matrix:
    """Rows summing each box over the groups it counts, on ``groups`` blocks of 2-D prefix sums."""
    rows = prefix_rows(sy, sx, boxes)
    return hstack([rows.multiply((scale * (last >= k) if last is not None else scale)[:, None])
                   for k in range(groups)]).tocsr()


def local_raise(network: SpikingNetwork, hardware: Hardware, g: ConvGeometry, weight: np.ndarray,
                floor: np.ndarray, prices: np.ndarray, e_local: float, out_cost: np.ndarray | None = None) -> float:
    """Least extra cost of the layer's inputs over ``weight . floor`` that the local room forces (>= 0).

    ``weight[i]``: neuron ``i``'s spikes (0 for a neuron the bound prices elsewhere); ``floor[i]``: a lower
    bound on its cost per spike in every mapping; ``prices``: remote packet prices, sorted, each at most the
    ``j``-th cheapest from any core (``c1 = prices[0]``); ``e_local``: the cheapest local delivery. Valid for
    every feasible mapping (``a_max`` holds); see the module docstring. The LP ``min unit . t`` over the inputs'
    pieces ``0 <= t <= span``, each box's sum (over its channel groups) at least its ``rhs``
    (:func:`local_rows`), is certified from its dual only: for any multipliers ``mu >= 0``, ``mu . rhs`` less
    every piece's span times its unit cost's shortfall below its cell's total multiplier is at most the LP's
    minimum (weak duality), so a solver's tolerance can only lower it.

    ``out_cost[j]``: what output ``j`` pays above its own floor when none of its destinations is its own
    core (0 where the bound prices it elsewhere). Then the raise covers the outputs too (see
    :func:`chain_layers`): a local output is an axon of its core, so for ``nu >= 0`` a core pays
    ``c1 inc - (c1 - e_local - lam) L - nu L1 >= rho_{lam,nu} n`` (:func:`local_rates`) and a box, with ``U``
    the non-local outputs of ``R(B)``, ``sum_B q + nu U >= (rho_{lam,nu} + nu) |R(B)| - lam |B|``; ``U`` is
    priced per output cell by pieces at their cheapest output's ``out_cost``.
    """
    if not len(prices) or prices[0] <= 0:
        return 0.0
    lp = local_rows(network, hardware, g, weight, floor, prices, e_local, out_cost)
    rhs = lp["rhs"]
    if not rhs.size:
        return 0.0
    sy, sx, groups, boxes, last, nu = lp["sy"], lp["sx"], lp["groups"], lp["boxes"], lp["last"], lp["nu"]
    cell, wt, room = lp["cell"], lp["unit"], lp["span"]
    soy, sox, ogroups, ocell, ou, ospan = lp["soy"], lp["sox"], lp["ogroups"], lp["ocell"], lp["ounit"], lp["ospan"]
    # Variables: the inputs' extra costs, per channel group the 2-D prefix sums of its super-cells' totals (four
    # nonzeros a box and group, however large) defined by one equality per cell; then the same for the outputs.
    n, m = wt.size, ou.size
    supers, corners = sy * sx, (sy + 1) * (sx + 1)
    osupers, ocorners = soy * sox, (soy + 1) * (sox + 1)
    i, j = np.divmod(np.arange(supers), sx)
    oi, oj = np.divmod(np.arange(osupers), max(sox, 1))
    blocks = [hstack([csr_matrix((-np.ones(n), (cell, np.arange(n))), shape=(groups * supers, n)),
                      block_diag([prefix_rows(sy, sx, np.stack([i, i + 1, j, j + 1], axis=1))] * groups),
                      csr_matrix((groups * supers, m + ogroups * ocorners))])]
    if m:
        blocks.append(hstack([csr_matrix((ogroups * osupers, n + groups * corners)),
                              csr_matrix((-np.ones(m), (ocell, np.arange(m))), shape=(ogroups * osupers, m)),
                              block_diag([prefix_rows(soy, sox, np.stack([oi, oi + 1, oj, oj + 1], axis=1))]
                                         * ogroups)]))
    c1 = float(prices[0])
    # Without a cheaper local delivery (loihi) the joint rows raised none of the four convolutional applications'
    # bounds, at a third more time: left out there, as the channel subsets are.
    jt = joint_rows(hardware, g, lp, c1, e_local) if JOINT and not m and e_local < c1 else None
    if jt is not None and not (jt["coupled"].size and jt["rhs"].size):
        jt = None
    nf = 0 if jt is None else jt["coupled"].size
    if jt is not None:
        # Each coupled input's first piece is cut in two: its first cap_i (variables appended after the others,
        # the same cost and cell) and the rest; the new ones' t / cap_i summed per super-cell (prefix sums).
        per = wt.size // lp["base"].size  # pieces per input
        head = jt["coupled"] * per  # the coupled inputs' first pieces
        room = room.copy()
        room[head] = np.maximum(room[head] - jt["cap"], 0.0)
        fcell = lp["spatial"][jt["coupled"] % lp["spatial"].size]
        # The new variables join their cells' totals (the local rows) and, divided by cap, the counting rows'.
        blocks[0] = hstack([blocks[0], csr_matrix((-np.ones(nf), (cell[head], np.arange(nf))),
                                                  shape=(groups * supers, nf)), csr_matrix((groups * supers, corners))])
        if m:
            blocks[1] = hstack([blocks[1], csr_matrix((blocks[1].shape[0], nf + corners))])
        blocks.append(hstack([csr_matrix((supers, n + groups * corners + m + ogroups * ocorners)),
                              csr_matrix((-float(np.max(rhs)) / jt["cap"], (fcell, np.arange(nf))), shape=(supers, nf)),
                              prefix_rows(sy, sx, np.stack([i, i + 1, j, j + 1], axis=1))]))
    a_eq = vstack(blocks).tocsr()
    # Weights and joules brought to unit size; the rows and the rooms share a scale, which leaves the optimal
    # multipliers unchanged: only the weights' scale is undone (the outputs' counts keep their own unit).
    scale, unit = float(max(np.max(wt), np.max(ou, initial=0.0))) or 1.0, float(np.max(rhs))
    parts = [csr_matrix((rhs.size, n)), -_prefix_block(sy, sx, groups, boxes, last, np.ones(rhs.size))]
    if m:
        olast = last if ogroups > 1 else None
        parts += [csr_matrix((rhs.size, m)), -_prefix_block(soy, sox, ogroups, lp["oboxes"], olast, nu / unit)]
    a_ub = hstack(parts).tocsr()
    b_ub = -rhs / unit
    if jt is not None:
        # Counting rows: the new variables' t / cap summed over a box (its super-cells' prefix sums) >= its rhs.
        nb = jt["rhs"].size
        counted = hstack([csr_matrix((nb, n + groups * corners + m + ogroups * ocorners + nf)),
                          -prefix_rows(sy, sx, jt["boxes"])])
        a_ub = vstack([hstack([a_ub, csr_matrix((a_ub.shape[0], nf + corners))]), counted]).tocsr()
        b_ub = np.concatenate([b_ub, -jt["rhs"]])

    # Rows on the bright sets (local_rows), nested: each input's pieces (the coupled inputs' first caps too) summed
    # once into the total of its band (the inputs in exactly k + 1 sets, one variable each, an equality per band);
    # set k's row is the sum of bands k, k + 1, ...
    sets, ns = lp["sets"], lp["set_rhs"].size
    if ns:
        band = np.asarray(sets.sum(axis=0)).ravel().astype(np.int64) - 1
        per = wt.size // lp["base"].size
        ncol = a_ub.shape[1]
        var_band = np.full(ncol, -1, dtype=np.int64)
        var_band[:n] = np.repeat(band, per)
        if nf:
            var_band[ncol - nf - corners:ncol - corners] = band[jt["coupled"]]
        inside = np.flatnonzero(var_band >= 0)
        a_eq = vstack([hstack([a_eq, csr_matrix((a_eq.shape[0], ns))]),
                       hstack([csr_matrix((-np.ones(inside.size), (var_band[inside], inside)), shape=(ns, ncol)),
                               csr_matrix(np.eye(ns))])]).tocsr()
        a_ub = vstack([hstack([a_ub, csr_matrix((a_ub.shape[0], ns))]),
                       hstack([csr_matrix((ns, ncol)), -csr_matrix(np.triu(np.ones((ns, ns))))])]).tocsr()
        b_ub = np.concatenate([b_ub, -lp["set_rhs"] / unit])

    def free(ny: int, nx: int, count: int) -> list[tuple[float | None, float | None]]:
        edge = np.zeros((ny + 1, nx + 1), dtype=bool)
        edge[0, :] = edge[:, 0] = True
        return [(0.0, 0.0) if e else (None, None) for e in edge.ravel()] * count

    bounds = [(0.0, r / unit) for r in room] + free(sy, sx, groups)
    cost = [wt / scale, np.zeros(groups * corners)]
    if m:
        bounds += [(0.0, float(v)) for v in ospan] + free(soy, sox, ogroups)
        cost += [ou / (scale * unit), np.zeros(ogroups * ocorners)]
    if jt is not None:
        bounds += [(0.0, float(v) / unit) for v in jt["cap"]] + free(sy, sx, 1)
        cost += [wt[head] / scale, np.zeros(corners)]
    if ns:
        bounds += [(0.0, None)] * ns
        cost += [np.zeros(ns)]
    res = linprog(np.concatenate(cost), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=np.zeros(a_eq.shape[0]),
                  bounds=bounds, method="highs")
    marg = getattr(getattr(res, "ineqlin", None), "marginals", None)
    if marg is None:
        return 0.0
    marg = np.maximum(-np.asarray(marg, dtype=np.float64), 0.0)
    mu = scale * marg[:rhs.size]
    # Each cell's total multiplier over the rows holding it, summed term by term over the rows with a
    # multiplier (all >= 0: a cell no such row holds gets exactly 0); weak duality gives the value. The bright
    # sets' multipliers (sigma, the last rows) are held per input.
    sigma = scale * marg[marg.size - ns:] if ns else np.zeros(0)
    own = sets.T @ sigma if ns else np.zeros(lp["base"].size)
    held = _held(boxes, mu, last, sy, sx, groups)
    reduced = wt - held[cell] - np.repeat(own, wt.size // lp["base"].size)
    value = float(rhs @ mu) + float(lp["set_rhs"] @ sigma)
    if jt is not None:
        # The counting rows' multipliers pi (joules per count): a new variable's reduced cost is its unit cost less
        # its cell's local multipliers and its super-cell's counting multipliers over cap; at most its cap each.
        pi = scale * unit * marg[rhs.size:marg.size - ns]
        pheld = _held(jt["boxes"], pi, None, sy, sx, 1)[fcell]
        value += float(jt["rhs"] @ pi)
        value += float(np.sum(np.minimum(wt[head] - held[cell[head]] - own[jt["coupled"]] - pheld / jt["cap"], 0.0)
                              * jt["cap"]))
    value += float(np.sum(np.minimum(reduced, 0.0) * room))
    if m:
        oheld = _held(lp["oboxes"], mu * nu, last if ogroups > 1 else None, soy, sox, ogroups)
        value += float(np.sum(np.minimum(ou - oheld[ocell], 0.0) * ospan))
    return max(0.0, value)


def chain_layers(network: SpikingNetwork) -> tuple[list[ConvGeometry], np.ndarray]:
    """The convolutions whose outputs :func:`local_raise` may price with their inputs, and those outputs.

    In layer order, a layer is taken when its outputs feed no layer taken and its inputs are no taken
    layer's outputs: a neuron's cost is raised by one argument at most.
    """
    taken: list[ConvGeometry] = []
    sources: set[int] = set()
    targets: set[int] = set()
    mask = np.zeros(network.num_neurons, dtype=bool)
    for g in conv_layers(network):
        if g.source in targets or g.target in sources or g.target in targets:
            continue
        taken.append(g)
        sources.add(g.source)
        targets.add(g.target)
        mask[g.out_offset:g.out_offset + int(np.prod(g.out_shape))] = True
    return taken, mask


def window_cores(network: SpikingNetwork, hardware: Hardware) -> tuple[int, str]:
    """Fewest cores the outputs of one convolution need, as ``a_max`` caps each core's windows, and why.

    A core holding ``n`` output neurons at positions with an unclipped window is a destination of at least
    ``C_in f(n / C_out)`` inputs (:func:`~.bounds_tiles.union_per_core`, increasing), each an axon: at most the
    largest ``n`` with that at most ``a_max`` (and ``n`` times the least in-degree at most ``syn_max``) per core.
    ``(0, "")`` without ``a_max`` or geometry.
    """
    lim = hardware.limits
    best = (0, "")
    if lim.a_max is None:
        return best
    n = np.arange(1, lim.n_max + 1)
    for g in conv_layers(network):
        cout, ho, wo = g.out_shape
        per_pos, cin = (1, 1) if g.depthwise else (cout, g.in_shape[0])
        fits = cin * np.asarray(union_least(g, -(-n // per_pos))) <= lim.a_max + 1e-9
        min_indeg = int(network.in_degree[g.out_offset:g.out_offset + cout * ho * wo].min())
        if lim.syn_max is not None and min_indeg > 0:
            fits &= n * min_indeg <= lim.syn_max
        (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
        whole = (inside_span(0, g.in_shape[1] - 1, ho, kh, sh, ph)[0]
                 * inside_span(0, g.in_shape[2] - 1, wo, kw, sw, pw)[0])  # positions with an unclipped window
        if not fits.any() or not whole:
            continue
        most = int(n[fits].max())
        need = -(-cout * whole // most)
        if need > best[0]:
            name = network.population_names[g.target] if network.population_names else str(g.target)
            best = (need, f"a_max={lim.a_max}: the windows of {name}'s {cout * whole} outputs allow at most {most} "
                          "of them per core, which need at least {} cores")
    return best


def chain_sized(network: SpikingNetwork) -> np.ndarray:
    """The outputs of the layers :func:`chain_layers` takes whose inputs are few enough for the output rows
    (:data:`CHAIN_INPUTS`): only those are priced with their inputs, the others stay with the other arguments."""
    mask = np.zeros(network.num_neurons, dtype=bool)
    for g in chain_layers(network)[0]:
        if int(np.prod(g.in_shape)) <= CHAIN_INPUTS:
            mask[g.out_offset:g.out_offset + int(np.prod(g.out_shape))] = True
    return mask
