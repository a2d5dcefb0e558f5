"""Throughput of ``snnmap sweep`` on Dask: tasks per minute and the engine's overhead per task.

Protocol: one sweep of 200 small tasks (the 10 mini applications x sequential
and greedy x 5 hop energies x 2 communication models, seed 0, each run a few
milliseconds) so that what is measured is the engine, not the mapping, on
three clusters (loopback only):

1. the embedded LocalCluster of ``snnmap sweep --workers 1``;
2. the embedded LocalCluster of ``snnmap sweep --workers 2``;
3. a separately started ``dask scheduler`` with a ``dask worker`` process of 2
   single-threaded workers, joined by ``--scheduler tcp://127.0.0.1:PORT``.

On each: ``start`` is the cluster's start; the sweep then runs twice into
fresh output directories, on fresh workers (``cold``: each worker imports
snnmap and loads the numba kernels on its first task) and again on the same
workers (``warm``). ``tasks/min`` is the warm rate; the overhead per task is
``(warm * workers - sum of the tasks' own times) / tasks``: what a task costs
beyond its mapping (scheduling, pickling both ways, building the instance on
the worker, the row's fsync). Bytes per task: the pickled task and the
pickled row the worker sends back.

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
from snnmap.instances.files import write_text
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


def timed_sweep(spec, address: str) -> tuple[float, float]:
    """Wall time of one sweep on the cluster at ``address``, and the sum of its tasks' own times."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = sweep(spec, Path(tmp) / "out", scheduler=address, figures=False, stream=False)
        wall = time.perf_counter() - t0
    assert not report.failed and len(report.rows) == spec.size
    return wall, sum(r["time_s"] for r in report.rows)


def measure(spec, how: str, workers: int, cluster) -> dict:
    """Start the cluster, then the same sweep twice: on fresh workers (cold) and on the same workers (warm)."""
    t0 = time.perf_counter()
    with cluster as address:
        start = time.perf_counter() - t0
        cold, _ = timed_sweep(spec, address)
        warm, own = timed_sweep(spec, address)
    return {"how": how, "workers": workers, "tasks": spec.size, "start_s": round(start, 2),
            "cold_s": round(cold, 2), "warm_s": round(warm, 2), "task_time_s": round(own, 3),
            "tasks_per_min": round(spec.size / warm * 60, 1),
            "overhead_ms_per_task": round((warm * workers - own) / spec.size * 1000, 1),
            "cold_minus_warm_s": round(cold - warm, 2)}


@contextlib.contextmanager
def embedded(workers: int):
    """The embedded LocalCluster of ``snnmap sweep --workers N``, by its address."""
    with engine.engine(workers) as client:
        yield client.scheduler.address


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="scripts/results/bench_sweep.txt")
    args = parser.parse_args()
    spec = check_spec(SPEC)
    task = spec.tasks()[0]
    sizes = {"task_bytes": len(pickle.dumps(task)), "row_bytes": len(pickle.dumps(run_point(task)))}
    results = [measure(spec, "embedded LocalCluster (--workers 1)", 1, embedded(1)),
               measure(spec, "embedded LocalCluster (--workers 2)", 2, embedded(2)),
               measure(spec, "dask scheduler + dask worker (--scheduler)", 2, separate_cluster(2))]
    lines = [f"snnmap sweep throughput: {spec.size} tasks (10 mini apps x 2 methods x 10 chips), "
             f"{os.cpu_count()} cores; task {sizes['task_bytes']} B pickled, row {sizes['row_bytes']} B",
             f"{'how':44s} {'workers':>7s} {'start s':>7s} {'cold s':>7s} {'warm s':>7s} {'tasks/min':>9s} "
             f"{'task s':>7s} {'overhead ms/task':>16s}"]
    for r in results:
        lines.append(f"{r['how']:44s} {r['workers']:7d} {r['start_s']:7.2f} {r['cold_s']:7.2f} {r['warm_s']:7.2f} "
                     f"{r['tasks_per_min']:9.1f} {r['task_time_s']:7.3f} {r['overhead_ms_per_task']:16.1f}")
    text = "\n".join(lines)
    print(text)
    out = Path(args.out)
    write_text(out, text + "\n")
    write_text(out.with_suffix(".json"), json.dumps({"sizes": sizes, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
