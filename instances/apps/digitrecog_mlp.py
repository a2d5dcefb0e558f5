"""DigitRecogMLP: a fully connected digit classifier, trained here and converted to an SNN.

Topology (full): 784 -> 1200 -> 1200 -> 10, the fully connected network of
Diehl et al., "Fast-classifying, high-accuracy spiking deep networks through
weight and threshold balancing", IJCNN 2015 (there trained on MNIST).

Data: scikit-learn's 8 x 8 digits, bilinearly upsampled to 28 x 28; seeded
80/20 split. Weights: trained here (numpy Adam, no biases), converted by
data-based normalisation. Spikes: rate-coded input, IF neurons, summed over
``sim_samples`` test images (classes in turn).

Scales: ``mini`` is 3 x 3 input -> 6 -> 4 -> 3 classes (digits 0, 1, 2).
"""

from __future__ import annotations

import sys

from snnmap.instances.apps._common import LayerSpec, Progress, build_digits_net, check_scale, plan_sizes
from snnmap.instances.network import SpikingNetwork

NAME = "DigitRecogMLP"
VERSION = "1"
INPUT_SOURCE = "sklearn load_digits (UCI optical digits), resized"
WEIGHT_SOURCE = "trained here (numpy Adam), data-normalised conversion"

SCALES = {
    "full": dict(size=28, classes=list(range(10)),
                 specs=[LayerSpec("dense", "hidden1", 1200), LayerSpec("dense", "hidden2", 1200),
                        LayerSpec("dense", "output", 10)],
                 epochs=10, lr=1e-3, restarts=1, steps=100, sim_samples=4, eval_samples=40),
    "mini": dict(size=3, classes=[0, 1, 2],
                 specs=[LayerSpec("dense", "hidden1", 6), LayerSpec("dense", "hidden2", 4),
                        LayerSpec("dense", "output", 3)],
                 epochs=40, lr=0.03, restarts=5, steps=50, sim_samples=4, eval_samples=108),
}


def sizes(scale: str = "mini") -> tuple[int, int]:
    """Neurons and synapses of the ``scale`` instance, by layer arithmetic."""
    p = check_scale(scale, SCALES, NAME)
    return plan_sizes((1, p["size"], p["size"]), p["specs"])


def build(scale: str = "mini", seed: int = 0, progress: Progress = None) -> SpikingNetwork:
    """Train, convert and simulate the MLP at ``scale``."""
    return build_digits_net(sys.modules[__name__], scale, seed, progress)
