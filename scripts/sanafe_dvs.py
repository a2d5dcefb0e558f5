"""A network someone else mapped: SANA-FE's DVS-gesture network, its authors' mapping against snnmap's methods.

Protocol (issue 12, item 5):

1. ``dvs.yaml`` (SANA-FE's DVS-gesture network, 18,678 neurons, conv2d and dense
   group edges, inputs driven by bias, with its authors' mapping onto Loihi
   cores) is simulated by SANA-FE itself for 128 steps (the frame length of the
   authors' runs, SANA-FE ``scripts/tcad2025/dvs_gesture.py``), on the
   authors' mapping. The spike counts of that run are the network snnmap maps.
2. Every snnmap heuristic maps it (seed 0, ``--time-limit``) onto the ``loihi``
   preset (SANA-FE's costs; 1,024 neurons per core as SANA-FE's Loihi core)
   without the preset's ``a_max`` / ``dest_max`` (Davies's 4,096 axons per
   core): SANA-FE's Loihi models no such limit, and the dense last layer's
   5,714 inputs break it on every mapping, the authors' included.
3. Each mapping is written back into the file's ``mappings`` and simulated by
   SANA-FE, neurons and all (timing model ``detailed``). Reported: SANA-FE's
   total energy and its terms, messages, hops, time per step, cores and tiles
   used, and the evaluator's total (which lacks the LIF updates without a spike
   and prices every synapse as dense, a difference that is the same for every
   mapping).

    python scripts/sanafe_dvs.py                     # ../shared/external/sanafe/dvs.yaml
    python scripts/sanafe_dvs.py --dvs PATH --time-limit 120 --methods sequential greedy
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from snnmap import api, registry
from snnmap import sanafe_bridge as sb
from snnmap.formulations.energy import evaluate
from snnmap.hardware import load_hardware
from snnmap.instances.files import write_text

HERE = os.path.dirname(os.path.abspath(__file__))
DVS = os.path.join(HERE, "..", "..", "shared", "external", "sanafe", "dvs.yaml")
RESULTS = os.path.join(HERE, "results", "sanafe_dvs.md")
STEPS = 128  # the authors' frame length (SANA-FE scripts/tcad2025/dvs_gesture.py)


def row(name: str, core_of: np.ndarray, res: sb.SanafeResult, authors: float, evaluator: float, seconds: str,
        cores_per_tile: int) -> str:
    used = np.unique(core_of)
    e = res.energy
    vs = "—" if name == "authors' (file)" else f"{(e['total'] - authors) / authors:+.1%}"
    return (f"| {name} | {used.size} / {np.unique(used // cores_per_tile).size} | {e['total']:.6e} | {vs} "
            f"| {e['soma']:.5e} | {e['synapse']:.5e} | {e['network']:.5e} | {res.messages:,} | {res.hops:,} "
            f"| {res.step_time * 1e6:.1f} | {evaluator:.6e} | {evaluator - e['total']:+.4e} | {seconds} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dvs", default=DVS)
    parser.add_argument("--methods", nargs="+", default=list(registry.names(role=("ours", "baseline"))))
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)
    if not os.path.isfile(args.dvs):
        print(f"{args.dvs}: not found (SANA-FE's dvs.yaml)", file=sys.stderr)
        return 2
    hw = load_hardware("loihi", a_max=None, dest_max=None)  # the chip SANA-FE models: no axon limits
    t0 = time.perf_counter()
    read, own = sb.simulate_file(args.dvs, STEPS)
    net = read.network
    print(f"SANA-FE own run, authors' mapping: {own.energy['total']:.6e} J ({time.perf_counter() - t0:.0f} s)",
          flush=True)
    authors = own.energy["total"]
    lines = [
        f"# dvs.yaml in SANA-FE {sb.sanafe_version()}'s own simulation: the authors' mapping and snnmap's",
        "",
        f"Made by `scripts/sanafe_dvs.py --time-limit {args.time_limit:g}`. Network: `dvs.yaml` "
        f"({net.num_neurons:,} neurons, {net.num_synapses:,} synapses), {STEPS} steps, spike counts from "
        f"SANA-FE's own run on the authors' mapping ({int(net.spikes.sum()):,} spikes). Mappings by snnmap on "
        "the `loihi` preset (SANA-FE's costs, 1,024 neurons per core; without a_max / dest_max, which SANA-FE "
        "does not model and every mapping of the dense last layer breaks), seed 0; every mapping simulated by "
        "SANA-FE (LIF neurons, timing `detailed`). Energies in joules; step time in µs. `evaluator` is "
        "snnmap's total with `loihi` for the same spike counts; it omits the LIF updates without a spike "
        "and prices conv synapses as dense, so `evaluator - SANA-FE` is the same for every mapping.",
        "",
        "| mapping | cores / tiles | SANA-FE total | vs authors | soma | synapse | network | messages | hops "
        "| step µs | evaluator | evaluator - SANA-FE | method s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        row("authors' (file)", read.core_of, own, authors, evaluate(net, hw, read.core_of).total, "—",
            hw.cores_per_tile),
    ]
    print(lines[-1], flush=True)
    for method in args.methods:
        t0 = time.perf_counter()
        res = api.solve(net, hw, method, time_limit=args.time_limit, seed=0)
        took = time.perf_counter() - t0
        if res.mapping is None:
            lines.append(f"| {method} | no mapping ({res.status}) in {took:.1f} s |")
            print(lines[-1], flush=True)
            continue
        _, sim = sb.simulate_file(args.dvs, STEPS, core_of=res.mapping)
        lines.append(row(method, res.mapping, sim, authors, res.energy, f"{took:.1f}", hw.cores_per_tile))
        print(lines[-1], flush=True)
        write_text(args.out, "\n".join(lines) + "\n")
    write_text(args.out, "\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
