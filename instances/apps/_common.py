"""Shared pieces of the application builders: data, layer plans, conversion, provenance."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import numpy as np
import scipy.ndimage as ndi

from snnmap.instances.layers import NetBuilder, Population, conv2d_count, conv2d_edges, dense_edges
from snnmap.instances.network import NetworkError, SpikingNetwork
from snnmap.instances.simulator import simulate
from snnmap.instances.training import (
    Layer,
    converted_weights,
    forward_all,
    he_init,
    normalisation_factors,
    predict,
    train,
)

Progress = Callable[[str], None] | None
DT = 1e-3  # seconds per simulation step: t_run = samples * steps * DT


def say(progress: Progress, msg: str) -> None:
    if progress is not None:
        progress(msg)


# ---------------------------------------------------------------------- data
def resize(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a stack ``(n, H, W)`` to ``(n, *size)`` (deterministic)."""
    n, h, w = images.shape
    zoom = (1.0, size[0] / h, size[1] / w)
    out = ndi.zoom(images.astype(np.float64), zoom, order=1, mode="nearest", grid_mode=True)
    return np.clip(out[:, : size[0], : size[1]], 0.0, 1.0)


def digits(size: int, classes: Sequence[int], seed: int, test_fraction: float = 0.2):
    """scikit-learn's 8 x 8 digits (UCI optical digits), scaled to ``[0, 1]`` and resized.

    Returns ``x_train, y_train, x_test, y_test`` with images flattened and
    labels renumbered ``0..len(classes)-1``; the split is a seeded permutation.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = np.isin(d.target, classes)
    img = d.images[keep] / 16.0
    lab = np.searchsorted(np.asarray(sorted(classes)), d.target[keep])
    if size != 8:
        img = resize(img, (size, size))
    x = img.reshape(len(img), -1)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    te, tr = order[:n_test], order[n_test:]
    return x[tr], lab[tr], x[te], lab[te]


def photo_crops(size: int, channels: int, count: int, seed: int) -> np.ndarray:
    """Seeded square crops of scikit-learn's two sample photographs, resized, in ``[0, 1]``.

    Returns shape ``(count, channels, size, size)``; one channel = grey level.
    """
    from sklearn.datasets import load_sample_images

    photos = [np.asarray(im, dtype=np.float64) / 255.0 for im in load_sample_images().images]
    rng = np.random.default_rng(seed)
    out = np.empty((count, channels, size, size))
    for k in range(count):
        im = photos[k % len(photos)]
        side = int(rng.integers(min(im.shape[:2]) // 2, min(im.shape[:2]) + 1))
        y0 = int(rng.integers(0, im.shape[0] - side + 1))
        x0 = int(rng.integers(0, im.shape[1] - side + 1))
        crop = im[y0 : y0 + side, x0 : x0 + side].transpose(2, 0, 1)
        if channels == 1:
            crop = crop.mean(axis=0, keepdims=True)
        out[k] = resize(crop[:channels], (size, size))
    return out


def balanced(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """``k`` rows of ``x`` taking the classes in turn (first unused sample of each)."""
    picks: list[int] = []
    queues = [list(np.flatnonzero(y == c)) for c in np.unique(y)]
    while len(picks) < k and any(queues):
        for q in queues:
            if q and len(picks) < k:
                picks.append(q.pop(0))
    return x[np.asarray(picks, dtype=np.int64)]


# ---------------------------------------------------------------- plans
@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """One layer of a feed-forward plan: ``conv``, ``pool`` (average) or ``dense``."""

    kind: str
    name: str
    out: int = 0  # channels (conv) or units (dense)
    kernel: int | tuple[int, int] = 1
    stride: int | tuple[int, int] = 1
    padding: int | tuple[int, int] = 0


def plan_shapes(input_shape: tuple[int, int, int], specs: Sequence[LayerSpec]) -> list[dict[str, Any]]:
    """Output shape, neuron and synapse count of every layer, by arithmetic only."""
    rows = [{"name": "input", "kind": "input", "shape": tuple(input_shape), "neurons": int(np.prod(input_shape)),
             "synapses": 0}]
    shape: tuple[int, ...] = tuple(input_shape)
    for s in specs:
        if s.kind == "conv":
            n_syn, shape = conv2d_count(shape, s.out, s.kernel, s.stride, s.padding)  # type: ignore[arg-type]
        elif s.kind == "pool":
            n_syn, shape = conv2d_count(shape, 0, s.kernel, s.stride, s.padding, depthwise=True)  # type: ignore[arg-type]
        elif s.kind == "dense":
            n_syn = int(np.prod(shape)) * s.out
            shape = (s.out,)
        else:
            raise NetworkError(f"layer {s.name!r}: unknown kind {s.kind!r}; use conv, pool or dense")
        rows.append({"name": s.name, "kind": s.kind, "shape": tuple(int(v) for v in shape),
                     "neurons": int(np.prod(shape)), "synapses": int(n_syn)})
    return rows


def plan_sizes(input_shape: tuple[int, int, int], specs: Sequence[LayerSpec]) -> tuple[int, int]:
    rows = plan_shapes(input_shape, specs)
    return sum(r["neurons"] for r in rows), sum(r["synapses"] for r in rows)


def make_layers(input_shape: tuple[int, int, int], specs: Sequence[LayerSpec], rng: np.random.Generator) -> list[Layer]:
    """Trainable layers (He-initialised) whose synapses are the instance's synapses."""
    layers: list[Layer] = []
    shape: tuple[int, ...] = tuple(input_shape)
    for k, s in enumerate(specs):
        n_in = int(np.prod(shape))
        last = k == len(specs) - 1
        if s.kind == "conv":
            pre, post, kidx, shape = conv2d_edges(shape, s.out, s.kernel, s.stride, s.padding)  # type: ignore[arg-type]
            kh, kw = (s.kernel, s.kernel) if isinstance(s.kernel, int) else s.kernel
            fan_in = shape_in_channels(layers, input_shape) * kh * kw
            params = he_init(rng, int(kidx.max()) + 1, fan_in)
            layers.append(Layer(s.name, n_in, int(np.prod(shape)), params, pre, post, kidx, relu=not last))
        elif s.kind == "pool":
            pre, post, kidx, shape = conv2d_edges(shape, 0, s.kernel, s.stride, s.padding, depthwise=True)  # type: ignore[arg-type]
            kh, kw = (s.kernel, s.kernel) if isinstance(s.kernel, int) else s.kernel
            params = np.full(int(kidx.max()) + 1, 1.0 / (kh * kw))
            layers.append(Layer(s.name, n_in, int(np.prod(shape)), params, pre, post, kidx, trainable=False))
        else:
            params = he_init(rng, n_in * s.out, n_in)
            shape = (s.out,)
            layers.append(Layer(s.name, n_in, s.out, params, relu=not last))
        layers[-1].out_shape = shape  # type: ignore[attr-defined]
    return layers


def shape_in_channels(layers: list[Layer], input_shape: tuple[int, int, int]) -> int:
    shape = layers[-1].out_shape if layers else input_shape  # type: ignore[attr-defined]
    return int(shape[0])


# ------------------------------------------------------------- conversion
@dataclasses.dataclass
class Converted:
    """A converted feed-forward SNN: the assembler, its weight matrix and the input neurons."""

    builder: NetBuilder
    input_pop: Population
    output_pop: Population


def assemble(input_shape: tuple[int, int, int], layers: list[Layer], weights: list[np.ndarray]) -> Converted:
    """Neuron-level network of a (converted) feed-forward model."""
    nb = NetBuilder()
    src = nb.add("input", input_shape)
    for layer, w in zip(layers, weights):
        dst = nb.add(layer.name, layer.out_shape)  # type: ignore[attr-defined]
        if layer.dense:
            pre, post, _ = dense_edges(layer.n_in, layer.n_out)
        else:
            pre, post = layer.pre, layer.post
        nb.connect(src, dst, pre, post, w)
        src = dst
    return Converted(nb, nb.pops[0], src)


def run_converted(conv: Converted, x: np.ndarray, steps: int, seed: int, encoding: str = "rate"):
    """Simulate the converted network on samples ``x`` (rows in ``[0, 1]``)."""
    v_th, leak = conv.builder.neuron_params()
    return simulate(conv.builder.matrix(), conv.input_pop.ids, x, steps, v_th=v_th, leak=leak,
                    encoding=encoding, seed=seed)  # type: ignore[arg-type]


def snn_accuracy(conv: Converted, x: np.ndarray, y: np.ndarray, steps: int, seed: int) -> float:
    """Share of samples whose most active output neuron (first on ties) is the label."""
    res = run_converted(conv, x, steps, seed)
    out = res.counts[:, conv.output_pop.ids]
    return float(np.mean(out.argmax(axis=1) == y))


def provenance(module: str, version: str, seed: int, scale: str, *, data_source: str,
               weight_source: str, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The provenance record every instance carries (JSON-safe)."""
    doc = {"builder": module, "version": version, "seed": int(seed), "scale": scale,
           "data_source": data_source, "weight_source": weight_source, "params": _jsonable(params)}
    doc.update(_jsonable(extra))
    return doc


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if dataclasses.is_dataclass(x):
        return _jsonable(dataclasses.asdict(x))
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float):
        return round(x, 6)
    return x


def check_scale(scale: str, scales: dict[str, Any], app: str) -> dict[str, Any]:
    if scale not in scales:
        raise NetworkError(f"{app}: unknown scale {scale!r}; use one of {', '.join(scales)}")
    return scales[scale]


def ff_network(
    app: str, module: str, version: str, scale: str, seed: int, input_shape: tuple[int, int, int],
    specs: Sequence[LayerSpec], *, x_norm: np.ndarray, x_sim: np.ndarray, steps: int,
    data_source: str, weight_source: str, params: dict[str, Any],
    train_data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None,
    epochs: int = 0, lr: float = 2e-3, restarts: int = 1, eval_samples: int = 0, progress: Progress = None,
) -> SpikingNetwork:
    """Build, optionally train, convert and simulate a feed-forward network.

    With ``restarts > 1`` the network is trained from that many seeded
    initialisations and the one with the best *training* accuracy is kept
    (tiny networks often start with dead ReLUs). Spike counts are the sum
    over the ``len(x_sim)`` samples of ``steps`` steps each.
    """
    rng = np.random.default_rng(seed)
    layers = make_layers(input_shape, specs, rng)
    extra: dict[str, Any] = {}
    if train_data is not None:
        xtr, ytr, xte, yte = train_data
        say(progress, f"{app}: training {len(layers)} layers on {len(xtr)} samples, {epochs} epochs")
        best = -1.0
        for r in range(restarts):
            cand = layers if r == 0 else make_layers(input_shape, specs, rng)
            train(cand, xtr, ytr, epochs=epochs, seed=seed * 1000 + r, lr=lr)
            acc = float(np.mean(predict(cand, xtr) == ytr))
            if acc > best:
                best, chosen = acc, cand
        layers = chosen
        extra["ann_train_accuracy"] = best
        extra["ann_test_accuracy"] = float(np.mean(predict(layers, xte) == yte))
        extra["ann_test_samples"] = int(len(xte))
    elif restarts > 1:
        # Untrained: keep the seeded draw whose ReLU units are most often active on x_norm.
        best = -1.0
        for r in range(restarts):
            cand = layers if r == 0 else make_layers(input_shape, specs, rng)
            acts = forward_all(cand, x_norm)[1:]
            alive = float(np.mean([np.mean(a.max(axis=0) > 0) for a in acts]))
            if alive > best:
                best, chosen = alive, cand
        layers = chosen
        extra["active_fraction"] = best
    lam = normalisation_factors(layers, x_norm)
    conv = assemble(input_shape, layers, converted_weights(layers, lam))
    if train_data is not None and eval_samples:
        n_eval = min(eval_samples, len(train_data[2]))
        say(progress, f"{app}: SNN accuracy on {n_eval} test samples")
        extra["snn_test_accuracy"] = snn_accuracy(conv, train_data[2][:n_eval], train_data[3][:n_eval], steps, seed)
        extra["snn_test_samples"] = n_eval
    say(progress, f"{app}: simulating {len(x_sim)} sample(s) x {steps} steps")
    counts = run_converted(conv, x_sim, steps, seed).total
    prov = provenance(module, version, seed, scale, data_source=data_source, weight_source=weight_source,
                      params=params, normalisation=[float(v) for v in lam], sim_steps=steps,
                      sim_samples=int(len(x_sim)), encoding="rate", **extra)
    return conv.builder.network(counts, t_run=len(x_sim) * steps * DT, name=f"{app}:{scale}", provenance=prov)


# ----------------------------------------------------- shared feed-forward builders
def build_photo_cnn(module: Any, scale: str, seed: int, progress: Progress) -> SpikingNetwork:
    """An untrained CNN on photograph crops (AlexNet, VGG16): He init, data normalisation, simulation."""
    p = check_scale(scale, module.SCALES, module.NAME)
    shape = (p["channels"], p["size"], p["size"])
    crops = photo_crops(p["size"], p["channels"], p["norm_samples"] + p["sim_samples"], seed)
    x = crops.reshape(len(crops), -1)
    return ff_network(
        module.NAME, module.__name__, module.VERSION, scale, seed, shape, p["specs"], x_norm=x[: p["norm_samples"]],
        x_sim=x[p["norm_samples"]:], steps=p["steps"], data_source=module.INPUT_SOURCE,
        weight_source=module.WEIGHT_SOURCE, params=p, restarts=p["restarts"], progress=progress,
    )


def build_digits_net(module: Any, scale: str, seed: int, progress: Progress) -> SpikingNetwork:
    """A network trained here on the digits data (LeNet, DigitRecogMLP), converted and simulated."""
    p = check_scale(scale, module.SCALES, module.NAME)
    data = digits(p["size"], p["classes"], seed)
    return ff_network(
        module.NAME, module.__name__, module.VERSION, scale, seed, (1, p["size"], p["size"]), p["specs"],
        x_norm=data[0], x_sim=balanced(data[2], data[3], p["sim_samples"]), steps=p["steps"],
        data_source=module.INPUT_SOURCE, weight_source=module.WEIGHT_SOURCE, params=p, train_data=data,
        epochs=p["epochs"], lr=p["lr"], restarts=p["restarts"], eval_samples=p["eval_samples"], progress=progress,
    )
