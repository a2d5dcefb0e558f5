"""Speed of greedy and partition-refine: time and peak memory vs network size.

Protocol: random layered conv-like networks (each neuron of layer l+1 takes
``fan`` inputs from a window of layer l; Poisson spike counts, seed 0) of
10^3 .. 10^6 neurons, plus a VGG16-sized one (~12M synapses), on
``crossbar128`` resized to the cores a sequential fill needs plus 25 %; then
the real VGG16:full instance (81,034 neurons, 16.1M synapses) as the gap
evaluator maps it: on ``loihi``, and on ``crossbar128`` with its fan-in
unrolled to 128 (228,530 neurons, 29,241 crossbars). Default time limits.
Every (case, method) runs in a fresh process so its peak RSS is its own
(numba functions are compiled, or loaded from cache, before the timing).

    python scripts/bench_heuristics.py [--sizes 1000 10000 ...] [--no-vgg] [--apps VGG16@loihi]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from snnmap.instances.synthetic import conv_like


def hardware_for(net):
    from snnmap.hardware import load_hardware
    from snnmap.heuristics.partition import cut_runs

    hw = load_hardware("crossbar128")
    need = cut_runs(net, hw)[1]
    return load_hardware("crossbar128", cores=int(need * 1.25) + 1)


def instance(case: str):
    """``"conv:N:FAN"`` (synthetic, on a fitted crossbar128) or ``"app:NAME@PRESET"`` (full application)."""
    kind, rest = case.split(":", 1)
    if kind == "conv":
        n, fan = (int(x) for x in rest.split(":"))
        net = conv_like(n, fan)
        return net, hardware_for(net)
    from snnmap.prepare import prepared

    name, preset = rest.split("@")
    return prepared(name, "full", preset)


def one(case: str, method: str) -> dict:
    from snnmap.registry import METHODS

    net, hw = instance(case)
    METHODS[method](conv_like(500, 9), hardware_for(conv_like(500, 9)))  # compile outside the timing
    t = time.perf_counter()
    res = METHODS[method](net, hw, seed=0)
    dt = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"case": case, "neurons": net.num_neurons, "synapses": net.num_synapses, "cores": hw.num_cores,
            "method": method, "seconds": round(dt, 2), "peak_MB": round(peak), "status": str(res.status),
            "energy": res.energy}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 100000, 1000000])
    ap.add_argument("--methods", nargs="*", default=["greedy", "partition-refine"])
    ap.add_argument("--no-vgg", action="store_true", help="skip the VGG16-sized synthetic network")
    ap.add_argument("--apps", nargs="*", default=["VGG16@loihi", "VGG16@crossbar128"],
                    help="full applications as NAME@PRESET")
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(*args.one)))
        return
    cases = ([f"conv:{n}:9" for n in args.sizes] + ([] if args.no_vgg else ["conv:500000:24"])
             + [f"app:{a}" for a in args.apps])
    print(f"machine: {os.cpu_count()} cores")
    print(f"{'case':<24} {'neurons':>9} {'synapses':>10} {'cores':>6} {'method':<17} {'time s':>8} {'peak MB':>8} "
          f"{'status':<10} energy J")
    for case in cases:
        for m in args.methods:
            out = subprocess.run([sys.executable, __file__, "--one", case, m],
                                 capture_output=True, text=True, env=os.environ)
            if out.returncode:
                print(f"{case} {m}: failed\n{out.stderr[-2000:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{case:<24} {r['neurons']:>9} {r['synapses']:>10} {r['cores']:>6} {m:<17} {r['seconds']:>8} "
                  f"{r['peak_MB']:>8} {r['status']:<10} {r['energy']:.6g}", flush=True)

if __name__ == "__main__":
    main()
