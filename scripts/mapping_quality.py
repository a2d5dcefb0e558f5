"""Messages per spike and mapping-dependent energy of partition-refine, before and after the layer-tiling start.

For every full application on ``loihi`` and ``crossbar128`` (the instances as
the gap study maps them, :func:`snnmap.prepare.prepared`), partition-refine
(seed 0, ``--time-limit`` s) runs twice: *before* with the starts it had
before :mod:`heuristics.tiling` (``partition``, ``merge``, ``greedy`` on
chips up to 4096 cores, ``sequential``) and *after* with its default starts.
Reported per run: messages per spike (``sum_i s_i |D(i)| / sum_i s_i`` over
neurons with targets: the destination cores a spike reaches), the
mapping-dependent energy (comm + static), the cores used and the start that won.

    python scripts/mapping_quality.py                       # writes scripts/results/mapping_quality.{md,json}
    python scripts/mapping_quality.py --apps VGG16 --chips loihi --out /tmp/mq
    python scripts/mapping_quality.py --keep /tmp/maps      # store mappings, reuse them on the next run

Mappings stored with ``--keep`` use :mod:`scripts.full_gaps`'s names for the
*after* runs, so ``full_gaps.py --keep-mappings DIR`` re-measures their bounds
without mapping again.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np

from snnmap import api
from snnmap.formulations.energy import destination_pairs, evaluate
from snnmap.instances.apps import APPS
from snnmap.instances.files import replacing, write_text
from snnmap.prepare import hardware_label, prepared

RESULTS = Path(__file__).resolve().parent / "results"
CHIPS = ("loihi", "crossbar128")
TIME_LIMIT = 40.0
LARGE_CHIP_CORES = 4096  # partition-refine's threshold for its greedy start


def previous_starts(num_cores: int) -> tuple[str, ...]:
    """partition-refine's default starts before the tiling start existed."""
    return ("partition", "merge", "greedy", "sequential") if num_cores <= LARGE_CHIP_CORES \
        else ("partition", "merge", "sequential")


def messages_per_spike(net: Any, hw: Any, core_of: np.ndarray) -> tuple[float, dict[str, float]]:
    """Destination cores per spike over all senders, and per population (layer)."""
    nrn, _ = destination_pairs(net, core_of, hw.num_cores)
    dests = np.bincount(nrn, minlength=net.num_neurons)
    s = net.spikes.astype(np.float64)
    sends = net.out_degree > 0
    msgs = np.bincount(net.population, weights=s * dests, minlength=len(net.population_names))
    spikes = np.bincount(net.population, weights=s * sends, minlength=len(net.population_names))
    per = {name: float(m / sp) for name, m, sp in zip(net.population_names, msgs, spikes) if sp > 0}
    return float(msgs.sum() / max(spikes.sum(), 1e-300)), per


def run(app: str, chip: str, net: Any, hw: Any, which: str, time_limit: float, keep: Path | None) -> dict[str, Any]:
    """One partition-refine run (``which`` = before / after), stored in ``keep`` and reused from it."""
    name = f"{app}_{chip}_{time_limit:g}s.npz" if which == "after" else f"{app}_{chip}_{which}_{time_limit:g}s.npz"
    path = None if keep is None else keep / name
    if path is not None and path.exists():
        with np.load(path) as f:
            core_of, status, runtime, start = f["core_of"], str(f["status"]), float(f["runtime"]), str(f["start"])
    else:
        starts = previous_starts(hw.num_cores) if which == "before" else None
        result = api.solve(net, hw, "partition-refine", time_limit=time_limit, seed=0, starts=starts)
        core_of, status, runtime = np.asarray(result.mapping), str(result.status), result.runtime
        start = str(result.stats.get("start", ""))
        if path is not None:
            keep.mkdir(parents=True, exist_ok=True)
            with replacing(path) as tmp, open(tmp, "wb") as fh:
                np.savez(fh, core_of=core_of, status=status, runtime=runtime, start=start)
    rep = evaluate(net, hw, core_of, link_loads=False)
    if not rep.feasible:
        raise RuntimeError(f"{app} on {chip} ({which}): infeasible mapping: {rep.violations[0]}")
    mps, per = messages_per_spike(net, hw, core_of)
    return {"energy": rep.total, "mapping_energy": rep.terms["comm"] + rep.terms["static"],
            "messages_per_spike": mps, "per_layer": per, "cores_used": rep.cores_used,
            "start": start, "status": status, "map_s": round(runtime, 1)}


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The README's before/after table: one line per application and chip."""
    lines = ["| application | chip | msgs/spike before | msgs/spike after | comm+static before | comm+static after "
             "| change | cores before / after | winning start after |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        b, a = r["before"], r["after"]
        change = (a["mapping_energy"] - b["mapping_energy"]) / b["mapping_energy"]
        lines.append(f"| {r['application']} | {r['hardware']} | {b['messages_per_spike']:.2f} "
                     f"| {a['messages_per_spike']:.2f} | {b['mapping_energy']:.4g} J | {a['mapping_energy']:.4g} J "
                     f"| {change * 100:+.1f} % | {b['cores_used']} / {a['cores_used']} | {a['start']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--apps", default="all", help="comma-separated applications (default: all 10)")
    ap.add_argument("--chips", default=",".join(CHIPS), help="comma-separated presets")
    ap.add_argument("--which", default="before,after", help="runs to make: before, after or both")
    ap.add_argument("--time-limit", type=float, default=TIME_LIMIT, help="seconds of partition-refine per run")
    ap.add_argument("--out", type=Path, default=RESULTS, help="directory for mapping_quality.md and .json")
    ap.add_argument("--keep", type=Path, default=None, help="directory that stores the mappings and reuses them")
    args = ap.parse_args(argv)
    apps = list(APPS) if args.apps == "all" else args.apps.split(",")
    which = args.which.split(",")
    rows = []
    for chip in args.chips.split(","):
        for app in apps:
            net, hw = prepared(app, "full", chip)
            row = {"application": app, "hardware": hardware_label(hw)}
            for w in which:
                row[w] = run(app, chip, net, hw, w, args.time_limit, args.keep)
                print(f"{app:15s} {row['hardware']:20s} {w:6s} msgs/spike {row[w]['messages_per_spike']:7.2f} "
                      f"comm+static {row[w]['mapping_energy']:.4g} J start {row[w]['start']}", flush=True)
            rows.append(row)
    if which != ["before", "after"]:
        return  # a partial run only fills the store
    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    machine = f"{platform.machine()}, python {platform.python_version()}"
    doc = {"created": stamp, "machine": machine, "time_limit": args.time_limit, "seed": 0, "rows": rows}
    write_text(args.out / "mapping_quality.json", json.dumps(doc, indent=1))
    head = (f"# partition-refine before and after the layer-tiling start (python scripts/mapping_quality.py; "
            f"{stamp}; {machine}; shared 2-core machine, under load)\n\n"
            f"seed 0, {args.time_limit:g} s per run. msgs/spike: destination cores per spike of the neurons that "
            "have targets. comm+static: the mapping-dependent energy. change: after against before.\n\n")
    write_text(args.out / "mapping_quality.md", head + markdown_table(rows) + "\n")


if __name__ == "__main__":
    main()
