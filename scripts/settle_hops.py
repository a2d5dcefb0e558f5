"""Hops per packet of partition-refine on ``crossbar128`` with and without settling its best mapping.

For every application: partition-refine (seed 0, ``--time-limit``) with
:func:`heuristics.replace.settle_cores` switched off (the code before it) and
on, back to back under the same load; the energy, its comm term, the hops per
remote packet and per partial-sum packet; and the floor of the placement for
the settled partition: its used cores re-placed by :func:`heuristics.replace.replace_cores`
and then annealed (``heuristics.placement.anneal_positions``, median moves) for
``--floor-seconds``.

    python scripts/settle_hops.py                       # writes scripts/results/settle_hops.md
    python scripts/settle_hops.py --apps LeNet --out /tmp/sh
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

import snnmap.heuristics.partition_refine as partition_refine
from snnmap import api
from snnmap.formulations.energy import destination_pairs, evaluate
from snnmap.heuristics.common import Timer
from snnmap.heuristics.placement import anneal_positions, cluster_flow
from snnmap.heuristics.replace import replace_cores
from snnmap.instances.files import write_text
from snnmap.prepare import hardware_label, prepared

RESULTS = Path(__file__).resolve().parent / "results"
CHIP = "crossbar128"


def hops(net: Any, hw: Any, core_of: np.ndarray) -> tuple[float, float]:
    """Spike-weighted hops per remote packet: all packets, and those of the partial-sum populations."""
    pn, pc = destination_pairs(net, core_of, hw.num_cores)
    src = core_of[pn]
    w = net.spikes[pn] * (src != pc)
    h = w * hw.hops(src, pc)
    partial = np.isin(net.population[pn], [i for i, n in enumerate(net.population_names) if n.endswith("/partial")])
    return float(h.sum() / max(w.sum(), 1e-300)), float(h[partial].sum() / max(w[partial].sum(), 1e-300))


def floor(net: Any, hw: Any, core_of: np.ndarray, seconds: float) -> np.ndarray:
    """The settled partition's cores re-placed, then annealed for ``seconds``: how low its placement goes."""
    moved = replace_cores(net, hw, core_of, seed=0)
    used, cluster_of = np.unique(moved, return_inverse=True)
    flow = cluster_flow(net, cluster_of, used.size, hw.comm)
    pos = anneal_positions(flow, hw, used, timer=Timer(seconds), seed=0, median=0.2, fit_time=True, effort=50.0)
    return pos[cluster_of]


def run(app: str, time_limit: float, floor_seconds: float) -> list[str]:
    """Table rows of one application: before, after and the placement floor."""
    net, hw = prepared(app, "full", CHIP)
    rows = []
    settled = None
    for label, off in (("before (no settling)", True), ("after", False)):
        patches = [mock.patch.object(partition_refine, "settle_cores", lambda n, h, c, **k: c),
                   mock.patch.object(partition_refine, "SETTLE_EVALS", 0.0)] if off else []
        for p in patches:
            p.start()
        try:
            result = api.solve(net, hw, "partition-refine", time_limit=time_limit, seed=0)
        finally:
            for p in patches:
                p.stop()
        core_of = np.asarray(result.mapping)
        settled = core_of
        rows.append(row(app, hw, net, label, core_of, f"{result.runtime:.0f} s, {result.status}"))
    best = floor(net, hw, settled, floor_seconds)
    rows.append(row(app, hw, net, f"floor: after, cores re-placed + {floor_seconds:g} s annealing", best, ""))
    return rows


def row(app: str, hw: Any, net: Any, label: str, core_of: np.ndarray, note: str) -> str:
    rep = evaluate(net, hw, core_of, link_loads=False)
    h_all, h_partial = hops(net, hw, core_of)
    return (f"| {app} | {hardware_label(hw)} | {label} | {rep.total:.6g} | {rep.terms['comm']:.4g} "
            f"| {h_all:.2f} | {h_partial:.2f} | {note} |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--apps", default="LeNet,AlexNet")
    ap.add_argument("--time-limit", type=float, default=40.0)
    ap.add_argument("--floor-seconds", type=float, default=20.0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    lines = [f"# Settling partition-refine's mapping on {CHIP} (python scripts/settle_hops.py; {stamp}; "
             f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the start)", "",
             f"partition-refine, seed 0, {args.time_limit:g} s; hops are spike-weighted, per remote packet. "
             "Timings under load: the two runs of an application are back to back.", "",
             "| application | chip | mapping | energy J | comm J | hops / packet | hops / partial-sum packet | run |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for app in args.apps.split(","):
        lines += run(app, args.time_limit, args.floor_seconds)
        print("\n".join(lines[-3:]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "settle_hops.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
