"""The convolution geometry of the built-in applications, recovered without rebuilding them.

A built-in application's provenance carries its layer plan (``params``): the
input shape and, for every convolution or pooling layer, its kernel, stride
and padding. :func:`conv_layers` turns that plan into one
:class:`ConvGeometry` per layer pair and keeps only the pairs whose synapses
in the network are exactly the convolution's (every synapse checked), so a
network edited after building, fan-in unrolled, or not built here gets no
geometry (``()``) and a bound that needs one falls back to its plain form.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

from snnmap.instances.layers import conv2d_edges, conv_out
from snnmap.instances.network import NetworkError, SpikingNetwork

Pair = tuple[int, int]


@dataclasses.dataclass(frozen=True)
class ConvGeometry:
    """One convolution (or depthwise pooling) between two populations.

    Neurons are numbered C-order inside each population (``c * H * W + y * W + x``)
    from ``offset`` of the population on.

    Attributes
    ----------
    source, target
        Population indices of the input and output layer.
    in_shape, out_shape
        ``(C, H, W)`` of the two layers.
    kernel, stride, padding
        ``(y, x)`` pairs.
    depthwise
        Output channel ``c`` sees input channel ``c`` only (pooling); otherwise every input channel.
    in_offset, out_offset
        First neuron of each population.
    """

    source: int
    target: int
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    kernel: Pair
    stride: Pair
    padding: Pair
    depthwise: bool
    in_offset: int
    out_offset: int


def _pair(v: Any) -> Pair:
    return (int(v), int(v)) if isinstance(v, (int, float)) else (int(v[0]), int(v[1]))


def _plan(network: SpikingNetwork) -> list[tuple[str, tuple[int, int, int], dict[str, Any]]]:
    """``(target name, input shape, layer spec)`` for every conv/pool layer the provenance's plan names."""
    params = (network.provenance or {}).get("params") or {}
    if "specs" in params:  # feed-forward builders: input (channels, size, size) or (channels, 1, length)
        shape = ((int(params.get("channels", 1)), 1, int(params["length"])) if "length" in params
                 else (int(params.get("channels", 1)), int(params["size"]), int(params["size"])))
        out = []
        for spec in params["specs"]:
            if spec["kind"] == "dense":
                break
            (kh, kw), (sh, sw), (ph, pw) = _pair(spec["kernel"]), _pair(spec["stride"]), _pair(spec["padding"])
            depthwise = spec["kind"] == "pool"
            out.append((spec["name"], shape, {**spec, "depthwise": depthwise}))
            shape = (shape[0] if depthwise else int(spec["out"]), conv_out(shape[1], kh, sh, ph),
                     conv_out(shape[2], kw, sw, pw))
        return out
    if {"size", "kernel", "stride", "padding"} <= set(params):  # image filters: input -> one output population
        names = [n for n in network.population_names if n != "input"]
        if len(names) != 1:
            return []
        return [(names[0], (1, int(params["size"]), int(params["size"])),
                 {"kernel": params["kernel"], "stride": params["stride"], "padding": params["padding"],
                  "out": None, "depthwise": False})]
    return []


def _contiguous(pop: np.ndarray, p: int) -> tuple[int, int] | None:
    """``(offset, size)`` of population ``p`` when its neurons are consecutive, else ``None``."""
    ids = np.flatnonzero(pop == p)
    if not ids.size or ids[-1] - ids[0] + 1 != ids.size:
        return None
    return int(ids[0]), int(ids.size)


def _matches(network: SpikingNetwork, g: ConvGeometry) -> bool:
    """Whether the synapses from ``g.source`` to ``g.target`` are exactly those of the convolution."""
    pre, post, _, shape = conv2d_edges(g.in_shape, g.out_shape[0], g.kernel, g.stride, g.padding,
                                       depthwise=g.depthwise)
    if tuple(shape) != g.out_shape:
        return False
    pop = network.population
    sel = (pop[network.pre] == g.source) & (pop[network.post] == g.target)
    m = int(np.prod(g.out_shape))
    have = np.sort((network.pre[sel] - g.in_offset) * m + (network.post[sel] - g.out_offset))
    want = np.sort(pre * m + post)
    return have.size == want.size and bool(np.array_equal(have, want))


@functools.lru_cache(maxsize=4)
def conv_layers(network: SpikingNetwork) -> tuple[ConvGeometry, ...]:
    """Every convolution of a built-in application whose synapses the network holds exactly (else ``()``)."""
    if network.population is None or not network.num_synapses:
        return ()
    names = list(network.population_names)
    out = []
    try:
        plan = _plan(network)
    except (AttributeError, KeyError, TypeError, ValueError, NetworkError):  # a provenance of another shape
        return ()
    for name, in_shape, spec in plan:
        if name not in names:
            continue
        t = names.index(name)
        s = t - 1  # the builders add the layers in plan order, each fed by the one before
        src, dst = _contiguous(network.population, s), _contiguous(network.population, t)
        if s < 0 or src is None or dst is None or src[1] != int(np.prod(in_shape)):
            continue
        (kh, kw), (sh, sw), (ph, pw) = _pair(spec["kernel"]), _pair(spec["stride"]), _pair(spec["padding"])
        try:
            ho, wo = conv_out(in_shape[1], kh, sh, ph), conv_out(in_shape[2], kw, sw, pw)
        except NetworkError:
            continue
        if dst[1] % (ho * wo):
            continue
        out_shape = (dst[1] // (ho * wo), ho, wo)
        g = ConvGeometry(s, t, in_shape, out_shape, (kh, kw), (sh, sw), (ph, pw), bool(spec["depthwise"]),
                         src[0], dst[0])
        if (not g.depthwise or out_shape[0] == in_shape[0]) and _matches(network, g):
            out.append(g)
    return tuple(out)


def window_range(size_in: int, size_out: int, kernel: int, stride: int, padding: int) -> tuple[np.ndarray, np.ndarray]:
    """Along one axis, per input position: the first and last output positions whose windows read it (clipped to
    the layer; ``lo > hi`` where no window does, as for the last inputs of a strided layer)."""
    q = np.arange(size_in)
    return np.maximum(-(-(q + padding - kernel + 1) // stride), 0), np.minimum((q + padding) // stride, size_out - 1)


def tiles_spanned(size_in: int, size_out: int, kernel: int, stride: int, padding: int, tile: int) -> np.ndarray:
    """Along one axis: how many aligned tiles of ``tile`` outputs each input's window meets."""
    lo, hi = window_range(size_in, size_out, kernel, stride, padding)
    return np.where(lo <= hi, hi // tile - lo // tile + 1, 0)


def aligned_tilings(g: ConvGeometry, weight: np.ndarray, positions: int) -> list[tuple[float, int, int]]:
    """``(destinations, a, b)`` for every aligned tiling of the layer's output positions into ``a x b`` tiles
    with ``a b <= positions``: the spike-weighted (``weight``, one per input neuron) number of tiles the
    inputs' windows meet, each tile counted once per input (every channel at a position meets the same tiles)."""
    cin, h, w = g.in_shape
    _, ho, wo = g.out_shape
    (kh, kw), (sh, sw), (ph, pw) = g.kernel, g.stride, g.padding
    per_q = np.asarray(weight, dtype=np.float64).reshape(cin, h, w).sum(axis=0)
    out = []
    for a in range(1, min(ho, positions) + 1):
        ny = tiles_spanned(h, ho, kh, sh, ph, a)
        for b in range(1, min(wo, positions // a) + 1):
            out.append((float(ny @ per_q @ tiles_spanned(w, wo, kw, sw, pw, b)), a, b))
    return out
