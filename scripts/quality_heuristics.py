"""Energy of every heuristic and partition-refine's reduction against each baseline.

Protocol: each network on each hardware (``crossbar128`` resized to the
cores a sequential fill needs plus 25 %, and ``loihi``), every method with
seed 0; partition-refine with ``--time-limit`` seconds (default 20).
Reduction = (E_baseline - E_partition-refine) / E_baseline.

    PYTHONPATH=. python scripts/quality_heuristics.py                 # synthetic networks
    PYTHONPATH=. python scripts/quality_heuristics.py --apps LeNet:full AlexNet:full
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hardware import load_hardware  # noqa: E402
from heuristics import METHODS  # noqa: E402
from heuristics.partition import cut_runs  # noqa: E402
from instances import SpikingNetwork  # noqa: E402

BASELINES = ["greedy", "sequential", "random", "spinemap", "sneap"]


def layered(sizes, fan, seed, rate=20.0, name="layered"):
    """Layers joined by ``fan`` random-window synapses per neuron (dense-ish layer-to-layer)."""
    rng = np.random.default_rng(seed)
    off = np.cumsum([0] + list(sizes))
    pre, post = [], []
    for li in range(len(sizes) - 1):
        src = np.arange(off[li], off[li + 1])
        for _ in range(fan):
            tgt = off[li + 1] + (np.arange(sizes[li]) * sizes[li + 1] // sizes[li]
                                 + rng.integers(-2 * fan, 2 * fan + 1, sizes[li])) % sizes[li + 1]
            pre.append(src)
            post.append(tgt)
    n = int(off[-1])
    key = np.unique(np.concatenate(pre) * n + np.concatenate(post))
    spikes = rng.gamma(2.0, rate / 2, n).round()
    return SpikingNetwork.from_edges(n, key // n, key % n, spikes, name=name)


def synthetic() -> list[SpikingNetwork]:
    from scripts.bench_heuristics import conv_like

    return [
        layered([784, 500, 300, 10], 12, 1, name="mlp-like"),
        layered([1024, 2048, 1024, 512, 256, 10], 8, 2, name="deep-layered"),
        conv_like(3000, 9).replace(name="conv-like-3k"),
        conv_like(8000, 16, seed=3).replace(name="conv-like-8k"),
    ]


def hardware_cases(net: SpikingNetwork):
    from heuristics.common import precheck

    need = cut_runs(net, load_hardware("crossbar128"))[1]
    xbar = load_hardware("crossbar128", cores=int(need * 1.25) + 1)
    problem = precheck(net, xbar)
    if problem:  # no mapping exists (e.g. a neuron with more inputs than a_max): nothing to compare
        print(f"{net.name:<16} {xbar.name:<12} skipped: {problem}")
    else:
        yield xbar
    loihi = load_hardware("loihi")
    if net.num_neurons <= loihi.num_cores * loihi.limits.n_max:
        yield loihi


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--apps", nargs="*", default=None, help="application names for instances.apps.load_app")
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.apps:
        from instances.apps import load_app

        nets = [load_app(a) for a in args.apps]
    else:
        nets = synthetic()
    print(f"machine: {os.cpu_count()} cores; seed {args.seed}; partition-refine time limit {args.time_limit} s")
    head = f"{'network':<16} {'hardware':<12} " + " ".join(f"{m:>12}" for m in BASELINES) + f" {'part-refine':>12}"
    print(head)
    lines = []
    wins = 0
    cases = 0
    for net in nets:
        for hw in hardware_cases(net):
            e = {}
            t = {}
            for m in BASELINES + ["partition-refine"]:
                t0 = time.perf_counter()
                tl = args.time_limit if m in ("partition-refine", "sneap", "spinemap") else None
                e[m] = METHODS[m](net, hw, seed=args.seed, time_limit=tl).energy
                t[m] = time.perf_counter() - t0
            pr = e["partition-refine"]
            print(f"{net.name:<16} {hw.name + str(hw.num_cores):<12} "
                  + " ".join(f"{e[m]:>12.5g}" for m in BASELINES) + f" {pr:>12.5g}", flush=True)
            red = {m: (100 * (e[m] - pr) / e[m]) if math.isfinite(e[m]) else math.nan for m in BASELINES}
            lines.append((net.name, hw.name, red, t))
            cases += 1
            wins += all(not math.isfinite(e[m]) or pr < e[m] for m in BASELINES)
    print("\nreduction of partition-refine's energy against each baseline (%; nan = baseline infeasible)")
    print(f"{'network':<16} {'hardware':<12} " + " ".join(f"{m:>12}" for m in BASELINES) + f" {'PR time s':>10}")
    for name, hwn, red, t in lines:
        print(f"{name:<16} {hwn:<12} " + " ".join(f"{red[m]:>12.2f}" for m in BASELINES)
              + f" {t['partition-refine']:>10.1f}")
    print(f"\npartition-refine strictly beats every feasible baseline on {wins}/{cases} cases")


if __name__ == "__main__":
    main()
