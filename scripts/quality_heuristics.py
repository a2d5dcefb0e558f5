"""Energy of every heuristic and partition-refine's reduction against each baseline.

Protocol: each network on each hardware, every method with seed 0 and the
same ``--time-limit`` (default 40 s; greedy, sequential and random are one
pass and ignore it). Applications are the gap evaluator's full instances
(:func:`snnmap.gap_evaluator.prepared`): on ``crossbar128`` the fan-in is
unrolled to 128 and the mesh resized to a sequential fill plus 25 % spare
cores; ``loihi`` is the preset (resized only if the network needs more than
its 128 cores with that slack). Synthetic networks use ``crossbar128`` resized
the same way. Reduction = (E_baseline - E_partition-refine) / E_baseline.
Where partition-refine only ties a baseline, the certified gap (energy over
the combinatorial lower bound) says how much any mapping could still gain.

    PYTHONPATH=. python scripts/quality_heuristics.py                 # synthetic networks
    PYTHONPATH=. python scripts/quality_heuristics.py --apps all      # the 10 applications, full
    PYTHONPATH=. python scripts/quality_heuristics.py --apps LeNet AlexNet --hardware loihi
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
TIE_REL = 1e-9


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


def app_cases(apps: list[str], hardware: list[str]):
    from instances.apps import APPS
    from snnmap.gap_evaluator import prepared

    names = list(APPS) if apps == ["all"] else apps
    for hw_name in hardware:
        for app in names:
            yield prepared(app.split(":")[0], "full", hw_name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--apps", nargs="*", default=None,
                    help="application names (full instances), or 'all'; default: synthetic networks")
    ap.add_argument("--hardware", nargs="*", default=["crossbar128", "loihi"], help="presets for --apps")
    ap.add_argument("--time-limit", type=float, default=40.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.apps:
        cases = app_cases(args.apps, args.hardware)
    else:
        cases = ((net, hw) for net in synthetic() for hw in hardware_cases(net))
    print(f"machine: {os.cpu_count()} cores; seed {args.seed}; time limit {args.time_limit} s")
    head = (f"{'network':<24} {'hardware':<20} {'neurons':>8} " + " ".join(f"{m:>11}" for m in BASELINES)
            + f" {'part-refine':>11} {'cert.gap%':>9}")
    print("energies (J)\n" + head)
    lines = []
    for net, hw in cases:
        from snnmap.gap_evaluator import hardware_label

        e, t = {}, {}
        lb = math.nan
        for m in BASELINES + ["partition-refine"]:
            t0 = time.perf_counter()
            r = METHODS[m](net, hw, seed=args.seed, time_limit=args.time_limit)
            e[m] = r.energy
            t[m] = time.perf_counter() - t0
            if r.lower_bound is not None:
                lb = r.lower_bound
        pr = e["partition-refine"]
        gap = 100 * (pr - lb) / lb if math.isfinite(lb) and lb > 0 else math.nan
        label = hardware_label(hw)
        print(f"{net.name:<24} {label:<20} {net.num_neurons:>8} " + " ".join(f"{e[m]:>11.5g}" for m in BASELINES)
              + f" {pr:>11.5g} {gap:>9.3f}", flush=True)
        red = {m: (100 * (e[m] - pr) / e[m]) if math.isfinite(e[m]) else math.nan for m in BASELINES}
        lines.append((net.name, label, red, t, e, gap))
    print("\nreduction of partition-refine's energy against each baseline (%; nan = baseline infeasible)")
    print(f"{'network':<24} {'hardware':<20} " + " ".join(f"{m:>11}" for m in BASELINES)
          + "  seconds: " + " ".join(f"{m[:6]:>6}" for m in BASELINES + ["PR"]))
    for name, label, red, t, *_ in lines:
        print(f"{name:<24} {label:<20} " + " ".join(f"{red[m]:>11.2f}" for m in BASELINES)
              + "           " + " ".join(f"{t[m]:>6.1f}" for m in BASELINES + ["partition-refine"]))
    for hw_kind in sorted({label.split("@")[0] for _, label, *_ in lines}):
        rows = [red for _, label, red, *_ in lines if label.split("@")[0] == hw_kind]
        print(f"{'mean':<24} {hw_kind:<20} "
              + " ".join(f"{np.nanmean([r[m] for r in rows]):>11.2f}" for m in BASELINES))
    # Energies within TIE_REL of each other are ties: the evaluator's sums carry rounding
    # of that order, and such a difference is a fraction of one packet's energy.
    def beats(a: float, b: float) -> bool:
        return not math.isfinite(b) or a < b * (1 - TIE_REL)

    wins = sum(all(beats(e["partition-refine"], e[m]) for m in BASELINES) for *_, e, _ in lines)
    print(f"\npartition-refine below every feasible baseline (by more than {TIE_REL:g} relative) on "
          f"{wins}/{len(lines)} cases")
    for name, label, red, t, e, gap in lines:
        pr = e["partition-refine"]
        tied = [m for m in BASELINES if not beats(pr, e[m]) and not beats(e[m], pr)]
        lost = [m for m in BASELINES if beats(e[m], pr)]
        if tied:
            print(f"  tie on {name} {label} with {', '.join(tied)} (certified gap {gap:.4f} %)")
        if lost:
            print(f"  LOSS on {name} {label} to {', '.join(lost)}")

if __name__ == "__main__":
    main()
