"""Benchmark the QAP placement methods on the shipped QAPLIB instances.

Protocol: every instance x every method, one run each with the given time cap,
seed and thread count; the table reports objective, bound, whether the optimum
was proven, wall time, nodes and QAPLIB's proven optimum.

Usage::

    python scripts/bench_qap.py [QAPLIB_DIR] --time-limit 60 \
        --methods bnb,milp,cpsat,anneal --out qap_bench.csv
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import re
import sys
import time
from pathlib import Path

from snnmap.formulations.qap import QAPError, read_qaplib, solve_qap
from snnmap.instances.files import replacing

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "qaplib"
FIELDS = ["instance", "n", "method", "objective", "bound", "proven", "time_s", "nodes",
          "known_opt", "gap_to_known", "status"]


def known_optima(folder: Path) -> dict[str, float]:
    """Proven optima from the README table of the QAPLIB folder (empty if absent)."""
    readme = folder / "README.md"
    if not readme.exists():
        return {}
    pat = re.compile(r"^\|\s*(\w+)\s*\|\s*\d+\s*\|\s*(\d+)\s*\|", re.MULTILINE)
    return {m.group(1): float(m.group(2)) for m in pat.finditer(readme.read_text())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("qaplib", nargs="?", type=Path, default=DEFAULT_DIR,
                    help=f"folder with *.dat files (default {DEFAULT_DIR})")
    ap.add_argument("--methods", default="bnb,milp,cpsat,anneal",
                    help="comma separated methods (default bnb,milp,cpsat,anneal)")
    ap.add_argument("--instances", default="", help="comma separated names (default all)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per run (default 60)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="threads for milp/cpsat")
    ap.add_argument("--warm", action="store_true",
                    help="warm-start milp/cpsat with the annealing result")
    ap.add_argument("--out", type=Path, default=None, help="write the table as CSV")
    args = ap.parse_args(argv)

    folder: Path = args.qaplib
    files = sorted(folder.glob("*.dat"))
    if args.instances:
        wanted = set(args.instances.split(","))
        files = [f for f in files if f.stem in wanted]
    if not files:
        print(f"no QAPLIB *.dat files in {folder}", file=sys.stderr)
        return 2
    methods = [m for m in args.methods.split(",") if m]
    opt = known_optima(folder)
    print(f"# QAP benchmark {time.strftime('%Y-%m-%d %H:%M')} on {platform.node()} "
          f"({platform.processor() or platform.machine()}, {os.cpu_count()} cpus), "
          f"python {platform.python_version()}, time limit {args.time_limit:g}s, seed {args.seed}")
    head = (f"{'instance':<8} {'n':>3} {'method':<7} {'objective':>10} {'bound':>12} "
            f"{'proven':>6} {'time_s':>8} {'nodes':>10} {'known':>8} {'gap%':>6}")
    print(head)
    print("-" * len(head))
    rows = []
    for path in files:
        try:
            inst = read_qaplib(path)
        except QAPError as exc:
            print(f"skip: {exc}", file=sys.stderr)
            continue
        start = None
        for method in methods:
            if args.warm and method in ("milp", "cpsat") and start is None:
                start = solve_qap(inst.flow, inst.dist, method="anneal", seed=args.seed).assignment
            res = solve_qap(inst.flow, inst.dist, method=method, time_limit=args.time_limit,
                            seed=args.seed, threads=args.threads,
                            start=start if method in ("milp", "cpsat") else None)
            known = opt.get(inst.name, float("nan"))
            gap = 100 * (res.objective - known) / known if math.isfinite(known) and known else float("nan")
            row = {"instance": inst.name, "n": inst.n, "method": method,
                   "objective": res.objective, "bound": res.lower_bound,
                   "proven": res.status == "optimal", "time_s": round(res.runtime, 3),
                   "nodes": res.nodes, "known_opt": known, "gap_to_known": round(gap, 3),
                   "status": res.status}
            rows.append(row)
            print(f"{inst.name:<8} {inst.n:>3} {method:<7} {res.objective:>10.6g} "
                  f"{res.lower_bound:>12.6g} {'yes' if row['proven'] else 'no':>6} "
                  f"{res.runtime:>8.2f} {res.nodes:>10d} {known:>8.6g} {gap:>6.2f}", flush=True)
    if args.out is not None:
        with replacing(Path(args.out)) as tmp, open(tmp, "w", newline="") as fh:
            wr = csv.DictWriter(fh, fieldnames=FIELDS)
            wr.writeheader()
            wr.writerows(rows)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
