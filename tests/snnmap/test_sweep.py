"""``snnmap sweep`` and the Dask engine: specs refused up front, rows kept exactly once through a killed worker
and a resume, workers with a cache of their own, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
import threading
import time

import pytest

from snnmap import engine
from snnmap.cli import main
from snnmap.sweep import MAX_TASKS, ROWS, SpecError, check_spec, load_spec, read_rows, sweep

SMALL = {"applications": ["LeNet", "EdgeDet"], "methods": ["sequential", "greedy"], "seeds": [0, 1],
         "time_limit": 5.0, "grid": {"e_hop": [5e-12, 1e-11], "comm": ["multicast", "unicast"]}}
MOVING = ("time_s", "host", "worker")  # what may differ between two runs of the same task


def _toml(doc: dict) -> str:
    lines, grid = [], doc.get("grid", {})
    for k, v in doc.items():
        if k != "grid":
            lines.append(f"{k} = {json.dumps(v)}")
    lines.append("[grid]")
    lines += [f"{k} = {json.dumps(v)}" for k, v in grid.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A 2-worker LocalCluster whose workers cache full instances in a folder of their own."""
    from distributed import Client, LocalCluster

    cache = tmp_path_factory.mktemp("worker-cache")
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0",
                      resources={engine.MEMORY: 8e9}, env={"SNNMAP_CACHE": str(cache)}) as lc:
        with Client(lc, set_as_default=False) as client:
            yield lc, client, cache


def _table(path) -> list[dict]:
    with open(path) as fh:
        return [{k: v for k, v in r.items() if k not in MOVING} for r in csv.DictReader(fh)]


# ------------------------------------------------------------- bad input
@pytest.mark.parametrize("change, words", [
    ({"colour": "red"}, ["colour", "unknown field"]),
    ({"grid": {}}, ["grid", "empty"]),
    ({"grid": {"e_hop": []}}, ["grid.e_hop", "non-empty list"]),
    ({"grid": {"e_hop": ["big"]}}, ["grid.e_hop", "not a number"]),
    ({"grid": {"n_max": [2.5]}}, ["grid.n_max", "whole number"]),
    ({"grid": {"wires": [1]}}, ["grid.wires", "unknown field", "e_hop"]),
    ({"grid": {"mesh": ["4by4"]}}, ["grid.mesh", "ROWSxCOLS"]),
    ({"grid": {"n_max": [-3]}}, ["grid.n_max", "-3"]),
    ({"seeds": "0"}, ["seeds", "list of whole numbers"]),
    ({"name": 7}, ["name", "not a string"]),
    ({"time_limit": "fast"}, ["time_limit", "positive number"]),
    ({"preset": "no-such-chip"}, ["preset", "unknown hardware"]),
    ({"applications": ["LeNet", "Pong"]}, ["applications", "Pong"]),
    ({"methods": ["sequential", "magic"]}, ["methods", "magic"]),
    ({"baseline": "random"}, ["baseline", "not among the methods"]),
    ({"grid": {"e_hop": [i * 1e-12 + 1e-12 for i in range(100)], "e_route": [i * 1e-12 for i in range(1, 300)]}},
     ["exceed the guard", "--force"]),
])
def test_bad_specs_are_refused_with_the_field_and_the_fix(change, words):
    with pytest.raises(SpecError) as err:
        check_spec({**SMALL, **change}, source="s.toml")
    text = str(err.value)
    assert "\n" not in text and text.startswith("s.toml: ")
    for word in words:
        assert word in text, text


def test_the_guard_gives_way_to_force():
    doc = {**SMALL, "grid": {"e_hop": [i * 1e-12 + 1e-12 for i in range(100)],
                             "e_route": [i * 1e-12 for i in range(1, 300)]}}
    assert check_spec(doc, force=True).size == 2 * 100 * 299 * 2 * 2 > MAX_TASKS


def test_cli_refuses_a_bad_spec_in_one_line(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text(_toml({**SMALL, "grid": {"e_hop": [1e-11], "colour": ["red"]}}))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "grid.colour" in err and "unknown field" in err
    assert not (tmp_path / "out").exists()


def test_unreachable_scheduler_is_one_line_within_seconds(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(_toml(SMALL))
    t0 = time.monotonic()
    rc = main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9"])
    assert rc == 2 and time.monotonic() - t0 < engine.CONNECT_TIMEOUT + 10
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "tcp://127.0.0.1:9" in err and "dask scheduler" in err


# ------------------------------------------------------------- the row file
def test_a_torn_last_line_is_left_out_and_a_damaged_middle_is_refused(tmp_path):
    path = tmp_path / ROWS
    path.write_text('{"key": "a", "energy": 1.0}\n{"key": "b", "energy": 2.0}\n{"key": "c", "ene')
    assert sorted(read_rows(path)) == ["a", "b"]
    path.write_text('{"key": "a"}\n{"key": "b", "ene\n{"key": "c"}\n')
    with pytest.raises(ValueError, match="line 2"):
        read_rows(path)


def test_progress_line_says_done_running_failed_and_time_left():
    out = io.StringIO()
    line = engine.ProgressLine(10, out)
    line(4, 2, 1, final=True)
    text = out.getvalue()
    assert "5/10 done" in text and "2 running" in text and "1 failed" in text and "left" in text


def test_a_failing_task_is_reported_and_the_others_go_on(cluster):
    _, client, _ = cluster
    done, failed = [], []
    n = engine.run(client, math.sqrt, [4.0, -1.0, 9.0], on_done=lambda d: done.append(d.value),
                   on_failed=lambda task, err: failed.append((task, type(err).__name__)))
    assert n == 1 and sorted(done) == [2.0, 3.0] and failed == [(-1.0, "ValueError")]


# ------------------------------------------------------------- the study
def test_cli_sweep_then_resume_ends_with_the_same_table(tmp_path, capsys):
    """The embedded 2-worker cluster; a run cut short (half its rows and a torn line) resumed to the same table."""
    spec = tmp_path / "small.toml"
    spec.write_text(_toml(SMALL))
    full = tmp_path / "full"
    assert main(["sweep", str(spec), "--out", str(full), "--workers", "2", "-q"]) == 0
    rows = _table(full / "sweep.csv")
    assert len(rows) == load_spec(spec).size == 32
    assert {r["status"] for r in rows} == {"feasible"}
    for r in rows:
        terms = sum(float(r[f"E_{t}"]) for t in ("neuron", "synapse", "comm", "static"))
        assert terms == pytest.approx(float(r["energy"]))
        assert float(r["bound"]) <= float(r["energy"]) * (1 + 1e-12)
    assert (full / "saving_e_hop.png").stat().st_size > 1000 and (full / "energy_comm.png").stat().st_size > 1000

    cut = tmp_path / "cut"
    cut.mkdir()
    lines = (full / ROWS).read_text().splitlines()
    (cut / ROWS).write_text("\n".join(lines[:13]) + "\n" + lines[13][:40])  # 13 rows and a torn 14th
    assert main(["sweep", str(spec), "--out", str(cut), "-q"]) == 2  # an earlier run's rows: --resume needed
    assert "--resume" in capsys.readouterr().err
    assert main(["sweep", str(spec), "--out", str(cut), "--workers", "2", "-q", "--resume"]) == 0
    assert "(13 already done)" in capsys.readouterr().out
    assert _table(cut / "sweep.csv") == rows
    keys = [json.loads(x)["key"] for x in (cut / ROWS).read_text().splitlines()[:13] + (cut / ROWS).read_text()
            .splitlines()[14:]]
    assert sorted(keys) == sorted(r["key"] for r in rows)  # every row once; the torn line ran again


def test_a_killed_worker_costs_a_retry_not_the_study(cluster, tmp_path):
    lc, client, _ = cluster
    spec = check_spec({"applications": ["LeNet", "EdgeDet", "HeartEstm"], "methods": ["cpsat"], "seeds": [0, 1],
                       "baseline": "cpsat", "time_limit": 1.0, "grid": {"e_hop": [5e-12, 1e-11]}})
    box = {}
    runner = threading.Thread(target=lambda: box.setdefault("report", sweep(
        spec, tmp_path, scheduler=lc.scheduler_address, figures=False, stream=False)))
    runner.start()
    deadline = time.monotonic() + 120
    while not read_rows(tmp_path / ROWS) and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    os.kill(victim, signal.SIGKILL)  # mid-task: every worker has a queue of 1-second tasks
    runner.join(timeout=240)
    assert not runner.is_alive()
    report = box["report"]
    assert report.failed == []
    keys = [json.loads(x)["key"] for x in (tmp_path / ROWS).read_text().splitlines()]
    assert len(keys) == len(set(keys)) == spec.size == 12
    assert {t.key for t in spec.tasks()} == set(keys)
    assert victim not in client.run(os.getpid).values()  # the worker was replaced


def test_workers_build_full_instances_in_their_own_cache(cluster, tmp_path, monkeypatch):
    lc, _, worker_cache = cluster
    mine = tmp_path / "client-cache"
    monkeypatch.setenv("SNNMAP_CACHE", str(mine))
    spec = check_spec({"applications": ["HeartEstm"], "scales": ["full"], "preset": "crossbar128",
                       "methods": ["sequential"], "grid": {"e_hop": [1e-11]}})
    report = sweep(spec, tmp_path / "out", scheduler=lc.scheduler_address, figures=False, stream=False)
    assert [r["status"] for r in report.rows] == ["feasible"]
    assert report.rows[0]["neurons"] > 1000
    assert list(worker_cache.rglob("HeartEstm*")), "the workers built the network in their cache"
    assert not mine.exists() or not list(mine.rglob("*")), "nothing read from or written to the client's cache"


def test_tasks_declare_memory_and_one_no_worker_can_hold_is_refused(cluster):
    _, client, _ = cluster
    got = []
    engine.run(client, math.sqrt, [16.0], memory=lambda t: 1e9, on_done=lambda d: got.append(d.value),
               on_failed=lambda t, e: got.append(e))
    assert got == [4.0]
    with pytest.raises(ValueError, match="needs 9.0 GB but the largest worker offers 8.0 GB"):
        engine.run(client, math.sqrt, [16.0], memory=lambda t: 9e9, on_done=got.append, on_failed=got.append)


def test_a_preset_file_travels_as_text(tmp_path):
    """Workers need no shared disk: a preset given as a path runs after the client's file is gone."""
    from snnmap.hardware import PRESET_DIR
    from snnmap.sweep import run_point

    chip = tmp_path / "mychip.toml"
    chip.write_text((PRESET_DIR / "crossbar-mini.toml").read_text().replace('name = "crossbar-mini"', ""))
    spec = check_spec({**SMALL, "applications": ["LeNet"], "preset": str(chip), "grid": {"e_hop": [1e-11]}})
    task = spec.tasks()[0]
    chip.unlink()
    row = run_point(task)
    assert row["status"] == "feasible" and row["hardware"] == "mychip@2x4"
