"""Energy of every heuristic and partition-refine's reduction against each baseline.

Protocol: each network on each hardware, every method with seed 0 and the
same ``--time-limit`` (default 40 s; greedy, sequential and random are one
pass and ignore it). Applications are the gap evaluator's full instances
(:func:`snnmap.prepare.prepared`): on ``crossbar128`` the fan-in is
unrolled to 128 and the mesh resized to a sequential fill plus 25 % spare
cores; ``loihi`` is the preset (resized only if the network needs more than
its 128 cores with that slack). Synthetic networks (:mod:`instances.synthetic`)
are sized the same way (no fan-in unrolling: a network a chip cannot hold is
skipped with the reason). Reduction = (E_baseline - E_partition-refine) / E_baseline.
Where partition-refine only ties a baseline, the certified gap (energy over
the combinatorial lower bound) says how much any mapping could still gain.

    python scripts/quality_heuristics.py                 # synthetic networks
    python scripts/quality_heuristics.py --apps all      # the 10 applications, full
    python scripts/quality_heuristics.py --apps LeNet AlexNet --hardware loihi
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

from snnmap.instances import SpikingNetwork
from snnmap.prepare import hardware_label, instance_hardware, prepared
from snnmap.registry import METHODS

BASELINES = ["greedy", "sequential", "random", "spinemap", "sneap"]
TIE_REL = 1e-9


def synthetic() -> list[SpikingNetwork]:
    from snnmap.instances.synthetic import conv_like, layered

    return [
        layered([784, 500, 300, 10], 12, seed=1, name="mlp-like"),
        layered([1024, 2048, 1024, 512, 256, 10], 8, seed=2, name="deep-layered"),
        conv_like(3000, 9).replace(name="conv-like-3k"),
        conv_like(8000, 16, seed=3).replace(name="conv-like-8k"),
    ]


def hardware_cases(net: SpikingNetwork):
    """The chips a synthetic network is compared on, sized as the gap evaluator sizes them."""
    from snnmap.formulations.bounds import precheck

    for name in ("crossbar128", "loihi"):
        try:
            hw = instance_hardware(net, name, "full")
            problem = precheck(net, hw)
        except ValueError as exc:  # no size fits (e.g. a neuron with more inputs than a_max)
            hw, problem = None, str(exc)
        if problem:  # no mapping exists: nothing to compare
            print(f"{net.name:<24} {name:<20} skipped: {problem}")
        else:
            yield hw


def app_cases(apps: list[str], hardware: list[str]):
    from snnmap.instances.apps import APPS

    names = list(APPS) if apps == ["all"] else apps
    for hw_name in hardware:
        for app in names:
            yield prepared(app.split(":")[0], "full", hw_name)


def run_case(net: SpikingNetwork, hw, seed: int, time_limit: float) -> dict:
    """Every method on one instance: energies, seconds, reductions and the certified gap."""
    energy, seconds, bound = {}, {}, math.nan
    for m in BASELINES + ["partition-refine"]:
        t0 = time.perf_counter()
        r = METHODS[m](net, hw, seed=seed, time_limit=time_limit)
        energy[m], seconds[m] = r.energy, time.perf_counter() - t0
        if r.lower_bound is not None:
            bound = r.lower_bound
    ours = energy["partition-refine"]
    return {"name": net.name, "hw": hardware_label(hw), "neurons": net.num_neurons, "energy": energy,
            "seconds": seconds, "ours": ours,
            "gap": 100 * (ours - bound) / bound if math.isfinite(bound) and bound > 0 else math.nan,
            "reduction": {m: 100 * (energy[m] - ours) / energy[m] if math.isfinite(energy[m]) else math.nan
                          for m in BASELINES}}


def beats(a: float, b: float) -> bool:
    """``a`` below ``b`` by more than TIE_REL: closer energies are ties (the evaluator's
    sums carry rounding of that order, a fraction of one packet's energy)."""
    return not math.isfinite(b) or a < b * (1 - TIE_REL)


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
    print("energies (J)\n" + f"{'network':<24} {'hardware':<20} {'neurons':>8} "
          + " ".join(f"{m:>11}" for m in BASELINES) + f" {'part-refine':>11} {'cert.gap%':>9}")
    rows = []
    for net, hw in cases:
        row = run_case(net, hw, args.seed, args.time_limit)
        rows.append(row)
        print(f"{row['name']:<24} {row['hw']:<20} {row['neurons']:>8} "
              + " ".join(f"{row['energy'][m]:>11.5g}" for m in BASELINES)
              + f" {row['ours']:>11.5g} {row['gap']:>9.3f}", flush=True)
    print("\nreduction of partition-refine's energy against each baseline (%; nan = baseline infeasible)")
    print(f"{'network':<24} {'hardware':<20} " + " ".join(f"{m:>11}" for m in BASELINES)
          + "  seconds: " + " ".join(f"{m[:6]:>6}" for m in BASELINES + ["PR"]))
    for row in rows:
        print(f"{row['name']:<24} {row['hw']:<20} " + " ".join(f"{row['reduction'][m]:>11.2f}" for m in BASELINES)
              + "           " + " ".join(f"{row['seconds'][m]:>6.1f}" for m in BASELINES + ["partition-refine"]))
    for kind in sorted({row["hw"].split("@")[0] for row in rows}):
        group = [row["reduction"] for row in rows if row["hw"].split("@")[0] == kind]
        means = [np.mean(v) if (v := [r[m] for r in group if math.isfinite(r[m])]) else math.nan for m in BASELINES]
        print(f"{'mean':<24} {kind:<20} " + " ".join(f"{x:>11.2f}" for x in means))
    wins = sum(all(beats(row["ours"], row["energy"][m]) for m in BASELINES) for row in rows)
    print(f"\npartition-refine below every feasible baseline (by more than {TIE_REL:g} relative) on "
          f"{wins}/{len(rows)} cases")
    for row in rows:
        e, ours = row["energy"], row["ours"]
        tied = [m for m in BASELINES if not beats(ours, e[m]) and not beats(e[m], ours)]
        lost = [m for m in BASELINES if beats(e[m], ours)]
        if tied:
            print(f"  tie on {row['name']} {row['hw']} with {', '.join(tied)} (certified gap {row['gap']:.4f} %)")
        if lost:
            print(f"  LOSS on {row['name']} {row['hw']} to {', '.join(lost)}")


if __name__ == "__main__":
    main()
