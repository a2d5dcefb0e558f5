"""The best-known-solutions table: ``instances/bks.csv`` with the mappings beside it.

Each row names an instance (application and scale), the hardware it was
mapped on (preset and mesh), the energy, a valid lower bound, whether the
energy is proven optimal (only an ``optimal`` status is a proof), the method
and the date, and the communication model the energy is measured in
(``multicast`` or ``unicast``; a table without that column is multicast, so
older tables read as before). The mapping itself is a mapping file in ``instances/bks/``, so
anyone can re-evaluate the row; an entry is replaced only by a mapping that
the evaluator scores lower.

The shipped table is package data of ``snnmap.instances``. It is written
only in a source checkout (``pip install -e``); an installed package's copy
is read-only, and updates go to a table of the user's own.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import importlib.resources
import math
import site
import sysconfig
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from snnmap.formulations import evaluate, load_mapping, save_mapping
from snnmap.instances.files import replacing
from snnmap.prepare import hardware_of, instance_of
from snnmap.report import writable_dir

BKS_PATH = Path(str(importlib.resources.files("snnmap.instances").joinpath("bks.csv")))
FIELDS = ["instance", "scale", "hardware", "energy", "lower_bound", "proven", "method", "date", "mapping", "comm"]
OPTIONAL = {"comm": "multicast"}  # columns older tables lack, with the value they mean there
Key = tuple[str, str, str, str]  # (instance, scale, hardware label, comm)


@dataclasses.dataclass
class Entry:
    instance: str
    scale: str
    hardware: str
    energy: float
    lower_bound: float | None
    proven: bool
    method: str
    date: str
    mapping: str
    comm: str = "multicast"

    def row(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["energy"] = repr(self.energy)
        out["lower_bound"] = "" if self.lower_bound is None else repr(self.lower_bound)
        out["proven"] = "yes" if self.proven else "no"
        return out


def installed_copy(path: Path) -> bool:
    """Whether ``path`` lies in an installed package (site-packages), where a table must not be written."""
    paths = sysconfig.get_paths()
    roots = {paths["purelib"], paths["platlib"], *site.getsitepackages(), site.getusersitepackages()}
    where = path.resolve()
    return any(where.is_relative_to(Path(r).resolve()) for r in roots)


def check_writable(path: Path, *, given: bool) -> None:
    """Refuse to update the table at ``path`` when it is the installed package's or cannot be written.

    ``given``: the user named the path (then it may be anywhere writable).
    """
    if not given and installed_copy(path):
        raise ValueError(
            f"--update-bks: the shipped best-known table {path} is part of the installed package and is not "
            "written; give a table of your own: --update-bks PATH"
        )
    if path.exists() and not path.is_file():
        raise ValueError(f"best-known table {path}: not a file; give a CSV file path")
    writable_dir(path.parent / "bks", "best-known mappings directory")


class BestKnown:
    """The table in memory; :meth:`update` writes it back."""

    def __init__(self, path: Path, entries: dict[Key, Entry]):
        self.path = path
        self.entries = entries

    @classmethod
    def load(cls, path: str | Path | None = None) -> "BestKnown":
        path = Path(path) if path is not None else BKS_PATH
        entries: dict[Key, Entry] = {}
        if path.is_file():
            with open(path, newline="") as fh:
                reader = csv.DictReader(fh)
                missing = set(FIELDS) - set(reader.fieldnames or []) - set(OPTIONAL)
                if missing:
                    raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
                for k, r in enumerate(reader, 2):
                    try:
                        e = Entry(
                            instance=r["instance"], scale=r["scale"], hardware=r["hardware"],
                            energy=float(r["energy"]),
                            lower_bound=float(r["lower_bound"]) if r["lower_bound"] else None,
                            proven=r["proven"].strip().lower() in ("yes", "true", "1"),
                            method=r["method"], date=r["date"], mapping=r["mapping"],
                            comm=r.get("comm") or OPTIONAL["comm"],
                        )
                    except (TypeError, ValueError) as exc:
                        raise ValueError(f"{path}, line {k}: {exc}") from None
                    entries[(e.instance, e.scale, e.hardware, e.comm)] = e
        return cls(path, entries)

    def get(self, instance: str, scale: str, hardware: str, comm: str = "multicast") -> Entry | None:
        return self.entries.get((instance, scale, hardware, comm))

    def mapping_path(self, entry: Entry) -> Path:
        return self.path.parent / entry.mapping

    def reevaluate(self, entry: Entry) -> float:
        """The evaluator's energy of the stored mapping (``inf`` if it breaks a limit)."""
        hw = hardware_of(entry.hardware)
        net = instance_of(entry.instance, entry.scale, hw)
        mapping = load_mapping(self.mapping_path(entry), net)
        report = evaluate(net, hw, mapping.core_of, entry.comm)
        return report.total if report.feasible else math.inf

    def update(self, rows: Sequence[Any], mappings: dict[tuple[str, str, str], np.ndarray]) -> list[str]:
        """Store every row's mapping that beats its entry (re-evaluated first); returns what changed.

        ``rows`` are the gap study's (:class:`snnmap.gap_evaluator.GapRow`), ``mappings`` keyed by their ``key``.
        """
        changed = []
        groups: dict[Key, list[Any]] = {}
        for r in rows:
            groups.setdefault((r.application, r.scale, r.hardware, r.comm), []).append(r)
        for key, group in groups.items():
            app, scale, hw_label, comm = key
            what = f"{app}:{scale}" + ("" if comm == "multicast" else f" {comm}")
            cands = [r for r in group if math.isfinite(r.energy) and r.key in mappings]
            if not cands:
                continue
            best = min(cands, key=lambda r: r.energy)
            hw = hardware_of(hw_label)
            net = instance_of(app, scale, hw)
            core_of = mappings[best.key]
            report = evaluate(net, hw, core_of, comm)  # never trust a row: score the mapping again
            if not report.feasible:
                continue
            old = self.entries.get(key)
            bound = max([r.lower_bound for r in group if r.lower_bound is not None], default=None)
            proven = any(r.status == "optimal" and math.isclose(r.energy, report.total, rel_tol=1e-9)
                         for r in group)
            if old is not None and report.total >= old.energy * (1 - 1e-12):
                # Not better; a newly proven optimum or a tighter bound still counts.
                if old.lower_bound is None or (bound is not None and bound > old.lower_bound):
                    if bound is not None and bound <= old.energy * (1 + 1e-9):
                        old.lower_bound = bound
                        changed.append(f"{what} bound")
                if proven and math.isclose(report.total, old.energy, rel_tol=1e-9) and not old.proven:
                    old.proven = True
                    changed.append(f"{what} proven")
                continue
            suffix = "" if comm == "multicast" else f"-{comm}"
            name = f"bks/{app}-{scale}-{hw_label.replace('@', '-')}{suffix}.json"
            (self.path.parent / "bks").mkdir(parents=True, exist_ok=True)
            with replacing(self.path.parent / name) as tmp:
                save_mapping(tmp, core_of, net, hw, method=best.method, meta={"energy": report.total, "comm": comm})
            self.entries[key] = Entry(
                instance=app, scale=scale, hardware=hw_label, energy=report.total,
                lower_bound=bound, proven=proven, method=best.method,
                date=_dt.date.today().isoformat(), mapping=name, comm=comm,
            )
            changed.append(what)
        if changed:
            self.save()
        return changed

    def save(self) -> None:
        """Write the table whole (temporary name, then renamed)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with replacing(self.path) as tmp, open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            writer.writeheader()
            for key in sorted(self.entries):
                writer.writerow(self.entries[key].row())
