"""Benchmark of proofs: partition-bnb, neuron-bnb, the portfolio, the MILP and CP-SAT on the same instances.

Instances: the 10 mini applications on ``crossbar-mini`` (as the gap study
prepares them) in the multicast and the unicast model, and random layered
networks ``N/K`` from :func:`snnmap.instances.synthetic.random_layered` with
:func:`snnmap.prepare.exact_bench_hardware` (the protocol of
``bench_exact.py``: network seed ``seed + N``): the ``--seeds`` given and
``--fresh`` more drawn at run time (printed, so a row can be rerun). Every method gets the same
start mapping (``--start``, run once per instance and counted in nobody's
time; the numba kernels are compiled before the first row), the same time
limit and two cores' worth of work: MILP and CP-SAT
``--threads`` threads, the portfolio two single-threaded processes, the branch
and bound one thread.

Checks, printed per instance: every energy equals the evaluator's (the
methods return evaluator scores; a mismatch with the solver's own value is an
error inside the method), every two methods that both prove agree within
their tolerances, no method's energy is below a proven optimum, and proven
minis equal the proven energies of ``instances/bks.csv`` (per communication
model). The last line counts the optima two methods both proved and whether
they all agree.

Usage::

    python scripts/bench_proofs.py --minis --methods partition-bnb,neuron-bnb,milp,cpsat --time-limit 60
    python scripts/bench_proofs.py --sizes 48/8,64/16 --seeds 0,1 --fresh 1 --methods partition-bnb,milp --time-limit 60
    python scripts/bench_proofs.py --sizes 48/8 --seeds 0,1,2 --fresh 2 --comms multicast \
        --methods partition-bnb,partition-bnb-nocomp,neuron-portfolio,milp,cpsat --out rows.jsonl
    python scripts/bench_proofs.py --sizes 48/8 --seeds 0,1,2 --fresh 2 --comms multicast \
        --methods partition-benders,neuron-portfolio,component-milp --out rows.jsonl
    python scripts/bench_proofs.py --table rows.jsonl   # the README's Markdown table of rows written by --out
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import math
import os
import platform
import random
import time
from importlib import resources

from snnmap.formulations import Status, evaluate, neuron_bnb, neuron_portfolio, partition_benders
from snnmap.formulations.energy import fixed_energy
from snnmap.instances.synthetic import random_layered
from snnmap.prepare import exact_bench_hardware
from snnmap.registry import METHODS

MINIS = ("AlexNet", "DigitRecogMLP", "DigitRecogSTDP", "EdgeDet", "HeartClass", "HeartEstm", "ImgSmooth", "LeNet",
         "VGG16", "VisualPursuit")
SOLVERS = {"neuron-bnb": neuron_bnb.solve, "partition-bnb": neuron_bnb.solve_partition,
           "neuron-portfolio": neuron_portfolio.solve, **METHODS,
           # partition-bnb as it was before the component bound, for the comparison
           "partition-bnb-nocomp": functools.partial(neuron_bnb.solve_partition, components=False)}


def proven_minis() -> dict[tuple[str, str], float]:
    """Proven mini optima of ``instances/bks.csv`` by ``(application, comm)``."""
    text = resources.files("snnmap.instances").joinpath("bks.csv").read_text()
    return {(r["instance"], r.get("comm") or "multicast"): float(r["energy"])
            for r in csv.DictReader(text.splitlines()) if r["scale"] == "mini" and r["proven"] == "yes"}


def instances(args):
    """``(label, network, hardware, comm, proven energy or None)`` for every requested instance."""
    if args.minis:
        from snnmap.gap_evaluator import prepared

        bks = proven_minis()
        for comm in args.comms.split(","):
            for app in (args.apps.split(",") if args.apps else MINIS):
                net, hw = prepared(app, "mini", "crossbar-mini")
                yield f"{app}:mini", net, hw, comm, bks.get((app, comm))
    seeds = [int(s) for s in args.seeds.split(",") if s] + args.fresh_seeds
    for size in filter(None, args.sizes.split(",")):
        n, k = (int(v) for v in size.split("/"))
        for seed in seeds:
            for comm in args.comms.split(","):
                yield f"layered{n}/{k} s{seed}", random_layered(n, seed + n), exact_bench_hardware(n, k), comm, None


def markdown_table(paths: str) -> str:
    """Instances by rows, ``method comm`` by columns: time to proof in bold, else the gap at the limit.

    ``paths``: comma-separated ``--out`` files; a later file's row replaces an earlier one of the same cell.
    """
    rows = [json.loads(line) for path in paths.split(",") for line in open(path) if line.strip()]
    cols = list(dict.fromkeys(f"{r['method']} {r['comm']}" for r in rows))
    cells: dict[str, dict[str, str]] = {}
    for r in rows:
        cell = f"**{r['time']:.1f} s**" if r["status"] == "optimal" else f"{100 * r['var_gap']:.1f} %"
        cells.setdefault(r["instance"], {})[f"{r['method']} {r['comm']}"] = cell
    lines = ["| instance | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {inst} | " + " | ".join(c.get(col, "") for col in cols) + " |" for inst, c in cells.items()]
    proven = {col: sum(c.get(col, "").startswith("**") for c in cells.values()) for col in cols}
    lines.append("| proven | " + " | ".join(f"{proven[col]} / {sum(col in c for c in cells.values())}"
                                           for col in cols) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minis", action="store_true", help="the 10 mini applications")
    ap.add_argument("--apps", default="", help="only these minis (comma separated)")
    ap.add_argument("--sizes", default="", help="layered N/K pairs, comma separated (e.g. 48/8,64/16)")
    ap.add_argument("--seeds", default="0", help="layered seeds, comma separated")
    ap.add_argument("--fresh", type=int, default=0, help="also this many layered seeds drawn at run time")
    ap.add_argument("--comms", default="multicast,unicast")
    ap.add_argument("--methods", default="neuron-bnb,neuron-portfolio,milp,cpsat")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--start", default="partition-refine", help="heuristic for the shared start ('' for none)")
    ap.add_argument("--start-time", type=float, default=5.0, help="seconds for the start heuristic")
    ap.add_argument("--out", default=None, help="append the rows as JSON lines to this file")
    ap.add_argument("--table", default=None,
                    help="only print the Markdown table of the rows in these --out files (comma separated)")
    args = ap.parse_args(argv)
    if args.table:
        print(markdown_table(args.table))
        return
    args.fresh_seeds = [random.SystemRandom().randrange(1000, 10**6) for _ in range(args.fresh)]

    load = os.getloadavg()
    print(f"# bench_proofs: {platform.node()}, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, "
          f"limit {args.time_limit:g} s, threads {args.threads}, start {args.start or 'none'}"
          + (f", fresh seeds {','.join(map(str, args.fresh_seeds))}" if args.fresh_seeds else ""))
    head = f"{'instance':<22} {'comm':<9} {'method':<16} {'status':<10} {'time s':>7} {'energy J':>13} " \
           f"{'bound J':>13} {'var gap %':>9}  check"
    print(head)
    print("-" * len(head))
    if any(m.endswith(("bnb", "portfolio", "benders")) for m in args.methods.split(",")):
        # Compile (or load) the numba kernels first, so no row's time includes the JIT.
        neuron_bnb.solve(random_layered(8, 0), exact_bench_hardware(8, 2))
        neuron_bnb.solve_partition(random_layered(8, 0), exact_bench_hardware(8, 2))
        partition_benders.solve(random_layered(8, 0), exact_bench_hardware(8, 2), comm="multicast")
    problems = 0
    pairs = disagree = 0  # optima proven by two methods, compared; of them, in disagreement
    for label, net, hw, comm, proven in instances(args):
        start = None
        if args.start:
            start = METHODS[args.start](net, hw, comm=comm, time_limit=args.start_time).mapping
        fixed = fixed_energy(net, hw)
        proofs: list[tuple[str, float, float]] = []  # (method, energy, tolerance)
        for method in args.methods.split(","):
            opts = {"time_limit": args.time_limit, "comm": comm, "start": start}
            if method in METHODS:
                opts.update(threads=args.threads, force=True)
            t0 = time.perf_counter()
            res = SOLVERS[method](net, hw, **opts)
            wall = time.perf_counter() - t0
            notes = []
            if res.mapping is not None and evaluate(net, hw, res.mapping, comm).total != res.energy:
                notes.append("ENERGY != EVALUATOR")
            tol = 1e-9 * res.energy + 2 * res.stats.get("rounding_error_bound", 0.0)
            if res.status == Status.OPTIMAL:
                for other, e, t in proofs:
                    pairs += 1
                    if abs(e - res.energy) > tol + t:
                        disagree += 1
                        notes.append(f"DISAGREES with {other} ({e:.9g})")
                if proven is not None and abs(res.energy - proven) > tol:
                    notes.append(f"DIFFERS from bks {proven:.9g}")
                if res.lower_bound is None or res.lower_bound > res.energy * (1 + 1e-12):
                    notes.append("PROOF WITHOUT A VALID BOUND")
                proofs.append((method, res.energy, tol))
            for other, e, t in proofs:
                if res.energy < e - tol - t:
                    notes.append(f"BELOW the optimum of {other}")
            problems += bool(notes)
            var = res.energy - fixed
            var_gap = (res.energy - res.lower_bound) / var if res.lower_bound is not None and var > 0 else math.nan
            print(f"{label:<22} {comm:<9} {method:<16} {res.status!s:<10} {wall:>7.1f} {res.energy:>13.7g} "
                  f"{res.lower_bound or math.nan:>13.7g} {100 * var_gap:>9.3f}  {'; '.join(notes) or 'ok'}",
                  flush=True)
            if args.out:
                with open(args.out, "a") as out:
                    row = {"instance": label, "comm": comm, "method": method, "status": str(res.status),
                           "time": wall, "limit": args.time_limit, "energy": res.energy, "bound": res.lower_bound,
                           "var_gap": var_gap, "nodes": res.stats.get("nodes"), "winner": res.stats.get("winner"),
                           "component_bound": res.stats.get("component_bound"), "load_end": os.getloadavg()[0],
                           "load": load[0], "checks": notes}
                    out.write(json.dumps(row) + "\n")
    print(f"# {problems} row(s) with a failed check; {pairs} pair(s) of proofs of the same instance compared, "
          f"{disagree} disagreeing")


if __name__ == "__main__":
    main()
