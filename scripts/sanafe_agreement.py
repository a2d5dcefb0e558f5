"""Agreement of snnmap's evaluator with SANA-FE's simulation, mapping by mapping.

Protocol: each application is mapped by every heuristic (seed 0, ``--time-limit``)
onto the ``loihi`` preset (SANA-FE 2.2.9's costs, 8 x 4 tiles of 4 cores) with
``n_max`` lowered to ``ceil(N / --spread)`` so that mappings spread over several
cores and tiles. Each mapping is replayed in SANA-FE (every neuron an input soma
playing an evenly spaced train of its spike count over the application's
simulated steps, ``network.steps = sim_steps * sim_samples``; weight-0 synapses;
same placement). Reported: SANA-FE's total, the evaluator's total with ``loihi``
and their relative difference, message and hop counts from both, and SANA-FE's
simulated time per step (``simple`` model) beside the closed form's.

    python scripts/sanafe_agreement.py                       # 4 applications, mini
    python scripts/sanafe_agreement.py --scale full --apps LeNet --time-limit 30
"""

from __future__ import annotations

import argparse
import math
import os
import time

from snnmap import registry
from snnmap import sanafe_bridge as sb
from snnmap.api import load_network, solve
from snnmap.formulations.energy import evaluate
from snnmap.hardware import load_hardware
from snnmap.instances.files import write_text

APPS = ["LeNet", "HeartEstm", "VisualPursuit", "DigitRecogSTDP"]
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "sanafe_agreement.md")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", nargs="+", default=APPS)
    parser.add_argument("--scale", default="mini", choices=["mini", "full"])
    parser.add_argument("--methods", nargs="+", default=sorted(registry.names(kind="heuristic")))
    parser.add_argument("--spread", type=int, default=8, help="n_max = ceil(N / SPREAD)")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)
    c = sb.loihi_constants()
    lines = [
        f"# snnmap evaluator vs SANA-FE {c.version} (replay, `simple` timing)",
        "",
        f"`python scripts/sanafe_agreement.py --scale {args.scale} --spread {args.spread} "
        f"--time-limit {args.time_limit:g}`; evaluator = `evaluate()` on the `loihi` preset (n_max lowered); "
        "T = the network's time steps.",
        "",
        "| app | N | T | method | cores | SANA-FE E (J) | evaluator E (J) | rel. diff | messages sim/eval "
        "| hops sim/eval | step time sim (s) | closed form rel. diff |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    worst = 0.0
    for app in args.apps:
        net = load_network(f"{app}:{args.scale}")
        steps = net.steps
        hw = load_hardware("loihi", n_max=max(1, math.ceil(net.num_neurons / args.spread)))
        for method in args.methods:
            t0 = time.time()
            result = solve(net, hw, method, time_limit=args.time_limit, seed=0)
            if result.mapping is None:
                lines.append(f"| {app} | {net.num_neurons} | {steps} | {method} | no mapping ({result.status}) |")
                continue
            sim = sb.replay(net, hw, result.mapping, steps)
            report = evaluate(net, hw, result.mapping)
            ours = report.total
            rel = abs(ours - sim.energy["total"]) / sim.energy["total"]
            closed = sb.loihi_formula(net, result.mapping, steps).relative_to(sim)["step_time"]
            worst = max(worst, rel)
            lines.append(
                f"| {app} | {net.num_neurons} | {steps} | {method} | {report.cores_used} | {sim.energy['total']:.9e} "
                f"| {ours:.9e} | {rel:.1e} | {sim.messages}/{int(report.packets + report.local_packets)} "
                f"| {sim.hops}/{int(report.hop_packets)} | {sim.step_time:.4e} | {closed:.1e} |"
            )
            print(lines[-1], f"({time.time() - t0:.1f} s)", flush=True)
    lines += ["", f"Largest relative difference in energy: {worst:.1e}.", ""]
    write_text(args.out, "\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
