"""Throughput of ``snnmap sweep`` on Dask: tasks per minute and the engine's overhead per task.

Protocol: one sweep of 200 small tasks (the 10 mini applications x sequential
and greedy x 5 hop energies x 2 communication models, seed 0, each run a few
milliseconds) so that what is measured is the engine, not the mapping. It runs
three ways, each into a fresh output directory:

1. an embedded LocalCluster of 1 worker process (``--workers 1``);
2. an embedded LocalCluster of 2 worker processes (``--workers 2``);
3. 2 worker processes of a separately started ``dask worker`` joined to a
   separately started ``dask scheduler`` (``--scheduler tcp://127.0.0.1:PORT``;
   loopback only), as on a real cluster of machines.

``wall`` is the whole ``sweep()`` call (cluster start and stop included);
``start`` is a cluster's start and stop alone (measured apart, empty);
``tasks/min`` counts over ``wall - start``; the overhead per task is
``((wall - start) * workers - sum of the tasks' own times) / tasks``: what a
task costs beyond its mapping (scheduling, pickling, the row's fsync, the
numba warm-up of each new worker spread over its tasks). Bytes per task are
the pickled task and the pickled row the worker sends back.

    python scripts/bench_sweep.py [--out scripts/results/bench_sweep.txt]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from snnmap import engine
from snnmap.sweep import check_spec, run_point, sweep

SPEC = {"name": "bench", "applications": "all", "methods": ["sequential", "greedy"], "seeds": [0],
        "time_limit": 5.0, "grid": {"e_hop": [2.5e-12, 5e-12, 1e-11, 2e-11, 4e-11], "comm": ["multicast", "unicast"]}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def separate_cluster(workers: int):
    """A ``dask scheduler`` and a ``dask worker`` process with ``workers`` single-threaded workers (loopback)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    sched = subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port), "--dashboard-address",
                              "127.0.0.1:0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = [sched]
    try:
        time.sleep(2.0)
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", str(workers), "--nthreads",
             "1", "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0", "--resources",
             f"{engine.MEMORY}=4e9"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for p in reversed(procs):  # only the processes started here, by their ids
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def measure(spec, how: str, workers: int, address: str | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if address is None:
            with engine.engine(workers):
                pass
        start = time.perf_counter() - t0 if address is None else 0.0
        t0 = time.perf_counter()
        report = sweep(spec, Path(tmp) / "out", workers=workers if address is None else None, scheduler=address,
                       figures=False, stream=False)
        wall = time.perf_counter() - t0
    assert not report.failed and len(report.rows) == spec.size
    own = sum(r["time_s"] for r in report.rows)
    busy = wall - start
    return {"how": how, "workers": workers, "tasks": spec.size, "wall_s": round(wall, 2), "start_s": round(start, 2),
            "tasks_per_min": round(spec.size / busy * 60, 1), "task_time_s": round(own, 3),
            "overhead_ms_per_task": round((busy * workers - own) / spec.size * 1000, 1),
            "hosts": sorted({r["worker"] for r in report.rows})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="scripts/results/bench_sweep.txt")
    args = parser.parse_args()
    spec = check_spec(SPEC)
    task = spec.tasks()[0]
    sizes = {"task_bytes": len(pickle.dumps(task)), "row_bytes": len(pickle.dumps(run_point(task)))}
    results = [measure(spec, "LocalCluster", 1, None), measure(spec, "LocalCluster", 2, None)]
    with separate_cluster(2) as address:
        results.append(measure(spec, "--scheduler (separate dask scheduler + dask worker)", 2, address))
    lines = [f"snnmap sweep throughput: {spec.size} tasks (10 mini apps x 2 methods x 10 chips), "
             f"{os.cpu_count()} cores; task {sizes['task_bytes']} B pickled, row {sizes['row_bytes']} B",
             f"{'how':55s} {'workers':>7s} {'wall s':>7s} {'start s':>7s} {'tasks/min':>9s} "
             f"{'task s':>7s} {'overhead ms/task':>16s}"]
    for r in results:
        lines.append(f"{r['how']:55s} {r['workers']:7d} {r['wall_s']:7.2f} {r['start_s']:7.2f} "
                     f"{r['tasks_per_min']:9.1f} {r['task_time_s']:7.3f} {r['overhead_ms_per_task']:16.1f}")
    text = "\n".join(lines)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    out.with_suffix(".json").write_text(json.dumps({"sizes": sizes, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
