"""The stored mappings and the bound with every input spiking its layer's mean: how much of the gap is the weighting.

    python scripts/results/xc/uniform_spikes.py EdgeDet,ImgSmooth [MAPS]    # MAPS: full_gaps.py --keep-mappings
"""

from __future__ import annotations

import dataclasses
import sys
import time

import numpy as np

from snnmap.formulations.bounds import bound_terms
from snnmap.formulations.energy import evaluate
from snnmap.instances.geometry import conv_layers
from snnmap.prepare import prepared

maps = sys.argv[2] if len(sys.argv) > 2 else "/tmp/xc_maps3"
for app in sys.argv[1].split(","):
    net, hw = prepared(app, "full", "crossbar128")
    g = conv_layers(net)[0]
    inputs = slice(g.in_offset, g.in_offset + int(np.prod(g.in_shape)))
    spikes = net.spikes.copy()
    spikes[inputs] = spikes[inputs].mean()
    uniform = dataclasses.replace(net, spikes=spikes)
    with np.load(f"{maps}/{app}_crossbar128_40s.npz") as f:
        core_of = f["core_of"]
    clock = time.perf_counter()
    bound = bound_terms(uniform, hw)
    seconds = time.perf_counter() - clock
    rep = evaluate(uniform, hw, core_of, link_loads=False)
    mapped = rep.terms["comm"] + rep.terms["static"]
    least = bound["comm"] + bound["static"]
    print(f"{app} uniform spikes: mapping comm {rep.terms['comm']:.4g} static {rep.terms['static']:.4g} | "
          f"bound comm {bound['comm']:.4g} static {bound['static']:.4g} | gap {100 * (mapped - least) / least:.1f}% "
          f"({seconds:.0f}s)", flush=True)
