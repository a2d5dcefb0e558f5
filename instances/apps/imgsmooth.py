"""ImgSmooth: Gaussian image smoothing (CARLsim-tutorial style).

Topology: a grey image (one input neuron per pixel) -> one map of IF
neurons, each summing a 5 x 5 Gaussian (sigma = 1 pixel) window of the image
with stride 2, i.e. a smoothed, half-resolution copy. Full: 256 x 256 input
-> 128 x 128 output. Mini: 4 x 4 input -> 2 x 2 output with a 3 x 3 window
(sigma = 0.8), stride 2, padding 1.

Data: a seeded crop of scikit-learn's sample photograph(s), grey, resized.
Weights: the Gaussian kernel normalised so that the 99.9th percentile
response is one threshold per step. Spikes: rate-coded pixels, IF neurons,
``steps`` steps on one image.
"""

from __future__ import annotations

import numpy as np

from snnmap.instances.apps._common import Progress, check_scale, say
from snnmap.instances.apps._filters import filter_network
from snnmap.instances.layers import conv2d_count
from snnmap.instances.network import SpikingNetwork

NAME = "ImgSmooth"
VERSION = "1"
INPUT_SOURCE = "sklearn load_sample_images, seeded grey crop"
WEIGHT_SOURCE = "fixed Gaussian kernel, response-normalised"

SCALES = {
    "full": dict(size=256, kernel=5, sigma=1.0, stride=2, padding=2, steps=50),
    "mini": dict(size=4, kernel=3, sigma=0.8, stride=2, padding=1, steps=50),
}


def gaussian_kernel(k: int, sigma: float) -> np.ndarray:
    """A ``k x k`` Gaussian summing to 1."""
    r = np.arange(k) - (k - 1) / 2
    g = np.exp(-0.5 * (r[:, None] ** 2 + r[None, :] ** 2) / sigma**2)
    return g / g.sum()


def sizes(scale: str = "mini") -> tuple[int, int]:
    """Neurons and synapses of the ``scale`` instance, by layer arithmetic."""
    p = check_scale(scale, SCALES, NAME)
    n_syn, out = conv2d_count((1, p["size"], p["size"]), 1, p["kernel"], p["stride"], p["padding"])
    return p["size"] ** 2 + int(np.prod(out)), n_syn


def build(scale: str = "mini", seed: int = 0, progress: Progress = None) -> SpikingNetwork:
    """Build and simulate the smoothing network at ``scale``."""
    p = check_scale(scale, SCALES, NAME)
    say(progress, f"{NAME}: {scale}")
    kernels = gaussian_kernel(p["kernel"], p["sigma"])[None, None]
    return filter_network(NAME, __name__, VERSION, scale, seed, p, kernels, "smoothed", INPUT_SOURCE, WEIGHT_SOURCE)
