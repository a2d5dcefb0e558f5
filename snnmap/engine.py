"""The one engine of snnmap's studies: Dask (``dask.distributed``).

Every study (``snnmap gap``, ``snnmap sweep``) is a list of independent tasks
run by :func:`run` on a Dask client from :func:`engine`: by default an
embedded ``LocalCluster`` of single-threaded worker processes on this machine
(127.0.0.1 only), started and stopped by the command; with a scheduler address
(``--scheduler``, ``$SNNMAP_SCHEDULER``) a running cluster of any size.

Tasks carry only their inputs (application name, seed, preset, overrides);
workers build or load networks themselves and keep them in a per-process
cache, so nothing needs a shared disk and a full-size network is built once
per worker, not sent once per task. A worker process that dies mid-task costs
that task a retry on another worker (Dask's ``allowed-failures``), not the study.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import math
import os
import socket
import sys
import time
from typing import Any, Callable, Iterator, Sequence, TextIO

SCHEDULER_ENV = "SNNMAP_SCHEDULER"
CONNECT_TIMEOUT = 5.0  # seconds to reach a scheduler before saying so
WORKER_TIMEOUT = 60.0  # seconds to wait for the first worker of a cluster
CLOSE_TIMEOUT = 20.0  # seconds to stop a local cluster
MEMORY = "MEMORY"  # the worker resource (bytes) that full-size tasks declare they need
RESULT_TIMEOUT = 60.0  # seconds to fetch a finished task's result


@contextlib.contextmanager
def engine(workers: int | None = None, scheduler: str | None = None, *,
           worker_env: dict[str, str] | None = None) -> Iterator[Any]:
    """A Dask client for one study; the cluster it started (if any) is stopped on exit.

    Parameters
    ----------
    workers
        Worker processes of the embedded ``LocalCluster`` (one thread each);
        default one per core. Not used with a scheduler.
    scheduler
        ``tcp://HOST:PORT`` of a running Dask scheduler; default
        ``$SNNMAP_SCHEDULER``, and without it the embedded cluster.
    worker_env
        Environment variables of the local worker processes (e.g. their own
        ``SNNMAP_CACHE``).

    Raises
    ------
    ValueError
        One line naming the scheduler address and what to do when it cannot
        be reached within :data:`CONNECT_TIMEOUT` seconds.
    """
    from distributed import Client, LocalCluster

    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address is not None:
        if workers is not None:
            raise ValueError(f"--workers applies to the embedded cluster; the cluster at {address} has its own "
                             "workers (start more with `dask worker ADDRESS`) or leave out --scheduler")
        client = _connect(address)
        try:
            yield client
        finally:
            client.close(timeout=CLOSE_TIMEOUT)
        return
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"--workers {n}: must be >= 1")
    from distributed.system import MEMORY_LIMIT

    per_worker = MEMORY_LIMIT // n
    # Loopback only; the scheduler's HTTP server (always started) on a free port, not a busy 8787.
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", memory_limit=per_worker, resources={MEMORY: per_worker},
                           silence_logs=logging.CRITICAL, env=dict(worker_env or {}))
    try:
        client = Client(cluster, set_as_default=False, timeout=CONNECT_TIMEOUT)
        try:
            yield client
        finally:
            client.close(timeout=CLOSE_TIMEOUT)
    finally:
        cluster.close(timeout=CLOSE_TIMEOUT)


def _connect(address: str) -> Any:
    from distributed import Client

    hint = ("start one there (`dask scheduler --host HOST`, then `dask worker tcp://HOST:8786` on each machine) "
            f"or leave out --scheduler and ${SCHEDULER_ENV} to run on this machine")
    scheme, _, where = address.partition("://")
    if scheme not in ("tcp", "tls", "ws", "wss") or ":" not in where:
        raise ValueError(f"scheduler {address!r}: give tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786")
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        reason = " ".join(str(exc).split())[:120]
        raise ValueError(f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT:g} s ({reason}): "
                         f"{hint}") from None


def total_threads(client: Any) -> int:
    """Worker threads of the cluster now (tasks it can run at once)."""
    return sum(client.nthreads().values())


def memory_per_worker(client: Any) -> list[float]:
    """The :data:`MEMORY` resource each worker declares (bytes; workers without it are left out)."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    return [w["resources"][MEMORY] for w in workers.values() if MEMORY in (w.get("resources") or {})]


# ------------------------------------------------------------- on the worker
@functools.lru_cache(maxsize=1)
def _ready() -> str:
    """Compile (or load) the numba kernels once per worker process, before any task's timer; the host's name."""
    from snnmap.heuristics import warm_up

    warm_up()
    return socket.gethostname()


def _call(fn: Callable[[Any], Any], task: Any) -> tuple[Any, str, str]:
    """Run ``fn(task)`` on a worker: the value, the worker's host and its address."""
    host = _ready()
    try:
        from distributed import get_worker

        address = get_worker().address
    except ValueError:  # not on a Dask worker (called directly)
        address = ""
    return fn(task), host, address


# ------------------------------------------------------------------ the run
@dataclasses.dataclass
class Done:
    """A finished task: its value and where it ran."""

    task: Any
    value: Any
    host: str
    worker: str


class ProgressLine:
    """One progress line for a whole study: done/total, running, failed, elapsed, estimated remaining.

    On a terminal the line is redrawn in place; otherwise (a log, CI) it is
    printed at most every ``interval`` seconds and once at the end.
    """

    def __init__(self, total: int, stream: TextIO | None = None, interval: float = 10.0):
        self.total, self.stream, self.interval = total, stream or sys.stderr, interval
        self.start = time.monotonic()
        self._last = -math.inf
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def text(self, done: int, running: int, failed: int) -> str:
        elapsed = time.monotonic() - self.start
        left = self.total - done - failed
        eta = "-" if done == 0 else _duration(elapsed / (done + failed) * left)
        return (f"[{_duration(elapsed)}] {done + failed}/{self.total} done, {running} running, {failed} failed, "
                f"about {eta} left")

    def __call__(self, done: int, running: int, failed: int, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self._last < (0.5 if self.tty else self.interval):
            return
        self._last = now
        line = self.text(done, running, failed)
        if self.tty:
            print(f"\r{line}\x1b[K", end="\n" if final else "", file=self.stream, flush=True)
        else:
            print(line, file=self.stream, flush=True)

    def interrupt(self) -> None:
        """End a redrawn line so that the next message starts on its own line."""
        if self.tty:
            print(file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def run(
    client: Any,
    fn: Callable[[Any], Any],
    tasks: Sequence[Any],
    *,
    on_done: Callable[[Done], None],
    on_failed: Callable[[Any, BaseException], None],
    memory: Callable[[Any], float | None] = lambda task: None,
    progress: ProgressLine | None = None,
) -> int:
    """Run ``fn(task)`` for every task on the client's workers; returns how many failed.

    ``on_done`` is called in the client as each task finishes (in completion
    order), ``on_failed`` with the task and its error (the others go on; an
    exception raised by either callback stops the study and cancels the rest).
    ``memory(task)`` is the bytes a task needs (``None``: no declaration): it
    is requested as the :data:`MEMORY` worker resource, so a worker never
    runs two tasks together that it cannot hold.
    """
    from distributed import as_completed

    if not tasks:
        return 0
    needs = [memory(t) for t in tasks]
    if any(needs):
        _check_memory(client, max(n for n in needs if n))
    if not client.nthreads():
        try:
            client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
        except TimeoutError:
            address = client.scheduler.address
            raise ValueError(f"the Dask scheduler {address} has no workers after {WORKER_TIMEOUT:g} s: "
                             f"start some with `dask worker {address}`") from None
    futures = {}
    for task, need in zip(tasks, needs):
        fut = client.submit(_call, fn, task, pure=False, resources={MEMORY: need} if need else None)
        futures[fut.key] = (fut, task)
    done = failed = 0
    pending = set(futures)
    threads, counted, idle_since = total_threads(client), time.monotonic(), None
    try:
        completed = as_completed([f for f, _ in futures.values()], loop=client.loop)
        while pending:
            batch = completed.next_batch(block=False)
            if not batch:
                time.sleep(0.05)
            for fut in batch:
                if fut.key not in pending:  # reported again after a lost worker's recomputation
                    continue
                task = futures[fut.key][1]
                pending.discard(fut.key)
                if fut.status == "cancelled":  # the scheduler dropped them: restarted, or our connection was lost
                    raise ConnectionError(f"the Dask scheduler {client.scheduler.address} dropped the study's tasks "
                                          "(restarted, or the connection was lost); finished rows are kept: run the "
                                          "same command with --resume")
                if fut.status == "finished":
                    value, host, worker = fut.result(timeout=RESULT_TIMEOUT)
                    done += 1
                    on_done(Done(task, value, host, worker))
                else:
                    failed += 1
                    on_failed(task, fut.exception(timeout=RESULT_TIMEOUT) or RuntimeError(f"task {fut.status}"))
                fut.release()
            if time.monotonic() - counted > 5.0:  # workers come and go; ask the scheduler now and then
                threads, counted = total_threads(client), time.monotonic()
                idle_since = None if threads else (idle_since or counted)
                if idle_since is not None and counted - idle_since > WORKER_TIMEOUT:
                    raise ConnectionError(f"the Dask cluster at {client.scheduler.address} has had no workers for "
                                          f"{WORKER_TIMEOUT:g} s; finished rows are kept: start workers and run the "
                                          "same command with --resume")
            if progress is not None:
                progress(done, min(len(pending), threads), failed)
    finally:
        left = [futures[k][0] for k in pending]
        if left:
            client.cancel(left)
    if progress is not None:
        progress(done, 0, failed, final=True)
    return failed


def _check_memory(client: Any, need: float) -> None:
    """Refuse, before any task starts, a study whose largest task no worker could hold."""
    offered = memory_per_worker(client)
    gb = need / 1e9
    if not offered:
        raise ValueError(f"full-size tasks need up to {gb:.1f} GB each and declare it as the Dask worker resource "
                         f"{MEMORY}, but no worker offers it: start workers with "
                         f"`dask worker ADDRESS --resources {MEMORY}={int(need)}` (bytes)")
    if max(offered) < need:
        raise ValueError(f"a full-size task needs {gb:.1f} GB but the largest worker offers "
                         f"{max(offered) / 1e9:.1f} GB: use fewer workers (--workers) or bigger machines")
