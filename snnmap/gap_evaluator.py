"""The gap evaluator: how close each heuristic stays to the solver's optimum.

For every application and scale it runs the chosen methods, scores every
mapping with the one evaluator, and reports each heuristic's gap to the best
known energy (``mini``: the proven optimum) and its certified gap to the best
valid lower bound. Every number comes from an :class:`EnergyReport` of a
returned mapping.
"""

from __future__ import annotations

import csv
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

from snnmap import __version__, api, engine, plots, registry
from snnmap import bks as bks_mod
from snnmap.formulations import TERMS, Result, evaluate
from snnmap.formulations.bounds import bound_terms, dominant_term
from snnmap.hardware import Hardware, load_hardware
from snnmap.instances.apps import APPS, canonical, full_summary
from snnmap.instances.files import FileError, replacing
from snnmap.prepare import hardware_label, network, prepared
from snnmap.report import joules, table, writable_dir

# The study's methods, from the registry (in its order): exact models run after the heuristics.
EXACT = registry.names(role="exact")  # run by default
EXACT_KIND = registry.names(kind="exact")  # every exact method: run after the heuristics, warm started
HEURISTICS = registry.names(role=("ours", "baseline"))
BASELINES = registry.names(role="baseline")
OURS = registry.names(role="ours")
DEFAULT_HARDWARE = {"mini": "crossbar-mini", "full": "crossbar128"}
COLUMNS = [
    "application", "scale", "hardware", "method", "energy", *[f"E_{t}" for t in TERMS], "lower_bound",
    "status", "gap", "time_s", "seed", "version", "commit", "machine",
    "certified_gap", "gap_mapping", "proven", "best_known", "cores_used", "neurons", "synapses", "message",
    "certified_gap_mapping", "gap_term", "comm",
]


class GapMismatchError(RuntimeError):
    """A solver's objective disagrees with the evaluator, or a heuristic beats a proven optimum."""


@dataclasses.dataclass
class GapRow:
    """One (application, scale, method) run of the gap study: a line of ``gap.csv`` and a record of ``gap.json``.

    The run fills the fields up to ``optimality_tolerance``; the fields from
    ``best_known`` on compare the row with the rest of its instance and the
    best-known table. ``gap.json`` holds every field in this order, ``gap.csv``
    the :data:`COLUMNS`.
    """

    application: str
    scale: str
    hardware: str  # label: preset@ROWSxCOLS once the instance is prepared
    method: str
    seed: int
    neurons: int | None = None
    synapses: int | None = None
    energy: float = math.inf
    lower_bound: float | None = None
    status: str = ""
    time_s: float = 0.0
    message: str = ""
    E_neuron: float | None = None
    E_synapse: float | None = None
    E_comm: float | None = None
    E_static: float | None = None
    cores_used: int | None = None
    # How far from the true optimum an "optimal" answer may be (CP-SAT's rounded costs).
    optimality_tolerance: float = 0.0
    best_known: float | None = None
    proven: bool = False
    gap: float | None = None  # (energy - best known) / best known
    gap_mapping: float | None = None  # the same gap on the energy a mapping can change (comm + static)
    certified_gap: float | None = None  # (energy - best bound) / best bound
    best_bound: float | None = None
    version: str = ""
    commit: str = ""
    machine: str = ""
    # The certified gap on the energy a mapping can change: (energy - bound) / (bound - fixed energy).
    certified_gap_mapping: float | None = None
    gap_term: str = ""  # the term with the largest share of energy - combinatorial bound (bounds.dominant_term)
    comm: str = "multicast"  # the communication model the energies are measured in

    @property
    def key(self) -> tuple[str, str, str]:
        """``(application, scale, method)``: the key of the row's mapping in :attr:`GapReport.mappings`."""
        return self.application, self.scale, self.method


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
    overrides: tuple[tuple[str, Any], ...] = ()  # (field, value) pairs for load_hardware: a sweep's grid point


# ---------------------------------------------------------------- one run
def memory_need(app: str, scale: str) -> float | None:
    """Bytes a run of a full-size instance may hold (twice its measured build peak, plus the solver's share).

    Mini instances declare nothing: they fit anywhere.
    """
    if scale != "full":
        return None
    peak_mb = full_summary().get(app, {}).get("peak_rss_mb", 2000)
    return (2 * peak_mb + 500) * 1e6


def run_task(task: Task) -> tuple[GapRow, np.ndarray | None]:
    """Run one (application, scale, method); returns the row and the mapping."""
    row = GapRow(application=task.app, scale=task.scale, hardware=task.hardware, method=task.method,
                 seed=task.seed)
    try:
        net, hw = prepared(task.app, task.scale, task.hardware, task.mesh, task.overrides)
    except ValueError as exc:  # the application cannot fit this preset
        net = network(task.app, task.scale)
        row.status, row.message = "infeasible", str(exc)
        row.neurons, row.synapses = net.num_neurons, net.num_synapses
        return row, None
    row.hardware, row.neurons, row.synapses = hardware_label(hw), net.num_neurons, net.num_synapses
    row.comm = hw.comm
    t0 = time.perf_counter()
    try:
        options = {"start": task.start} if task.start is not None else {}
        result = api.solve(net, hw, method=task.method, time_limit=task.time_limit, seed=task.seed, **options)
    except GapMismatchError:
        raise
    except (ValueError, MemoryError) as exc:  # e.g. a model too large to build
        row.status, row.time_s, row.message = "error", time.perf_counter() - t0, str(exc)
        return row, None
    _check_against_evaluator(net, hw, result)
    _fill_from_result(row, result)
    if result.report is not None:
        row.gap_term = dominant_term(result.report.terms, bound_terms(net, hw, result.report.comm_model))
    unrolled = net.provenance.get("unroll")
    if unrolled:
        note = f"fan-in unrolled to {unrolled['max_fanin']} (+{unrolled['added_neurons']} partial neurons)"
        row.message = "; ".join(m for m in (note, row.message) if m)
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


def _fill_from_result(row: GapRow, result: Result) -> None:
    row.energy = result.energy
    row.lower_bound = result.lower_bound
    row.status = str(result.status)
    row.time_s = round(result.runtime, 4)
    row.message = result.message or ""
    row.optimality_tolerance = float(result.stats.get("optimality_tolerance", 0.0))
    rep = result.report
    if rep is not None:
        for t in TERMS:
            setattr(row, f"E_{t}", rep.terms[t])
        row.cores_used = rep.cores_used


# ------------------------------------------------------------ the whole job
@dataclasses.dataclass
class GapReport:
    """All rows of a gap run, with the best known energies and bounds.

    ``out`` is where the files went; ``write_error`` says why they could not
    be written (the rows and tables are complete either way).
    """

    rows: list[GapRow]
    mappings: dict[tuple[str, str, str], np.ndarray]
    hardware_specs: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    out: Path | None = None
    write_error: str | None = None

    def for_scale(self, scale: str) -> list[GapRow]:
        return [r for r in self.rows if r.scale == scale]


def gap(
    apps: Sequence[str] | None = None,
    *,
    scale: str = "mini",
    hardware: str | None = None,
    methods: Sequence[str] | None = None,
    time_limit: float | None = 40.0,
    workers: int | None = None,
    scheduler: str | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    update_bks: bool = False,
    bks_path: str | Path | None = None,
    figures: bool = True,
    progress: Callable[[str], None] | None = print,
    max_step_time: float | None = None,
    comm: str | None = None,
) -> GapReport:
    """Run the gap study and write its CSV, JSON and figures.

    Every argument and the output directory are checked before any solver
    starts: a bad one raises ``ValueError`` with one line naming it. Output
    files are written whole (temporary name, then renamed); if writing fails
    after the study, the report comes back with :attr:`GapReport.write_error`.

    Parameters
    ----------
    apps
        Application names, each once (default: all 10).
    scale
        ``mini`` (exact optimum available), ``full`` (certified gap to bounds) or ``both``.
    hardware
        Preset name or TOML path; default ``crossbar-mini`` for mini and
        ``crossbar128`` (resized to fit) for full.
    methods
        Methods to run, each once; default: the exact models (mini only) and every heuristic.
    time_limit
        Seconds per run (positive), or ``None`` for each method's default.
    workers
        Worker processes of the embedded Dask cluster (default: one per core).
    scheduler
        ``tcp://HOST:PORT`` of a running Dask scheduler to run on instead
        (default ``$SNNMAP_SCHEDULER``; see :func:`snnmap.engine.engine`).
    seed
        Seed of every method.
    out
        Directory for ``gap.csv``, ``gap.json`` and the figures (created if missing).
    update_bks
        Store better mappings in the best-known table (``bks_path``; without
        it, the shipped table, but only in a source checkout: an installed
        package's table is never written).
    bks_path
        A best-known table of your own to compare with (and update); a
        missing file is an empty table. Default: the shipped ``bks.csv``.
    figures
        Also draw the PNG figures.
    progress
        Called with one line per finished run (``None``: quiet).
    max_step_time
        A time-per-step budget (seconds) every run keeps, set as the chip's limit
        (needs a preset with latency numbers, e.g. ``loihi``).
    comm
        ``multicast`` or ``unicast``: the communication model of every run
        (default: the preset's); the best-known table keeps the two apart.
    """
    apps = _each_once("apps", [canonical(a) for a in (apps or APPS)])
    scales = ["mini", "full"] if scale == "both" else [scale]
    if any(sc not in ("mini", "full") for sc in scales):
        raise ValueError(f"scale={scale!r}: use mini, full or both")
    budget = () if max_step_time is None else (("max_step_time", max_step_time),)
    for sc in scales:
        load_hardware(hardware or DEFAULT_HARDWARE[sc], **dict(budget))  # an unknown preset names the known ones
    available = api.methods()
    # Under a budget, the default exact methods are the ones that carry it as a constraint.
    exact = EXACT if max_step_time is None else tuple(m for m in EXACT_KIND if _takes_budget(m))
    chosen = _each_once("methods", list(methods) if methods else [m for m in (*exact, *HEURISTICS) if m in available])
    unknown = [m for m in chosen if m not in available]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(sorted(available))}")
    blind = [m for m in chosen if max_step_time is not None and not _takes_budget(m)]
    if blind:
        raise ValueError(f"--max-step-time: {', '.join(blind)} cannot keep a step-time budget; leave them out "
                         f"(methods that can: {', '.join(m for m in available if _takes_budget(m))})")
    if time_limit is not None and not (time_limit > 0 and math.isfinite(time_limit)):
        raise ValueError(f"time limit {time_limit!r}: must be a positive number of seconds")
    if workers is not None and workers < 1:
        raise ValueError(f"--workers {workers}: must be >= 1")
    if comm not in (None, "multicast", "unicast"):
        raise ValueError(f"comm={comm!r}: use multicast or unicast")
    overrides = budget + (() if comm is None else (("comm", comm),))
    book = bks_mod.BestKnown.load(bks_path)
    if update_bks:
        bks_mod.check_writable(book.path, given=bks_path is not None)
    out = None if out is None else writable_dir(Path(out), "output directory")  # last: it creates the directory

    tasks = [
        Task(app, sc, hardware or DEFAULT_HARDWARE[sc], m, time_limit, seed, overrides=overrides)
        for sc in scales
        for app in apps
        for m in chosen
        if not (sc == "full" and m in EXACT_KIND and not methods)  # exact models on full sizes only when asked
    ]
    with engine.engine(workers, scheduler) as client:
        rows, mappings = _run_all(tasks, client, progress)
    _finish_rows(rows, book)
    report = GapReport(rows=rows, mappings=mappings, hardware_specs={(t.app, t.scale): t.hardware for t in tasks})
    if update_bks:
        try:
            changed = book.update(rows, mappings)
        except (OSError, FileError) as exc:
            report.write_error = f"best-known table {book.path}: {getattr(exc, 'strerror', None) or exc}"
            changed = []
        if changed and progress:
            progress(f"best-known solutions improved: {', '.join(changed)}")
        _finish_rows(rows, book)
    if out is not None:
        try:
            report.out = write_outputs(report, out, figures=figures)
        except (OSError, FileError) as exc:
            report.write_error = f"{out}: the results could not be written ({getattr(exc, 'strerror', None) or exc})"
    return report


def _each_once(what: str, names: list[str]) -> list[str]:
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{what}: {', '.join(twice)} given more than once; name each once")
    return names


def _run_all(tasks: list[Task], client: Any, progress: Callable[[str], None] | None) -> tuple[list[GapRow], dict]:
    """Heuristics first; then the exact models, warm-started with the best heuristic mapping."""
    rows: list[GapRow] = []
    mappings: dict[tuple[str, str, str], np.ndarray] = {}
    t0 = time.perf_counter()
    done = 0

    def record(finished: engine.Done) -> None:
        nonlocal done
        task, (row, mapping) = finished.task, finished.value
        done += 1
        rows.append(row)
        if mapping is not None:
            mappings[row.key] = mapping
        if progress:
            progress(
                f"[{done:3d}/{len(tasks)} {time.perf_counter() - t0:6.1f} s] {task.app}:{task.scale} {task.method:16s} "
                f"{row.status:10s} {row.energy:.6g} J  {row.time_s:.2f} s"
            )

    def fail(task: Task, error: BaseException) -> None:
        raise error  # a gap study is whole or nothing: a mismatch or a crash stops it loudly

    def run(batch: list[Task]) -> None:
        engine.run(client, run_task, batch, on_done=record, on_failed=fail,
                   memory=lambda t: memory_need(t.app, t.scale))

    first = [t for t in tasks if t.method not in EXACT_KIND]
    run(first)
    energy = {r.key: r.energy for r in rows}
    exact = []
    for t in tasks:
        if t.method in EXACT_KIND:
            found = [(energy[k], k) for k in mappings if k[:2] == (t.app, t.scale) and math.isfinite(energy[k])]
            start = mappings[min(found)[1]] if found else None
            exact.append(dataclasses.replace(t, start=start))
    run(exact)
    order = {(t.app, t.scale, t.method): i for i, t in enumerate(tasks)}
    rows.sort(key=lambda r: order[r.key])
    return rows, mappings


def _finish_rows(rows: list[GapRow], book: bks_mod.BestKnown) -> None:
    """Best known energy, best bound, gaps, and the loud checks.

    Only an ``optimal`` status is a proof: a run stopped at a gap tolerance or
    a time limit contributes its energy and its bound, never a proven optimum.
    """
    version, commit, machine = _provenance()
    groups: dict[tuple[str, str, str, str], list[GapRow]] = {}
    for r in rows:
        groups.setdefault((r.application, r.scale, r.hardware, r.comm), []).append(r)
    for (app, scale, hw, comm), group in groups.items():
        energies = [r.energy for r in group if math.isfinite(r.energy)]
        bounds = [r.lower_bound for r in group if r.lower_bound is not None]
        entry = book.get(app, scale, hw, comm)
        best = min(energies + ([entry.energy] if entry else []), default=math.inf)
        bound = max(bounds + ([entry.lower_bound] if entry and entry.lower_bound else []), default=None)
        optimal_rows = [r for r in group if r.status == "optimal"]
        proven = bool(optimal_rows) or bool(entry and entry.proven)
        if proven:
            optimum = min(r.energy for r in optimal_rows) if optimal_rows else entry.energy
            tol = max([r.optimality_tolerance for r in optimal_rows], default=0.0) + 1e-9 * optimum
            for r in group:
                if r.energy < optimum - tol:
                    raise GapMismatchError(
                        f"{app}:{scale}: {r.method} reports {r.energy} J below the proven optimum {optimum} J"
                    )
            bound = optimum if bound is None else max(bound, optimum)
        for r in group:
            e = r.energy
            r.best_known = best
            r.proven = proven
            r.gap = (e - best) / best if math.isfinite(e) and best > 0 else None
            # The same gap on the energy a mapping can change (comm + static): fixed terms do not dilute it.
            fixed = (r.E_neuron or 0.0) + (r.E_synapse or 0.0)
            movable = best - fixed
            r.gap_mapping = (e - best) / movable if r.gap is not None and movable > 0 else None
            r.certified_gap = (e - bound) / bound if bound and math.isfinite(e) else None
            r.certified_gap_mapping = ((e - bound) / (bound - fixed)
                                       if r.certified_gap is not None and bound - fixed > 0 else None)
            r.best_bound = bound
            r.version, r.commit, r.machine = version, commit, machine


@functools.lru_cache(maxsize=1)
def _takes_budget(method: str) -> bool:
    return "max_step_time" in registry.get(method).options


def _provenance() -> tuple[str, str, str]:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                                capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    machine = (f"{platform.machine()} {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
               f"python {platform.python_version()}")
    return __version__, commit or "unknown", machine


# ---------------------------------------------------------------- outputs
def write_outputs(report: GapReport, out: Path, *, figures: bool = True) -> Path:
    """``gap.csv``, ``gap.json`` and the PNG figures in ``out``, each written whole (temporary name, then renamed)."""
    out.mkdir(parents=True, exist_ok=True)
    with replacing(out / "gap.csv") as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for r in report.rows:
            writer.writerow([_csv_value(getattr(r, k)) for k in COLUMNS])
    doc = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "rows": [{k: _json_value(v) for k, v in dataclasses.asdict(r).items()} for r in report.rows],
    }
    with replacing(out / "gap.json") as tmp:
        tmp.write_text(json.dumps(doc, indent=1))
    if figures:
        with replacing(out / "energy_breakdown.png") as tmp:
            plots.energy_breakdown(report.rows, tmp)
        with replacing(out / "gap.png") as tmp:
            plots.gap_chart([r for r in report.rows if r.method not in EXACT_KIND], tmp)
        best = _heat_map_choice(report)
        if best is not None:
            app, scale, method = best
            net, hw = prepared(app, scale, report.hardware_specs[(app, scale)])
            with replacing(out / f"heatmap_{app}_{scale}_{method}.png") as tmp:
                plots.mesh_heat_map(net, hw, report.mappings[best], tmp, title=f"{app}:{scale}, {method}")
    return out


def _heat_map_choice(report: GapReport) -> tuple[str, str, str] | None:
    for method in ("partition-refine", "greedy", *EXACT, *HEURISTICS):
        keys = [k for k in report.mappings if k[2] == method]
        if keys:
            # The smallest instance makes the most readable picture.
            return min(keys, key=lambda k: network(k[0], k[1]).num_neurons)
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
    parts: list[str] = []
    for scale in ("mini", "full"):
        rows = report.for_scale(scale)
        if not rows:
            continue
        apps = list(dict.fromkeys(r.application for r in rows))
        methods = list(dict.fromkeys(r.method for r in rows))
        heur = [m for m in methods if m not in EXACT_KIND]
        body = []
        for app in apps:
            group = {r.method: r for r in rows if r.application == app}
            any_row = next(iter(group.values()))
            line: list[Any] = [app, any_row.neurons, any_row.hardware, joules(any_row.best_known),
                               "yes" if any_row.proven else "no"]
            for m in methods:
                r = group.get(m)
                if r is None:
                    line.append("-")
                elif m in EXACT_KIND:
                    line.append(f"{r.status} {r.time_s:.1f}s")
                else:
                    # Full rows carry the certified gap on the mapping-dependent energy in brackets.
                    line.append(_status_or_gap(r, _shown_gap(r), r.certified_gap_mapping))
            if scale == "full":  # where the best mapping's certified gap sits
                line.append(min(group.values(), key=lambda r: r.energy).gap_term or "-")
            body.append(line)
        gap_kind = ("gap to best known" if scale == "mini" else "certified gap to lower bound") + \
            ", in brackets on the mapping-dependent energy (comm+static)"
        head = ["application", "N", "hardware", "best known", "proven", *methods,
                *(["gap term (best)"] if scale == "full" else [])]
        model = "" if rows[0].comm == "multicast" else f" ({rows[0].comm})"
        parts.append(f"== {scale}{model}: {gap_kind} (heuristic columns, %), exact columns: status and time ==")
        parts.append(table(head, body))
        stats = []
        for m in heur:
            gs = [g for r in rows if r.method == m and (g := _shown_gap(r)) is not None]
            movable = [g for r in rows if r.method == m and (g := _shown_gap_mapping(r)) is not None]
            if gs:
                stats.append([m, f"{np.mean(gs) * 100:.2f}", f"{np.median(gs) * 100:.2f}", f"{max(gs) * 100:.2f}",
                              f"{np.median(movable) * 100:.2f}" if movable else "-",
                              f"{max(movable) * 100:.2f}" if movable else "-", f"{len(gs)}/{len(apps)}"])
        if stats:
            parts.append(table(["heuristic", "mean %", "median %", "worst %", "median % (comm+static)",
                                "worst % (comm+static)", "feasible"], stats))
        red = reduction_table(rows)
        if red:
            parts.append("energy reduction of the seed paper's greedy and of partition-refine "
                         "against the baselines (%):")
            parts.append(red)
    return "\n\n".join(parts)


def _shown_gap(row: GapRow) -> float | None:
    """The gap the tables show: to the best known on mini instances, certified (to the bound) on full ones."""
    return row.gap if row.scale == "mini" else row.certified_gap


def _shown_gap_mapping(row: GapRow) -> float | None:
    """:func:`_shown_gap` on the mapping-dependent energy (comm + static)."""
    return row.gap_mapping if row.scale == "mini" else row.certified_gap_mapping


def _status_or_gap(row: GapRow, g: float | None, g_mapping: float | None = None) -> str:
    if g is None:
        return row.status
    return f"{g * 100:.2f}" + (f" ({g_mapping * 100:.1f})" if g_mapping is not None else "")


def reduction_table(rows: list[GapRow]) -> str:
    apps = list(dict.fromkeys(r.application for r in rows))
    energy = {(r.application, r.method): r.energy for r in rows}
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
