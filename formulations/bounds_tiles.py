"""What the tiling of a convolution forces on every mapping: inputs at tile borders reach two cores or more.

An input neuron of a convolution (:mod:`snnmap.instances.geometry`) at
position ``q`` targets the window ``W_q`` of output positions, every output
channel of each (a pooling: its own channel). It reaches a single core only
if that core holds its whole target set, which makes ``q`` *interior* to the
positions ``P`` the core holds whole. Few inputs can be interior:

- **Per core.** Along one axis, ``a`` consecutive output positions hold whole
  the windows of at most ``s * a - (k - s)`` inputs (stride ``s``, kernel
  ``k >= s``; inputs whose window is clipped by the border are left out), so
  a set of positions ``A`` holds at most ``s |A| - (k - s)`` on a line. On the
  plane, extending the interior set ``E`` row by row then column by column
  (as the discrete Brunn-Minkowski inequality does) gives
  ``|P| >= (|E| + dx r + dy c + dx dy) / (sx sy)`` with ``r c >= |E|`` rows
  and columns of ``E``, ``d = k - s``: ``|E| <= (sqrt(sx sy |P|) - sqrt(dx dy))^2``.
- **Over the cores.** A core holds whole at most ``tau = n_max // C_out``
  positions (``syn_max`` may lower it), each position whole on at most one core;
  the interior count is convex in ``|P|``, so the cores hold at most
  ``floor(X / tau) g(tau) + g(X mod tau)`` interior inputs among ``X`` positions.

- **Per block.** The same count holds for any block of inputs, on the output
  positions its windows reach. Nested blocks (a laminar family) bound the
  interior inputs together through an exact greedy; all boxes of a coarse
  grid of the inputs at once (they overlap) through an LP whose value is
  certified by its dual (:func:`box_lp_exempt`). The LP is what makes the
  crossings pass where the spikes are: with the nested blocks only, they
  gather in the dark margins of an image (on the reused loihi mappings,
  LeNet's tile raise 19.4k -> 27.2k messages, ImgSmooth's 18.4k -> 57.1k).

Every other input (with a full window) reaches two cores or more. The bound
lets the inputs whose second destination would cost most be the interior ones
and charges the second destination to all the rest.

- **Further destinations.** A core holding any neuron of an output position is
  a destination of every input of its window, and the windows of ``m``
  positions cover at least ``(sqrt(sx sy m) + sqrt(dx dy))^2`` inputs
  (:func:`union_per_core`), so every box of inputs holds at least the
  destination incidences of full cores (:func:`incidences_within`). The box LP
  takes those rows too and charges the third and further destinations
  (``docs/tile_bound.md``; AlexNet on loihi 23.8 % -> 22.3 %).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import bmat, csr_matrix, hstack

from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork
from snnmap.instances.geometry import ConvGeometry, conv_layers


def full_windows(size_in: int, size_out: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """Inputs along one axis whose window of outputs is not clipped by the border (a mask)."""
    q = np.arange(size_in)
    lo = -(-(q + padding - kernel + 1) // stride)
    hi = (q + padding) // stride
    return (lo >= 0) & (hi <= size_out - 1) & (lo <= hi)


def interior_per_core(g: ConvGeometry, positions: Any) -> Any:
    """Most inputs with a full window whose targets all fit ``positions`` output positions held whole
    (element-wise on an array)."""
    (kh, kw), (sh, sw) = g.kernel, g.stride
    dy, dx = kh - sh, kw - sw
    m = np.asarray(positions, dtype=np.float64)
    if dy < 0 or dx < 0:  # strides past the kernel leave gaps: no argument, every input may be interior
        v = sh * sw * m
    elif g.in_shape[1] == 1:  # one row: a line, every set of positions holds at most s |A| - (k - s)
        v = np.maximum(0.0, sw * m - dx)
    else:
        root = np.sqrt(sh * sw * m) - math.sqrt(dy * dx)
        v = np.where(root > 0, root * root, 0.0)
    return v if v.ndim else float(v)


def share_positions(g: ConvGeometry, hardware: Hardware, min_indeg: int) -> float:
    """Most positions' worth of the layer's output neurons (per position: ``C_out``, a pooling 1) one core holds."""
    lim = hardware.limits
    per_pos = 1 if g.depthwise else g.out_shape[0]
    most = lim.n_max
    if lim.syn_max is not None and min_indeg > 0:
        most = min(most, lim.syn_max // min_indeg)
    return most / per_pos


def whole_positions(g: ConvGeometry, hardware: Hardware, min_indeg: int) -> int:
    """``tau``: most output positions (of one channel for a pooling) one core can hold whole."""
    lim = hardware.limits
    cout, ho, wo = g.out_shape
    per_pos = 1 if g.depthwise else cout  # neurons of one position one input reaches
    tau = min(lim.n_max // per_pos, ho * wo)
    if lim.syn_max is not None and min_indeg > 0:
        tau = min(tau, lim.syn_max // (per_pos * min_indeg))
    return max(tau, 0)


def interior_within(g: ConvGeometry, tau: int, positions: Any) -> Any:
    """Most inputs whose windows lie inside ``positions`` output positions shared by cores holding ``tau`` whole
    (element-wise on an array).

    ``g`` is convex in the positions a core holds, so the most is reached with full cores and one remainder.
    """
    whole, rest = np.divmod(np.asarray(positions, dtype=np.int64), max(tau, 1))
    v = np.floor(whole * interior_per_core(g, tau) + interior_per_core(g, rest) + 1e-9).astype(np.int64)
    v = v if tau > 0 else np.zeros_like(v)
    return v if v.ndim else int(v)


def most_interior(g: ConvGeometry, hardware: Hardware, min_indeg: int) -> int:
    """Most input positions (channels apart for a pooling) whose targets all share one core, over all mappings."""
    cout, ho, wo = g.out_shape
    units = ho * wo * (g.in_shape[0] if g.depthwise else 1)
    return interior_within(g, whole_positions(g, hardware, min_indeg), units)


def _window_span(q0: int, q1: int, kernel: int, stride: int, padding: int) -> int:
    """Output positions along one axis whose windows hold an input of ``q0..q1`` (full windows: unclipped)."""
    return (q1 + padding) // stride - -(-(q0 + padding - kernel + 1) // stride) + 1


# Nested input blocks counted besides the whole layer: each family doubles its side, and is cut at offset 0 and
# at half its smallest side (all sides of a family cut at one offset stay nested).
BLOCK_FAMILIES = ((8, 16, 32, 64), (10, 20, 40, 80), (12, 24, 48, 96))


def _equal_cuts(size: int, parts: int) -> np.ndarray:
    """Cuts of ``0..size`` into ``parts`` blocks as equal as whole numbers allow."""
    return np.unique(np.arange(parts + 1) * size // parts)


def _laminar_max(flat: np.ndarray, levels: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Most total of ``flat[u, cell]`` taking units whose every set (``levels``: set id per cell, room per set)
    still has room; greedy by decreasing value is exact on a laminar family (a laminar matroid)."""
    cells_n = flat.shape[1]
    order = np.argsort(-flat, axis=None, kind="stable")
    blocks = np.stack([ids[order % cells_n] for ids, _ in levels], axis=1)
    room = [r.copy() for _, r in levels]
    taken = 0.0
    for v, ids in zip(flat.ravel()[order].tolist(), blocks.tolist()):
        if v <= 0:
            break
        if all(room[k][b] > 0 for k, b in enumerate(ids)):
            for k, b in enumerate(ids):
                room[k][b] -= 1
            taken += v
    return taken


def exempt_most(g: ConvGeometry, tau: int, gain: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """Largest total ``gain`` the interior positions can take.

    ``gain[u, y, x]``: the gain of input unit ``u`` (a channel for a pooling, else the whole position) at the
    full-window input row ``rows[y]`` and column ``cols[x]``. The whole layer holds at most
    :func:`interior_within` of all positions interior; so does every block of inputs, counted on the output
    positions its windows reach (the lemma holds for any set of positions, here a core's whole positions
    inside that region). The blocks of one of :data:`BLOCK_FAMILIES`, cut at one offset, and the layer form a
    laminar family, whose maximum the greedy finds; every family and offset gives a valid maximum, and so does
    the LP over overlapping boxes (:func:`box_lp_exempt`); the least is kept.
    """
    return min(laminar_exempt(g, tau, gain, rows, cols), box_lp_exempt(g, tau, gain, rows, cols))


def laminar_exempt(g: ConvGeometry, tau: int, gain: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """The least of the laminar families' exact maxima of :func:`exempt_most` (no LP)."""
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    units, ny, nx = gain.shape
    whole = [(np.zeros(ny * nx, dtype=np.int64), np.array([interior_within(g, tau, g.out_shape[1] * g.out_shape[2]
                                                                           * units)]))]
    best = _laminar_max(gain.reshape(units, ny * nx), whole)
    for sides, offset in ((f, o) for f in BLOCK_FAMILIES for o in (0, f[0] // 2)):
        levels = list(whole)
        for side in sides:
            if side >= max(ny, nx):
                break
            cut_y = np.unique(np.clip([0, *range(offset % side or side, ny, side), ny], 0, ny))
            cut_x = np.unique(np.clip([0, *range(offset % side or side, nx, side), nx], 0, nx))
            room = [interior_within(g, tau, units * _window_span(int(rows[y0]), int(rows[y1 - 1]), kh, sh, ph)
                                    * _window_span(int(cols[x0]), int(cols[x1 - 1]), kw, sw, pw))
                    for y0, y1 in zip(cut_y[:-1], cut_y[1:]) for x0, x1 in zip(cut_x[:-1], cut_x[1:])]
            by = np.searchsorted(cut_y, np.arange(ny), side="right") - 1
            bx = np.searchsorted(cut_x, np.arange(nx), side="right") - 1
            levels.append(((by[:, None] * (cut_x.size - 1) + bx[None, :]).ravel(), np.array(room)))
        if len(levels) > 1:
            best = min(best, _laminar_max(gain.reshape(units, ny * nx), levels))
    return best


LP_GRID = 16  # super-cells per axis of the box LP (boxes of whole super-cells)


def union_per_core(g: ConvGeometry, positions: Any) -> Any:
    """Fewest input units the windows of ``positions`` output positions (windows unclipped) cover together.

    A rectangle of ``a x b`` positions covers ``(sy a + dy)(sx b + dx)`` inputs; compressing any set of
    positions to a down-set does not grow its union (discrete Brunn-Minkowski), which gives
    ``(sqrt(sx sy m) + sqrt(dx dy))^2`` (one row: ``s m + d``), 0 at no position. Increasing, and concave on
    ``m >= 0`` (the jump at 0 is upward). Checked against every subset of positions of small convolutions.
    Element-wise on an array.
    """
    (kh, kw), (sh, sw) = g.kernel, g.stride
    dy, dx = kh - sh, kw - sw
    m = np.asarray(positions, dtype=np.float64)
    if dy < 0 or dx < 0:  # strides past the kernel: gaps between the full-window inputs, no argument
        v = np.zeros_like(m)
    elif g.in_shape[1] == 1:
        v = np.where(m > 0, sw * m + dx, 0.0)
    else:
        v = np.where(m > 0, (np.sqrt(sh * sw * np.maximum(m, 0.0)) + math.sqrt(dy * dx)) ** 2, 0.0)
    return v if v.ndim else float(v)


def union_least(g: ConvGeometry, positions: Any) -> Any:
    """Fewest input units the windows of a whole number ``m`` of output positions (windows unclipped) cover.

    Compressing a set of positions to a down-set does not grow its union (as for :func:`union_per_core`), so the
    least is over down-sets: rows of ``l_0 >= l_1 >= ... >= l_(r-1)`` positions. Input row ``y`` is spanned as
    wide as its first covering position row, ``sx l + dx``: the first position row spans ``ky`` input rows,
    every further one ``sy`` more, so the union is ``ky (sx l_0 + dx) + sy sum over i >= 1 of (sx l_i + dx)``
    ``= sx sy m + ky dx + sx dy l_0 + sy dx (r - 1)``, least at ``r = ceil(m / l_0)``; the least over ``l_0 = 1..m``.
    At least :func:`union_per_core` (its real relaxation), equal on squares (ImgSmooth's 5 x 5 / 2: 131 inputs
    for 17 positions, where ``f(17) = 126.5``). Element-wise on an array of whole numbers.
    """
    m = np.asarray(positions, dtype=np.int64)
    (kh, kw), (sh, sw) = g.kernel, g.stride
    dy, dx = kh - sh, kw - sw
    if dy < 0 or dx < 0 or g.in_shape[1] == 1 or not m.size:
        v = np.asarray(union_per_core(g, m), dtype=np.float64)
        return v if v.ndim else float(v)
    top = max(int(m.max()), 1)
    first = np.arange(1, top + 1)[:, None]  # l_0
    flat = m.ravel()[None, :]
    rows = -(-flat // first)
    cost = np.where(first <= np.maximum(flat, 1), sw * sh * flat + kh * dx + sw * dy * first + sh * dx * (rows - 1),
                    np.inf)
    v = np.where(m.ravel() > 0, cost.min(axis=0), 0.0).reshape(m.shape)
    return v if v.ndim else float(v)


def incidences_within(g: ConvGeometry, share: float, positions: Any) -> Any:
    """Fewest (input unit, destination core) incidences the windows of ``positions`` output positions force.

    Each core holding a neuron at a position is a destination of every input of that position's window:
    the incidences are at least ``sum_c union(|P_c|)`` (``P_c``: the positions with a neuron on core ``c``).
    A core holds at most ``share`` positions' worth of neurons (``|P_c| >= n_c / per_pos``, the ``n_c``
    summing to ``per_pos`` times the positions); the union is increasing and concave, so the least sum is at
    a vertex: full cores and one remainder. Element-wise on an array.
    """
    m = np.asarray(positions, dtype=np.float64)
    if share <= 0:
        v = np.zeros_like(m)
    else:
        whole = np.floor(m / share + 1e-12)
        v = whole * union_per_core(g, share) + union_per_core(g, np.maximum(m - whole * share, 0.0))
    return v if v.ndim else float(v)


def inside_span(q0: int, q1: int, size_out: int, kernel: int, stride: int, padding: int) -> tuple[int, int]:
    """Output positions along one axis whose whole (unclipped) window lies within inputs ``q0..q1``, and the
    inputs their windows cover together (consecutive: ``kernel >= stride``)."""
    lo = max(-(-(q0 + padding) // stride), 0)
    hi = min((q1 + padding - kernel + 1) // stride, size_out - 1)
    return (hi - lo + 1, stride * (hi - lo) + kernel) if hi >= lo else (0, 0)


def box_lp_exempt(g: ConvGeometry, tau: int, gain: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                  third: np.ndarray | None = None, share: float = 0.0, cap: float = 0.0,
                  full: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """Most total ``gain`` interior inputs can take under the count of every box of inputs at once (an LP).

    ``gain[u, y, x]`` is that of unit ``u`` at input row ``rows[y]`` and column ``cols[x]`` (consecutive);
    ``full``: which of those rows and columns have a full window (default: all). Every box of full-window
    inputs holds at most :func:`interior_within` of its span interior, as in :func:`exempt_most`; the boxes
    here are all unions of consecutive super-cells (the grid cut into at most :data:`LP_GRID` parts per axis,
    the margins without a full window one part each), which overlap, so no greedy is exact. The LP ``max gain . x``,
    ``0 <= x <= 1``, one row per box is a relaxation of the interior set (the other inputs are free).

    With ``third`` (what each unit pays per destination beyond its second), ``share`` (positions' worth of
    neurons per core, see :func:`incidences_within`) and ``cap`` (most destinations beyond the second), the
    extra destinations ``y`` enter too: the LP is ``max gain . x - third . y`` with, per box, the destinations
    ``2 - x + y`` of its units at least the incidences its inside positions force, plus one for every unit their
    windows miss (every input must send: ``third`` only where the layer's inputs all have targets). A mapping's
    ``x = [one destination]``, ``y = max(d - 2, 0)`` is feasible, so the maximum bounds what it is spared.

    The value is certified from the dual alone: for any multipliers ``>= 0``, their weighted right-hand sides
    plus every variable's positive reduced gain at its upper bound is at least the maximum (weak duality), so
    a solver's tolerance or failure cannot make it too low (``inf`` when there is no dual).
    """
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    (_, ho, wo), (units, ny, nx) = g.out_shape, gain.shape
    fy, fx = full if full is not None else (np.ones(ny, dtype=bool), np.ones(nx, dtype=bool))
    cuts, spans, groups = [], [], []
    for size, at, mask, k, s, p, n_out in ((ny, rows, fy, kh, sh, ph, ho), (nx, cols, fx, kw, sw, pw, wo)):
        inner = np.flatnonzero(mask)
        # The full-window inputs cut as without margins (the same room rows), each margin one more part.
        cut = (np.unique(np.concatenate([[0, size], inner[0] + _equal_cuts(inner.size, min(LP_GRID, inner.size))]))
               if inner.size else _equal_cuts(size, min(LP_GRID, size)))
        # Consecutive inputs with the same window (a stride past half the kernel) have the same destinations:
        # one group, one x and y; the cuts fall between groups.
        key = np.stack([-(-(at + p - k + 1) // s), (at + p) // s])
        group = np.concatenate([[0], np.cumsum(np.any(key[:, 1:] != key[:, :-1], axis=0))])
        starts = np.flatnonzero(np.diff(np.concatenate([[-1], group])))
        cut = np.unique(np.concatenate([starts[group[cut[:-1]]], [size]]))
        groups.append(starts)
        a, b = np.triu_indices(cut.size, 1)  # every run of consecutive parts a..b-1
        lo, hi = cut[a], cut[b] - 1
        first = np.searchsorted(inner, lo)  # the run's full-window rows (consecutive): first..last
        count = np.searchsorted(inner, hi, side="right") - first
        window = np.zeros_like(count)  # output positions the full-window rows' windows reach
        if inner.size:
            q0, q1 = at[inner[np.minimum(first, inner.size - 1)]], at[inner[np.minimum(first + count, inner.size) - 1]]
            window = np.where(count > 0, (q1 + p) // s + (q0 + p - k + 1) // -s + 1, 0)
        inside = np.array([inside_span(int(at[u]), int(at[v]), n_out, k, s, p) for u, v in zip(lo, hi)]
                          ).reshape(-1, 2)
        cuts.append(cut)
        spans.append((a, b, count, window, inside[:, 0], inside[:, 1], cut[b] - cut[a]))
    cy, cx = cuts
    incidences = third is not None and share > 0
    (ay, by, fny, sy_, iy, uy, ly), (ax, bx, fnx, sx_, ix, ux, lx) = spans
    room = interior_within(g, tau, units * np.outer(sy_, sx_))
    keep = room < units * np.outer(fny, fnx)  # boxes with room for all their full-window cells never bind
    cells = units * np.outer(ly, lx)
    # The inputs the inside positions' windows miss have one destination at least (all inputs send).
    f = (incidences_within(g, share, units * np.outer(iy, ix)) + cells - units * np.outer(uy, ux)
         if incidences else np.zeros(cells.shape))
    bind = f > cells  # one destination each already makes the cells' incidences
    ky, kx = np.nonzero(keep)
    boxes = np.stack([ay[ky], by[ky], ax[kx], bx[kx]], axis=1)
    room = room[keep].astype(np.float64)
    ky, kx = np.nonzero(bind)
    inc_boxes = np.stack([ay[ky], by[ky], ax[kx], bx[kx]], axis=1)
    inc_rhs = (2 * cells - f)[bind]
    if not len(boxes) and not len(inc_boxes):
        return float(np.sum(np.maximum(gain, 0.0)))
    # Super-cell of each group of cells.
    first_y, first_x = groups
    my, mx = np.diff(np.append(first_y, ny)), np.diff(np.append(first_x, nx))
    sup = ((np.searchsorted(cy, first_y, side="right") - 1)[:, None] * (cx.size - 1)
           + (np.searchsorted(cx, first_x, side="right") - 1)[None, :]).ravel()
    cell_sup = np.tile(sup, units)
    cell_full = np.tile((fy[first_y][:, None] & fx[first_x][None, :]).ravel(), units)
    mult = np.tile((my[:, None] * mx[None, :]).ravel(), units).astype(np.float64)
    sy, sx = cy.size - 1, cx.size - 1
    box_pre, inc_pre = prefix_rows(sy, sx, boxes), prefix_rows(sy, sx, inc_boxes)

    def grouped(v: np.ndarray) -> np.ndarray:
        return np.add.reduceat(np.add.reduceat(v, first_y, axis=1), first_x, axis=2).ravel().astype(np.float64)

    # Variables: the groups' x (then y), then one total per super-cell of its full-window cells' x (then of all
    # its cells' x - y): an equality row each, which the box rows bound: few nonzeros however large a box.
    c = grouped(gain)
    n, supers = c.size, sy * sx
    y_cost = grouped(third) if incidences else np.zeros(0)
    # Box sums through 2-D prefix sums of the super-cells' totals (four nonzeros a box, however large): the
    # prefix of the full-window cells' x, then of all cells' x - y; each defined by one equality per super-cell.
    fc = np.flatnonzero(cell_full)
    gather = csr_matrix((-mult[fc], (cell_sup[fc], fc)), shape=(supers, n))
    i, j = np.divmod(np.arange(supers), sx)
    defs, prefix = prefix_rows(sy, sx, np.stack([i, i + 1, j, j + 1], axis=1)), (sy + 1) * (sx + 1)
    if incidences:
        every = csr_matrix((-mult, (cell_sup, np.arange(n))), shape=(supers, n))
        a_eq = bmat([[gather, None, defs, None], [every, -every, None, defs]], format="csr")
        a_ub = bmat([[csr_matrix((len(boxes), 2 * n)), box_pre, csr_matrix((len(boxes), prefix))],
                     [csr_matrix((len(inc_boxes), 2 * n)), csr_matrix((len(inc_boxes), prefix)), inc_pre]],
                    format="csr")
    else:
        a_eq = hstack([gather, defs]).tocsr()
        a_ub = hstack([csr_matrix((len(boxes), n)), box_pre]).tocsr()
    rhs = np.concatenate([room, inc_rhs]) if incidences else room
    scale = float(max(np.max(np.abs(c)), np.max(np.abs(y_cost), initial=0.0))) or 1.0  # gains ~1e-8 J: unit size
    cost = np.concatenate([-c / scale, y_cost / scale, np.zeros(a_eq.shape[1] - n - y_cost.size)])
    # x in [0, 1], y >= 0, the prefix sums free but 0 on the grid's first row and column.
    edge = np.zeros((sy + 1, sx + 1), dtype=bool)
    edge[0, :] = edge[:, 0] = True
    sums = [(0.0, 0.0) if e else (None, None) for e in edge.ravel()] * (2 if incidences else 1)
    res = linprog(cost, A_ub=a_ub, b_ub=rhs, A_eq=a_eq, b_eq=np.zeros(a_eq.shape[0]),
                  bounds=[(0, 1)] * n + [(0, None)] * y_cost.size + sums, method="highs")
    marg = getattr(getattr(res, "ineqlin", None), "marginals", None)
    if marg is None:
        return float("inf")
    dual = scale * np.maximum(-np.asarray(marg, dtype=np.float64), 0.0)
    lam, mu = dual[:len(boxes)], dual[len(boxes):]

    def per_super(rows_pre: csr_matrix, y: np.ndarray) -> np.ndarray:
        """Each super-cell's total multiplier over the boxes holding it: their corner weights summed onward."""
        d = (rows_pre.T @ y).reshape(sy + 1, sx + 1)[::-1, ::-1]
        return d.cumsum(axis=0).cumsum(axis=1)[::-1, ::-1][1:, 1:].ravel()

    price = np.where(cell_full, mult * per_super(box_pre, lam)[cell_sup], 0.0)
    if not incidences:
        return float(rhs @ dual + np.sum(np.maximum(c - price, 0.0)))
    inc_price = mult * per_super(inc_pre, mu)[cell_sup]
    over = inc_price > 0
    # Any scaling of the incidence multipliers is a dual point too: the least of three bounds the maximum. A
    # y priced above its cost (a solver's tolerance) costs cap each, unless they are scaled down to its cost.
    least = float("inf")
    for t in (1.0, float(np.min(y_cost[over] / inc_price[over], initial=1.0)), 0.0):
        t = min(max(t, 0.0), 1.0)
        least = min(least, float(room @ lam + t * (inc_rhs @ mu)
                                 + np.sum(np.maximum(c - price - t * inc_price, 0.0))
                                 + cap * np.sum(np.maximum(t * inc_price - y_cost, 0.0))))
    return least


def prefix_rows(sy: int, sx: int, boxes: np.ndarray) -> csr_matrix:
    """One row per box ``(y0, y1, x0, x1)`` of an ``sy x sx`` grid: its sum from the 2-D prefix sums
    ``P[y, x]`` (sum of the cells above and left of corner ``(y, x)``), stored row-major on ``(sy + 1, sx + 1)``."""
    b = np.array(boxes, dtype=np.int64).reshape(-1, 4)
    corner = np.stack([b[:, 1] * (sx + 1) + b[:, 3], b[:, 0] * (sx + 1) + b[:, 3], b[:, 1] * (sx + 1) + b[:, 2],
                       b[:, 0] * (sx + 1) + b[:, 2]], axis=1)
    sign = np.tile([1.0, -1.0, -1.0, 1.0], len(b))
    return csr_matrix((sign, (np.repeat(np.arange(len(b)), 4), corner.ravel())), shape=(len(b), (sy + 1) * (sx + 1)))


def most_alone(g: ConvGeometry, hardware: Hardware) -> int:
    """Most input neurons with a full window that share one core with all their targets, over all mappings.

    Such a neuron is interior to the positions its core holds whole, and takes a slot beside them: a core
    holding ``x`` positions whole holds at most ``min(c g(x), n_max - per_pos x)`` of them (``c`` input channels
    per position unit), at most ``rho = max_x of that / x`` per position unit, so ``rho`` times the units in all.
    """
    lim = hardware.limits
    cout, ho, wo = g.out_shape
    per_pos, cin = (1, 1) if g.depthwise else (cout, g.in_shape[0])
    # Not capped at the layer's positions: a core may hold pieces of several pooled channels, and g is superadditive.
    x = np.arange(1, lim.n_max // per_pos + 1)
    if not x.size:
        return 0
    fit = np.minimum(cin * np.array([interior_per_core(g, float(v)) for v in x]), lim.n_max - per_pos * x)
    units = ho * wo * (g.in_shape[0] if g.depthwise else 1)
    return int(math.floor(float(np.max(fit / x)) * units + 1e-9))


# The laminar greedy (a Python loop over the units) runs beside the LP up to this many units, and wherever the LP
# has no dual: it beats the LP on lines (HeartClass), never on the large images, where it was most of the time.
GREEDY_UNITS = 20000


def layer_raise(network: SpikingNetwork, hardware: Hardware, g: ConvGeometry, second: np.ndarray,
                alone: np.ndarray, third: np.ndarray | None = None) -> float:
    """Least extra cost of the layer's inputs with a full window over each one's own bound.

    ``second[i]``: what neuron ``i`` pays more with two destinations or more (at a tile border);
    ``alone[i]``: what it pays more with one destination that is not its own core; ``third[i]`` (optional):
    what it pays at least per destination beyond its second. The interior positions (at most
    :func:`most_interior`, and as many per block, see :func:`exempt_most`) are spared ``second - alone``,
    net of the destinations beyond the second the boxes' incidences force (:func:`box_lp_exempt`); all but
    the :func:`most_alone` neurons with the largest ``alone`` pay ``alone`` (the two exemptions taken apart: a
    relaxation of taking them together).
    """
    cin, h, w = g.in_shape
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    fy, fx = full_windows(h, g.out_shape[1], kh, sh, ph), full_windows(w, g.out_shape[2], kw, sw, pw)
    every = np.arange(g.in_offset, g.in_offset + cin * h * w).reshape(cin, h, w)
    take = every[np.ix_(np.arange(cin), fy, fx)]  # the full-window inputs
    full = fy[:, None] & fx[None, :]
    # The other inputs pay the second destination too, unless they have one only: free in the LP's x.
    gain = second[every] - np.where(full, alone[every], 0.0)
    # Incidences count the inputs' destinations from one each: only where every input has a target.
    # Poolings are left out: on the built-in applications their bound is the aligned tiling's already.
    extra = None if third is None or g.depthwise or not network.out_degree[every].all() else third[every]
    if not g.depthwise:  # a full convolution's input channels at one position share their targets: one unit
        gain = gain.sum(axis=0, keepdims=True)
        extra = None if extra is None else extra.sum(axis=0, keepdims=True)
    min_indeg = int(network.in_degree[g.out_offset:g.out_offset + int(np.prod(g.out_shape))].min())
    tau = whole_positions(g, hardware, min_indeg)
    spared = box_lp_exempt(g, tau, gain, np.arange(h), np.arange(w), extra, share_positions(g, hardware, min_indeg),
                           max(hardware.num_cores - 2, 0), (fy, fx))
    if not math.isfinite(spared) or gain.size <= GREEDY_UNITS:  # the laminar families' greedy, others all spared
        rows, cols = np.flatnonzero(fy), np.flatnonzero(fx)
        greedy = laminar_exempt(g, tau, gain[:, fy][:, :, fx], rows, cols) if take.size else 0.0
        spared = min(spared, float(np.sum(np.maximum(gain, 0.0)[:, ~full])) + greedy)
    lone = np.sort(alone[take].ravel())
    local = min(most_alone(g, hardware), lone.size)
    return float(second[every].sum() - spared - lone[lone.size - local:].sum())


def border_raise(network: SpikingNetwork, hardware: Hardware, second: np.ndarray, alone: np.ndarray,
                 third: np.ndarray | None = None, local: Callable[[ConvGeometry], float] | None = None) -> float:
    """What the convolutions' tile borders add to the communication bound (0 without geometry).

    Each input population counts once (a neuron feeding two convolutions is charged once). ``local``: another
    valid raise of a layer's inputs over the same per-neuron floor (:mod:`.bounds_local`); the larger is kept.
    """
    total, seen = 0.0, set()
    for g in conv_layers(network):
        if g.source not in seen:
            seen.add(g.source)
            total += max(layer_raise(network, hardware, g, second, alone, third), local(g) if local else 0.0)
    return total
