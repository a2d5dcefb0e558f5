"""VisualPursuit: a V1 -> MT -> pursuit motion model (after Beyeler et al.).

After Beyeler, Richert, Dutt & Krichmar, "Efficient spiking neural network
model of pattern motion selectivity in visual cortex", Neuroinformatics
12(3), 2014 (V1 direction-selective units, MT pooling with opponent
inhibition, a pursuit read-out), simplified to one speed:

- ``retina``: one input neuron per pixel;
- ``lagged``: a one-to-one relay of the retina (one extra step of delay);
- ``V1``: per direction ``d`` and pixel ``p``, a coincidence (Reichardt)
  detector with weight 1 from ``retina[p]`` and from ``lagged[p - d]`` and
  threshold 1.5 with no memory (leak 0): it fires when an edge moves one
  pixel along ``d`` per step;
- ``MT``: per direction, a 4 x 4 window (stride 2) of V1 units of that
  direction (excitatory) and of the opposite direction (inhibitory);
- ``pursuit``: one neuron per direction pooling all MT units of it, with
  lateral inhibition among the pursuit neurons (recurrence).

Full: 32 x 32 retina, 8 directions (12,296 neurons). Mini: a 1 x 4 retina
(one row), 2 directions (left, right), MT windows of 1 x 2 (22 neurons).

Input: seeded moving-bar stimuli (one per direction in ``sim_samples``
order, random phase), bars one pixel wide perpendicular to their motion,
repeated every ``period`` pixels, moving one pixel per step. Weights: fixed
by the model (documented constants). Spikes: simulated, summed over the
stimuli.
"""

from __future__ import annotations

import numpy as np

from snnmap.instances.apps._common import DT, Progress, check_scale, provenance, say
from snnmap.instances.layers import NetBuilder, conv2d_count, conv2d_edges
from snnmap.instances.network import SpikingNetwork
from snnmap.instances.simulator import simulate

NAME = "VisualPursuit"
VERSION = "1"
INPUT_SOURCE = "moving-bar stimuli (seeded generator)"
WEIGHT_SOURCE = "fixed model constants (Reichardt V1, opponent MT)"

_DIR8 = [(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)]  # (dx, dy)
SCALES = {
    "full": dict(height=32, width=32, directions=_DIR8, mt_kernel=[4, 4], mt_stride=[2, 2], mt_padding=[1, 1],
                 period=8, steps=64, w_mt=0.25, w_opp=-0.25, w_pursuit=0.05, w_lat=-1.0),
    "mini": dict(height=1, width=4, directions=[(1, 0), (-1, 0)], mt_kernel=[1, 2], mt_stride=[1, 2],
                 mt_padding=[0, 0], period=3, steps=48, w_mt=0.6, w_opp=-0.6, w_pursuit=0.6, w_lat=-1.0),
}


def _v1_edges(h: int, w: int, dirs: list[tuple[int, int]]):
    """Lagged-relay -> V1 synapses: V1[d, y, x] <- lagged[y - dy, x - dx] where inside the image."""
    y, x = np.divmod(np.arange(h * w), w)
    pres, posts = [], []
    for k, (dx, dy) in enumerate(dirs):
        sy, sx = y - dy, x - dx
        ok = (sy >= 0) & (sy < h) & (sx >= 0) & (sx < w)
        pres.append(sy[ok] * w + sx[ok])
        posts.append(k * h * w + np.flatnonzero(ok))
    return np.concatenate(pres), np.concatenate(posts)


def _opposite(dirs: list[tuple[int, int]]) -> np.ndarray:
    index = {tuple(d): k for k, d in enumerate(dirs)}
    return np.array([index[(-dx, -dy)] for dx, dy in dirs])


def sizes(scale: str = "mini") -> tuple[int, int]:
    """Neurons and synapses by arithmetic (no simulation)."""
    p = check_scale(scale, SCALES, NAME)
    h, w, nd = p["height"], p["width"], len(p["directions"])
    lag_syn = _v1_edges(h, w, p["directions"])[0].size
    mt_syn, mt_shape = conv2d_count((nd, h, w), 0, p["mt_kernel"], p["mt_stride"], p["mt_padding"], depthwise=True)
    n_mt = int(np.prod(mt_shape))
    neurons = 2 * h * w + nd * h * w + n_mt + nd
    synapses = h * w + nd * h * w + lag_syn + 2 * mt_syn + n_mt + nd * (nd - 1)
    return neurons, synapses


def stimuli(h: int, w: int, dirs: list[tuple[int, int]], period: int, steps: int, seed: int) -> np.ndarray:
    """Moving bars: ``(steps, len(dirs), h * w)`` binary frames, one stimulus per direction."""
    rng = np.random.default_rng(seed)
    y, x = np.divmod(np.arange(h * w), w)
    t = np.arange(steps)[:, None, None]
    proj = np.stack([x * dx + y * dy for dx, dy in dirs])[None]          # (1, D, P)
    speed = np.array([dx * dx + dy * dy for dx, dy in dirs])[None, :, None]
    phase = rng.integers(0, period, len(dirs))[None, :, None]
    return ((proj - t * speed - phase) % period == 0).astype(np.float64)


def build(scale: str = "mini", seed: int = 0, progress: Progress = None) -> SpikingNetwork:
    """Build and simulate the motion model at ``scale``."""
    p = check_scale(scale, SCALES, NAME)
    h, w = p["height"], p["width"]
    dirs = [tuple(d) for d in p["directions"]]
    nd, npx = len(dirs), h * w
    nb = NetBuilder()
    ret = nb.add("retina", (1, h, w))
    lag = nb.add("lagged", (1, h, w))
    v1 = nb.add("V1", (nd, h, w), v_th=1.5, leak=0.0)
    ids = np.arange(npx)
    nb.connect(ret, lag, ids, ids, 1.0)
    nb.connect(ret, v1, np.tile(ids, nd), np.arange(nd * npx), 1.0)
    lp, vp = _v1_edges(h, w, dirs)
    nb.connect(lag, v1, lp, vp, 1.0)
    mpre, mpost, _, mt_shape = conv2d_edges((nd, h, w), 0, p["mt_kernel"], p["mt_stride"], p["mt_padding"],
                                            depthwise=True)
    mt = nb.add("MT", mt_shape, leak=0.9)
    nb.connect(v1, mt, mpre, mpost, p["w_mt"])
    # Opponent inhibition: the same window of the opposite direction's V1 map.
    opp = _opposite(dirs)
    ch, rest = np.divmod(mpre, npx)
    nb.connect(v1, mt, opp[ch] * npx + rest, mpost, p["w_opp"])
    pur = nb.add("pursuit", nd, leak=0.9)
    per_map = int(np.prod(mt_shape[1:]))
    nb.connect(mt, pur, np.arange(nd * per_map), np.repeat(np.arange(nd), per_map), p["w_pursuit"])
    a, b = np.nonzero(~np.eye(nd, dtype=bool))
    nb.connect(pur, pur, a, b, p["w_lat"])
    frames = stimuli(h, w, dirs, p["period"], p["steps"], seed)
    say(progress, f"{NAME}: simulating {nd} moving-bar stimuli x {p['steps']} steps")
    v_th, leak = nb.neuron_params()
    res = simulate(nb.matrix(), ret.ids, frames, p["steps"], v_th=v_th, leak=leak, encoding="rate")
    # Direction read-out: how often the most active pursuit neuron is the stimulus direction.
    hits = float(np.mean(res.counts[:, pur.ids].argmax(axis=1) == np.arange(nd)))
    prov = provenance(__name__, VERSION, seed, scale, data_source=INPUT_SOURCE, weight_source=WEIGHT_SOURCE,
                      params=p, pursuit_direction_accuracy=hits, sim_steps=p["steps"], sim_samples=nd,
                      encoding="rate")
    return nb.network(res.total, t_run=nd * p["steps"] * DT, name=f"{NAME}:{scale}", provenance=prov)
