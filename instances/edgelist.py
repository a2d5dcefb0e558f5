"""Import a network from an edge-list CSV and a per-neuron spike file.

Edge file: one synapse per line, ``pre,post`` or ``pre,post,weight``
(0-based neuron indices); an optional header line naming those columns; lines
starting with ``#`` are comments. Spike file: either ``neuron,spikes`` lines
(neurons not listed get 0) or one spike count per line (line ``i`` =
neuron ``i``), with an optional header.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from snnmap.instances.files import atomic_write, finite_numbers, read_text, whole_numbers
from snnmap.instances.network import NetworkError, SpikingNetwork, check_num_neurons


def _read_table(path: Path, what: str, columns: tuple[int, ...]) -> tuple[list[str] | None, np.ndarray, np.ndarray]:
    """Rows of a small CSV as strings: ``(header or None, fields (rows, cols), line numbers)``."""
    lines = read_text(path, what, NetworkError).splitlines()
    keep = [(i + 1, ln.strip()) for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
    if not keep:
        raise NetworkError(f"{path}: the {what} file is empty: write one row per line")
    header = None
    first = [f.strip() for f in keep[0][1].split(",")]
    if not _is_number(first[0]):
        header, keep = [f.lower() for f in first], keep[1:]
    rows = [ln.split(",") for _, ln in keep]
    widths = np.array([len(r) for r in rows])
    width = int(widths[0]) if rows else (len(header) if header else columns[0])
    if width not in columns:
        raise NetworkError(f"{path}: line {keep[0][0]} has {width} fields; the {what} file needs "
                           f"{' or '.join(map(str, columns))} comma-separated columns")
    bad = np.flatnonzero(widths != width)
    if bad.size:
        ln = keep[int(bad[0])][0]
        raise NetworkError(f"{path}: line {ln} has {int(widths[bad[0]])} fields but earlier lines have {width}: "
                           "give the same columns on every line")
    if header is not None and len(header) != width:
        raise NetworkError(f"{path}: header names {len(header)} columns but the rows have {width}")
    fields = np.array(rows, dtype=str).reshape(len(rows), width) if rows else np.zeros((0, width), dtype=str)
    return header, np.char.strip(fields), np.array([k for k, _ in keep], dtype=np.int64)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _column(path: Path, fields: np.ndarray, lines: np.ndarray, col: int, name: str, integer: bool) -> np.ndarray:
    """Column ``col`` as numbers: neuron indices (whole, >= 0) or finite values; errors name file and line."""
    try:
        vals = fields[:, col].astype(np.float64)
    except ValueError:
        bad = next(k for k, v in enumerate(fields[:, col]) if not _is_number(v))  # error path only
        raise NetworkError(f"{path}: line {lines[bad]}, field {name!r}: {str(fields[bad, col])!r} "
                           "is not a number") from None
    try:
        if integer:
            return whole_numbers(vals, name, meaning="a neuron index", error=NetworkError,
                                 locate=lambda k: f"line {lines[k]}")
        return finite_numbers(vals, name, meaning="the value", error=NetworkError, locate=lambda k: f"line {lines[k]}")
    except NetworkError as exc:
        raise NetworkError(f"{path}: {exc}") from None


def load_edgelist(
    edges: str | Path,
    spikes: str | Path,
    *,
    num_neurons: int | None = None,
    t_run: float = 1.0,
    name: str | None = None,
) -> SpikingNetwork:
    """Read an edge list and a spike file into a :class:`SpikingNetwork`.

    Parameters
    ----------
    edges
        CSV with ``pre,post[,weight]`` rows.
    spikes
        CSV with ``neuron,spikes`` rows, or one count per line.
    num_neurons
        Number of neurons (default: one more than the largest index seen).
    t_run
        Inference window in seconds.
    name
        Network name (default: the edge file's stem).
    """
    ep, sp_ = Path(edges), Path(spikes)
    header, fields, lines = _read_table(ep, "edge-list", (2, 3))
    if header is not None and header[:2] != ["pre", "post"]:
        raise NetworkError(f"{ep}: header {','.join(header)!r}: the columns must be pre,post[,weight]")
    pre = _column(ep, fields, lines, 0, "pre", True)
    post = _column(ep, fields, lines, 1, "post", True)
    w = _column(ep, fields, lines, 2, "weight", False) if fields.shape[1] == 3 else None
    sh, sf, sl = _read_table(sp_, "spike", (1, 2))
    if sf.shape[1] == 2:
        if sh is not None and sh != ["neuron", "spikes"]:
            raise NetworkError(f"{sp_}: header {','.join(sh)!r}: the columns must be neuron,spikes")
        idx = _column(sp_, sf, sl, 0, "neuron", True)
        cnt = _column(sp_, sf, sl, 1, "spikes", False)
    else:
        cnt = _column(sp_, sf, sl, 0, "spikes", False)
        idx = np.arange(cnt.size, dtype=np.int64)
    if cnt.size and cnt.min() < 0:
        k = int(np.flatnonzero(cnt < 0)[0])
        raise NetworkError(f"{sp_}: line {sl[k]}, field 'spikes': {cnt[k]:g} is negative; spike counts must be >= 0")
    if idx.size != np.unique(idx).size:
        dup = int(idx[np.flatnonzero(np.bincount(idx) > 1)[0]])
        raise NetworkError(f"{sp_}: neuron {dup} is listed twice: give one spike count per neuron")
    seen = max(int(pre.max(initial=-1)), int(post.max(initial=-1)), int(idx.max(initial=-1))) + 1
    try:
        n = check_num_neurons(seen if num_neurons is None else num_neurons)
    except NetworkError as exc:
        raise NetworkError(f"{ep}: {exc} (the largest neuron index in the files is {seen - 1})") from None
    if n < seen:
        raise NetworkError(f"num_neurons={n} but the files use neuron index {seen - 1}: raise num_neurons")
    counts = np.zeros(n)
    counts[idx] = cnt
    try:
        return SpikingNetwork.from_edges(
            n, pre, post, counts, t_run=t_run, weights=w, name=name or ep.stem,
            provenance={"builder": "instances.edgelist", "version": "1", "data_source": f"{ep}, {sp_}"},
        )
    except NetworkError as exc:
        raise NetworkError(f"{ep}: {exc}") from None


def save_edgelist(net: SpikingNetwork, edges: str | Path, spikes: str | Path) -> None:
    """Write ``net`` as an edge-list CSV and a ``neuron,spikes`` file (the inverse of :func:`load_edgelist`)."""
    cols = [net.pre, net.post] + ([net.weights] if net.weights is not None else [])
    head = "pre,post,weight" if net.weights is not None else "pre,post"
    fmt = ["%d", "%d"] + (["%.17g"] if net.weights is not None else [])
    _write_csv(edges, np.column_stack(cols), head, fmt)
    _write_csv(spikes, np.column_stack([np.arange(net.num_neurons), net.spikes]), "neuron,spikes", ["%d", "%.17g"])


def _write_csv(path: str | Path, table: np.ndarray, header: str, fmt: list[str]) -> None:
    buf = io.StringIO()
    np.savetxt(buf, table, delimiter=",", header=header, comments="", fmt=fmt)
    data = buf.getvalue().encode()
    atomic_write(path, lambda fh: fh.write(data))
