"""EdgeDet: edge detection with oriented receptive fields (CARLsim-tutorial style).

Topology: a grey image (one input neuron per pixel) -> one map of IF
neurons per orientation, each neuron with a 3 x 3 oriented receptive field:
Sobel derivative kernels at 0, 45, 90 and 135 degrees (excitatory centre
side, inhibitory opposite side). Full: 128 x 128 input, 4 orientation maps of
128 x 128 (padding 1). Mini: 4 x 4 input, 2 orientations (0 and 90 degrees),
no padding (2 x 2 maps).

Data: a seeded crop of scikit-learn's sample photograph(s), grey, resized.
Weights: the fixed kernels, normalised so that the 99.9th percentile
response is one threshold per step. Spikes: rate-coded pixels, IF neurons,
``steps`` steps on one image.
"""

from __future__ import annotations

import numpy as np

from snnmap.instances.apps._common import Progress, check_scale, say
from snnmap.instances.apps._filters import filter_network
from snnmap.instances.layers import conv2d_count
from snnmap.instances.network import SpikingNetwork

NAME = "EdgeDet"
VERSION = "1"
INPUT_SOURCE = "sklearn load_sample_images, seeded grey crop"
WEIGHT_SOURCE = "fixed Sobel orientation kernels, response-normalised"

_SOBEL = {
    0: np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float),
    45: np.array([[-2, -1, 0], [-1, 0, 1], [0, 1, 2]], dtype=float),
    90: np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=float),
    135: np.array([[0, -1, -2], [1, 0, -1], [2, 1, 0]], dtype=float),
}

SCALES = {
    "full": dict(size=128, orientations=[0, 45, 90, 135], kernel=3, stride=1, padding=1, steps=50),
    "mini": dict(size=4, orientations=[0, 90], kernel=3, stride=1, padding=0, steps=50),
}


def sizes(scale: str = "mini") -> tuple[int, int]:
    """Neurons and synapses of the ``scale`` instance, by layer arithmetic."""
    p = check_scale(scale, SCALES, NAME)
    n_syn, out = conv2d_count((1, p["size"], p["size"]), len(p["orientations"]), p["kernel"], p["stride"], p["padding"])
    return p["size"] ** 2 + int(np.prod(out)), n_syn


def build(scale: str = "mini", seed: int = 0, progress: Progress = None) -> SpikingNetwork:
    """Build and simulate the edge detector at ``scale``."""
    p = check_scale(scale, SCALES, NAME)
    say(progress, f"{NAME}: {scale}")
    kernels = np.stack([_SOBEL[o] for o in p["orientations"]])[:, None]
    return filter_network(NAME, __name__, VERSION, scale, seed, p, kernels, "edges", INPUT_SOURCE, WEIGHT_SOURCE)
