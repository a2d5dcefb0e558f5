"""Profile of one partition-benders run on layered N/K (the bench's instance and start): its rounds and pricings.

Usage: python scripts/results/p64c/profile.py 64 16 481939 300 > profile.txt

Prints every round start of the master (``restart``), the first 30 pricings, every slow one (over 1 s) and every
200th, the solver's progress every 5 s and its result. The wrappers only time and print; they change nothing.
"""

import os
import sys
import time

from snnmap.formulations import partition_benders as pb
from snnmap.formulations import target_components as tc
from snnmap.instances.synthetic import random_layered
from snnmap.prepare import exact_bench_hardware
from snnmap.registry import METHODS

n, k, seed, limit = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
net, hw = random_layered(n, seed + n), exact_bench_hardware(n, k)
pb.solve(random_layered(8, 0), exact_bench_hardware(8, 2), comm="multicast")  # the kernels compiled first
start = METHODS["partition-refine"](net, hw, comm="multicast", time_limit=5).mapping
print("load", os.getloadavg(), "N", net.num_neurons, "inputs", pb._inputs(net).size, flush=True)  # noqa: SLF001
t0 = time.perf_counter()
price, restart, count = pb._InputPricer.price, tc.PartitionSearch.restart, [0]  # noqa: SLF001


def timed_price(self, labels, cost, incumbent):
    t = time.perf_counter()
    e, mapping = price(self, labels, cost, incumbent)
    dt = time.perf_counter() - t
    count[0] += 1
    if count[0] <= 30 or dt > 1 or count[0] % 200 == 0:
        print(f"price t={t - t0:7.1f} g={int(labels.max()) + 1} leaf={self.const + cost:.6e} inc={incumbent:.6e} "
              f"e={e:.6e} dt={dt:.3f}", flush=True)
    return e, mapping


def logged_restart(self):
    print(f"restart t={time.perf_counter() - t0:.1f} nodes={self.nodes}", flush=True)
    restart(self)


def show(d):
    print("prog", {key: (f"{v:.7e}" if isinstance(v, float) else v) for key, v in d.items()}, flush=True)


pb._InputPricer.price = timed_price  # noqa: SLF001
tc.PartitionSearch.restart = logged_restart
res = pb.solve(net, hw, comm="multicast", time_limit=limit, start=start, progress=show)
print(res.status, res.energy, res.lower_bound, res.runtime)
print(res.stats)
print("load", os.getloadavg())
