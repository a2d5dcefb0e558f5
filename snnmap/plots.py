"""Figures: energy breakdowns, gaps, and a mesh heat map of one mapping (matplotlib, PNG).

A leaf of the front door: it draws what it is given and imports nothing of the gap study.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from snnmap.formulations import TERMS, evaluate
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork

TERM_COLOURS = {"neuron": "#4c72b0", "synapse": "#55a868", "comm": "#c44e52", "static": "#8172b2"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    return plt


def energy_breakdown(rows: Sequence[Any], path: Path) -> Path:
    """Stacked bars by energy term, one group per application, one bar per method.

    ``rows`` are gap-study rows (:class:`snnmap.gap_evaluator.GapRow`); rows without a mapping are left out.
    """
    plt = _pyplot()
    rows = [r for r in rows if math.isfinite(r.energy) and r.E_comm is not None]
    keys = list(dict.fromkeys((r.application, r.scale) for r in rows))
    methods = list(dict.fromkeys(r.method for r in rows))
    fig, axes = plt.subplots(1, max(len(keys), 1), figsize=(max(4, 2.2 * len(keys)), 4.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        group = {r.method: r for r in rows if (r.application, r.scale) == key}
        x = np.arange(len(methods))
        bottom = np.zeros(len(methods))
        scale = max(r.energy for r in group.values())
        for term in TERMS:
            vals = np.array([getattr(group[m], f"E_{term}") / scale if m in group else 0.0 for m in methods])
            ax.bar(x, vals, bottom=bottom, color=TERM_COLOURS[term], label=term)
            bottom += vals
        ax.set_xticks(x, methods, rotation=90, fontsize=7)
        ax.set_title(f"{key[0]}:{key[1]}", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.tick_params(axis="y", labelsize=7)
    axes[0][0].set_ylabel("energy / largest in group")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right", fontsize=7)
    fig.tight_layout(rect=(0, 0, 0.95, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def gap_chart(rows: Sequence[Any], path: Path) -> Path:
    """Gap (mini: to the best known; full: certified, to the bound) per application and method.

    Two panels: the gap on the total energy and the same gap on the mapping-dependent
    energy (comm + static). ``rows`` are gap-study rows
    (:class:`snnmap.gap_evaluator.GapRow`) of the methods to draw (the heuristics).
    """
    plt = _pyplot()
    keys = list(dict.fromkeys((r.application, r.scale) for r in rows))
    methods = list(dict.fromkeys(r.method for r in rows))
    width = 0.8 / max(len(methods), 1)
    fig, axes = plt.subplots(2, 1, figsize=(max(6, 1.1 * len(keys)), 7), sharex=True)
    panels = (("total energy", lambda r, mini: r.gap if mini else r.certified_gap),
              ("mapping-dependent energy (comm + static)",
               lambda r, mini: r.gap_mapping if mini else r.certified_gap_mapping))
    for ax, (what, pick) in zip(axes, panels):
        for k, m in enumerate(methods):
            vals = []
            for key in keys:
                r = next((r for r in rows if (r.application, r.scale) == key and r.method == m), None)
                g = None if r is None else pick(r, key[1] == "mini")
                vals.append(np.nan if g is None else g * 100)
            ax.bar(np.arange(len(keys)) + k * width, vals, width, label=m)
        ax.set_ylabel(f"gap on {what} (%)", fontsize=8)
        ax.set_yscale("symlog", linthresh=1.0)
    axes[1].set_xticks(np.arange(len(keys)) + 0.4 - width / 2, [f"{a}:{s}" for a, s in keys], rotation=45,
                       ha="right", fontsize=7)
    axes[0].set_title("mini: gap to the best known (proven optimum where marked); full: certified gap to the bound",
                      fontsize=8)
    axes[0].legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def mesh_heat_map(network: SpikingNetwork, hardware: Hardware, core_of: np.ndarray, path: Path, *,
                  title: str = "") -> Path:
    """Neurons per tile as a heat map, with link traffic (XY routing) drawn between tiles."""
    plt = _pyplot()
    if hardware.topology != "mesh":
        raise ValueError(f"{hardware.name}: a heat map needs a mesh topology, not {hardware.topology!r}")
    report = evaluate(network, hardware, core_of)
    rows, cols = hardware.mesh  # type: ignore[misc]
    tile_load = np.bincount(np.arange(hardware.num_cores) // hardware.cores_per_tile,
                            weights=report.core_neurons, minlength=rows * cols).reshape(rows, cols)
    fig, ax = plt.subplots(figsize=(min(12, 2 + cols * 0.9), min(12, 1.5 + rows * 0.9)))
    im = ax.imshow(tile_load, cmap="Blues", vmin=0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.08, location="left", label="neurons per tile")
    loads = report.link_load or {}
    peak = max(report.max_link_load, 1e-12)
    cmap = plt.get_cmap("inferno_r")
    # East/west links sit between columns, south/north between rows; offsets keep both directions visible.
    sides = {"east": (0, 1, -0.12), "west": (0, 1, 0.12), "south": (1, 0, -0.12), "north": (1, 0, 0.12)}
    for name, (dr, dc, off) in sides.items():
        arr = loads.get(name)
        if arr is None:
            continue
        for (r, c), v in np.ndenumerate(arr):
            if v <= 0:
                continue
            if dc:
                ax.plot([c, c + 1], [r + off, r + off], color=cmap(v / peak), lw=1 + 4 * v / peak)
            else:
                ax.plot([c + off, c + off], [r, r + 1], color=cmap(v / peak), lw=1 + 4 * v / peak)
    if loads:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        fig.colorbar(ScalarMappable(Normalize(0, peak), cmap), ax=ax, fraction=0.046, pad=0.04,
                     label="packets on link (XY routing)")
    ax.set_title((title + "\n" if title else "")
                 + f"E = {report.total:.4g} J, max link load {report.max_link_load:.4g} packets",
                 fontsize=9)
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
