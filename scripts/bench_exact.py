"""Benchmark of the neuron-level exact models on random layered networks.

Protocol: for every size ``N/K`` (neurons / cores) one random layered network
(3-4 layers, each neuron of a layer connected to the next layer with
probability ``--density``, at least one target each, spike counts
``rng.integers(0, 60)``), from ``numpy.random.default_rng(seed + N)``;
hardware: the Loihi preset's energies on the most square mesh with exactly
``K`` cores, one core per tile, ``n_max = ceil(1.25 N / K)``, ``p_static = 1e-6 W``
and ``t_run = 1e-3 s`` (so a powered core costs about as much as a few hundred
packets and both terms matter). Every model gets the same time limit and
``--threads`` threads; the table shows build time, solve time, status, energy,
the valid lower bound, the certified gap ``(E - LB) / LB`` and the gap on the
mapping-dependent energy ``(E - LB) / (E - E_fixed)`` (communication plus
static: what a mapping can change).

Usage::

    python scripts/bench_exact.py                 # 60 s per model
    python scripts/bench_exact.py --sizes 48/8 --models milp --time-limit 600
    python scripts/bench_exact.py --long          # adds 10 minutes for the largest size
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from snnmap.formulations.energy import fixed_energy
from snnmap.instances.synthetic import random_layered
from snnmap.prepare import exact_bench_hardware
from snnmap.registry import METHODS


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="16/4,24/4,32/8,48/8,64/16", help="N/K pairs, comma separated")
    ap.add_argument("--models", default="milp-textbook,milp,cpsat", help="methods, comma separated")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per model and size")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--density", type=float, default=0.3)
    ap.add_argument("--comm", default="multicast", choices=("multicast", "unicast"))
    ap.add_argument("--start", default=None, help="heuristic name for the start mapping (default: none)")
    ap.add_argument("--warmup", type=float, default=0.0,
                    help="milp models: seconds of CP-SAT first, as MIP start and extra bound")
    ap.add_argument("--long", action="store_true", help="also give the largest size 600 s per model")
    ap.add_argument("--out", default=None, help="write the rows as JSON lines to this file")
    args = ap.parse_args(argv)

    sizes = [tuple(int(v) for v in s.split("/")) for s in args.sizes.split(",")]
    runs = [(n, k, args.time_limit) for n, k in sizes]
    if args.long:
        n, k = sizes[-1]
        runs.append((n, k, 600.0))
    print(f"# bench_exact: {platform.node()} {platform.processor() or platform.machine()}, "
          f"threads={args.threads}, comm={args.comm}, seed={args.seed}, start={args.start}, warmup={args.warmup}")
    head = f"{'N':>4} {'K':>3} {'model':<14} {'limit':>6} {'build s':>8} {'solve s':>8} {'status':<11} " \
           f"{'energy J':>12} {'bound J':>12} {'gap %':>7} {'var gap %':>9}"
    print(head)
    print("-" * len(head))
    out = open(args.out, "a") if args.out else None
    for n, k, limit in runs:
        net = random_layered(n, args.seed + n, args.density)
        hw = exact_bench_hardware(n, k)
        for model in args.models.split(","):
            t0 = time.perf_counter()
            extra = {"warmup": args.warmup} if args.warmup and model.startswith("milp") else {}
            res = METHODS[model](net, hw, time_limit=limit, comm=args.comm, threads=args.threads,
                                 seed=args.seed, start=args.start, force=True, **extra)
            wall = time.perf_counter() - t0
            build = res.stats.get("build_time", float("nan"))
            gap = res.certified_gap
            # Gap on the mapping-dependent energy (communication + static): the part a mapping changes.
            var = res.energy - fixed_energy(net, hw)
            var_gap = (res.energy - res.lower_bound) / var if gap is not None and var > 0 else None
            row = {
                "N": n, "K": k, "model": model, "limit": limit, "build": build, "solve": wall - build,
                "status": str(res.status), "energy": res.energy, "bound": res.lower_bound,
                "gap": gap, "var_gap": var_gap, "synapses": net.num_synapses, "nodes": res.stats.get("nodes"),
            }
            print(f"{n:>4} {k:>3} {model:<14} {limit:>6.0f} {build:>8.2f} {wall - build:>8.2f} "
                  f"{str(res.status):<11} {res.energy:>12.6g} {res.lower_bound or float('nan'):>12.6g} "
                  f"{100 * gap if gap is not None else float('nan'):>7.2f} "
                  f"{100 * var_gap if var_gap is not None else float('nan'):>9.2f}", flush=True)
            if out:
                out.write(json.dumps(row) + "\n")
                out.flush()
    if out:
        out.close()


if __name__ == "__main__":
    main()
