"""Agreement of the evaluator's time per step with SANA-FE's simulated time, mapping by mapping.

Protocol: each network is mapped by several heuristics (seed 0, ``--time-limit``)
onto the ``loihi`` preset with ``n_max = min(1024, ceil(N / spread))`` (a spread per
method, so that the mappings use different numbers of cores and tiles). Each
mapping is replayed in SANA-FE 2.2.9 (``snnmap.sanafe_bridge.replay``: every
neuron plays an evenly spaced train of its spike count, staggered in phase; same
placement) under both timing models, ``detailed`` (SANA-FE's default) and
``simple``; and once more with the trains aligned in phase (every neuron with the
same count fires in the same steps: bursts), ``detailed``, to show what bursts
cost beyond the mean step the evaluator prices. A network
with more than ``--steps`` time steps has its spike counts rescaled to
``--steps`` steps (rates kept, counts rounded), so that a replay takes seconds.

Reported per network: Spearman's rank correlation of the evaluator's step time
with each model's, and the relative errors; overall, the median relative error.
SANA-FE's times are cached (``--cache``) by network and mapping, so a change of
the evaluator's model is re-scored without simulating again.

    python scripts/latency_agreement.py
    python scripts/latency_agreement.py --nets LeNet:mini --time-limit 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from snnmap import sanafe_bridge as sb
from snnmap.api import load_network, solve
from snnmap.formulations.latency import MODEL, step_time
from snnmap.hardware import load_hardware
from snnmap.instances import SpikingNetwork
from snnmap.instances.files import write_text
from snnmap.instances.synthetic import layered

# Networks whose step time the cores' work decides; on the minis the barrier (0.6-1.8 us) is about 90 % of
# every step and the mappings differ by about 1 % (run them with --nets LeNet:mini ... --out ..._mini.md).
NETS = ["layered400", "HeartEstm:full", "DigitRecogSTDP:full", "VisualPursuit:full", "LeNet:full"]
# (method, spread): n_max = ceil(N / spread).
MAPPINGS = [("sequential", 4), ("partition-refine", 8), ("sneap", 8), ("greedy", 16), ("spinemap", 16),
            ("random", 8)]
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latency_agreement.md"


def network(name: str, steps: int) -> SpikingNetwork:
    """The named network, its spike counts rescaled to ``steps`` time steps when it has more."""
    net = layered([100, 100, 100, 100], 20, seed=1, name="layered400") if name == "layered400" else load_network(name)
    if net.steps > steps:
        net = net.replace(spikes=np.round(net.spikes * steps / net.steps), time_steps=steps)
    return net


def key_of(net: SpikingNetwork, core_of: np.ndarray, model: str, phase: str) -> str:
    digest = hashlib.sha1(np.asarray(core_of, dtype=np.int64).tobytes()).hexdigest()[:16]
    return f"{net.fingerprint}:{net.steps}:{digest}:{model}" + ("" if phase == "aligned" else f":{phase}")


RUNS = {"detailed": ("detailed", "staggered"), "simple": ("simple", "staggered"), "aligned": ("detailed", "aligned")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", nargs="+", default=NETS)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--cache", default=os.path.join("/tmp", "snnmap-latency-agreement.json"))
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    cache_path = Path(args.cache)
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() else {}
    c = sb.loihi_constants()
    lines = [
        f"# Evaluator time per step vs SANA-FE {c.version} (`detailed` and `simple` timing)",
        "",
        f"`python scripts/latency_agreement.py --steps {args.steps} --time-limit {args.time_limit:g}`; "
        "evaluator = `evaluate(...).step_time` on `loihi` (n_max = ceil(N / spread)); SANA-FE = the replay of "
        "the same mapping. Evaluator model: " + MODEL + ".",
        "",
        "| network | N | T | method | spread | cores | tiles | SANA-FE detailed (s) | SANA-FE simple (s) "
        "| evaluator (s) | rel. err. vs detailed | vs simple | detailed, aligned trains (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    summary = ["", "| network | Spearman vs detailed | vs simple | vs detailed, aligned trains | median rel. err. "
               "vs detailed | max rel. err. vs detailed | vs detailed, aligned |", "|---|---|---|---|---|---|---|"]
    all_err: dict[str, list[float]] = {m: [] for m in RUNS}
    for name in args.nets:
        net = network(name, args.steps)
        times: dict[str, list[float]] = {"ours": [], **{m: [] for m in RUNS}}
        for method, spread in MAPPINGS:
            base = load_hardware("loihi")  # n_max never above the chip's (SANA-FE's 1,024 somas per core)
            hw = base.replace(n_max=max(1, min(base.limits.n_max, math.ceil(net.num_neurons / spread))))
            t0 = time.time()
            res = solve(net, hw, method, time_limit=args.time_limit, seed=0)
            if res.mapping is None:
                lines.append(f"| {name} | {net.num_neurons} | {net.steps} | {method} | {spread} | no mapping |")
                continue
            sim = {}
            for run, (model, phase) in RUNS.items():
                key = key_of(net, res.mapping, model, phase)
                if key not in cache:
                    cache[key] = sb.replay(net, hw, res.mapping, net.steps, timing_model=model, phase=phase).step_time
                    write_text(cache_path, json.dumps(cache))
                sim[run] = cache[key]
            st = step_time(net, hw, res.mapping)
            err = {m: abs(st.total - sim[m]) / sim[m] for m in sim}
            for m in sim:
                times[m].append(sim[m])
                all_err[m].append(err[m])
            times["ours"].append(st.total)
            cores = int(np.unique(res.mapping).size)
            lines.append(f"| {name} | {net.num_neurons} | {net.steps} | {method} | {spread} | {cores} "
                         f"| {st.tiles_used} | {sim['detailed']:.4e} | {sim['simple']:.4e} | {st.total:.4e} "
                         f"| {err['detailed']:.2%} | {err['simple']:.2%} | {sim['aligned']:.4e} |")
            print(lines[-1], f"({time.time() - t0:.1f} s)", flush=True)
        rho = {m: float(spearmanr(times["ours"], times[m])[0]) for m in RUNS}
        errs = {m: np.abs(np.array(times["ours"]) - times[m]) / np.array(times[m]) for m in RUNS}
        summary.append(f"| {name} | {rho['detailed']:.3f} | {rho['simple']:.3f} | {rho['aligned']:.3f} "
                       f"| {np.median(errs['detailed']):.2%} | {errs['detailed'].max():.2%} "
                       f"| {np.median(errs['aligned']):.2%} |")
    lines += summary
    lines += ["", f"Median relative error over all {len(all_err['detailed'])} mappings: "
              f"{np.median(all_err['detailed']):.2%} against `detailed`, {np.median(all_err['simple']):.2%} "
              f"against `simple` (staggered trains); {np.median(all_err['aligned']):.2%} against `detailed` with "
              "aligned trains.", ""]
    write_text(args.out, "\n".join(lines) + "\n")
    print("\n".join(summary[1:]))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
