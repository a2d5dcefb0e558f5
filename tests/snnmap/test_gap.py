"""The gap evaluator end to end on two mini applications, and the best-known table."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import site
import subprocess
import sys
from pathlib import Path

import pytest

from snnmap import api
from snnmap.bks import BestKnown, check_writable
from snnmap.cli import main
from snnmap.formulations import evaluate, load_mapping
from snnmap.gap_evaluator import COLUMNS, EXACT, GapRow, gap, summary_tables
from snnmap.prepare import hardware_of, instance_of


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
    assert all(list(r) == [f.name for f in dataclasses.fields(GapRow)] for r in doc["rows"])
    assert not list(out.glob(".*tmp*")), "temporary files left behind"
    for name in ("energy_breakdown.png", "gap.png"):
        assert (out / name).stat().st_size > 1000
    assert list(out.glob("heatmap_*.png"))


def test_row_energies_are_the_evaluators(tmp_path):
    report = gap(["VisualPursuit"], methods=["greedy", "sequential"], time_limit=10, out=None, progress=None,
                 bks_path=tmp_path / "bks.csv")
    net = api.load_network("VisualPursuit:mini")
    assert [r.method for r in report.rows] == ["greedy", "sequential"]
    for r in report.rows:
        hw = hardware_of(r.hardware)
        mapping = report.mappings[("VisualPursuit", "mini", r.method)]
        assert evaluate(net, hw, mapping).total == r.energy


def test_update_bks_stores_only_better_mappings(tmp_path):
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


def test_best_known_table_keeps_the_communication_models_apart(tmp_path):
    path = tmp_path / "bks.csv"
    gap(["ImgSmooth"], methods=["sequential"], time_limit=10, progress=None, update_bks=True, bks_path=path)
    gap(["ImgSmooth"], methods=["sequential"], time_limit=10, progress=None, update_bks=True, bks_path=path,
        comm="unicast")
    book = BestKnown.load(path)
    multi = book.get("ImgSmooth", "mini", "crossbar-mini@2x4")
    uni = book.get("ImgSmooth", "mini", "crossbar-mini@2x4", "unicast")
    assert multi.comm == "multicast" and uni.comm == "unicast" and uni.mapping != multi.mapping
    assert book.reevaluate(uni) == pytest.approx(uni.energy, rel=1e-12) and uni.energy > multi.energy
    # A table written before the comm column reads as multicast.
    lines = path.read_text().splitlines()
    old = tmp_path / "old.csv"
    old.write_text("\n".join(",".join(line.split(",")[:-1]) for line in lines[:1] + [
        line for line in lines[1:] if line.endswith(",multicast")]) + "\n")
    assert BestKnown.load(old).get("ImgSmooth", "mini", "crossbar-mini@2x4").energy == multi.energy


def test_unicast_gap_rows_say_so():
    report = gap(["ImgSmooth"], methods=["sequential"], time_limit=10, progress=None, comm="unicast", figures=False)
    assert {r.comm for r in report.rows} == {"unicast"}
    assert "(unicast)" in summary_tables(report)
    with pytest.raises(ValueError, match="comm='bus'"):
        gap(["ImgSmooth"], methods=["sequential"], comm="bus", progress=None)


def test_shipped_best_known_mappings_reevaluate():
    book = BestKnown.load()
    if not book.entries:
        pytest.fail("instances/bks.csv is empty: run `snnmap gap --update-bks`")
    for entry in book.entries.values():
        hw = hardware_of(entry.hardware)
        net = instance_of(entry.instance, entry.scale, hw)
        mapping = load_mapping(book.mapping_path(entry), net)
        report = evaluate(net, hw, mapping.core_of, entry.comm)
        assert report.feasible, entry.instance
        assert report.total == pytest.approx(entry.energy, rel=1e-9), entry.instance
        if entry.lower_bound is not None:
            assert entry.lower_bound <= entry.energy * (1 + 1e-9)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"apps": ["LeNet", "lenet"]}, ["apps", "LeNet", "more than once"]),
        ({"apps": ["NoSuchApp"]}, ["unknown application", "NoSuchApp", "LeNet"]),
        ({"hardware": "nochip"}, ["unknown hardware", "nochip", "crossbar-mini"]),
        ({"methods": ["greedy", "greedy"]}, ["methods", "greedy", "more than once"]),
        ({"methods": ["nosuch"]}, ["unknown method", "nosuch", "greedy"]),
        ({"time_limit": 0}, ["time limit", "positive"]),
        ({"time_limit": float("nan")}, ["time limit", "positive"]),
        ({"workers": 0}, ["workers", ">= 1"]),
        ({"scale": "huge"}, ["scale", "mini, full or both"]),
    ],
)
def test_bad_arguments_are_refused_before_any_run(kwargs, words, monkeypatch):
    import snnmap.gap_evaluator as gap_mod

    def no_runs(*_args, **_kwargs):
        raise AssertionError("a run started before the arguments were checked")

    monkeypatch.setattr(gap_mod, "_run_all", no_runs)
    args = {"apps": ["LeNet"], "methods": ["greedy"], "progress": None, **kwargs}
    with pytest.raises(ValueError) as err:
        gap(**args)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_unwritable_output_is_refused_before_any_run(tmp_path, monkeypatch):
    import snnmap.gap_evaluator as gap_mod

    monkeypatch.setattr(gap_mod, "_run_all", lambda *a: pytest.fail("ran before checking --out"))
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out, words in ((afile, ["file of that name exists"]), (afile / "sub", ["cannot write there"]),
                       (Path("/proc/snnmap-gap"), ["cannot write there"])):
        with pytest.raises(ValueError, match="output directory") as err:
            gap(["LeNet"], methods=["greedy"], out=out, progress=None)
        assert all(w in str(err.value) for w in words), str(err.value)
    assert afile.read_text() == "x"


def test_cli_prints_tables_when_writing_fails(tmp_path, capsys, monkeypatch):
    import snnmap.gap_evaluator as gap_mod

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gap_mod, "write_outputs", full_disk)
    rc = main(["gap", "--apps", "LeNet", "--methods", "greedy", "--out", str(tmp_path / "o"), "--quiet"])
    captured = capsys.readouterr()
    assert rc == 1
    assert "LeNet" in captured.out and "greedy" in captured.out  # the tables survive
    assert "No space left on device" in captured.err and "Traceback" not in captured.err


def test_installed_table_is_never_updated_without_a_path(tmp_path, monkeypatch):
    import snnmap.bks as bks_mod

    shipped = tmp_path / "site-packages" / "snnmap" / "instances" / "bks.csv"
    monkeypatch.setattr(bks_mod, "installed_copy", lambda path: path == shipped)
    with pytest.raises(ValueError, match="--update-bks PATH"):
        check_writable(shipped, given=False)
    check_writable(tmp_path / "mine.csv", given=True)  # a table of the user's own is fine
    with pytest.raises(ValueError, match="not a file"):
        check_writable(tmp_path, given=True)
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ValueError, match="cannot write there"):
        check_writable(afile / "bks.csv", given=True)


def test_site_packages_counts_as_installed():
    from snnmap.bks import installed_copy

    assert installed_copy(Path(site.getsitepackages()[0]) / "snnmap" / "instances" / "bks.csv")
    assert not installed_copy(Path("/nonexistent-checkout/instances/bks.csv"))


def test_plots_is_a_leaf():
    """Drawing a figure loads nothing of the gap study (no gap_evaluator <-> plots cycle)."""
    code = ("import sys, snnmap.plots; "
            "bad = [m for m in ('snnmap.gap_evaluator', 'snnmap.bks', 'snnmap.cli') if m in sys.modules]; "
            "sys.exit(', '.join(bad) or None)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_full_rows_carry_the_mapping_dependent_certified_gap_and_its_term(tmp_path):
    from snnmap.gap_evaluator import summary_tables

    report = gap(["HeartEstm"], scale="full", hardware="crossbar128", methods=["sequential", "greedy"],
                 time_limit=10, out=None, progress=None, bks_path=tmp_path / "bks.csv")
    for r in report.rows:
        fixed = r.E_neuron + r.E_synapse
        assert r.certified_gap_mapping == pytest.approx((r.energy - r.best_bound) / (r.best_bound - fixed))
        assert r.certified_gap_mapping > r.certified_gap > 0  # fixed energy no longer dilutes it
        assert r.gap_term in ("comm", "static")
    text = summary_tables(report)
    best = min(report.rows, key=lambda r: r.energy)
    assert f"({best.certified_gap_mapping * 100:.1f})" in text and "gap term (best)" in text


def test_map_output_and_sweep_rows_give_the_mapping_dependent_certified_gap():
    from snnmap.report import result_text
    from snnmap.sweep import finish_rows

    res = api.solve("HeartEstm:mini", "crossbar-mini", method="sequential")
    fixed = res.report.terms["neuron"] + res.report.terms["synapse"]
    expected = (res.energy - res.lower_bound) / (res.lower_bound - fixed)
    assert f"({expected * 100:.2f}% on comm+static)" in result_text(res)
    row = {"application": "a", "scale": "mini", "preset": "p", "method": "m", "seed": 0, "energy": 10.0,
           "lower_bound": 8.0, "E_neuron": 3.0, "E_synapse": 1.0}
    spec = type("Spec", (), {"swept": (), "baseline": "m"})()
    (done,) = finish_rows([row], spec)
    assert done["certified_gap"] == pytest.approx(0.25) and done["certified_gap_mapping"] == pytest.approx(0.5)
