"""The README's full-scale gap table is the committed output of scripts/full_gaps.py, and that output is consistent."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("full_gaps", ROOT / "scripts" / "full_gaps.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows() -> list[dict]:
    return json.loads((ROOT / "scripts" / "results" / "full_gaps.json").read_text())["rows"]


def test_readme_table_is_the_committed_result():
    script, rows = _script(), _rows()
    table = script.markdown_table(rows)
    assert table in (ROOT / "scripts" / "results" / "full_gaps.md").read_text()
    readme = (ROOT / "README.md").read_text()
    assert table in readme
    assert script.summary(rows) in readme


def test_committed_rows_are_consistent():
    rows = _rows()
    assert {r["hardware"].split("@")[0] for r in rows} == {"loihi", "crossbar128"} and len(rows) == 20
    for r in rows:
        assert r["bound"] <= r["energy"] * (1 + 1e-9)
        assert sum(r["bound_terms"].values()) == pytest.approx(r["bound"], rel=1e-12)
        assert sum(r["energy_terms"].values()) == pytest.approx(r["energy"], rel=1e-12)
        assert r["gap"] == pytest.approx((r["energy"] - r["bound"]) / r["bound"])
        fixed = r["bound_terms"]["neuron"] + r["bound_terms"]["synapse"]
        if r["gap_mapping"] is not None:
            assert r["gap_mapping"] == pytest.approx((r["energy"] - r["bound"]) / (r["bound"] - fixed))
        assert r["bound_s"] <= 60 and r["bound_peak_mb"] <= 8000
        assert r["bound_targets_only"] <= r["bound"] * (1 + 1e-12)  # the input-axon arguments only add


def test_script_measures_one_instance(tmp_path):
    script = _script()
    script.main(["--apps", "HeartEstm", "--chips", "loihi", "--time-limit", "5", "--out", str(tmp_path)])
    rows = json.loads((tmp_path / "full_gaps.json").read_text())["rows"]
    assert [r["application"] for r in rows] == ["HeartEstm"]
    assert script.markdown_table(rows) in (tmp_path / "full_gaps.md").read_text()


def test_update_replaces_the_measured_rows_and_keeps_the_rest_in_order():
    script = _script()
    kept = _rows()
    new = {**next(r for r in kept if r["application"] == "EdgeDet" and r["hardware"].startswith("crossbar128")),
           "bound": -1.0}
    rows = script.merged(kept, [new])
    assert len(rows) == len(kept)
    assert [(r["application"], r["hardware"]) for r in rows] == [(r["application"], r["hardware"]) for r in kept]
    assert [r["bound"] for r in rows].count(-1.0) == 1
    assert next(r for r in rows if r["bound"] == -1.0) is new
