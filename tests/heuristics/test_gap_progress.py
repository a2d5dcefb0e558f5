"""scripts/gap_progress.py: two full_gaps runs side by side."""

from __future__ import annotations

import json

import pytest

from tests.helpers import load_script


def row(app: str, comm: float, gap: float | None, hops: float, cores: int) -> dict:
    return {"application": app, "hardware": "crossbar128@4x4", "energy_terms": {"comm": comm, "static": 1.0},
            "gap_mapping": gap, "hops_per_packet": hops, "cores_used": cores}


def test_rows_pair_up_by_application_and_chip_and_show_the_change(tmp_path):
    mod = load_script("gap_progress")
    before = {"created": "t0", "time_limit": 40.0, "rows": [row("A", 3.0, 1.5, 4.0, 10), row("B", 1.0, None, 2.0, 5)]}
    after = {"created": "t1", "time_limit": 40.0, "rows": [row("A", 1.0, 0.5, 1.5, 8), row("C", 1.0, 0.1, 1.0, 1)]}
    paths = [tmp_path / "before.json", tmp_path / "after.json"]
    for path, doc in zip(paths, (before, after)):
        path.write_text(json.dumps(doc))
    mod.main(["--before", str(paths[0]), "--after", str(paths[1]), "--out", str(tmp_path / "p.md")])
    text = (tmp_path / "p.md").read_text()
    assert "| A | crossbar128@4x4 | 4 J | 2 J | -50.0 % | 150.0 % | 50.0 % | 4.00 / 1.50 | 10 / 8 |" in text
    assert "| B |" not in text and "| C |" not in text  # only rows present in both runs
    with pytest.raises(SystemExit, match="cannot read a full_gaps.json"):
        mod.main(["--before", str(tmp_path / "missing.json"), "--after", str(paths[1])])
