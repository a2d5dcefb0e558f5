"""VGG16: the VGG-16 layer structure on small photographs, converted to an SNN.

Topology (Simonyan & Zisserman, ICLR 2015, configuration D): five blocks of
3x3 convolutions (2, 2, 3, 3, 3 = 13 conv layers, padding 1), each block
followed by 2x2 pooling, then three dense layers. Scaling (full): input
3 x 32 x 32 (CIFAR-sized) instead of 224 x 224; channel widths a quarter of
VGG's (16-32-64-128-128 instead of 64-128-256-512-512); dense 512-512-10
instead of 4096-4096-1000; average instead of max pooling; no biases. This
gives about 18 million synapses.

Data: seeded crops of scikit-learn's two sample photographs. Weights: He-normal
initialisation (seeded) with data-based normalisation, as for AlexNet
(nothing labelled to train on ships with an installed package). Spikes:
rate-coded input, IF neurons, summed over ``sim_samples`` crops.

Scales: ``mini`` keeps VGG's shape in miniature: two blocks of two 3x3
convolutions, pooling after the first block, then three dense layers, on a
2 x 2 grey input (23 neurons).
"""

from __future__ import annotations

import sys

from snnmap.instances.apps._common import LayerSpec, Progress, build_photo_cnn, check_scale, plan_sizes
from snnmap.instances.network import SpikingNetwork

NAME = "VGG16"
VERSION = "1"
INPUT_SOURCE = "sklearn load_sample_images (2 photographs), seeded crops"
WEIGHT_SOURCE = "He-normal init (seeded) + data-based normalisation"


def _vgg(widths: list[int], convs: list[int], dense: list[int], pool_after: list[bool]) -> list[LayerSpec]:
    specs: list[LayerSpec] = []
    for b, (w, n) in enumerate(zip(widths, convs), start=1):
        specs += [LayerSpec("conv", f"conv{b}_{k}", w, 3, 1, 1) for k in range(1, n + 1)]
        if pool_after[b - 1]:
            specs.append(LayerSpec("pool", f"pool{b}", 0, 2, 2))
    names = [f"fc{14 + k}" for k in range(len(dense) - 1)] + ["output"]
    specs += [LayerSpec("dense", nm, u) for nm, u in zip(names, dense)]
    return specs


SCALES = {
    "full": dict(size=32, channels=3,
                 specs=_vgg([16, 32, 64, 128, 128], [2, 2, 3, 3, 3], [512, 512, 10], [True] * 5),
                 restarts=1, norm_samples=8, sim_samples=2, steps=80),
    "mini": dict(size=2, channels=1,
                 specs=_vgg([1, 2], [2, 2], [2, 2, 2], [True, False]),
                 restarts=8, norm_samples=32, sim_samples=4, steps=50),
}


def sizes(scale: str = "mini") -> tuple[int, int]:
    """Neurons and synapses of the ``scale`` instance, by layer arithmetic."""
    p = check_scale(scale, SCALES, NAME)
    return plan_sizes((p["channels"], p["size"], p["size"]), p["specs"])


def build(scale: str = "mini", seed: int = 0, progress: Progress = None) -> SpikingNetwork:
    """Initialise, normalise and simulate VGG16 at ``scale``."""
    return build_photo_cnn(sys.modules[__name__], scale, seed, progress)
