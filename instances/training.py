"""Small numpy trainer for the ANNs that are converted to SNNs, and their normalisation.

A model is a list of :class:`Layer`: each a linear map (dense, or sparse with
shared weights: convolution, pooling) followed by ReLU except the last. The
sparse layers use the very synapse arrays that become the instance graph, so
the trained network and the simulated one cannot disagree. No biases: the
converted SNN then needs no bias currents (as in Diehl et al., IJCNN 2015).

Conversion follows data-based normalisation (Diehl et al. 2015; Rueckauer et
al., Front. Neurosci. 2017, robust variant): with ``lambda_l`` a high
percentile of layer ``l``'s ReLU activations on training data and
``lambda_0 = 1`` for inputs in ``[0, 1]``, weights are scaled by
``lambda_{l-1} / lambda_l`` and every threshold is 1.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits


@dataclasses.dataclass
class Layer:
    """One linear layer: ``y = x @ A(params)``.

    ``pre``/``post``/``kidx`` give the synapses and the parameter each uses;
    ``pre is None`` marks a dense layer whose ``params`` is an
    ``(n_in, n_out)`` matrix flattened in C order.
    """

    name: str
    n_in: int
    n_out: int
    params: np.ndarray
    pre: np.ndarray | None = None
    post: np.ndarray | None = None
    kidx: np.ndarray | None = None
    trainable: bool = True
    relu: bool = True

    def __post_init__(self) -> None:
        if self.pre is not None:
            fwd = np.lexsort((self.pre, self.post))  # rows of A^T: by post, then pre
            self._fwd_perm = fwd
            self._fwd = sp.csr_matrix(
                (np.zeros(fwd.size), self.pre[fwd], np.searchsorted(self.post[fwd], np.arange(self.n_out + 1))),
                shape=(self.n_out, self.n_in),
            )
            bwd = np.lexsort((self.post, self.pre))
            self._bwd_perm = bwd
            self._bwd = sp.csr_matrix(
                (np.zeros(bwd.size), self.post[bwd], np.searchsorted(self.pre[bwd], np.arange(self.n_in + 1))),
                shape=(self.n_in, self.n_out),
            )
            self.refresh()

    @property
    def dense(self) -> bool:
        return self.pre is None

    def refresh(self) -> None:
        """Copy ``params`` into the cached sparse matrices."""
        if not self.dense:
            self._fwd.data = self.params[self.kidx[self._fwd_perm]]
            self._bwd.data = self.params[self.kidx[self._bwd_perm]]

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.dense:
            return x @ self.params.reshape(self.n_in, self.n_out)
        return np.asarray((self._fwd @ x.T).T)

    def backward(self, x: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Gradients with respect to the input and the parameters."""
        if self.dense:
            w = self.params.reshape(self.n_in, self.n_out)
            return dy @ w.T, (x.T @ dy).ravel() if self.trainable else None
        dx = np.asarray((self._bwd @ dy.T).T)
        if not self.trainable:
            return dx, None
        # Row gathers of the transposed (contiguous) arrays are much faster than
        # column gathers; blocks of edges keep temporaries small enough for the
        # allocator to reuse (huge ones are re-mapped, and page-faulted, each time).
        xt, dyt = np.ascontiguousarray(x.T), np.ascontiguousarray(dy.T)
        g = np.empty(self.pre.size)
        block = max(1, (1 << 20) // max(1, x.shape[0]))
        for a in range(0, self.pre.size, block):
            b = a + block
            g[a:b] = np.einsum("eb,eb->e", xt[self.pre[a:b]], dyt[self.post[a:b]])
        return dx, np.bincount(self.kidx, weights=g, minlength=self.params.size)

    def edge_weights(self) -> np.ndarray:
        """Weight of every synapse (dense layers: row-major over ``(n_in, n_out)``)."""
        return self.params.copy() if self.dense else self.params[self.kidx]


def he_init(rng: np.random.Generator, n_params: int, fan_in: int) -> np.ndarray:
    """He-normal initial weights (std ``sqrt(2 / fan_in)``), for ReLU networks."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), n_params)


def forward_all(layers: list[Layer], x: np.ndarray) -> list[np.ndarray]:
    """Activations of every layer (input first)."""
    acts = [x]
    for layer in layers:
        y = layer.forward(acts[-1])
        acts.append(np.maximum(y, 0.0) if layer.relu else y)
    return acts


def predict(layers: list[Layer], x: np.ndarray, batch: int = 256) -> np.ndarray:
    out = [forward_all(layers, x[i : i + batch])[-1] for i in range(0, len(x), batch)]
    return np.concatenate(out).argmax(axis=1)


def train(
    layers: list[Layer],
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    seed: int,
    lr: float = 2e-3,
    batch: int = 32,
) -> None:
    """Train in place with softmax cross-entropy and Adam (shuffling seeded).

    BLAS runs single-threaded here: the small matrix products are many times
    faster that way on a busy machine, and the sums are then reproducible.
    """
    with threadpool_limits(1):
        _train(layers, x, y, epochs=epochs, seed=seed, lr=lr, batch=batch)


def _train(layers: list[Layer], x: np.ndarray, y: np.ndarray, *, epochs: int, seed: int, lr: float, batch: int) -> None:
    rng = np.random.default_rng(seed)
    n_cls = layers[-1].n_out
    m = [np.zeros_like(layer.params) for layer in layers]
    v = [np.zeros_like(layer.params) for layer in layers]
    b1, b2, eps, step = 0.9, 0.999, 1e-8, 0
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            acts = forward_all(layers, x[idx])
            z = acts[-1] - acts[-1].max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            d = p - np.eye(n_cls)[y[idx]]
            d /= len(idx)
            step += 1
            for k in range(len(layers) - 1, -1, -1):
                layer = layers[k]
                if k < len(layers) - 1 and layer.relu:
                    d = d * (acts[k + 1] > 0)
                d_in, g = layer.backward(acts[k], d)
                if g is not None:
                    m[k] = b1 * m[k] + (1 - b1) * g
                    v[k] = b2 * v[k] + (1 - b2) * g * g
                    mh = m[k] / (1 - b1**step)
                    vh = v[k] / (1 - b2**step)
                    layer.params -= lr * mh / (np.sqrt(vh) + eps)
                    layer.refresh()
                d = d_in


def normalisation_factors(layers: list[Layer], x: np.ndarray, percentile: float = 99.9) -> np.ndarray:
    """``lambda_l`` for every layer: a high percentile of its positive activations on ``x``."""
    acts = forward_all(layers, x)
    lam = [1.0]
    for a in acts[1:]:
        pos = a[a > 0]
        lam.append(float(np.percentile(pos, percentile)) if pos.size else 1.0)
    return np.asarray(lam)


def converted_weights(layers: list[Layer], lam: np.ndarray) -> list[np.ndarray]:
    """Per-synapse SNN weights of every layer after normalisation by ``lam``."""
    return [layer.edge_weights() * (lam[k] / lam[k + 1]) for k, layer in enumerate(layers)]
