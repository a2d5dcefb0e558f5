"""Plain-text tables for the command line, and the check that an output directory is writable."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any, Sequence

from snnmap.formulations import TERMS, EnergyReport, Result


def joules(value: float | None) -> str:
    """An energy with an SI prefix, e.g. ``3.21 uJ``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf"
    for scale, unit in ((1.0, "J"), (1e-3, "mJ"), (1e-6, "uJ"), (1e-9, "nJ"), (1e-12, "pJ")):
        if abs(value) >= scale:
            return f"{value / scale:.4g} {unit}"
    return f"{value / 1e-15:.4g} fJ" if value else "0 J"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A left-aligned text table."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def breakdown(report: EnergyReport) -> str:
    """Energy by term plus traffic and load figures."""
    rows: list[list[Any]] = []
    for term in TERMS:
        value = report.terms[term]
        share = value / report.total * 100 if report.total else 0.0
        rows.append([f"E_{term}", joules(value), f"{share:.1f}%"])
    rows.append(["total", joules(report.total), "100.0%"])
    out = [table(["term", "energy", "share"], rows)]
    out.append(
        f"comm model {report.comm_model}; cores used {report.cores_used}; packets {report.packets:g} "
        f"(local {report.local_packets:g}); hop-packets {report.hop_packets:g}; max link load {report.max_link_load:g}"
    )
    if report.interchip_packets is not None:  # a board of several chips
        out.append(f"inter-chip packets {report.interchip_packets:g}")
    if report.step is not None:
        st = report.step
        out.append(f"time per step {st.total * 1e6:.4g} us: busiest core {st.bottleneck} "
                   f"{st.busy.max() * 1e6:.4g} us + network {st.network * 1e9:.3g} ns + sync {st.sync * 1e6:.3g} us "
                   f"({st.tiles_used} tiles)")
    if report.violations:
        out.append("VIOLATED LIMITS:")
        out.extend(f"  - {v}" for v in report.violations)
    else:
        out.append("all limits met")
    return "\n".join(out)


def result_text(result: Result) -> str:
    head = f"method {result.method}  status {result.status}  time {result.runtime:.2f} s  seed {result.seed}"
    lines = [head]
    if result.lower_bound is not None:
        gap = result.certified_gap
        shown = f"  certified gap {gap * 100:.2f}%" if gap is not None else ""
        if gap is not None and result.report is not None:
            # the same on the energy a mapping can change: the fixed terms do not dilute it
            movable = result.lower_bound - result.report.terms["neuron"] - result.report.terms["synapse"]
            if movable > 0:
                shown += f" ({(result.energy - result.lower_bound) / movable * 100:.2f}% on comm+static)"
        lines.append(f"lower bound {joules(result.lower_bound)}{shown}")
    if result.message:
        lines.append(result.message)
    if result.report is not None:
        lines.append(breakdown(result.report))
    return "\n".join(lines)


def writable_dir(path: Path, what: str) -> Path:
    """``path``, created if missing, once a file could be made in it; else ``ValueError`` naming ``what``.

    Checked before long work starts, so that its results are not lost at the end.
    """
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what} {path}: a file of that name exists; give a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ValueError(f"{what} {path}: cannot write there ({exc.strerror or exc})") from None
    return path


