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
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, hstack, identity

from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork
from snnmap.instances.geometry import ConvGeometry, conv_layers


def full_windows(size_in: int, size_out: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """Inputs along one axis whose window of outputs is not clipped by the border (a mask)."""
    q = np.arange(size_in)
    lo = -(-(q + padding - kernel + 1) // stride)
    hi = (q + padding) // stride
    return (lo >= 0) & (hi <= size_out - 1) & (lo <= hi)


def interior_per_core(g: ConvGeometry, positions: float) -> float:
    """Most inputs with a full window whose targets all fit ``positions`` output positions held whole."""
    (kh, kw), (sh, sw) = g.kernel, g.stride
    dy, dx = kh - sh, kw - sw
    if dy < 0 or dx < 0:  # strides past the kernel leave gaps: no argument, every input may be interior
        return float(sh * sw * positions)
    if g.in_shape[1] == 1:  # one row: a line, every set of positions holds at most s |A| - (k - s)
        return max(0.0, sw * positions - dx)
    root = math.sqrt(sh * sw * positions) - math.sqrt(dy * dx)
    return root * root if root > 0 else 0.0


def whole_positions(g: ConvGeometry, hardware: Hardware, min_indeg: int) -> int:
    """``tau``: most output positions (of one channel for a pooling) one core can hold whole."""
    lim = hardware.limits
    cout, ho, wo = g.out_shape
    per_pos = 1 if g.depthwise else cout  # neurons of one position one input reaches
    tau = min(lim.n_max // per_pos, ho * wo)
    if lim.syn_max is not None and min_indeg > 0:
        tau = min(tau, lim.syn_max // (per_pos * min_indeg))
    return max(tau, 0)


def interior_within(g: ConvGeometry, tau: int, positions: int) -> int:
    """Most inputs whose windows lie inside ``positions`` output positions shared by cores holding ``tau`` whole.

    ``g`` is convex in the positions a core holds, so the most is reached with full cores and one remainder.
    """
    if tau <= 0:
        return 0
    whole, rest = divmod(positions, tau)
    return int(math.floor(whole * interior_per_core(g, tau) + interior_per_core(g, rest) + 1e-9))


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
    return min(best, box_lp_exempt(g, tau, gain, rows, cols))


LP_GRID = 16  # super-cells per axis of the box LP (boxes of whole super-cells)


def box_lp_exempt(g: ConvGeometry, tau: int, gain: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """Most total ``gain`` interior inputs can take under the count of every box of inputs at once (an LP).

    Every box of full-window inputs holds at most :func:`interior_within` of its span interior, as in
    :func:`exempt_most`; the boxes here are all unions of consecutive super-cells (the grid cut into at most
    :data:`LP_GRID` parts per axis), which overlap, so no greedy is exact. The LP ``max gain . x``,
    ``0 <= x <= 1``, one row per box is a relaxation of the interior set; its value is certified from the
    dual alone: for any ``y >= 0``, ``room . y + sum max(0, gain - A^T y)`` is at least the maximum (weak
    duality), so a solver's tolerance or failure cannot make it too low (``inf`` when there is no dual).
    """
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    units, ny, nx = gain.shape
    cy, cx = _equal_cuts(ny, min(LP_GRID, ny)), _equal_cuts(nx, min(LP_GRID, nx))
    span_y = {(a, b): _window_span(int(rows[cy[a]]), int(rows[cy[b] - 1]), kh, sh, ph)
              for a in range(cy.size - 1) for b in range(a + 1, cy.size)}
    span_x = {(a, b): _window_span(int(cols[cx[a]]), int(cols[cx[b] - 1]), kw, sw, pw)
              for a in range(cx.size - 1) for b in range(a + 1, cx.size)}
    boxes, room = [], []
    for (y0, y1), sy in span_y.items():
        for (x0, x1), sx in span_x.items():
            r = interior_within(g, tau, units * sy * sx)
            if r < units * (cy[y1] - cy[y0]) * (cx[x1] - cx[x0]):  # boxes with room for all their cells never bind
                boxes.append((y0, y1, x0, x1))
                room.append(r)
    if not boxes:
        return float(np.sum(np.maximum(gain, 0.0)))
    # Super-cell of each cell; a box row covers the super-cells of its box.
    sup = ((np.searchsorted(cy, np.arange(ny), side="right") - 1)[:, None] * (cx.size - 1)
           + (np.searchsorted(cx, np.arange(nx), side="right") - 1)[None, :]).ravel()
    cell_sup = np.tile(sup, units)
    grid = np.arange((cy.size - 1) * (cx.size - 1)).reshape(cy.size - 1, cx.size - 1)
    members = [grid[y0:y1, x0:x1].ravel() for y0, y1, x0, x1 in boxes]
    box_sup = csr_matrix((np.ones(sum(m.size for m in members)),
                          (np.repeat(np.arange(len(boxes)), [m.size for m in members]), np.concatenate(members))),
                         shape=(len(boxes), grid.size))
    # Variables: the cells' x, then one total per super-cell (its cells' sum, an equality row), which the box
    # rows bound: few nonzeros however many cells a box holds.
    c = gain.ravel().astype(np.float64)
    n, supers = c.size, grid.size
    a_ub = hstack([csr_matrix((len(boxes), n)), box_sup]).tocsr()
    a_eq = hstack([csr_matrix((np.full(n, -1.0), (cell_sup, np.arange(n))), shape=(supers, n)),
                   identity(supers, format="csr")]).tocsr()
    rhs = np.array(room, dtype=np.float64)
    scale = float(np.max(np.abs(c))) or 1.0  # gains in joules are ~1e-8: the solver's tolerances need unit size
    res = linprog(np.concatenate([-c / scale, np.zeros(supers)]), A_ub=a_ub, b_ub=rhs, A_eq=a_eq,
                  b_eq=np.zeros(supers), bounds=[(0, 1)] * n + [(0, None)] * supers, method="highs")
    marg = getattr(getattr(res, "ineqlin", None), "marginals", None)
    if marg is None:
        return float("inf")
    y = scale * np.maximum(-np.asarray(marg, dtype=np.float64), 0.0)
    reduced = c - (box_sup.T @ y)[cell_sup]
    return float(rhs @ y + np.sum(np.maximum(reduced, 0.0)))


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


def layer_raise(network: SpikingNetwork, hardware: Hardware, g: ConvGeometry, second: np.ndarray,
                alone: np.ndarray) -> float:
    """Least extra cost of the layer's inputs with a full window over each one's own bound.

    ``second[i]``: what neuron ``i`` pays more with two destinations or more (at a tile border);
    ``alone[i]``: what it pays more with one destination that is not its own core. The interior positions
    (at most :func:`most_interior`, and as many per block, see :func:`exempt_most`) are spared
    ``second - alone``; all but the :func:`most_alone` neurons with the largest ``alone`` pay ``alone``
    (the two exemptions taken apart: a relaxation of taking them together).
    """
    cin, h, w = g.in_shape
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    rows = np.flatnonzero(full_windows(h, g.out_shape[1], kh, sh, ph))
    cols = np.flatnonzero(full_windows(w, g.out_shape[2], kw, sw, pw))
    take = np.arange(g.in_offset, g.in_offset + cin * h * w).reshape(cin, h, w)[np.ix_(np.arange(cin), rows, cols)]
    gain = second[take] - alone[take]
    # A full convolution's input channels at one position share their targets: one unit per position.
    gain = gain if g.depthwise else gain.sum(axis=0, keepdims=True)
    min_indeg = int(network.in_degree[g.out_offset:g.out_offset + int(np.prod(g.out_shape))].min())
    spared = exempt_most(g, whole_positions(g, hardware, min_indeg), gain, rows, cols) if take.size else 0.0
    lone = np.sort(alone[take].ravel())
    local = min(most_alone(g, hardware), lone.size)
    return float(second[take].sum() - spared - lone[lone.size - local:].sum())


def border_raise(network: SpikingNetwork, hardware: Hardware, second: np.ndarray, alone: np.ndarray) -> float:
    """What the convolutions' tile borders add to the communication bound (0 without geometry).

    Each input population counts once (a neuron feeding two convolutions is charged once).
    """
    total, seen = 0.0, set()
    for g in conv_layers(network):
        if g.source not in seen:
            seen.add(g.source)
            total += layer_raise(network, hardware, g, second, alone)
    return total
