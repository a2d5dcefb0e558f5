"""Shared code of the image-filter applications (EdgeDet, ImgSmooth)."""

from __future__ import annotations

from typing import Any

import numpy as np

from snnmap.instances.apps._common import DT, photo_crops, provenance
from snnmap.instances.layers import NetBuilder, conv2d_edges
from snnmap.instances.network import SpikingNetwork
from snnmap.instances.simulator import simulate


def filter_network(app: str, module: str, version: str, scale: str, seed: int, p: dict[str, Any],
                   kernels: np.ndarray, names: str, data_source: str, weight_source: str) -> SpikingNetwork:
    """Grey photograph -> one IF population per kernel (a fixed-weight convolution).

    Kernel weights are scaled so that the 99.9th percentile of a map's positive
    response to the photograph equals one threshold per step (the same
    data-based normalisation as for the converted CNNs).
    """
    img = photo_crops(p["size"], 1, 1, seed)  # (1, 1, H, W)
    shape = (1, p["size"], p["size"])
    pre, post, kidx, out_shape = conv2d_edges(shape, len(kernels), p["kernel"], p["stride"], p["padding"])
    x = img.reshape(-1)
    # Response of every output neuron to the image, per kernel, to normalise weights.
    resp = np.bincount(post, weights=kernels.ravel()[kidx] * x[pre], minlength=int(np.prod(out_shape)))
    resp = resp.reshape(len(kernels), -1)
    scale_k = np.array([np.percentile(r[r > 0], 99.9) if np.any(r > 0) else 1.0 for r in resp])
    w = (kernels / scale_k[:, None, None, None]).ravel()[kidx]
    nb = NetBuilder()
    inp = nb.add("input", shape)
    out = nb.add(names, out_shape)
    nb.connect(inp, out, pre, post, w)
    res = simulate(nb.matrix(), inp.ids, x[None, :], p["steps"], encoding="rate")
    prov = provenance(module, version, seed, scale, data_source=data_source, weight_source=weight_source,
                      params=p, kernel_scale=[float(v) for v in scale_k], sim_steps=p["steps"], sim_samples=1,
                      encoding="rate")
    return nb.network(res.total, t_run=p["steps"] * DT, name=f"{app}:{scale}", provenance=prov)
