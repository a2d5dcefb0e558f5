"""Build every application at full scale and report sizes, build time and peak memory.

Protocol: each application is built in its own subprocess (so that peak
resident memory, from ``resource.getrusage``, is per application) with seed 0,
into a fresh cache directory, ignoring any cached file; build time includes
training, simulation, writing the ``.npz`` and reloading it. Results go to
stdout as a table and, with ``--write``, to ``instances/data/full_summary.json``.

Usage: ``python scripts/bench_apps.py [--write] [--cache DIR] [APP ...]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time


def one(app: str, cache: str) -> dict:
    from snnmap.instances.apps import build

    t0 = time.perf_counter()
    net = build(app, "full", seed=0, cache_dir=cache, rebuild=True)
    elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    prov = net.provenance
    extra = {k: v for k, v in prov.items() if "accuracy" in k or "mae" in k}
    return {"neurons": net.num_neurons, "synapses": net.num_synapses, "total_spikes": net.total_spikes,
            "build_s": round(elapsed, 1), "peak_rss_mb": round(peak_mb), "fingerprint": net.fingerprint, **extra}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("apps", nargs="*")
    ap.add_argument("--write", action="store_true", help="write instances/data/full_summary.json")
    ap.add_argument("--cache", default=None, help="cache directory (default: a fresh temporary one)")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.cache)))
        return
    from snnmap.bks import installed_copy
    from snnmap.instances.apps import APPS, FULL_SUMMARY
    from snnmap.instances.files import replacing

    if args.write and installed_copy(FULL_SUMMARY):  # checked before the builds, not after
        raise SystemExit(f"--write: {FULL_SUMMARY} belongs to an installed package; run in a source checkout")

    apps = args.apps or list(APPS)
    cache = args.cache or tempfile.mkdtemp(prefix="snnmap-bench-")
    results = {}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"python {platform.python_version()}")
    print(f"{'app':15s} {'neurons':>9s} {'synapses':>11s} {'spikes':>11s} {'build s':>8s} {'peak MB':>8s}")
    t_all = time.perf_counter()
    for app in apps:
        out = subprocess.run([sys.executable, __file__, "--one", app, "--cache", cache],
                             capture_output=True, text=True, env=os.environ.copy())
        if out.returncode != 0:
            print(f"{app:15s} FAILED\n{out.stderr[-2000:]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results[app] = r
        print(f"{app:15s} {r['neurons']:9d} {r['synapses']:11d} {r['total_spikes']:11.0f} {r['build_s']:8.1f} "
              f"{r['peak_rss_mb']:8d}",
              flush=True)
    print(f"total wall time: {time.perf_counter() - t_all:.0f} s")
    if args.write:
        doc = json.loads(FULL_SUMMARY.read_text()) if FULL_SUMMARY.is_file() else {}
        doc.update(results)
        with replacing(FULL_SUMMARY) as tmp:
            tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        print(f"wrote {FULL_SUMMARY}")


if __name__ == "__main__":
    main()
