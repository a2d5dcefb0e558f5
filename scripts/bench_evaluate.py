"""Benchmark: the evaluator on a random network of 1,000,000 neurons and
10,000,000 synapses on a 32 x 32 mesh (issue goal: under 5 s on 2 cores).

Prints build time, evaluation time per communication model, and peak memory
(resident set size of this process, from the OS).

    python scripts/bench_evaluate.py [--neurons N] [--synapses S] [--mesh 32x32] [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

import numpy as np

from snnmap.formulations import evaluate
from snnmap.formulations.arrays import unique_ints
from snnmap.hardware import load_hardware
from snnmap.instances import SpikingNetwork


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--neurons", type=int, default=1_000_000)
    ap.add_argument("--synapses", type=int, default=10_000_000)
    ap.add_argument("--mesh", default="32x32")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rows, cols = (int(v) for v in args.mesh.split("x"))
    n, m = args.neurons, args.synapses
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"numpy {np.__version__}")

    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    # Distinct random synapses: draw a few extra keys and drop duplicates.
    key = unique_ints(rng.integers(0, n, int(m * 1.02), dtype=np.int64) * n + rng.integers(0, n, int(m * 1.02)))
    key = np.sort(rng.permutation(key)[:m])
    net = SpikingNetwork.from_edges(n, key // n, key % n, rng.poisson(3.0, n), name="bench")
    hw = load_hardware("crossbar128", mesh=(rows, cols), n_max=-(-n // (rows * cols)), a_max=None, syn_max=None)
    # A locality-preserving mapping: neurons fill cores in index order.
    core_of = np.arange(n) * hw.num_cores // n
    t_build = time.perf_counter() - t0
    print(f"network: {net.num_neurons:,} neurons, {net.num_synapses:,} synapses, {hw.num_cores} cores; "
          f"built in {t_build:.2f} s")
    _ = net.pre  # the CSR expansion is cached on the network, as in real use
    for comm in ("multicast", "unicast"):
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            report = evaluate(net, hw, core_of, comm)
            times.append(time.perf_counter() - t0)
        print(f"evaluate ({comm:9s}): best {min(times):.2f} s, median {float(np.median(times)):.2f} s "
              f"over {args.repeat}; "
              f"E = {report.total:.6g} J, max link load {report.max_link_load:.6g}")
    print(f"peak memory (RSS): {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
