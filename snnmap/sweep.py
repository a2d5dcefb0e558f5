"""``snnmap sweep SPEC.toml``: how much the mapping matters as the chip changes.

A study is one TOML file (see ``scripts/specs/mapping_matters.toml``)::

    applications = ["LeNet", "EdgeDet"]   # or "all"
    scales = ["mini"]                      # mini and/or full
    preset = "crossbar-mini"               # a preset name or a .toml path
    methods = ["sequential", "greedy", "partition-refine"]
    seeds = [0, 1]
    time_limit = 5.0                       # seconds per run
    baseline = "sequential"                # the saving of the best method is measured against it

    [grid]                                 # every combination is one chip
    e_hop = [5e-12, 1e-11, 2e-11]          # any limit or energy field
    comm = ["multicast", "unicast"]
    mesh = ["2x4", "3x4"]

It expands to one task per (application, scale, grid point, method, seed),
each keyed by a hash of its inputs. Every finished task's row is appended at
once to ``OUT/rows.jsonl`` (flushed and synced), so an interrupted study
loses nothing and ``--resume`` runs only the missing tasks. At the end the
tidy table ``OUT/sweep.csv`` (one row per task) and the figures are written
whole from that file.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import itertools
import json
import math
import os
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from snnmap import api, engine, registry
from snnmap.formulations import TERMS
from snnmap.formulations.bounds import combinatorial_lower_bound
from snnmap.gap_evaluator import DEFAULT_HARDWARE, Task, memory_need, run_task
from snnmap.hardware import EnergyCosts, Limits, load_hardware
from snnmap.instances.apps import APPS, canonical
from snnmap.instances.files import replacing
from snnmap.prepare import prepared
from snnmap.report import table, writable_dir

MAX_TASKS = 100_000  # a larger study needs --force
ROWS = "rows.jsonl"
FIELDS = {  # the spec's top-level fields and what each must be
    "name": "a string",
    "applications": 'a list of application names, or "all"',
    "scales": 'a list of "mini" and/or "full"',
    "preset": "a hardware preset name or a .toml path",
    "methods": "a list of method names",
    "seeds": "a list of whole numbers",
    "time_limit": "a positive number of seconds",
    "baseline": "a method name (the saving of the best method is measured against it)",
    "grid": "a table of field = [values]",
}
LIMIT_FIELDS = tuple(f.name for f in dataclasses.fields(Limits))
ENERGY_FIELDS = tuple(f.name for f in dataclasses.fields(EnergyCosts))
GRID_FIELDS = (*LIMIT_FIELDS, *ENERGY_FIELDS, "mesh", "comm")
RESULT_FIELDS = ("hardware", "neurons", "synapses", "status", "energy", *[f"E_{t}" for t in TERMS], "lower_bound",
                 "bound", "certified_gap", "saving", "time_s", "cores_used", "host", "worker", "message",
                 "certified_gap_mapping")


class SpecError(ValueError):
    """A sweep spec that cannot run, with the field and the fix."""


@dataclasses.dataclass(frozen=True)
class Spec:
    """A checked study."""

    name: str
    applications: tuple[str, ...]
    scales: tuple[str, ...]
    preset: str
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    time_limit: float
    baseline: str
    grid: tuple[tuple[str, tuple[Any, ...]], ...]  # (field, values) in the spec's order
    chip_toml: str = ""  # a preset given as a .toml path travels as its text: workers need no shared disk

    @property
    def size(self) -> int:
        """The number of tasks."""
        return len(self.applications) * len(self.scales) * self.chips * len(self.methods) * len(self.seeds)

    @property
    def chips(self) -> int:
        """Grid points: the chips each application is mapped on."""
        return math.prod(len(v) for _, v in self.grid)

    @property
    def swept(self) -> tuple[str, ...]:
        return tuple(f for f, _ in self.grid)

    def tasks(self) -> list[SweepTask]:
        """Every task, in a stable order (application, scale, grid point, method, seed)."""
        return [SweepTask(app, scale, self.preset, tuple(zip(self.swept, point)), method, seed, self.time_limit,
                          self.chip_toml)
                for app in self.applications for scale in self.scales
                for point in itertools.product(*(v for _, v in self.grid))
                for method in self.methods for seed in self.seeds]


@dataclasses.dataclass(frozen=True)
class SweepTask:
    """One run of a sweep: an application on one chip of the grid, by one method and seed."""

    application: str
    scale: str
    preset: str
    point: tuple[tuple[str, Any], ...]  # the grid point: (field, value) pairs
    method: str
    seed: int
    time_limit: float
    chip_toml: str = dataclasses.field(default="", repr=False)  # see Spec.chip_toml

    @property
    def inputs(self) -> dict[str, Any]:
        """Every input parameter, as the table's columns show them."""
        return {"application": self.application, "scale": self.scale, "preset": self.preset, **dict(self.point),
                "method": self.method, "seed": self.seed, "time_limit": self.time_limit}

    @property
    def key(self) -> str:
        """A hash of the inputs: the task's identity in ``rows.jsonl``."""
        text = json.dumps({**self.inputs, "chip_toml": self.chip_toml}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def instance(self) -> tuple[Any, ...]:
        """What the task maps, leaving out how (method and seed): rows of one instance share a bound."""
        return self.application, self.scale, self.preset, self.point

    def describe(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.inputs.items())


# ------------------------------------------------------------------ the spec
def load_spec(path: str | Path, *, force: bool = False) -> Spec:
    """Read and check a spec; :class:`SpecError` names the field and the fix before anything starts."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: not valid TOML ({exc})") from None
    return check_spec(doc, source=str(path), name=path.stem, force=force)


def check_spec(doc: dict[str, Any], *, source: str = "spec", name: str = "sweep", force: bool = False) -> Spec:
    """A :class:`Spec` from a parsed TOML document, every field checked."""
    def fail(field: str, problem: str) -> SpecError:
        return SpecError(f"{source}: {field}: {problem}")

    unknown = sorted(set(doc) - set(FIELDS))
    if unknown:
        raise fail(unknown[0], f"unknown field; the fields are {', '.join(FIELDS)}")

    def strings(field: str, default: Sequence[str]) -> tuple[str, ...]:
        value = doc.get(field, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(field, f"{value!r} is not {FIELDS[field]}, e.g. {field} = {json.dumps(list(default))}")
        if not value:
            raise fail(field, f"empty; give {FIELDS[field]}")
        twice = sorted({v for v in value if value.count(v) > 1})
        if twice:
            raise fail(field, f"{', '.join(twice)} given more than once; name each once")
        return tuple(value)

    apps_value = doc.get("applications", "all")
    apps = tuple(APPS) if apps_value == "all" else strings("applications", ["LeNet", "EdgeDet"])
    try:
        apps = tuple(canonical(a) for a in apps)
    except ValueError as exc:
        raise fail("applications", str(exc)) from None
    scales = strings("scales", ["mini"])
    if any(s not in ("mini", "full") for s in scales):
        raise fail("scales", f"{list(scales)}: use mini and/or full")
    preset = doc.get("preset", DEFAULT_HARDWARE[scales[0]])
    if not isinstance(preset, str):
        raise fail("preset", f"{preset!r} is not {FIELDS['preset']}, e.g. preset = \"crossbar-mini\"")
    try:
        load_hardware(preset)
    except ValueError as exc:
        raise fail("preset", str(exc)) from None
    chip_toml = Path(preset).read_text() if preset.lower().endswith(".toml") else ""
    methods = strings("methods", ["sequential", "greedy", "partition-refine"])
    available = api.methods()
    for m in methods:
        if m not in available:
            raise fail("methods", f"unknown method {m!r}; choose from {', '.join(available)}")
    baseline = doc.get("baseline", "sequential")
    if baseline not in methods:
        raise fail("baseline", f"{baseline!r} is not among the methods; add it to methods or name one of "
                               f"{', '.join(methods)}")
    seeds = doc.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(
            isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= registry.MAX_SEED for s in seeds):
        raise fail("seeds", f"{seeds!r}: give a non-empty list of whole numbers from 0 to {registry.MAX_SEED}, "
                            "e.g. seeds = [0, 1]")
    time_limit = doc.get("time_limit", 10.0)
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)) or not (
            time_limit > 0 and math.isfinite(time_limit)):
        raise fail("time_limit", f"{time_limit!r}: give a positive number of seconds, e.g. time_limit = 5.0")
    if not isinstance(doc.get("name", name), str):
        raise fail("name", f"{doc['name']!r} is not a string, e.g. name = \"mapping_matters\"")
    grid = _check_grid(doc.get("grid"), preset, fail)
    spec = Spec(name=doc.get("name", name), applications=apps, scales=scales, preset=preset, methods=methods,
                seeds=tuple(seeds), time_limit=float(time_limit), baseline=baseline, grid=grid, chip_toml=chip_toml)
    if spec.size > MAX_TASKS and not force:
        raise SpecError(f"{source}: {spec.size:,} tasks exceed the guard of {MAX_TASKS:,}: shrink the grid "
                        "(fewer values, applications, methods or seeds), or add --force")
    return spec


def _check_grid(grid: Any, preset: str, fail: Callable[[str, str], SpecError]) -> tuple[tuple[str, tuple], ...]:
    example = "e.g. [grid] e_hop = [5e-12, 1e-11] or mesh = [\"2x4\", \"3x4\"]"
    if not isinstance(grid, dict) or not grid:
        raise fail("grid", f"empty; give at least one field with a list of values, {example}")
    out = []
    for field, values in grid.items():
        where = f"grid.{field}"
        if field not in GRID_FIELDS:
            raise fail(where, f"unknown field; sweep any of {', '.join(GRID_FIELDS)}")
        if not isinstance(values, list) or not values:
            raise fail(where, f"{values!r}: give a non-empty list of values, {example}")
        checked = tuple(_grid_value(field, v, lambda problem: fail(where, problem)) for v in values)
        if len(set(checked)) < len(checked):
            raise fail(where, "a value is given more than once; give each once")
        for v in checked:  # the chip itself checks the value's range
            try:
                _chip(preset, ((field, v),))
            except ValueError as exc:
                raise fail(where, f"{v!r}: {exc}") from None
        out.append((field, checked))
    return tuple(out)


def _grid_value(field: str, value: Any, fail: Callable[[str], SpecError]) -> Any:
    if field == "mesh":
        text = "x".join(str(v) for v in value) if isinstance(value, list) else value
        parts = str(text).lower().split("x")
        if not isinstance(text, str) or len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise fail(f"{value!r}: give ROWSxCOLS, e.g. \"4x4\"")
        return f"{int(parts[0])}x{int(parts[1])}"
    if field == "comm":
        if value not in ("multicast", "unicast"):
            raise fail(f"{value!r}: use \"multicast\" or \"unicast\"")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "a whole number" if field in LIMIT_FIELDS else "a number"
        raise fail(f"{value!r} is {type(value).__name__}, not {kind}")
    if field in LIMIT_FIELDS and not isinstance(value, int):
        raise fail(f"{value!r}: a limit is a whole number")
    return value


def _chip(preset: str, point: Iterable[tuple[str, Any]]) -> Any:
    """The preset with a grid point applied."""
    mesh, overrides = _split(point)
    return load_hardware(preset, mesh=mesh, **dict(overrides))


def _split(point: Iterable[tuple[str, Any]]) -> tuple[tuple[int, int] | None, tuple[tuple[str, Any], ...]]:
    """A grid point as ``load_hardware``'s mesh and overrides."""
    mesh, overrides = None, []
    for field, value in point:
        if field == "mesh":
            rows, cols = value.split("x")
            mesh = (int(rows), int(cols))
        else:
            overrides.append((field, value))
    return mesh, tuple(overrides)


# ------------------------------------------------------------- on a worker
def run_point(task: SweepTask) -> dict[str, Any]:
    """Run one task on whichever worker has it; the row's results (the client adds the inputs).

    The network and chip are built here from the application name and the
    grid point (cached per worker process), so nothing but these inputs travels.
    """
    mesh, overrides = _split(task.point)
    preset = _preset_here(task.preset, task.chip_toml) if task.chip_toml else task.preset
    row, _ = run_task(Task(task.application, task.scale, preset, task.method, task.time_limit, task.seed,
                           mesh=mesh, overrides=overrides))
    result = {"hardware": row.hardware, "neurons": row.neurons, "synapses": row.synapses, "status": row.status,
              "energy": row.energy if math.isfinite(row.energy) else None,
              **{f"E_{t}": getattr(row, f"E_{t}") for t in TERMS}, "lower_bound": row.lower_bound,
              "time_s": row.time_s, "cores_used": row.cores_used, "message": row.message}
    if row.status not in ("infeasible", "error"):
        net, hw = prepared(task.application, task.scale, preset, mesh, overrides)
        result["bound"] = combinatorial_lower_bound(net, hw)
    return result


@functools.lru_cache(maxsize=8)
def _preset_here(name: str, text: str) -> str:
    """A user's preset TOML (sent as text) as a file of the same name on this worker, once per process."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"snnmap-preset-{os.getpid()}-{digest}"
    folder.mkdir(exist_ok=True)
    path = folder / Path(name).name  # the file's stem names the chip when the TOML has no name
    with replacing(path) as tmp:
        tmp.write_text(text)
    return str(path)


# ------------------------------------------------------------- the row file
def read_rows(path: Path) -> dict[str, dict[str, Any]]:
    """The rows of ``rows.jsonl`` by key; a torn last line (a crash mid-write) is left out.

    A damaged line elsewhere is not a crash's trace: ``ValueError`` names it.
    """
    rows: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return rows
    lines = path.read_bytes().split(b"\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            if number == len(lines):  # torn last line: its task runs again
                break
            raise ValueError(f"{path}: line {number} is not a row (damaged file); move the file away to start "
                             "over") from None
        rows.setdefault(row["key"], row)
    return rows


class RowLog:
    """``rows.jsonl``, append-only: each row is on disk (flushed and synced) before the next task is counted."""

    def __init__(self, path: Path):
        self.path = path
        if path.exists() and path.stat().st_size:
            with open(path, "rb+") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":  # end a torn last line, so the next row starts on its own
                    fh.write(b"\n")
        self.fh = open(path, "a", encoding="utf-8")

    def append(self, row: dict[str, Any]) -> None:
        self.fh.write(json.dumps(row, default=_plain) + "\n")
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


# ------------------------------------------------------------------ the run
@dataclasses.dataclass
class SweepReport:
    """The outcome of a sweep: all rows (in task order), the failures and where the files went."""

    spec: Spec
    rows: list[dict[str, Any]]
    failed: list[tuple[SweepTask, str]]
    skipped: int
    out: Path


def sweep(spec: Spec, out: str | Path, *, resume: bool = False, workers: int | None = None,
          scheduler: str | None = None, figures: bool = True, stream: Any = None,
          worker_env: dict[str, str] | None = None) -> SweepReport:
    """Run a sweep and write ``rows.jsonl``, ``sweep.csv`` and the figures in ``out``.

    Parameters
    ----------
    spec
        A checked spec (:func:`load_spec`).
    out
        Output directory. If it holds rows of an earlier run, ``resume`` is
        required: only the tasks without a row run.
    workers, scheduler
        Where the tasks run (see :func:`snnmap.engine.engine`).
    figures
        Draw the PNG figures.
    stream
        Where the progress line and failures go (default stderr; ``False``: nowhere).
    worker_env
        Environment of the embedded cluster's workers (tests).
    """
    stream = sys.stderr if stream is None else stream
    out = writable_dir(Path(out), "output directory")
    log_path = out / ROWS
    have = read_rows(log_path)
    if have and not resume:
        raise ValueError(f"{log_path} holds {len(have)} rows of an earlier run: add --resume to run only the missing "
                         "tasks, or give another --out")
    tasks = spec.tasks()
    todo = [t for t in tasks if t.key not in have]
    failed: list[tuple[SweepTask, str]] = []
    if todo:
        log = RowLog(log_path)
        line = engine.ProgressLine(len(todo), stream) if stream else None

        def done(finished: engine.Done) -> None:
            task = finished.task
            row = {"key": task.key, **task.inputs, **finished.value, "host": finished.host, "worker": finished.worker}
            log.append(row)
            have[task.key] = row

        def fail(task: SweepTask, error: BaseException) -> None:
            text = " ".join(f"{type(error).__name__}: {error}".split())
            failed.append((task, text))
            if line is not None:
                line.interrupt()
                print(f"task failed: {task.describe()}: {text}", file=stream, flush=True)

        try:
            with engine.engine(workers, scheduler, worker_env=worker_env) as client:
                engine.run(client, run_point, todo, on_done=done, on_failed=fail, progress=line,
                           memory=lambda t: memory_need(t.application, t.scale))
        finally:
            log.close()
    rows = finish_rows([have[t.key] for t in tasks if t.key in have], spec)
    write_table(rows, spec, out / "sweep.csv")
    if figures:
        draw_figures(rows, spec, out)
    return SweepReport(spec, rows, failed, len(tasks) - len(todo), out)


def finish_rows(rows: list[dict[str, Any]], spec: Spec) -> list[dict[str, Any]]:
    """Best bound per instance (over methods and seeds), certified gap and the saving over the baseline."""
    def instance(r: dict[str, Any]) -> tuple:
        return (r["application"], r["scale"], r["preset"], *(str(r.get(f)) for f in spec.swept))

    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(instance(r), []).append(r)
    for group in groups.values():
        bounds = [b for r in group for b in (r.get("lower_bound"), r.get("bound")) if b is not None]
        bound = max(bounds, default=None)
        base = [r["energy"] for r in group if r["method"] == spec.baseline and r.get("energy") is not None]
        for r in group:
            e = r.get("energy")
            r["bound"] = bound
            r["certified_gap"] = (e - bound) / bound if e is not None and bound else None
            # the same on the energy a mapping can change (comm + static)
            fixed = (r.get("E_neuron") or 0.0) + (r.get("E_synapse") or 0.0)
            r["certified_gap_mapping"] = ((e - bound) / (bound - fixed)
                                          if r["certified_gap"] is not None and bound > fixed else None)
            # the saving of this run over the baseline's run with the same seed
            same = [b["energy"] for b in group if b["method"] == spec.baseline and b["seed"] == r["seed"]
                    and b.get("energy") is not None]
            ref = same[0] if same else (min(base) if base else None)
            r["saving"] = (ref - e) / ref if e is not None and ref else None
    return rows


def columns(spec: Spec) -> list[str]:
    return ["key", "application", "scale", "preset", *spec.swept, "method", "seed", "time_limit", *RESULT_FIELDS]


def write_table(rows: list[dict[str, Any]], spec: Spec, path: Path) -> None:
    """The tidy table: one row per task, every input and result (written whole)."""
    cols = columns(spec)
    with replacing(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(cols)
        for r in rows:
            writer.writerow(["" if r.get(c) is None else (repr(r[c]) if isinstance(r[c], float) else r[c])
                             for c in cols])


# ------------------------------------------------------------------ figures
def draw_figures(rows: list[dict[str, Any]], spec: Spec, out: Path) -> list[Path]:
    """Per swept parameter: ``energy_FIELD.png`` (each method's energy) and ``saving_FIELD.png`` (the saving of
    the best method over the baseline), one panel per application, averaged over the other parameters and seeds.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    apps = [a for a in spec.applications if any(r["application"] == a for r in rows)]
    if not apps:
        return made
    for field, values in spec.grid:
        labels = [str(v) for v in values]
        numeric = all(isinstance(v, (int, float)) for v in values)
        xs = list(values) if numeric else list(range(len(values)))
        for kind in ("energy", "saving"):
            ncols = min(5, len(apps))
            nrows = math.ceil(len(apps) / ncols)
            fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), squeeze=False)
            for ax, app in zip(axes.flat, apps):
                mine = [r for r in rows if r["application"] == app]
                if kind == "energy":
                    for method in spec.methods:
                        ys = [_mean(r["energy"] for r in mine if r["method"] == method and str(r[field]) == lab)
                              for lab in labels]
                        ax.plot(xs, ys, marker="o", label=method)
                    ax.set_ylabel("energy (J)")
                else:
                    ys = [100 * _mean(_best_saving(mine, spec, field, lab)) for lab in labels]
                    ax.plot(xs, ys, marker="o", color="tab:green")
                    ax.axhline(0, color="grey", lw=0.5)
                    ax.set_ylabel(f"saving vs {spec.baseline} (%)")
                ax.set_title(app, fontsize=9)
                ax.set_xlabel(field)
                if numeric and min(values) > 0 and max(values) / min(values) > 20:
                    ax.set_xscale("log")
                if not numeric:
                    ax.set_xticks(xs, labels)
                ax.tick_params(labelsize=7)
            for ax in axes.flat[len(apps):]:
                ax.axis("off")
            if kind == "energy":
                axes.flat[0].legend(fontsize=7)
            title = ("energy by method" if kind == "energy"
                     else f"saving of the best method over {spec.baseline}")
            fig.suptitle(f"{spec.name}: {title} against {field}\n(mean over the other fields and seeds)",
                         fontsize=9)
            fig.tight_layout()
            path = out / f"{kind}_{field}.png"
            with replacing(path) as tmp:
                fig.savefig(tmp, dpi=90)
            plt.close(fig)
            made.append(path)
    return made


def _best_saving(rows: list[dict[str, Any]], spec: Spec, field: str | None, label: str | None) -> list[float]:
    """Per chip and seed (at ``field == label``, if given): the saving of the best method over the baseline."""
    best: dict[tuple, float] = {}
    for r in rows:
        if (field is None or str(r[field]) == label) and r.get("saving") is not None and r["method"] != spec.baseline:
            k = (*(str(r[f]) for f in spec.swept), r["seed"])
            best[k] = max(best.get(k, -math.inf), r["saving"])
    return list(best.values())


def summary(report: SweepReport) -> str:
    """The table ``snnmap sweep`` prints: per application, the saving of the best method over the baseline."""
    spec, rows = report.spec, report.rows
    body = []
    for app in spec.applications:
        savings = _best_saving([r for r in rows if r["application"] == app], spec, None, None)
        if savings:
            body.append([app, len([r for r in rows if r["application"] == app]), f"{100 * min(savings):.1f}",
                         f"{100 * _mean(savings):.1f}", f"{100 * max(savings):.1f}"])
    head = ["application", "rows", "min %", "mean %", "max %"]
    return (f"saving of the best method over {spec.baseline} across the grid:\n" + table(head, body)) if body else ""


def _mean(values: Iterable[float | None]) -> float:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else math.nan
