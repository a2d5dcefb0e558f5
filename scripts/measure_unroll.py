"""Time fan-in unrolling of the full applications and fit crossbar128 to the result.

Usage: ``python scripts/measure_unroll.py [F]`` (default F = 128, crossbar128's a_max).
Prints one row per application: neurons/synapses before and after, the largest
in-degree before, unroll time, and the cores ``fit_hardware`` gives on crossbar128.
"""

from __future__ import annotations

import argparse
import time

import snnmap
from snnmap.instances.apps import APPS
from snnmap.instances.unroll import unroll_fanin


def main(F: int = 128) -> None:
    hw = snnmap.load_hardware("crossbar128")
    print("| app | neurons | synapses | max fan-in | unrolled neurons | +neurons | neurons after | synapses after "
          "| unroll s | crossbar128 cores (after) | fit before |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for app in APPS:
        net = snnmap.load_network(f"{app}:full")
        _ = net.in_degree, net.pre  # warm cached properties so the timing is the unrolling alone
        t0 = time.perf_counter()
        un = unroll_fanin(net, F)
        dt = time.perf_counter() - t0
        t1 = time.perf_counter()
        fit = snnmap.fit_hardware(un, hw)
        fit_t = time.perf_counter() - t1
        try:
            snnmap.fit_hardware(net, hw)
            before = "fits"
        except ValueError:
            before = "unmappable"
        info = un.provenance.get("unroll", {"added_neurons": 0, "unrolled_neurons": 0})
        print(f"| {app} | {net.num_neurons} | {net.num_synapses} | {int(net.in_degree.max())} | "
              f"{info['unrolled_neurons']} | {info['added_neurons']} | {un.num_neurons} | {un.num_synapses} | "
              f"{dt:.2f} | {fit.num_cores} (mesh {fit.mesh[0]}x{fit.mesh[1]}, fit {fit_t:.1f} s) | {before} |",
              flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("F", nargs="?", type=int, default=128, help="largest fan-in after unrolling (default 128)")
    main(ap.parse_args().F)
