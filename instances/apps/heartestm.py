"""HeartEstm: heart-rate estimation from a PPG signal with a liquid-state-machine reservoir.

Topology (Maass, Natschlaeger & Markram, Neural Computation 14(11), 2002):
input channels -> a reservoir of LIF neurons on a 3-D grid (80 % excitatory,
20 % inhibitory), connected with probability ``C * exp(-(D / lambda)^2)`` for
grid distance ``D`` (``C`` = 0.3 EE, 0.2 EI, 0.4 IE, 0.1 II; ``lambda`` = 2)
-> a readout layer with one neuron per heart-rate bin. Each input channel
projects to a seeded 30 % of the reservoir.

Input: seeded synthetic PPG traces (:mod:`instances.apps.signals`) at heart
rates drawn from 50-120 bpm, sampled at 1 kHz (one step per ms), encoded by
Gaussian tuning curves over the signal amplitude (channel ``k`` fires with
probability ``0.5 exp(-(x - c_k)^2 / (2 sigma^2))``, Poisson).

Weights: reservoir weights fixed (seeded); readout trained here by ridge
regression of the heart-rate bin (one-hot) on reservoir spike counts over
``n_train`` traces, then scaled so the 99.9th-percentile drive reaches
threshold. A separate ridge regression of the heart rate itself gives the
reported estimation error on ``n_test`` held-out traces. Spikes: the
simulated counts on ``sim_samples`` held-out traces, summed.

Scales: full = 16 channels, 10 x 10 x 10 reservoir, 8 bins (1,024 neurons);
mini = 2 channels, 3 x 3 x 2 reservoir (lambda = 3 so that it stays
connected), 2 bins (22 neurons).
"""

from __future__ import annotations

import numpy as np

from snnmap.instances.apps._common import DT, Progress, check_scale, provenance, say
from snnmap.instances.apps.signals import ppg
from snnmap.instances.layers import NetBuilder
from snnmap.instances.network import SpikingNetwork
from snnmap.instances.simulator import simulate

NAME = "HeartEstm"
VERSION = "1"
INPUT_SOURCE = "synthetic PPG (seeded generator), population-coded"
WEIGHT_SOURCE = "seeded LSM reservoir (Maass 2002) + ridge-trained readout"

SCALES = {
    "full": dict(channels=16, grid=[10, 10, 10], lam=2.0, bins=8, steps=2000, n_train=48, n_test=16,
                 sim_samples=2, w_in=0.5, w_ee=0.3, w_ei=0.6, w_ie=-0.6, w_ii=-0.6, leak=0.95),
    "mini": dict(channels=2, grid=[3, 3, 2], lam=3.0, bins=2, steps=1000, n_train=24, n_test=8,
                 sim_samples=2, w_in=0.5, w_ee=0.3, w_ei=0.6, w_ie=-0.6, w_ii=-0.6, leak=0.95),
}
HR_RANGE = (50.0, 120.0)
_C = {("E", "E"): 0.3, ("E", "I"): 0.2, ("I", "E"): 0.4, ("I", "I"): 0.1}


def reservoir_edges(grid: list[int], lam: float, rng: np.random.Generator):
    """Pre, post and excitatory flag of a Maass-style reservoir on ``grid``."""
    n = int(np.prod(grid))
    pos = np.stack(np.unravel_index(np.arange(n), grid), axis=1).astype(float)
    exc = np.ones(n, dtype=bool)
    exc[rng.permutation(n)[: int(round(0.2 * n))]] = False
    d2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(axis=2)
    c = np.where(exc[:, None], np.where(exc[None, :], _C["E", "E"], _C["E", "I"]),
                 np.where(exc[None, :], _C["I", "E"], _C["I", "I"]))
    prob = c * np.exp(-d2 / lam**2)
    np.fill_diagonal(prob, 0.0)
    pre, post = np.nonzero(rng.random((n, n)) < prob)
    return pre.astype(np.int64), post.astype(np.int64), exc


def _structure(p: dict, seed: int):
    rng = np.random.default_rng(seed)
    n_res = int(np.prod(p["grid"]))
    pre, post, exc = reservoir_edges(p["grid"], p["lam"], rng)
    in_pre, in_post = np.nonzero(rng.random((p["channels"], n_res)) < 0.3)
    return rng, n_res, pre, post, exc, in_pre.astype(np.int64), in_post.astype(np.int64)


def sizes(scale: str = "mini", seed: int = 0) -> tuple[int, int]:
    """Neurons and synapses (the reservoir is random: its edges are drawn, nothing is simulated)."""
    p = check_scale(scale, SCALES, NAME)
    _, n_res, pre, _, _, in_pre, _ = _structure(p, seed)
    return p["channels"] + n_res + p["bins"], pre.size + in_pre.size + n_res * p["bins"]


def _encode(traces: np.ndarray, channels: int) -> np.ndarray:
    """Gaussian tuning curves: ``(steps, samples, channels)`` firing probabilities."""
    centres = np.linspace(0.0, 1.0, channels)
    sigma = 1.0 / max(channels - 1, 1)
    return 0.5 * np.exp(-((traces.T[:, :, None] - centres) ** 2) / (2 * sigma**2))


def build(scale: str = "mini", seed: int = 0, progress: Progress = None) -> SpikingNetwork:
    """Build the reservoir, train its readout and simulate it at ``scale``."""
    p = check_scale(scale, SCALES, NAME)
    rng, n_res, pre, post, exc, in_pre, in_post = _structure(p, seed)
    nb = NetBuilder()
    inp = nb.add("input", p["channels"])
    res = nb.add("reservoir", n_res, leak=p["leak"])
    ee = exc[pre] & exc[post]
    ei = exc[pre] & ~exc[post]
    ie = ~exc[pre] & exc[post]
    w = np.select([ee, ei, ie], [p["w_ee"], p["w_ei"], p["w_ie"]], p["w_ii"])
    nb.connect(inp, res, in_pre, in_post, p["w_in"])
    nb.connect(res, res, pre, post, w)
    # Traces: training, testing, then the ones whose spikes define the instance.
    n_all = p["n_train"] + p["n_test"]
    hr = rng.uniform(*HR_RANGE, n_all)
    traces = np.stack([ppg(h, p["steps"] * DT, 1.0 / DT, rng) for h in hr])
    say(progress, f"{NAME}: simulating the reservoir on {n_all} PPG traces")
    rates = _encode(traces, p["channels"])
    counts = simulate(nb.matrix(), inp.ids, rates, p["steps"], leak=nb.neuron_params()[1],
                      encoding="poisson", seed=seed).counts[:, res.ids]
    feats = counts / p["steps"]
    tr, te = slice(0, p["n_train"]), slice(p["n_train"], n_all)
    edges = np.linspace(*HR_RANGE, p["bins"] + 1)
    bins = np.clip(np.searchsorted(edges, hr, side="right") - 1, 0, p["bins"] - 1)
    ridge = lambda a, b: np.linalg.solve(a.T @ a + 1e-2 * np.eye(a.shape[1]), a.T @ b)  # noqa: E731
    xtr = np.column_stack([feats[tr], np.ones(p["n_train"])])
    xte = np.column_stack([feats[te], np.ones(p["n_test"])])
    coef_hr = ridge(xtr, hr[tr])
    mae = float(np.mean(np.abs(xte @ coef_hr - hr[te])))
    # Readout neurons: the ridge classifier's weights, scaled to threshold drive.
    w_out = ridge(feats[tr], np.eye(p["bins"])[bins[tr]] - 1.0 / p["bins"])
    drive = feats[tr] @ w_out
    w_out = w_out / max(float(np.percentile(drive[drive > 0], 99.9)) if np.any(drive > 0) else 1.0, 1e-12)
    out = nb.add("readout", p["bins"])
    rp, op = np.meshgrid(np.arange(n_res), np.arange(p["bins"]), indexing="ij")
    nb.connect(res, out, rp.ravel(), op.ravel(), w_out.ravel())
    sim = slice(p["n_train"], p["n_train"] + p["sim_samples"])
    v_th, leak = nb.neuron_params()
    say(progress, f"{NAME}: simulating {p['sim_samples']} held-out trace(s)")
    total = simulate(nb.matrix(), inp.ids, rates[:, sim], p["steps"], v_th=v_th, leak=leak,
                     encoding="poisson", seed=seed + 1).total
    prov = provenance(__name__, VERSION, seed, scale, data_source=INPUT_SOURCE, weight_source=WEIGHT_SOURCE,
                      params=p, hr_test_mae_bpm=mae, hr_range_bpm=list(HR_RANGE), sim_steps=p["steps"],
                      sim_samples=p["sim_samples"], encoding="poisson")
    return nb.network(total, t_run=p["sim_samples"] * p["steps"] * DT, name=f"{NAME}:{scale}", provenance=prov)
