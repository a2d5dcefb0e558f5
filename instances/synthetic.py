"""Seeded synthetic networks for benchmarks and tests (the applications live in ``apps``).

- :func:`layered`: fully layered networks; every neuron of a layer sends
  ``fan`` synapses to the next layer, near its scaled position (dense-ish,
  MLP-like traffic).
- :func:`random_layered`: small random 3-4 layer networks, the exact models' benchmark.
- :func:`conv_like`: equal layers where every neuron takes ``fan`` inputs from
  a strided window of the previous layer (convolution-like locality).
Spike counts are Poisson with mean ``rate``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from snnmap.instances.network import SpikingNetwork


def layered(sizes: Sequence[int], fan: int, *, seed: int = 0, window: int | None = None, rate: float = 20.0,
            name: str = "layered") -> SpikingNetwork:
    """Layers of ``sizes`` neurons; neuron ``x`` of layer ``l`` sends ``fan`` synapses
    to neurons of layer ``l + 1`` within ``window`` (default ``2 * fan``) of its
    scaled position (duplicates merge)."""
    rng = np.random.default_rng(seed)
    window = 2 * fan if window is None else window
    off = np.cumsum([0] + list(sizes))
    pre, post = [], []
    for li in range(len(sizes) - 1):
        src = np.arange(off[li], off[li + 1])
        for _ in range(fan):
            tgt = off[li + 1] + (np.arange(sizes[li]) * sizes[li + 1] // sizes[li]
                                 + rng.integers(-window, window + 1, sizes[li])) % sizes[li + 1]
            pre.append(src)
            post.append(tgt)
    n = int(off[-1])
    key = np.unique(np.concatenate(pre) * n + np.concatenate(post))
    return SpikingNetwork.from_edges(n, key // n, key % n, rng.poisson(rate, n).astype(float), name=name)


def conv_like(n: int, fan: int = 9, layers: int = 5, seed: int = 0, rate: float = 20.0) -> SpikingNetwork:
    """``layers`` equal layers (``n`` neurons in all, rounded down); each neuron past the
    first layer takes ``fan`` inputs from a window of the previous layer."""
    rng = np.random.default_rng(seed)
    size = max(1, n // layers)
    n = size * layers
    tgt = np.arange(size, n, dtype=np.int64)
    pos = tgt % size
    offs = np.arange(fan) - fan // 2
    src_pos = (pos[:, None] + offs[None, :] * 4 + rng.integers(-1, 2, (tgt.size, fan))) % size
    src = (tgt[:, None] // size - 1) * size + src_pos
    key = np.unique(src.ravel() * np.int64(n) + np.repeat(tgt, fan))
    return SpikingNetwork.from_edges(n, key // n, key % n, rng.poisson(rate, n).astype(float),
                                     name=f"conv{n}x{fan}")


def random_layered(n: int, seed: int, density: float = 0.3) -> SpikingNetwork:
    """A random 3-4 layer feed-forward network of ``n`` neurons (the exact-model benchmarks' protocol).

    Layer sizes are random cuts of ``n``; each neuron links to each neuron of the
    next layer with probability ``density`` and to at least one; spike counts
    are ``integers(0, 60)``, ``t_run = 1 ms``; all from ``default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    layers = int(rng.integers(3, 5))
    cuts = np.sort(rng.choice(np.arange(1, n), size=layers - 1, replace=False))
    sizes = np.diff(np.concatenate([[0], cuts, [n]]))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    pre, post = [], []
    for a in range(layers - 1):
        src = np.arange(starts[a], starts[a + 1])
        dst = np.arange(starts[a + 1], starts[a + 2])
        link = rng.random((src.size, dst.size)) < density
        link[np.arange(src.size), rng.integers(0, dst.size, src.size)] = True  # every neuron has a target
        i, j = np.nonzero(link)
        pre.append(src[i])
        post.append(dst[j])
    spikes = rng.integers(0, 60, n).astype(float)
    pop = np.repeat(np.arange(layers), sizes)
    return SpikingNetwork.from_edges(n, np.concatenate(pre), np.concatenate(post), spikes, t_run=1e-3,
                                     populations=pop, population_names=[f"L{a}" for a in range(layers)],
                                     name=f"layered{n}",
                                     provenance={"builder": "synthetic.random_layered", "seed": seed})
