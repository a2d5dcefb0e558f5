"""The best-known-solutions table: ``instances/bks.csv`` with the mappings beside it.

Each row names an instance (application and scale), the hardware it was
mapped on (preset and mesh), the energy, a valid lower bound, whether the
energy is proven optimal, the method and the date. The mapping itself is a
mapping file in ``instances/bks/``, so anyone can re-evaluate the row; an
entry is replaced only by a mapping that the evaluator scores lower.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as _dt
import math
from pathlib import Path
from typing import Any

import numpy as np

from snnmap.formulations import evaluate, load_mapping, save_mapping
from snnmap.hardware import load_hardware

BKS_PATH = Path(__file__).resolve().parents[1] / "instances" / "bks.csv"
FIELDS = ["instance", "scale", "hardware", "energy", "lower_bound", "proven", "method", "date", "mapping"]


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

    def row(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["energy"] = repr(self.energy)
        out["lower_bound"] = "" if self.lower_bound is None else repr(self.lower_bound)
        out["proven"] = "yes" if self.proven else "no"
        return out


def instance_of(instance: str, scale: str, hardware: Any) -> Any:
    """The network as mapped on ``hardware``: full instances get their fan-in unrolled as in ``snnmap gap``."""
    from snnmap.api import fit_network, load_network

    net = load_network(f"{instance}:{scale}")
    return fit_network(net, hardware) if scale == "full" else net


def hardware_of(label: str):
    """The hardware a label like ``crossbar128@6x6`` names."""
    name, _, mesh = label.partition("@")
    if not mesh:
        return load_hardware(name)
    rows, cols = (int(v) for v in mesh.split("x"))
    return load_hardware(name, mesh=(rows, cols))


class BestKnown:
    """The table in memory; :meth:`update` writes it back."""

    def __init__(self, path: Path, entries: dict[tuple[str, str, str], Entry]):
        self.path = path
        self.entries = entries

    @classmethod
    def load(cls, path: str | Path | None = None) -> "BestKnown":
        path = Path(path) if path is not None else BKS_PATH
        entries: dict[tuple[str, str, str], Entry] = {}
        if path.is_file():
            with open(path, newline="") as fh:
                reader = csv.DictReader(fh)
                missing = set(FIELDS) - set(reader.fieldnames or [])
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
                        )
                    except (TypeError, ValueError) as exc:
                        raise ValueError(f"{path}, line {k}: {exc}") from None
                    entries[(e.instance, e.scale, e.hardware)] = e
        return cls(path, entries)

    def get(self, instance: str, scale: str, hardware: str) -> Entry | None:
        return self.entries.get((instance, scale, hardware))

    def mapping_path(self, entry: Entry) -> Path:
        return self.path.parent / entry.mapping

    def reevaluate(self, entry: Entry) -> float:
        """The evaluator's energy of the stored mapping (``inf`` if it breaks a limit)."""
        hw = hardware_of(entry.hardware)
        net = instance_of(entry.instance, entry.scale, hw)
        mapping = load_mapping(self.mapping_path(entry), net)
        report = evaluate(net, hw, mapping.core_of)
        return report.total if report.feasible else math.inf

    def update(self, rows: list[dict[str, Any]], mappings: dict[tuple[str, str, str], np.ndarray]) -> list[str]:
        """Store every row's mapping that beats its entry (re-evaluated first); returns what changed."""
        changed = []
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault((r["application"], r["scale"], r["hardware"]), []).append(r)
        for key, group in groups.items():
            app, scale, hw_label = key
            cands = [r for r in group if math.isfinite(r.get("energy", math.inf))
                     and (app, scale, r["method"]) in mappings]
            if not cands:
                continue
            best = min(cands, key=lambda r: r["energy"])
            hw = hardware_of(hw_label)
            net = instance_of(app, scale, hw)
            core_of = mappings[(app, scale, best["method"])]
            report = evaluate(net, hw, core_of)  # never trust a row: score the mapping again
            if not report.feasible:
                continue
            old = self.entries.get(key)
            bound = max([r["lower_bound"] for r in group if r.get("lower_bound") is not None], default=None)
            proven = any(r["status"] == "optimal" and math.isclose(r["energy"], report.total, rel_tol=1e-9)
                         for r in group)
            if old is not None and report.total >= old.energy * (1 - 1e-12):
                # Not better; a newly proven optimum or a tighter bound still counts.
                if old.lower_bound is None or (bound is not None and bound > old.lower_bound):
                    if bound is not None and bound <= old.energy * (1 + 1e-9):
                        old.lower_bound = bound
                        changed.append(f"{app}:{scale} bound")
                if proven and math.isclose(report.total, old.energy, rel_tol=1e-9) and not old.proven:
                    old.proven = True
                    changed.append(f"{app}:{scale} proven")
                continue
            name = f"bks/{app}-{scale}-{hw_label.replace('@', '-')}.json"
            save_mapping(self.path.parent / name, core_of, net, hw, method=best["method"],
                         meta={"energy": report.total})
            self.entries[key] = Entry(
                instance=app, scale=scale, hardware=hw_label, energy=report.total,
                lower_bound=bound, proven=proven, method=best["method"],
                date=_dt.date.today().isoformat(), mapping=name,
            )
            changed.append(f"{app}:{scale}")
        if changed:
            self.save()
        return changed

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            writer.writeheader()
            for key in sorted(self.entries):
                writer.writerow(self.entries[key].row())
