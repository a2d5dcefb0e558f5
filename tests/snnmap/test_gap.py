"""The gap evaluator end to end on two mini applications, and the best-known table."""

from __future__ import annotations

import csv
import json
import math

import pytest

from snnmap.formulations import evaluate, load_mapping
from snnmap import api
from snnmap.bks import BestKnown, hardware_of, instance_of
from snnmap.cli import main
from snnmap.gap_evaluator import COLUMNS, EXACT


def _methods() -> list[str]:
    available = api.methods()
    return [m for m in (*EXACT, "greedy", "partition-refine", "sequential", "random") if m in available]


def test_gap_on_two_mini_apps(tmp_path, capsys):
    out = tmp_path / "gap"
    rc = main(["gap", "--apps", "LeNet,HeartEstm", "--methods", ",".join(_methods()), "--time-limit", "20",
               "--out", str(out), "--quiet"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "LeNet" in printed and "HeartEstm" in printed
    with open(out / "gap.csv") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == COLUMNS
        rows = list(reader)
    assert len(rows) == 2 * len(_methods())
    for app in ("LeNet", "HeartEstm"):
        group = [r for r in rows if r["application"] == app]
        feasible = [float(r["energy"]) for r in group if r["energy"] not in ("", "inf")]
        best = min(feasible)
        optimal = [float(r["energy"]) for r in group if r["status"] == "optimal"]
        for r in group:
            if r["energy"] in ("", "inf"):
                continue
            energy = float(r["energy"])
            # No heuristic beats a proven optimum; every gap is measured against the best.
            if optimal:
                assert energy >= min(optimal) * (1 - 1e-9), r["method"]
            assert float(r["gap"]) == pytest.approx((energy - best) / best, abs=1e-12)
            assert float(r["E_neuron"]) + float(r["E_synapse"]) + float(r["E_comm"]) + float(r["E_static"]) \
                == pytest.approx(energy)
    doc = json.loads((out / "gap.json").read_text())
    assert len(doc["rows"]) == len(rows)
    for name in ("energy_breakdown.png", "gap.png"):
        assert (out / name).stat().st_size > 1000
    assert list(out.glob("heatmap_*.png"))


def test_row_energies_are_the_evaluators(tmp_path):
    from snnmap import gap  # the one-call API

    report = gap(["VisualPursuit"], methods=["greedy", "sequential"], time_limit=10, out=None, progress=None,
                 bks_path=tmp_path / "bks.csv")
    net = api.load_network("VisualPursuit:mini")
    for r in report.rows:
        hw = hardware_of(r["hardware"])
        mapping = report.mappings[("VisualPursuit", "mini", r["method"])]
        assert evaluate(net, hw, mapping).total == r["energy"]


def test_update_bks_stores_only_better_mappings(tmp_path):
    from snnmap.gap_evaluator import gap

    path = tmp_path / "bks.csv"
    gap(["ImgSmooth"], methods=["sequential"], time_limit=10, progress=None, update_bks=True, bks_path=path)
    first = BestKnown.load(path).get("ImgSmooth", "mini", "crossbar-mini@2x4")
    assert first is not None and first.method == "sequential"
    gap(["ImgSmooth"], methods=["partition-refine", "random"], time_limit=10, progress=None, update_bks=True,
        bks_path=path)
    second = BestKnown.load(path).get("ImgSmooth", "mini", "crossbar-mini@2x4")
    assert second.energy <= first.energy
    assert (second.method == "sequential") == math.isclose(second.energy, first.energy, rel_tol=1e-12)
    assert BestKnown.load(path).reevaluate(second) == pytest.approx(second.energy, rel=1e-12)


def test_shipped_best_known_mappings_reevaluate():
    book = BestKnown.load()
    if not book.entries:
        pytest.fail("instances/bks.csv is empty: run `snnmap gap --update-bks`")
    for entry in book.entries.values():
        hw = hardware_of(entry.hardware)
        net = instance_of(entry.instance, entry.scale, hw)
        mapping = load_mapping(book.mapping_path(entry), net)
        report = evaluate(net, hw, mapping.core_of)
        assert report.feasible, entry.instance
        assert report.total == pytest.approx(entry.energy, rel=1e-9), entry.instance
        if entry.lower_bound is not None:
            assert entry.lower_bound <= entry.energy * (1 + 1e-9)
