"""Import a NIR graph (https://neuroir.org) as a neuron-level :class:`SpikingNetwork`.

Supported nodes: ``Input``, ``Output``; weight nodes ``Affine``, ``Linear``,
``Conv2d`` (dilation 1, groups 1), ``SumPool2d``, ``AvgPool2d``, ``Flatten``;
neuron nodes ``IF``, ``LIF``, ``LI``, ``CubaLIF``. Every ``Input`` and neuron
node becomes a population; every path of weight nodes from one population to
the next becomes the product of their sparse matrices, i.e. explicit
neuron-to-neuron synapses (parallel paths add).

Spike counts come from ``spikes`` when given (per node: counts with the
node's shape, or time-major arrays summed over time; or a ``nir.NIRGraphData``
with a ``"spikes"`` observable); otherwise the network is simulated with
:func:`instances.simulator.simulate` from ``input_rates`` (or seeded uniform
rates in ``[0, 0.5]``). Simulation semantics (per step ``dt``): IF
``v += r I``; LIF / CubaLIF ``v = (1 - dt/tau) v + (r dt/tau) I`` (snnTorch's
``Leaky`` when ``r = tau/dt``); CubaLIF's synaptic filter is ignored and its
``w_in`` scales the input; LI never spikes; ``v_leak`` and biases are
ignored (recorded in the provenance).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import scipy.sparse as sp

from snnmap.instances.files import whole_numbers
from snnmap.instances.layers import NetBuilder, conv2d_edges
from snnmap.instances.network import NetworkError, SpikingNetwork
from snnmap.instances.simulator import simulate

_WEIGHT_NODES = ("Affine", "Linear", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten")
_NEURON_NODES = ("IF", "LIF", "LI", "CubaLIF")
_IO_NODES = ("Input", "Output")
SUPPORTED = _IO_NODES + _WEIGHT_NODES + _NEURON_NODES


def load_nir(
    graph: Any,
    *,
    spikes: Any = None,
    input_rates: np.ndarray | Mapping[str, np.ndarray] | None = None,
    steps: int = 100,
    dt: float = 1e-3,
    seed: int = 0,
    name: str | None = None,
) -> SpikingNetwork:
    """Expand a NIR graph (object or ``.nir`` file) to a neuron-level network.

    Parameters
    ----------
    graph
        A ``nir.NIRGraph`` or a path to a file written by ``nir.write``.
    spikes
        Optional recorded spikes: ``{node: array}`` or ``nir.NIRGraphData``.
        Neurons of nodes without data are simulated.
    input_rates
        Spike probability per step of the input neurons (one array with the
        input's shape when there is one ``Input`` node, else ``{node: array}``).
    steps, dt
        Simulation length (steps) and step (seconds); ``t_run = steps * dt``.
    seed
        Seed of generated inputs and Poisson encoding.
    name
        Network name (default: the file stem or ``"nir"``).
    """
    import nir

    where = "NIR graph"
    if isinstance(graph, (str, Path)):
        path = Path(graph)
        where = str(path)
        if not path.is_file():
            raise NetworkError(f"{path}: no such NIR file")
        try:
            graph = nir.read(path)
        except Exception as exc:  # the nir reader raises many kinds
            raise NetworkError(f"{path}: not a readable NIR file ({exc})") from None
        name = name or path.stem
    if not isinstance(graph, nir.NIRGraph):
        raise NetworkError(f"{where}: expected a nir.NIRGraph or a path to a .nir file, got {type(graph).__name__}")
    nodes = dict(graph.nodes)
    for key, node in nodes.items():
        kind = type(node).__name__
        if kind not in SUPPORTED:
            raise NetworkError(
                f"{where}: node {key!r} has unsupported type {kind}; supported: {', '.join(SUPPORTED)}. "
                "Fix: replace it by supported nodes (e.g. a Conv1d by a Conv2d of height 1) or drop it before export"
            )
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    pred: dict[str, list[str]] = {k: [] for k in nodes}
    for edge in graph.edges:
        src, dst = edge
        for end in (src, dst):
            if end not in nodes:
                raise NetworkError(f"{where}: edge {src!r} -> {dst!r} names an unknown node {end!r}")
        succ[src].append(dst)
        pred[dst].append(src)

    # Shapes: propagate from the populations through the weight nodes.
    shapes: dict[str, tuple[int, ...]] = {}
    for key, node in nodes.items():
        if type(node).__name__ == "Input":
            with _node(where, key, node):
                shapes[key] = _sizes(node.input_type["input"], "input_type", low=1)
    # Fixed point: recurrent edges make a plain topological order impossible.
    for _ in range(len(nodes) + 1):
        changed = False
        for key, node in nodes.items():
            kind = type(node).__name__
            if kind in ("Input", "Output") or key in shapes:
                continue
            ins = [shapes[p] for p in pred[key] if p in shapes]
            if kind in _NEURON_NODES:
                try:
                    with _node(where, key, node):
                        shapes[key] = _neuron_shape(key, node, ins, where)
                except NetworkError:
                    if ins:
                        raise
                    continue
            elif ins:
                with _node(where, key, node):
                    shapes[key] = _out_shape(key, node, ins[0], where)
            else:
                continue
            changed = True
        if not changed:
            break
    # Number populations by distance from the inputs, then by name: independent of the
    # order in which a file lists its nodes.
    level = {k: 0 for k, v in nodes.items() if type(v).__name__ == "Input"}
    frontier = sorted(level)
    while frontier:
        nxt = []
        for k in frontier:
            for o in succ[k]:
                if o not in level:
                    level[o] = level[k] + 1
                    nxt.append(o)
        frontier = sorted(nxt)
    order = sorted(nodes, key=lambda k: (level.get(k, len(nodes)), k))
    pops = [k for k in order if type(nodes[k]).__name__ in ("Input",) + _NEURON_NODES]
    nb = NetBuilder()
    pop_of: dict[str, Any] = {}
    gains: dict[str, float | np.ndarray] = {}
    for key in pops:
        node = nodes[key]
        with _node(where, key, node):
            th, leak, gain = _neuron_params(node, dt)
        if key not in shapes:
            raise NetworkError(f"{where}: cannot infer the size of node {key!r}: connect it to an Input")
        pop_of[key] = nb.add(key, shapes[key], v_th=float(np.mean(th)), leak=float(np.mean(leak)))
        gains[key] = gain
    # Synapses: every weight path from a population to the next population.
    for src in pops:
        mats: dict[str, sp.csr_matrix] = {}
        stack = [(s, sp.identity(pop_of[src].size, format="csr")) for s in succ[src]]
        while stack:
            key, mat = stack.pop()
            kind = type(nodes[key]).__name__
            if key in pop_of:
                mats[key] = mats[key] + mat if key in mats else mat
                continue
            if kind == "Output":
                continue
            with _node(where, key, nodes[key]):
                step = _weight_matrix(key, nodes[key], shapes[pred[key][0]], where)
            stack.extend((s, (mat @ step).tocsr()) for s in succ[key])
        for dst, mat in mats.items():
            coo = sp.coo_matrix(mat)
            coo.sum_duplicates()
            keep = coo.data != 0
            gain = np.broadcast_to(np.asarray(gains[dst], dtype=float), (pop_of[dst].size,))
            w = coo.data[keep] * gain[coo.col[keep]]
            nb.connect(pop_of[src], pop_of[dst], coo.row[keep], coo.col[keep], w)

    counts = np.full(nb.num_neurons, np.nan)
    recorded = _recorded(spikes, pop_of, where)
    for key, arr in recorded.items():
        counts[pop_of[key].ids] = arr
    if np.isnan(counts).any():
        inputs = [k for k in pops if type(nodes[k]).__name__ == "Input"]
        in_ids = np.concatenate([pop_of[k].ids for k in inputs]) if inputs else np.zeros(0, np.int64)
        rates = _input_rates(input_rates, inputs, pop_of, seed, where)
        v_th, leak = nb.neuron_params()
        for k in pops:
            if type(nodes[k]).__name__ == "LI":
                v_th[pop_of[k].ids] = np.inf
        sim = simulate(nb.matrix(), in_ids, rates[None, :], steps, v_th=v_th, leak=leak,
                       encoding="poisson", seed=seed).total.astype(float)
        fill = np.isnan(counts)
        counts[fill] = sim[fill]
    prov = {"builder": "instances.nir_import", "version": "1", "seed": int(seed), "data_source": where,
            "spikes": ("simulated" if not recorded else "recorded+simulated" if len(recorded) < len(pops)
                       else "recorded"),
            "nodes": {k: type(v).__name__ for k, v in nodes.items()}, "steps": int(steps), "dt": float(dt),
            "ignored": "biases, v_leak, v_reset, CubaLIF synaptic filter"}
    if not recorded:
        prov["spikes"] = "simulated"
    return nb.network(counts, t_run=steps * dt, name=name or "nir", provenance=prov, time_steps=int(steps))


# ------------------------------------------------------------------ helpers
@contextlib.contextmanager
def _node(where: str, key: str, node: Any) -> Iterator[None]:
    """Turn any failure while reading one node into an error naming that node."""
    try:
        yield
    except NetworkError as exc:
        if f"node {key!r}" in str(exc):
            raise
        raise NetworkError(f"{where}: node {key!r} ({type(node).__name__}): {exc}") from None
    except (TypeError, ValueError, AttributeError, IndexError, KeyError, OverflowError) as exc:
        raise NetworkError(
            f"{where}: node {key!r} ({type(node).__name__}) cannot be imported ({type(exc).__name__}: {exc}): "
            "check the types and shapes of its parameters"
        ) from None


def _sizes(values: Any, field: str, low: int) -> tuple[int, ...]:
    """Sizes, strides or paddings: whole numbers (a 2.5 is refused, never truncated)."""
    arr = np.asarray(values).ravel()
    return tuple(int(v) for v in whole_numbers(arr, field, low=low, meaning=f"each {field} entry", error=NetworkError))


def _per_neuron(values: Any) -> np.ndarray | float:
    """A parameter as one float or one value per neuron (exporters write scalars as shape () or (1,))."""
    arr = np.asarray(values, dtype=float)
    return float(arr.ravel()[0]) if arr.size == 1 else arr.ravel()


def _neuron_shape(key: str, node: Any, ins: list[tuple[int, ...]], where: str) -> tuple[int, ...]:
    for attr in ("v_threshold", "tau", "tau_mem", "r"):
        val = np.asarray(getattr(node, attr, 1.0))
        if val.size > 1:
            shape = tuple(int(v) for v in val.shape)
            if ins and int(np.prod(ins[0])) != int(np.prod(shape)):
                raise NetworkError(
                    f"{where}: node {key!r} has {int(np.prod(shape))} neurons but receives "
                    f"{int(np.prod(ins[0]))} inputs: fix the weight shapes on the edges into it"
                )
            return shape
    if not ins:
        raise NetworkError(f"{where}: cannot infer the size of node {key!r}: give array parameters or an input edge")
    return ins[0]


def _neuron_params(node: Any, dt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | float]:
    kind = type(node).__name__
    if kind == "Input":
        return np.ones(1), np.ones(1), 1.0
    r = np.asarray(node.r, dtype=float)
    if kind == "IF":
        return np.asarray(node.v_threshold, float), np.ones(1), _per_neuron(r)
    tau = np.asarray(node.tau_mem if kind == "CubaLIF" else node.tau, dtype=float)
    leak = np.clip(1.0 - dt / tau, 0.0, 1.0)
    gain = r * dt / tau * (np.asarray(node.w_in, float) if kind == "CubaLIF" else 1.0)
    th = np.asarray(node.v_threshold, float) if kind != "LI" else np.full(1, np.inf)
    return th, leak, _per_neuron(gain)


def _out_shape(key: str, node: Any, shape: tuple[int, ...], where: str) -> tuple[int, ...]:
    kind = type(node).__name__
    if kind == "Flatten":
        return (int(np.prod(shape)),)
    if kind in ("Affine", "Linear"):
        return (int(np.asarray(node.weight).shape[0]),)
    return _conv_like(key, node, shape, where)[3]


def _conv_like(key: str, node: Any, shape: tuple[int, ...], where: str):
    kind = type(node).__name__
    if len(shape) != 3:
        raise NetworkError(f"{where}: node {key!r} ({kind}) needs a (C, H, W) input, got shape {shape}")
    if kind == "Conv2d":
        w = np.asarray(node.weight, dtype=float)
        if int(np.max(node.dilation)) != 1 or int(node.groups) != 1:
            raise NetworkError(f"{where}: node {key!r}: only Conv2d with dilation 1 and groups 1 is supported")
        pad = node.padding
        if isinstance(pad, str):
            if pad != "valid":
                raise NetworkError(f"{where}: node {key!r}: padding {pad!r} unsupported; give integers or 'valid'")
            pad = 0
        pad = _sizes(np.broadcast_to(np.asarray(pad), (2,)), "padding", low=0)
        stride = _sizes(np.broadcast_to(np.asarray(node.stride), (2,)), "stride", low=1)
        if w.shape[1] != shape[0]:
            raise NetworkError(f"{where}: node {key!r}: weight expects {w.shape[1]} input channels, "
                               f"input has {shape[0]}")
        pre, post, kidx, out = conv2d_edges(shape, w.shape[0], w.shape[2:], stride, pad)
        return pre, post, w.ravel()[kidx], out
    k = _sizes(np.broadcast_to(np.asarray(node.kernel_size), (2,)), "kernel_size", low=1)
    stride = _sizes(np.broadcast_to(np.asarray(node.stride), (2,)), "stride", low=1)
    pad = _sizes(np.broadcast_to(np.asarray(node.padding), (2,)), "padding", low=0)
    pre, post, _, out = conv2d_edges(shape, 0, k, stride, pad, depthwise=True)
    val = 1.0 / (k[0] * k[1]) if kind == "AvgPool2d" else 1.0
    return pre, post, np.full(pre.size, val), out


def _weight_matrix(key: str, node: Any, shape: tuple[int, ...], where: str) -> sp.csr_matrix:
    kind = type(node).__name__
    n_in = int(np.prod(shape))
    if kind == "Flatten":
        return sp.identity(n_in, format="csr")
    if kind in ("Affine", "Linear"):
        w = np.asarray(node.weight, dtype=float)
        if w.ndim != 2 or w.shape[1] != n_in:
            raise NetworkError(f"{where}: node {key!r} ({kind}) weight has shape {w.shape} for {n_in} inputs: "
                               "it must be (outputs, inputs)")
        return sp.csr_matrix(w.T)
    pre, post, w, out = _conv_like(key, node, shape, where)
    return sp.csr_matrix((w, (pre, post)), shape=(n_in, int(np.prod(out))))


def _recorded(spikes: Any, pop_of: dict, where: str) -> dict[str, np.ndarray]:
    if spikes is None:
        return {}
    data: dict[str, Any] = {}
    if hasattr(spikes, "nodes"):  # nir.NIRGraphData
        for key, nd in spikes.nodes.items():
            obs = getattr(nd, "observables", {}) or {}
            if "spikes" in obs:
                data[key] = np.asarray(getattr(obs["spikes"], "data", obs["spikes"]))
    elif isinstance(spikes, Mapping):
        data = {k: np.asarray(v) for k, v in spikes.items()}
    else:
        raise NetworkError(f"{where}: spikes must be a {{node: array}} mapping or nir.NIRGraphData")
    out = {}
    for key, arr in data.items():
        if key not in pop_of:
            raise NetworkError(f"{where}: spike data for {key!r}, which is not an Input or neuron node")
        size = pop_of[key].size
        if arr.size == 0 or arr.size % size:
            raise NetworkError(f"{where}: spike data of node {key!r} has {arr.size} values for {size} neurons: "
                               "give counts with the node's shape or (time, *shape) spike trains")
        counts = arr.astype(float).reshape(-1, size).sum(axis=0)
        if not np.all(np.isfinite(counts)) or counts.min() < 0:
            raise NetworkError(f"{where}: spike data of node {key!r} has negative or non-finite values: "
                               "counts must be >= 0")
        out[key] = counts
    return out


def _input_rates(rates: Any, inputs: list[str], pop_of: dict, seed: int, where: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    parts = []
    for k in inputs:
        size = pop_of[k].size
        if rates is None:
            r = rng.uniform(0.0, 0.5, size)
        else:
            r = np.asarray(rates[k] if isinstance(rates, Mapping) else rates, dtype=float).ravel()
            if r.size != size:
                raise NetworkError(f"{where}: input_rates for {k!r} has {r.size} values for {size} input neurons")
        parts.append(r)
    return np.concatenate(parts) if parts else np.zeros(0)
