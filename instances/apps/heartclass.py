"""HeartClass: heartbeat classification with a 1-D CNN on ECG beats, converted to an SNN.

Topology (full): a 256-sample beat window -> conv 8@7 -> pooling 2 ->
conv 16@5 -> pooling 2 -> dense 64 -> 4 classes (N, S, V, F), the
conv-pool-conv-pool-dense shape of 1-D CNN heartbeat classifiers such as
Kiranyaz et al., IEEE TBME 63(3), 2016. One-dimensional layers are 2-D layers
of height 1 (kernels ``1 x k``).

Data: seeded synthetic ECG beats (:mod:`instances.apps.signals`; no ECG
database ships with an installed package). Weights: trained here (numpy Adam),
converted by data-based normalisation. Spikes: rate-coded samples, IF
neurons, summed over ``sim_samples`` test beats.

Scales: ``mini`` is a 6-sample window -> conv 2@3 -> pooling 2 -> dense 2 ->
2 classes (N, V).
"""

from __future__ import annotations

from snnmap.instances.apps._common import LayerSpec, Progress, balanced, check_scale, ff_network, plan_sizes
from snnmap.instances.apps.signals import ecg_beats
from snnmap.instances.network import SpikingNetwork

NAME = "HeartClass"
VERSION = "1"
INPUT_SOURCE = "synthetic ECG beats (seeded ECGSYN-style generator)"
WEIGHT_SOURCE = "trained here (numpy Adam), data-normalised conversion"

SCALES = {
    "full": dict(length=256, classes=["N", "S", "V", "F"], per_class=300, specs=[
        LayerSpec("conv", "conv1", 8, (1, 7)), LayerSpec("pool", "pool1", 0, (1, 2), (1, 2)),
        LayerSpec("conv", "conv2", 16, (1, 5)), LayerSpec("pool", "pool2", 0, (1, 2), (1, 2)),
        LayerSpec("dense", "fc", 64), LayerSpec("dense", "output", 4)],
        epochs=8, lr=2e-3, restarts=1, steps=100, sim_samples=4, eval_samples=240),
    "mini": dict(length=6, classes=["N", "V"], per_class=200, specs=[
        LayerSpec("conv", "conv1", 2, (1, 3)), LayerSpec("pool", "pool1", 0, (1, 2), (1, 2)),
        LayerSpec("dense", "fc", 2), LayerSpec("dense", "output", 2)],
        epochs=40, lr=0.03, restarts=5, steps=50, sim_samples=4, eval_samples=80),
}


def sizes(scale: str = "mini") -> tuple[int, int]:
    """Neurons and synapses of the ``scale`` instance, by layer arithmetic."""
    p = check_scale(scale, SCALES, NAME)
    return plan_sizes((1, 1, p["length"]), p["specs"])


def build(scale: str = "mini", seed: int = 0, progress: Progress = None) -> SpikingNetwork:
    """Train, convert and simulate the heartbeat classifier at ``scale``."""
    p = check_scale(scale, SCALES, NAME)
    x, y = ecg_beats(p["per_class"], p["length"], tuple(p["classes"]), seed)
    n_test = len(x) // 5
    data = (x[n_test:], y[n_test:], x[:n_test], y[:n_test])
    return ff_network(
        NAME, __name__, VERSION, scale, seed, (1, 1, p["length"]), p["specs"],
        x_norm=data[0], x_sim=balanced(data[2], data[3], p["sim_samples"]), steps=p["steps"],
        data_source=INPUT_SOURCE, weight_source=WEIGHT_SOURCE, params=p, train_data=data,
        epochs=p["epochs"], lr=p["lr"], restarts=p["restarts"], eval_samples=p["eval_samples"],
        progress=progress,
    )
