"""Layer-to-synapse expanders and a layered network assembler.

Convolution, pooling and dense layers become explicit neuron-level synapses.
Every expander is vectorised over neurons and synapses: its only Python loop
runs over kernel offsets (at most ``kh * kw`` iterations), never over synapses.

Neuron numbering inside a layer of shape ``(C, H, W)`` is C-order
(``c * H * W + y * W + x``), the same as ``numpy.ravel``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from snnmap.instances.network import NetworkError, SpikingNetwork

Shape = tuple[int, int, int]


def conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution or pooling along one axis."""
    out = (size + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise NetworkError(
            f"layer with kernel {kernel}, stride {stride}, padding {padding} does not fit an input of "
            f"length {size}: use a smaller kernel or a larger input"
        )
    return out


def _taps(size: int, out: int, k: int, stride: int, padding: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each kernel offset along one axis: valid output positions and their input positions."""
    o = np.arange(out, dtype=np.int64)
    taps = []
    for d in range(k):
        i = o * stride + d - padding
        ok = (i >= 0) & (i < size)
        taps.append((o[ok], i[ok]))
    return taps


def conv2d_edges(
    in_shape: Shape,
    out_channels: int,
    kernel: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    *,
    depthwise: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Shape]:
    """Synapses of a 2-D convolution (or a depthwise pooling window).

    Parameters
    ----------
    in_shape
        ``(C_in, H, W)`` of the input layer.
    out_channels
        ``C_out`` (ignored and equal to ``C_in`` when ``depthwise``).
    kernel, stride, padding
        Square values or ``(y, x)`` pairs; zero padding.
    depthwise
        Each output channel sees only the input channel of the same index
        (pooling); otherwise every input channel (a full convolution).

    Returns
    -------
    pre, post
        Local indices of the presynaptic (input-layer) and postsynaptic
        (output-layer) neuron of every synapse.
    kidx
        Index of every synapse's weight in the kernel array flattened from
        ``(C_out, C_in, kh, kw)`` (``(C, kh, kw)`` when depthwise).
    out_shape
        ``(C_out, H_out, W_out)``.
    """
    cin, h, w = (int(v) for v in in_shape)
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    ho, wo = conv_out(h, kh, sh, ph), conv_out(w, kw, sw, pw)
    cout = cin if depthwise else int(out_channels)
    ty, tx = _taps(h, ho, kh, sh, ph), _taps(w, wo, kw, sw, pw)
    pres, posts, kids = [], [], []
    for dy, (oy, iy) in enumerate(ty):
        for dx, (ox, ix) in enumerate(tx):
            if oy.size == 0 or ox.size == 0:
                continue
            # All valid (output pixel, input pixel) pairs for this kernel offset.
            opix = (oy[:, None] * wo + ox[None, :]).ravel()
            ipix = (iy[:, None] * w + ix[None, :]).ravel()
            if depthwise:
                c = np.arange(cin, dtype=np.int64)[:, None]
                pres.append((c * h * w + ipix).ravel())
                posts.append((c * ho * wo + opix).ravel())
                kids.append(np.broadcast_to((c * kh + dy) * kw + dx, (cin, opix.size)).ravel())
            else:
                co = np.arange(cout, dtype=np.int64)[:, None, None]
                ci = np.arange(cin, dtype=np.int64)[None, :, None]
                shape = (cout, cin, opix.size)
                pres.append(np.broadcast_to(ci * h * w + ipix, shape).ravel())
                posts.append(np.broadcast_to(co * ho * wo + opix, shape).ravel())
                kids.append(np.broadcast_to(((co * cin + ci) * kh + dy) * kw + dx, shape).ravel())
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)  # noqa: E731
    return cat(pres), cat(posts), cat(kids), (cout, ho, wo)


def conv2d_count(
    in_shape: Shape, out_channels: int, kernel: int | tuple[int, int], stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0, *, depthwise: bool = False,
) -> tuple[int, Shape]:
    """Number of synapses :func:`conv2d_edges` would make, and the output shape, without making them."""
    cin, h, w = (int(v) for v in in_shape)
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    ho, wo = conv_out(h, kh, sh, ph), conv_out(w, kw, sw, pw)
    ny = sum(o.size for o, _ in _taps(h, ho, kh, sh, ph))
    nx = sum(o.size for o, _ in _taps(w, wo, kw, sw, pw))
    cout = cin if depthwise else int(out_channels)
    per_pair = ny * nx
    return (cin * per_pair if depthwise else cout * cin * per_pair), (cout, ho, wo)


def dense_edges(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All-to-all synapses; ``kidx`` indexes a weight matrix of shape ``(n_in, n_out)``."""
    pre = np.repeat(np.arange(n_in, dtype=np.int64), n_out)
    post = np.tile(np.arange(n_out, dtype=np.int64), n_in)
    return pre, post, np.arange(n_in * n_out, dtype=np.int64)


def _pair(v: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


# ------------------------------------------------------------------ assembler
@dataclasses.dataclass
class Population:
    """One layer of neurons in a :class:`NetBuilder`."""

    name: str
    shape: tuple[int, ...]
    offset: int
    v_th: float = 1.0
    leak: float = 1.0

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def ids(self) -> np.ndarray:
        return np.arange(self.offset, self.offset + self.size, dtype=np.int64)


class NetBuilder:
    """Collects populations and synapses, then yields the simulator's matrix and a network.

    Neurons are numbered population by population in the order they are added.
    """

    def __init__(self) -> None:
        self.pops: list[Population] = []
        self._pre: list[np.ndarray] = []
        self._post: list[np.ndarray] = []
        self._w: list[np.ndarray] = []

    @property
    def num_neurons(self) -> int:
        return sum(p.size for p in self.pops)

    def add(self, name: str, shape: Sequence[int] | int, *, v_th: float = 1.0, leak: float = 1.0) -> Population:
        """Append a population of ``prod(shape)`` neurons."""
        shp = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        pop = Population(name, shp, self.num_neurons, float(v_th), float(leak))
        self.pops.append(pop)
        return pop

    def connect(self, src: Population, dst: Population, pre: np.ndarray, post: np.ndarray,
                w: np.ndarray | float) -> None:
        """Add synapses given local indices into ``src`` and ``dst``."""
        pre = np.asarray(pre, dtype=np.int64)
        post = np.asarray(post, dtype=np.int64)
        self._pre.append(pre + src.offset)
        self._post.append(post + dst.offset)
        self._w.append(np.broadcast_to(np.asarray(w, dtype=np.float64), pre.shape).astype(np.float64))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cat = lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt)  # noqa: E731
        return cat(self._pre, np.int64), cat(self._post, np.int64), cat(self._w, np.float64)

    def matrix(self) -> sp.csr_matrix:
        """Weight matrix ``W[pre, post]`` (duplicate synapses are an error, not summed)."""
        pre, post, w = self.arrays()
        n = self.num_neurons
        return sp.csr_matrix((w, (pre, post)), shape=(n, n))

    def neuron_params(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-neuron threshold and leak factor."""
        v_th = np.concatenate([np.full(p.size, p.v_th) for p in self.pops])
        leak = np.concatenate([np.full(p.size, p.leak) for p in self.pops])
        return v_th, leak

    def network(self, spikes: np.ndarray, *, t_run: float, name: str, provenance: dict[str, Any],
                time_steps: int | None = None) -> SpikingNetwork:
        """The finished :class:`SpikingNetwork` (populations named after the layers)."""
        pre, post, w = self.arrays()
        pop = np.concatenate([np.full(p.size, k, dtype=np.int64) for k, p in enumerate(self.pops)])
        net = SpikingNetwork.from_edges(
            self.num_neurons, pre, post, spikes, t_run=t_run, populations=pop,
            population_names=[p.name for p in self.pops], weights=w, name=name, provenance=provenance,
            time_steps=time_steps,
        )
        return net
