"""A vectorised discrete-time integrate-and-fire / LIF simulator.

One time step (``dt``, nominally 1 ms) for all neurons and all input samples at once::

    v  <- leak * v + W^T s          (s: spikes of the previous step, one synaptic delay)
    s  <- v >= v_th                 (input neurons instead emit their encoded spikes)
    v  <- v - v_th * s              (reset by subtraction; or to zero)

``W`` is the network's sparse weight matrix (rows = presynaptic neurons); the
simulator keeps its transpose in CSR form so that each step is one sparse
matrix product over a ``(N, B)`` block of ``B`` input samples.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import scipy.sparse as sp

from snnmap.instances.network import NetworkError, SpikingNetwork


@dataclasses.dataclass(frozen=True)
class SimResult:
    """Output of :func:`simulate`.

    Attributes
    ----------
    counts
        Spike count of every neuron for every sample, shape ``(B, N)``.
    times
        When requested: ``(step, sample, neuron)`` of every spike, shape ``(S, 3)``.
    """

    counts: np.ndarray
    times: np.ndarray | None = None

    @property
    def total(self) -> np.ndarray:
        """Spike count of every neuron summed over the samples, shape ``(N,)``."""
        return self.counts.sum(axis=0)


def simulate(
    weights: sp.spmatrix | SpikingNetwork,
    input_neurons: np.ndarray,
    rates: np.ndarray,
    steps: int,
    *,
    v_th: float | np.ndarray = 1.0,
    leak: float | np.ndarray = 1.0,
    encoding: Literal["rate", "poisson"] = "rate",
    reset: Literal["subtract", "zero"] = "subtract",
    v_min: float | None = None,
    seed: int = 0,
    record_times: bool = False,
) -> SimResult:
    """Run the network for ``steps`` time steps and count spikes.

    Parameters
    ----------
    weights
        Sparse ``(N, N)`` matrix ``W[pre, post]``, or a network with weights.
    input_neurons
        Indices of the ``n_in`` spike-source neurons.
    rates
        Firing probability per step of every input neuron, in ``[0, 1]``:
        shape ``(B, n_in)`` (constant over time) or ``(steps, B, n_in)``.
    steps
        Number of time steps ``T``.
    v_th, leak
        Threshold and per-step membrane decay factor (1 = integrate-and-fire),
        scalars or per-neuron arrays.
    encoding
        ``"rate"``: deterministic (an input neuron integrates its rate and
        fires on reaching 1, i.e. regular spikes); ``"poisson"``: Bernoulli
        spikes drawn from ``seed``.
    reset
        Subtract the threshold (keeps the residue, as in ANN-to-SNN
        conversion) or reset to zero.
    v_min
        Optional floor of the membrane potential (limits the memory of
        inhibition).
    seed
        Seed of the Poisson input.
    record_times
        Also return every spike's ``(step, sample, neuron)``.
    """
    if isinstance(weights, SpikingNetwork):
        if weights.weights is None:
            raise NetworkError(f"network {weights.name!r} has no weights to simulate: give weights=")
        n = weights.num_neurons
        w = sp.csr_matrix((weights.weights, weights.indices, weights.indptr), shape=(n, n))
    else:
        w = sp.csr_matrix(weights)
    n = w.shape[0]
    if w.shape != (n, n):
        raise NetworkError(f"weight matrix has shape {w.shape}: it must be square (N, N)")
    inp = np.asarray(input_neurons, dtype=np.int64).ravel()
    r = np.asarray(rates, dtype=np.float64)
    if r.ndim == 2:
        r = r[None]
        varying = False
    elif r.ndim == 3:
        if r.shape[0] != steps:
            raise NetworkError(f"rates has {r.shape[0]} time steps but steps={steps}: give one row per step")
        varying = True
    else:
        raise NetworkError(f"rates has shape {r.shape}: give (samples, inputs) or (steps, samples, inputs)")
    if r.shape[2] != inp.size:
        raise NetworkError(f"rates has {r.shape[2]} columns for {inp.size} input neurons")
    if inp.size and (inp.min() < 0 or inp.max() >= n):
        raise NetworkError(f"input neuron index outside 0..{n - 1}")
    if not np.all(np.isfinite(r)) or r.min(initial=0) < 0 or r.max(initial=0) > 1:
        raise NetworkError("input rates must lie in [0, 1] (spike probability per step)")
    if encoding not in ("rate", "poisson"):
        raise NetworkError(f"encoding={encoding!r}: use 'rate' or 'poisson'")
    if steps < 1:
        raise NetworkError(f"steps={steps}: simulate at least one step")
    b = r.shape[1]
    wt = w.T.tocsr()  # rows = postsynaptic neurons: one product gives every neuron's input
    th = np.broadcast_to(np.asarray(v_th, dtype=np.float64), (n,))[:, None]
    lk = np.broadcast_to(np.asarray(leak, dtype=np.float64), (n,))[:, None]
    v = np.zeros((n, b))
    s = np.zeros((n, b))
    acc = np.zeros((inp.size, b))
    counts = np.zeros((n, b), dtype=np.int64)
    rng = np.random.default_rng(seed)
    times: list[np.ndarray] = []
    for t in range(steps):
        v *= lk
        v += wt @ s
        s = (v >= th).astype(np.float64)
        if reset == "subtract":
            v -= th * s
        else:
            v[s > 0] = 0.0
        if v_min is not None:
            np.maximum(v, v_min, out=v)
        rt = r[t if varying else 0].T
        if encoding == "poisson":
            s_in = (rng.random(rt.shape) < rt).astype(np.float64)
        else:
            acc += rt
            s_in = (acc >= 1.0 - 1e-12).astype(np.float64)
            acc -= s_in
        s[inp] = s_in
        v[inp] = 0.0
        counts += s.astype(np.int64)
        if record_times:
            nz = np.argwhere(s.T > 0)
            times.append(np.column_stack([np.full(len(nz), t, dtype=np.int64), nz]))
    tim = np.concatenate(times) if record_times and times else (np.zeros((0, 3), np.int64) if record_times else None)
    return SimResult(counts=counts.T.copy(), times=tim)
