"""The least comm + static energy of any tiling in horizontal bands (issue 15 item 2, branch xd).

Run from the repository root: ``python scripts/results/xd/band_ceiling.py EdgeDet,ImgSmooth``. Tiles are
rectangles of output positions (all channels) in horizontal bands of any height, each band cut into tiles of any
width, every tile within ``n_max`` with its home inputs, ``a_max`` and ``syn_max`` (``heuristics.recut.widest``).
An input's packets are the tiles its window meets less one, each at least ``e_route + e_hop`` (25 pJ), plus one
local delivery (``e_local``): the least of ``sum over tiles (reads + static)`` over every such tiling, a dynamic
program over the bands' rows around one over each band's columns (vectorised over the bands' first rows), bounds
the comm + static energy of every mapping of this family from below, whatever its layout on the mesh.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from snnmap.heuristics.recut import _read, widest
from snnmap.instances.geometry import conv_layers
from snnmap.prepare import prepared


def ceiling(app: str) -> tuple[float, float, int]:
    net, hw = prepared(app, "full", "crossbar128")
    (g,) = conv_layers(net)
    cin, h, w = g.in_shape
    _, ho, wo = g.out_shape
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    e = hw.energy
    unit = e.e_route + e.e_hop
    spikes = net.spikes[g.in_offset:g.in_offset + cin * h * w].reshape(cin, h, w).sum(axis=0)
    grid = np.zeros((h + 1, w + 1))
    grid[1:, 1:] = spikes.cumsum(axis=0).cumsum(axis=1)
    static = net.t_run * e.p_static / unit if hw.power_gating else 0.0
    band = {}  # height -> least reads + static of the band starting at each row
    for a in range(1, ho + 1):
        width = widest(g, hw, a)
        if not width:
            continue
        y0 = np.arange(ho - a + 1)
        lo, hi = np.clip(sh * y0 - ph, 0, h), np.clip(sh * (y0 + a - 1) - ph + kh, 0, h)
        prefix = grid[hi] - grid[lo]
        best = np.full((y0.size, wo + 1), np.inf)
        best[:, 0] = 0.0
        for x1 in range(1, wo + 1):
            for b in range(1, min(width, x1) + 1):
                xl, xh = _read(x1 - b, x1 - 1, w, kw, sw, pw)
                best[:, x1] = np.minimum(best[:, x1], best[:, x1 - b] + prefix[:, xh] - prefix[:, xl] + static)
        band[a] = best[:, wo]
    rows = np.full(ho + 1, np.inf)
    rows[0] = 0.0
    for y1 in range(1, ho + 1):
        rows[y1] = min(rows[y1 - a] + band[a][y1 - a] for a in band if a <= y1)
    total = float(spikes.sum())
    return ((rows[ho] - total) * unit + total * e.e_local) * 1e6, total, len(band)


if __name__ == "__main__":
    for app in sys.argv[1].split(","):
        clock = time.perf_counter()
        energy, spikes, heights = ceiling(app)
        print(f"{app} crossbar128: band tilings' comm + static >= {energy:.3f} uJ "
              f"({spikes:.0f} input spikes, {heights} band heights; {time.perf_counter() - clock:.1f} s)")
