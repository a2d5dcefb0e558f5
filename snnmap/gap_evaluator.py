"""The gap evaluator: how close each heuristic stays to the solver's optimum.

For every application and scale it runs the chosen methods, scores every
mapping with the one evaluator, and reports each heuristic's gap to the best
known energy (``mini``: the proven optimum) and its certified gap to the best
valid lower bound. Every number comes from an :class:`EnergyReport` of a
returned mapping.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime as _dt
import functools
import json
import math
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from snnmap.formulations import TERMS, Result, evaluate
from snnmap.hardware import Hardware, load_hardware
from snnmap import api, registry

# The study's methods, from the registry (in its order): exact models run after the heuristics.
EXACT = registry.names(role="exact")
HEURISTICS = registry.names(role=("ours", "baseline"))
BASELINES = registry.names(role="baseline")
OURS = registry.names(role="ours")
DEFAULT_HARDWARE = {"mini": "crossbar-mini", "full": "crossbar128"}
COLUMNS = [
    "application", "scale", "hardware", "method", "energy", *[f"E_{t}" for t in TERMS], "lower_bound",
    "status", "gap", "time_s", "seed", "version", "commit", "machine",
    "certified_gap", "gap_mapping", "proven", "best_known", "cores_used", "neurons", "synapses", "message",
]


class GapMismatchError(RuntimeError):
    """A solver's objective disagrees with the evaluator, or a heuristic beats a proven optimum."""


@dataclasses.dataclass(frozen=True)
class Task:
    app: str
    scale: str
    hardware: str
    method: str
    time_limit: float | None
    seed: int
    mesh: tuple[int, int] | None = None
    start: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)


# ---------------------------------------------------------------- one run
@functools.lru_cache(maxsize=4)
def _network(app: str, scale: str):
    return api.load_network(f"{app}:{scale}")


FIT_SLACK = 0.25  # spare cores over a sequential fill when a preset must be resized


def instance_hardware(network: Any, name: str, scale: str, mesh: tuple[int, int] | None = None) -> Hardware:
    """The chip an application is mapped on.

    The preset as it is when the network fits it with :data:`FIT_SLACK` spare
    cores (e.g. Loihi's 128 cores); otherwise, for ``full`` instances, the
    preset resized to the smallest near-square mesh that holds the network
    with that slack (e.g. crossbar128's 5 x 5 mesh grows to fit LeNet).
    """
    hw = load_hardware(name, mesh=mesh)
    if scale == "full" and mesh is None:
        fitted = api.fit_hardware(network, hw, slack=FIT_SLACK)
        if fitted.num_cores > hw.num_cores:
            hw = fitted
    return hw


def hardware_label(hw: Hardware) -> str:
    return f"{hw.name}@{hw.mesh[0]}x{hw.mesh[1]}" if hw.mesh else hw.name


@functools.lru_cache(maxsize=4)
def prepared(app: str, scale: str, hardware: str, mesh: tuple[int, int] | None = None) -> tuple[Any, Hardware]:
    """The network as mapped (fan-in unrolled where the cores need it) and its hardware."""
    net = _network(app, scale)
    if scale == "full":
        net = api.fit_network(net, load_hardware(hardware, mesh=mesh))
    return net, instance_hardware(net, hardware, scale, mesh)


def run_task(task: Task) -> tuple[dict[str, Any], np.ndarray | None]:
    """Run one (application, scale, method); returns the row and the mapping."""
    row: dict[str, Any] = {
        "application": task.app, "scale": task.scale, "hardware": task.hardware, "method": task.method,
        "seed": task.seed,
    }
    try:
        net, hw = prepared(task.app, task.scale, task.hardware, task.mesh)
    except ValueError as exc:  # the application cannot fit this preset
        net = _network(task.app, task.scale)
        row.update(status="infeasible", energy=math.inf, time_s=0.0, message=str(exc),
                   neurons=net.num_neurons, synapses=net.num_synapses)
        return row, None
    row.update(hardware=hardware_label(hw), neurons=net.num_neurons, synapses=net.num_synapses)
    t0 = time.perf_counter()
    try:
        options = {"start": task.start} if task.start is not None else {}
        result = api.solve(net, hw, method=task.method, time_limit=task.time_limit, seed=task.seed, **options)
    except GapMismatchError:
        raise
    except (ValueError, MemoryError) as exc:  # e.g. a model too large to build
        row.update(status="error", energy=math.inf, time_s=time.perf_counter() - t0, message=str(exc))
        return row, None
    _check_against_evaluator(net, hw, result)
    row.update(_row_of(result))
    # How far from the true optimum an "optimal" answer may be (CP-SAT's rounded costs).
    row["optimality_tolerance"] = float(result.stats.get("optimality_tolerance", 0.0))
    unrolled = net.provenance.get("unroll")
    if unrolled:
        note = f"fan-in unrolled to {unrolled['max_fanin']} (+{unrolled['added_neurons']} partial neurons)"
        row["message"] = "; ".join(m for m in (note, row.get("message")) if m)
    return row, result.mapping


def _check_against_evaluator(net: Any, hw: Hardware, result: Result) -> None:
    """Fail loudly when a returned objective is not the evaluator's energy."""
    if result.mapping is None or result.report is None:
        return
    again = evaluate(net, hw, result.mapping)
    if not math.isclose(again.total, result.report.total, rel_tol=1e-9):
        raise GapMismatchError(f"{result.method}: reported {result.report.total} J, evaluator says {again.total} J")
    solver_obj = result.stats.get("solver_objective")
    if result.status == "optimal" and solver_obj is not None:
        # CP-SAT optimises integer-rounded costs: its documented rounding bound is the tolerance.
        tol = float(result.stats.get("rounding_error_bound", 0.0))
        if abs(solver_obj - again.total) > tol + 1e-6 * abs(again.total):
            raise GapMismatchError(
                f"{result.method}: solver objective {solver_obj} J differs from the evaluator's {again.total} J "
                "for a mapping it calls optimal"
            )


def _row_of(result: Result) -> dict[str, Any]:
    rep = result.report
    row: dict[str, Any] = {
        "energy": result.energy,
        "lower_bound": result.lower_bound,
        "status": str(result.status),
        "time_s": round(result.runtime, 4),
        "message": result.message,
    }
    if rep is not None:
        row.update({f"E_{t}": rep.terms[t] for t in TERMS})
        row["cores_used"] = rep.cores_used
    return row


# ------------------------------------------------------------ the whole job
@dataclasses.dataclass
class GapReport:
    """All rows of a gap run, with the best known energies and bounds."""

    rows: list[dict[str, Any]]
    mappings: dict[tuple[str, str, str], np.ndarray]
    hardware_specs: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    out: Path | None = None

    def for_scale(self, scale: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["scale"] == scale]


def gap(
    apps: Sequence[str] | None = None,
    *,
    scale: str = "mini",
    hardware: str | None = None,
    methods: Sequence[str] | None = None,
    time_limit: float | None = 40.0,
    jobs: int | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    update_bks: bool = False,
    bks_path: str | Path | None = None,
    figures: bool = True,
    progress: Callable[[str], None] | None = print,
) -> GapReport:
    """Run the gap study and write its CSV, JSON and figures.

    Parameters
    ----------
    apps
        Application names (default: all 10).
    scale
        ``mini`` (exact optimum available), ``full`` (certified gap to bounds) or ``both``.
    hardware
        Preset name or TOML path; default ``crossbar-mini`` for mini and
        ``crossbar128`` (resized to fit) for full.
    methods
        Methods to run; default: the exact models (mini only) and every heuristic.
    time_limit
        Seconds per run.
    jobs
        Parallel local processes (default: 2, or 1 on a one-core machine).
    out
        Directory for ``gap.csv``, ``gap.json`` and the figures.
    update_bks
        Store better mappings in the best-known-solutions table.
    """
    from snnmap.instances.apps import APPS, canonical
    from snnmap import bks as bks_mod

    apps = [canonical(a) for a in (apps or APPS)]
    scales = ["mini", "full"] if scale == "both" else [scale]
    for sc in scales:
        if sc not in ("mini", "full"):
            raise ValueError(f"scale={scale!r}: use mini, full or both")
    available = api.methods()
    chosen = list(methods) if methods else [m for m in (*EXACT, *HEURISTICS) if m in available]
    unknown = [m for m in chosen if m not in available]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(sorted(available))}")
    jobs = min(2, os.cpu_count() or 1) if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"--jobs {jobs}: must be >= 1")

    tasks = [
        Task(app, sc, hardware or DEFAULT_HARDWARE[sc], m, time_limit, seed)
        for sc in scales
        for app in apps
        for m in chosen
        if not (sc == "full" and m in EXACT and not methods)  # exact models on full sizes only when asked
    ]
    rows, mappings = _run_all(tasks, jobs, progress)
    book = bks_mod.BestKnown.load(bks_path)
    _finish_rows(rows, book)
    report = GapReport(rows=rows, mappings=mappings, hardware_specs={(t.app, t.scale): t.hardware for t in tasks})
    if update_bks:
        changed = book.update(rows, mappings)
        if changed and progress:
            progress(f"best-known solutions improved: {', '.join(changed)}")
        _finish_rows(rows, book)
    if out is not None:
        report.out = write_outputs(report, Path(out), figures=figures)
    return report


def _run_all(tasks: list[Task], jobs: int, progress: Callable[[str], None] | None) -> tuple[list[dict], dict]:
    """Heuristics first; then the exact models, warm-started with the best heuristic mapping."""
    rows: list[dict[str, Any]] = []
    mappings: dict[tuple[str, str, str], np.ndarray] = {}
    t0 = time.perf_counter()
    done = 0

    def record(task: Task, row: dict[str, Any], mapping: np.ndarray | None) -> None:
        nonlocal done
        done += 1
        rows.append(row)
        if mapping is not None:
            mappings[(task.app, task.scale, task.method)] = mapping
        if progress:
            e = row.get("energy", math.inf)
            progress(
                f"[{done:3d}/{len(tasks)} {time.perf_counter() - t0:6.1f} s] {task.app}:{task.scale} {task.method:16s} "
                f"{row['status']:10s} {e:.6g} J  {row.get('time_s', 0):.2f} s"
            )

    def run(batch: list[Task]) -> None:
        if jobs == 1 or len(batch) == 1:
            for task in batch:
                record(task, *run_task(task))
            return
        with cf.ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(run_task, t): t for t in batch}
            for fut in cf.as_completed(futures):
                record(futures[fut], *fut.result())

    first = [t for t in tasks if t.method not in EXACT]
    run(first)
    energy = {(r["application"], r["scale"], r["method"]): r.get("energy", math.inf) for r in rows}
    exact = []
    for t in tasks:
        if t.method in EXACT:
            found = [(energy[k], k) for k in mappings if k[:2] == (t.app, t.scale) and math.isfinite(energy[k])]
            start = mappings[min(found)[1]] if found else None
            exact.append(dataclasses.replace(t, start=start))
    run(exact)
    order = {(t.app, t.scale, t.method): i for i, t in enumerate(tasks)}
    rows.sort(key=lambda r: order[(r["application"], r["scale"], r["method"])])
    return rows, mappings


def _finish_rows(rows: list[dict[str, Any]], book: Any) -> None:
    """Best known energy, best bound, gaps, and the loud checks."""
    version, commit, machine = _provenance()
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["application"], r["scale"], r["hardware"]), []).append(r)
    for (app, scale, hw), group in groups.items():
        energies = [r["energy"] for r in group if math.isfinite(r.get("energy", math.inf))]
        bounds = [r["lower_bound"] for r in group if r.get("lower_bound") is not None]
        entry = book.get(app, scale, hw)
        best = min(energies + ([entry.energy] if entry else []), default=math.inf)
        bound = max(bounds + ([entry.lower_bound] if entry and entry.lower_bound else []), default=None)
        proven = any(r["status"] == "optimal" for r in group) or bool(entry and entry.proven)
        if proven:
            optimal_rows = [r for r in group if r["status"] == "optimal"]
            optimum = min(r["energy"] for r in optimal_rows) if optimal_rows else entry.energy
            tol = max([r.get("optimality_tolerance", 0.0) for r in optimal_rows], default=0.0) + 1e-9 * optimum
            for r in group:
                if r["energy"] < optimum - tol:
                    raise GapMismatchError(
                        f"{app}:{scale}: {r['method']} reports {r['energy']} J below the proven optimum {optimum} J"
                    )
            bound = optimum if bound is None else max(bound, optimum)
        for r in group:
            e = r.get("energy", math.inf)
            r["best_known"] = best
            r["proven"] = proven
            r["gap"] = (e - best) / best if math.isfinite(e) and best > 0 else None
            # The same gap on the energy a mapping can change (comm + static): fixed terms do not dilute it.
            movable = best - (r.get("E_neuron") or 0.0) - (r.get("E_synapse") or 0.0)
            r["gap_mapping"] = (e - best) / movable if r["gap"] is not None and movable > 0 else None
            r["certified_gap"] = (e - bound) / bound if bound and math.isfinite(e) else None
            r["best_bound"] = bound
            r.setdefault("lower_bound", None)
            r.setdefault("message", "")
            r.update(version=version, commit=commit, machine=machine)


@functools.lru_cache(maxsize=1)
def _provenance() -> tuple[str, str, str]:
    from snnmap import __version__

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    machine = f"{platform.machine()} {os.cpu_count()} cores, {platform.system()} {platform.release()}, python {platform.python_version()}"
    return __version__, commit or "unknown", machine


# ---------------------------------------------------------------- outputs
def write_outputs(report: GapReport, out: Path, *, figures: bool = True) -> Path:
    """``gap.csv``, ``gap.json`` and the PNG figures in ``out``."""
    import csv

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "gap.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for r in report.rows:
            writer.writerow({k: _csv_value(r.get(k)) for k in COLUMNS})
    doc = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "rows": [{k: _json_value(v) for k, v in r.items()} for r in report.rows],
    }
    (out / "gap.json").write_text(json.dumps(doc, indent=1))
    if figures:
        from snnmap import plots

        plots.energy_breakdown(report.rows, out / "energy_breakdown.png")
        plots.gap_chart(report.rows, out / "gap.png")
        best = _heat_map_choice(report)
        if best is not None:
            app, scale, method = best
            net, hw = prepared(app, scale, report.hardware_specs[(app, scale)])
            plots.mesh_heat_map(net, hw, report.mappings[best], out / f"heatmap_{app}_{scale}_{method}.png",
                                title=f"{app}:{scale}, {method}")
    return out


def _heat_map_choice(report: GapReport) -> tuple[str, str, str] | None:
    for method in ("partition-refine", "greedy", *EXACT, *HEURISTICS):
        keys = [k for k in report.mappings if k[2] == method]
        if keys:
            # The smallest instance makes the most readable picture.
            return min(keys, key=lambda k: _network(k[0], k[1]).num_neurons)
    return None


def _csv_value(v: Any) -> Any:
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    return "" if v is None else v


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


# ------------------------------------------------------------------ tables
def summary_tables(report: GapReport) -> str:
    """The tables ``snnmap gap`` prints."""
    from snnmap.report import joules, table

    parts: list[str] = []
    for scale in ("mini", "full"):
        rows = report.for_scale(scale)
        if not rows:
            continue
        apps = list(dict.fromkeys(r["application"] for r in rows))
        methods = list(dict.fromkeys(r["method"] for r in rows))
        heur = [m for m in methods if m not in EXACT]
        body = []
        for app in apps:
            group = {r["method"]: r for r in rows if r["application"] == app}
            any_row = next(iter(group.values()))
            line: list[Any] = [app, any_row.get("neurons"), any_row["hardware"], joules(any_row.get("best_known")),
                               "yes" if any_row.get("proven") else "no"]
            for m in methods:
                r = group.get(m)
                if r is None:
                    line.append("-")
                elif m in EXACT:
                    line.append(f"{r['status']} {r.get('time_s', 0):.1f}s")
                else:
                    g = r.get("gap") if scale == "mini" else r.get("certified_gap")
                    line.append(_status_or_gap(r, g))
            body.append(line)
        gap_kind = "gap to best known" if scale == "mini" else "certified gap to lower bound"
        head = ["application", "N", "hardware", "best known", "proven", *methods]
        parts.append(f"== {scale}: {gap_kind} (heuristic columns, %), exact columns: status and time ==")
        parts.append(table(head, body))
        stats = []
        for m in heur:
            gs = [r.get("gap" if scale == "mini" else "certified_gap") for r in rows if r["method"] == m]
            gs = [g for g in gs if g is not None]
            movable = [r["gap_mapping"] for r in rows
                       if scale == "mini" and r["method"] == m and r.get("gap_mapping") is not None]
            if gs:
                stats.append([m, f"{np.mean(gs) * 100:.2f}", f"{np.median(gs) * 100:.2f}", f"{max(gs) * 100:.2f}",
                              f"{np.median(movable) * 100:.2f}" if movable else "-",
                              f"{max(movable) * 100:.2f}" if movable else "-", f"{len(gs)}/{len(apps)}"])
        if stats:
            parts.append(table(["heuristic", "mean %", "median %", "worst %", "median % (comm+static)",
                                "worst % (comm+static)", "feasible"], stats))
        red = reduction_table(rows)
        if red:
            parts.append("energy reduction of the seed paper's greedy and of partition-refine against the baselines (%):")
            parts.append(red)
    return "\n\n".join(parts)


def _status_or_gap(row: dict[str, Any], g: float | None) -> str:
    if g is None:
        return row["status"]
    return f"{g * 100:.2f}"


def reduction_table(rows: list[dict[str, Any]]) -> str:
    from snnmap.report import table

    apps = list(dict.fromkeys(r["application"] for r in rows))
    energy = {(r["application"], r["method"]): r["energy"] for r in rows}
    cols = [(o, b) for o in OURS for b in BASELINES if (apps and (apps[0], o) in energy and (apps[0], b) in energy)]
    if not cols:
        return ""
    body = []
    per_col: dict[tuple[str, str], list[float]] = {c: [] for c in cols}
    for app in apps:
        line: list[Any] = [app]
        for o, b in cols:
            eo, eb = energy.get((app, o), math.inf), energy.get((app, b), math.inf)
            if math.isfinite(eo) and math.isfinite(eb) and eb > 0:
                red = (eb - eo) / eb * 100
                per_col[(o, b)].append(red)
                line.append(f"{red:.1f}")
            else:
                line.append("-")
        body.append(line)
    body.append(["mean"] + [f"{np.mean(v):.1f}" if v else "-" for v in per_col.values()])
    return table(["application"] + [f"{o} vs {b}" for o, b in cols], body)
