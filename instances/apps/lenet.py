"""LeNet: a LeNet-5 convolutional network, trained on the digits data and converted to an SNN.

Topology (LeCun et al., Proc. IEEE 1998): input 32 x 32 -> C1 6@5x5 -> S2
2x2 pooling -> C3 16@5x5 -> S4 2x2 pooling -> C5 120@5x5 -> F6 84 -> 10
outputs. Departures: average pooling without trainable coefficients (the
usual choice for ANN-to-SNN conversion), C3 connects all 6 input maps (the
original used a partial connection table), no biases, ReLU.

Data: scikit-learn's 8 x 8 digits, bilinearly upsampled to 32 x 32; seeded
80/20 train/test split. Weights: trained here (numpy Adam), converted by
data-based normalisation (99.9th percentile). Spikes: rate-coded inputs, IF
neurons, ``steps`` steps per sample, summed over ``sim_samples`` (classes in turn)
test images.

Scales: ``full`` is the architecture above (9,118 neurons). ``mini`` keeps the
layer kinds (input, conv, pool, dense, output) at 3 x 3 input, 2 maps of
2 x 2 kernels, 2x2 pooling, 3 hidden units and 2 classes (digits 0 and 1).
"""

from __future__ import annotations

import sys

from snnmap.instances.apps._common import LayerSpec, Progress, build_digits_net, check_scale, plan_sizes
from snnmap.instances.network import SpikingNetwork

NAME = "LeNet"
VERSION = "1"
INPUT_SOURCE = "sklearn load_digits (UCI optical digits), upsampled"
WEIGHT_SOURCE = "trained here (numpy Adam), data-normalised conversion"

SCALES = {
    "full": dict(size=32, classes=list(range(10)), specs=[
        LayerSpec("conv", "C1", 6, 5), LayerSpec("pool", "S2", 0, 2, 2),
        LayerSpec("conv", "C3", 16, 5), LayerSpec("pool", "S4", 0, 2, 2),
        LayerSpec("conv", "C5", 120, 5), LayerSpec("dense", "F6", 84), LayerSpec("dense", "output", 10)],
        epochs=12, lr=2e-3, restarts=1, steps=100, sim_samples=4, eval_samples=360),
    "mini": dict(size=3, classes=[0, 1], specs=[
        LayerSpec("conv", "C1", 2, 2), LayerSpec("pool", "S2", 0, 2, 2),
        LayerSpec("dense", "F3", 3), LayerSpec("dense", "output", 2)],
        epochs=40, lr=0.03, restarts=5, steps=50, sim_samples=4, eval_samples=72),
}


def sizes(scale: str = "mini") -> tuple[int, int]:
    """Neurons and synapses of the ``scale`` instance, by layer arithmetic."""
    p = check_scale(scale, SCALES, NAME)
    return plan_sizes((1, p["size"], p["size"]), p["specs"])


def build(scale: str = "mini", seed: int = 0, progress: Progress = None) -> SpikingNetwork:
    """Train, convert and simulate LeNet at ``scale``."""
    return build_digits_net(sys.modules[__name__], scale, seed, progress)
