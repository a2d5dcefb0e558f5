"""DigitRecogSTDP: unsupervised digit recognition after Diehl & Cook (Front. Comput. Neurosci. 2015).

Topology: Poisson input (one neuron per pixel) -> excitatory layer
(all-to-all, plastic) -> inhibitory layer (one-to-one) -> every *other*
excitatory neuron (lateral inhibition, a winner-take-all). Full: 28 x 28
input, 400 excitatory and 400 inhibitory neurons (Diehl & Cook's smallest
network; 1,584 neurons). Mini: 3 x 3 input, 5 + 5 neurons (19 neurons).

Dynamics (discrete time, 1 ms steps, potentials in mV above rest, current
synapses instead of conductances): excitatory LIF, tau 100 ms, threshold
13 mV plus an adaptive offset ``theta`` (+0.05 mV per spike during training,
frozen afterwards); inhibitory LIF, tau 10 ms, threshold 25 mV; exc->inh
weight 30 mV, inh->exc -17 mV; input weights ``w`` in [0, 1] times a gain of
``784 / n_in`` mV (1 mV at full scale; the mini's 9 inputs get the same total drive).

Weights: initialised uniformly in [0, 0.3] (seeded), then a short STDP run on
``n_train`` digit images (``present`` steps each, input rate = intensity x
0.25 per step, i.e. 63.75 Hz as in the paper at 0.25 scaling of 255): on an
excitatory spike, ``w += eta (x_pre - x_tar)`` with a presynaptic trace
``x_pre`` (tau 20 ms), clipped to [0, 1], then each neuron's input weights
are renormalised to sum to ``0.1 * n_in`` (Diehl & Cook: 78 for 784 inputs).
Spikes: the trained network with frozen thresholds, simulated by
:func:`instances.simulator.simulate` on ``sim_samples`` test images (Poisson,
seeded), summed.
"""

from __future__ import annotations

import numpy as np

from snnmap.instances.apps._common import DT, Progress, balanced, check_scale, digits, provenance, say
from snnmap.instances.layers import NetBuilder
from snnmap.instances.network import SpikingNetwork
from snnmap.instances.simulator import simulate

NAME = "DigitRecogSTDP"
VERSION = "1"
INPUT_SOURCE = "sklearn load_digits (UCI optical digits), resized, Poisson"
WEIGHT_SOURCE = "uniform init + short STDP run (Diehl & Cook 2015 style)"

SCALES = {
    "full": dict(size=28, n_exc=400, n_train=150, present=150, sim_samples=4, steps=250, classes=list(range(10))),
    "mini": dict(size=3, n_exc=5, n_train=60, present=150, sim_samples=4, steps=250, classes=[0, 1, 2]),
}
V_EXC, V_INH, TAU_E, TAU_I, TAU_PRE = 13.0, 25.0, 100.0, 10.0, 20.0
W_EI, W_IE, GAIN_784, THETA_PLUS, ETA, X_TAR, RATE_SCALE = 30.0, -17.0, 1.0, 0.05, 0.01, 0.4, 0.25


def sizes(scale: str = "mini") -> tuple[int, int]:
    """Neurons and synapses by arithmetic."""
    p = check_scale(scale, SCALES, NAME)
    n_in, n_e = p["size"] ** 2, p["n_exc"]
    return n_in + 2 * n_e, n_in * n_e + n_e + n_e * (n_e - 1)


def stdp_train(x: np.ndarray, n_exc: int, present: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Short unsupervised STDP run; returns input weights ``(n_in, n_exc)`` and thresholds offsets."""
    n_in = x.shape[1]
    gain = GAIN_784 * 784 / n_in
    w = rng.uniform(0.0, 0.3, (n_in, n_exc))
    theta = np.zeros(n_exc)
    target = 0.1 * n_in
    de, di, dp = np.exp(-1 / TAU_E), np.exp(-1 / TAU_I), np.exp(-1 / TAU_PRE)
    for img in x:
        ve, vi, xpre = np.zeros(n_exc), np.zeros(n_exc), np.zeros(n_in)
        se, si = np.zeros(n_exc), np.zeros(n_exc)
        rate = img * RATE_SCALE
        for _ in range(present):
            s_in = (rng.random(n_in) < rate).astype(np.float64)
            xpre = xpre * dp + s_in
            inh = W_IE * (si.sum() - si)  # every other inhibitory neuron's spike
            ve = ve * de + gain * (s_in @ w) + inh
            vi = vi * di + W_EI * se
            se = (ve >= V_EXC + theta).astype(np.float64)
            si = (vi >= V_INH).astype(np.float64)
            ve[se > 0] = 0.0
            vi[si > 0] = 0.0
            if se.any():
                fired = se > 0
                w[:, fired] = np.clip(w[:, fired] + ETA * (xpre - X_TAR)[:, None], 0.0, 1.0)
                theta += THETA_PLUS * se
        w *= target / np.maximum(w.sum(axis=0, keepdims=True), 1e-12)
    return w, theta


def build(scale: str = "mini", seed: int = 0, progress: Progress = None) -> SpikingNetwork:
    """STDP-train and simulate the network at ``scale``."""
    p = check_scale(scale, SCALES, NAME)
    xtr, _, xte, yte = digits(p["size"], p["classes"], seed)
    rng = np.random.default_rng(seed)
    n_in, n_e = xtr.shape[1], p["n_exc"]
    say(progress, f"{NAME}: STDP on {p['n_train']} images")
    w, theta = stdp_train(xtr[: p["n_train"]], n_e, p["present"], rng)
    nb = NetBuilder()
    inp = nb.add("input", (1, p["size"], p["size"]))
    exc = nb.add("excitatory", n_e, v_th=V_EXC, leak=float(np.exp(-1 / TAU_E)))
    inh = nb.add("inhibitory", n_e, v_th=V_INH, leak=float(np.exp(-1 / TAU_I)))
    a, b = np.meshgrid(np.arange(n_in), np.arange(n_e), indexing="ij")
    nb.connect(inp, exc, a.ravel(), b.ravel(), GAIN_784 * 784 / n_in * w.ravel())
    nb.connect(exc, inh, np.arange(n_e), np.arange(n_e), W_EI)
    i, j = np.nonzero(~np.eye(n_e, dtype=bool))
    nb.connect(inh, exc, i, j, W_IE)
    v_th, leak = nb.neuron_params()
    v_th[exc.ids] += theta  # adaptive thresholds frozen after training
    x_sim = balanced(xte, yte, p["sim_samples"]) * RATE_SCALE
    say(progress, f"{NAME}: simulating {len(x_sim)} test images")
    res = simulate(nb.matrix(), inp.ids, x_sim, p["steps"], v_th=v_th, leak=leak, encoding="poisson",
                   reset="zero", seed=seed + 1)
    prov = provenance(__name__, VERSION, seed, scale, data_source=INPUT_SOURCE, weight_source=WEIGHT_SOURCE,
                      params=p, theta_mean_mv=float(theta.mean()), sim_steps=p["steps"],
                      sim_samples=len(x_sim), encoding="poisson")
    return nb.network(res.total, t_run=len(x_sim) * p["steps"] * DT, name=f"{NAME}:{scale}", provenance=prov)
