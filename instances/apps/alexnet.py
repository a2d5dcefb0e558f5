"""AlexNet: the AlexNet layer structure on small photographs, converted to an SNN.

Topology (Krizhevsky et al., NIPS 2012): conv 11x11 stride 4 -> 3x3/2
pooling -> conv 5x5 -> 3x3/2 pooling -> three 3x3 convs -> 3x3/2 pooling ->
two dense layers -> output. Scaling (full): input 3 x 96 x 96 instead of
3 x 227 x 227, channel widths 24-64-96-96-64 (a quarter of 96-256-384-384-256),
dense 1024-1024 (a quarter of 4096) and 10 outputs; overlapping *average*
pooling instead of max pooling (conversion-friendly); no local response
normalisation, no biases.

Data: seeded crops of scikit-learn's two sample photographs (china.jpg,
flower.jpg), resized. Weights: not trained (no labelled photographs ship
with an installed package): He-normal initialisation, the draw with the most
active units among ``restarts`` seeded draws, then data-based normalisation
(99.9th percentile) on ``norm_samples`` crops. Spikes: rate-coded input, IF
neurons, summed over ``sim_samples`` crops.

Scales: ``mini`` keeps conv -> overlapping pool -> 1x1 conv -> dense ->
output on a 3 x 3 grey input.
"""

from __future__ import annotations

import sys

from snnmap.instances.apps._common import LayerSpec, Progress, build_photo_cnn, check_scale, plan_sizes
from snnmap.instances.network import SpikingNetwork

NAME = "AlexNet"
VERSION = "1"
INPUT_SOURCE = "sklearn load_sample_images (2 photographs), seeded crops"
WEIGHT_SOURCE = "He-normal init (seeded) + data-based normalisation"

SCALES = {
    "full": dict(size=96, channels=3, specs=[
        LayerSpec("conv", "conv1", 24, 11, 4, 2), LayerSpec("pool", "pool1", 0, 3, 2),
        LayerSpec("conv", "conv2", 64, 5, 1, 2), LayerSpec("pool", "pool2", 0, 3, 2),
        LayerSpec("conv", "conv3", 96, 3, 1, 1), LayerSpec("conv", "conv4", 96, 3, 1, 1),
        LayerSpec("conv", "conv5", 64, 3, 1, 1), LayerSpec("pool", "pool5", 0, 3, 2),
        LayerSpec("dense", "fc6", 1024), LayerSpec("dense", "fc7", 1024), LayerSpec("dense", "output", 10)],
        restarts=1, norm_samples=16, sim_samples=2, steps=80),
    "mini": dict(size=3, channels=1, specs=[
        LayerSpec("conv", "conv1", 2, 2), LayerSpec("pool", "pool1", 0, 2, 1),
        LayerSpec("conv", "conv2", 3, 1), LayerSpec("dense", "fc", 2), LayerSpec("dense", "output", 2)],
        restarts=8, norm_samples=32, sim_samples=4, steps=50),
}


def sizes(scale: str = "mini") -> tuple[int, int]:
    """Neurons and synapses of the ``scale`` instance, by layer arithmetic."""
    p = check_scale(scale, SCALES, NAME)
    return plan_sizes((p["channels"], p["size"], p["size"]), p["specs"])


def build(scale: str = "mini", seed: int = 0, progress: Progress = None) -> SpikingNetwork:
    """Initialise, normalise and simulate AlexNet at ``scale``."""
    return build_photo_cnn(sys.modules[__name__], scale, seed, progress)
