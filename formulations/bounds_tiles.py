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

Every other input (with a full window) reaches two cores or more. The bound
lets the inputs whose second destination would cost most be the interior ones
and charges the second destination to all the rest.
"""

from __future__ import annotations

import math

import numpy as np

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


BLOCK_SIDES = (8, 16, 32, 64)  # input blocks tried for the block-local count (besides the whole layer)


def exempt_most(g: ConvGeometry, tau: int, gain: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """Largest total ``gain`` the interior positions can take, least over the counts tried.

    ``gain[u, y, x]``: the gain of input unit ``u`` (a channel for a pooling, else the whole position) at the
    full-window input row ``rows[y]`` and column ``cols[x]``. The whole layer holds at most
    :func:`interior_within` of all positions interior; so does every block of inputs, counted on the output
    positions its windows reach (the lemma holds for any set of positions, here a core's whole positions
    inside that region), which keeps the exempt inputs near each other instead of the layer's best anywhere.
    """
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    flat = np.sort(gain.ravel())[::-1]
    units = gain.shape[0]
    best = float(flat[:min(interior_within(g, tau, g.out_shape[1] * g.out_shape[2] * units), flat.size)].sum())
    for side in BLOCK_SIDES:
        if side >= max(rows.size, cols.size):
            break
        total = 0.0
        for y0 in range(0, rows.size, side):
            ry = _window_span(int(rows[y0]), int(rows[min(y0 + side, rows.size) - 1]), kh, sh, ph)
            for x0 in range(0, cols.size, side):
                rx = _window_span(int(cols[x0]), int(cols[min(x0 + side, cols.size) - 1]), kw, sw, pw)
                block = np.sort(gain[:, y0:y0 + side, x0:x0 + side].ravel())[::-1]
                total += float(block[:min(interior_within(g, tau, ry * rx * units), block.size)].sum())
        best = min(best, total)
    return best


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
