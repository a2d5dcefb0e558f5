"""Seeded synthetic physiological signals (nothing of the kind ships with an installed package).

ECG beats are a sum of Gaussian waves P, Q, R, S, T, as in the ECGSYN model of
McSharry et al., IEEE TBME 50(3), 2003 (its wave angles become times here).
Beat classes follow the AAMI heartbeat groups in a caricature:

- ``N`` normal;
- ``S`` supraventricular ectopic: premature, P wave inverted and earlier;
- ``V`` ventricular ectopic: no P wave, QRS three times wider and larger,
  T wave inverted;
- ``F`` fusion: between N and V (QRS 1.8x wider, P halved, T flattened).

Each beat gets seeded jitter of every wave's amplitude (10 %), time and width,
baseline wander and white noise.

PPG (photoplethysmogram) pulses are a systolic and a dicrotic Gaussian per
beat at a given heart rate with seeded beat-to-beat variability and noise.
"""

from __future__ import annotations

import numpy as np

#              P       Q       R      S      T      (amplitude, time s, width s)
_WAVES = {
    "N": [(0.15, -0.20, 0.025), (-0.12, -0.04, 0.010), (1.0, 0.0, 0.012), (-0.25, 0.04, 0.010), (0.30, 0.28, 0.045)],
    "S": [(-0.12, -0.14, 0.020), (-0.12, -0.04, 0.010), (1.0, 0.0, 0.012), (-0.25, 0.04, 0.010), (0.30, 0.26, 0.045)],
    "V": [(0.0, -0.20, 0.025), (-0.30, -0.10, 0.030), (1.4, 0.0, 0.036), (-0.60, 0.10, 0.030), (-0.40, 0.32, 0.060)],
    "F": [(0.07, -0.20, 0.025), (-0.20, -0.07, 0.018), (1.2, 0.0, 0.022), (-0.40, 0.07, 0.018), (0.05, 0.30, 0.050)],
}
ECG_CLASSES = tuple(_WAVES)


def ecg_beats(n_per_class: int, length: int, classes: tuple[str, ...], seed: int, fs: float = 360.0):
    """Beat windows from -0.35 s to +0.35 s around the R peak, min-max scaled to ``[0, 1]``.

    Returns ``x`` of shape ``(n_per_class * len(classes), length)`` and labels
    ``0..len(classes)-1`` (class-major order, then shuffled with ``seed``).
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(-0.35, 0.35, length)
    xs, ys = [], []
    for label, cls in enumerate(classes):
        waves = np.asarray(_WAVES[cls])  # (5, 3)
        amp = waves[:, 0] * rng.normal(1.0, 0.1, (n_per_class, 5))
        ctr = waves[:, 1] + rng.normal(0.0, 0.008, (n_per_class, 5))
        wid = waves[:, 2] * rng.normal(1.0, 0.1, (n_per_class, 5)).clip(0.5)
        sig = (amp[:, :, None] * np.exp(-0.5 * ((t - ctr[:, :, None]) / wid[:, :, None]) ** 2)).sum(axis=1)
        wander = rng.normal(0, 0.05, (n_per_class, 1)) * np.sin(2 * np.pi * rng.uniform(0.1, 0.5, (n_per_class, 1)) * t)
        sig += wander + rng.normal(0, 0.02, sig.shape)
        xs.append(sig)
        ys.append(np.full(n_per_class, label))
    x, y = np.concatenate(xs), np.concatenate(ys)
    x = (x - x.min(axis=1, keepdims=True)) / np.ptp(x, axis=1, keepdims=True)
    order = rng.permutation(len(x))
    return x[order], y[order]


def ppg(heart_rate: float, seconds: float, fs: float, rng: np.random.Generator) -> np.ndarray:
    """A PPG trace at ``heart_rate`` beats per minute, scaled to ``[0, 1]``."""
    n = int(round(seconds * fs))
    t = np.arange(n) / fs
    period = 60.0 / heart_rate
    beats = np.cumsum(period * rng.normal(1.0, 0.03, int(seconds / period) + 3)) - period * rng.uniform(0, 1)
    dt = t[None, :] - beats[:, None]
    sig = (np.exp(-0.5 * ((dt - 0.15 * period) / (0.08 * period)) ** 2)
           + 0.4 * np.exp(-0.5 * ((dt - 0.45 * period) / (0.10 * period)) ** 2)).sum(axis=0)
    sig += rng.normal(0, 0.03, n)
    return (sig - sig.min()) / np.ptp(sig)
