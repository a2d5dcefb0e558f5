"""The command line: happy paths and one-line errors instead of tracebacks."""

from __future__ import annotations

import json

import pytest

from snnmap.instances import save_network
from snnmap.cli import main
from tests.helpers import random_network


@pytest.fixture
def net_file(tmp_path):
    return save_network(random_network(120, 600, seed=5), tmp_path / "net.npz")


def test_hardware_lists_presets(capsys):
    assert main(["hardware"]) == 0
    out = capsys.readouterr().out
    for name in ("crossbar128", "loihi", "truenorth", "dynapse"):
        assert name in out


def test_map_then_evaluate_round_trip(tmp_path, net_file, capsys):
    out_file = tmp_path / "m.json"
    assert main(["map", str(net_file), "--fit", "--method", "sequential", "--out", str(out_file)]) == 0
    printed = capsys.readouterr().out
    assert "E_comm" in printed and "all limits met" in printed
    saved = json.loads(out_file.read_text())
    assert len(saved["core_of"]) == 120 and saved["network_fingerprint"]
    assert main(["evaluate", str(net_file), str(out_file), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["feasible"] and report["energy"] == pytest.approx(saved["meta"]["energy"])


def test_evaluate_refuses_a_mapping_of_another_network(tmp_path, net_file, capsys):
    out_file = tmp_path / "m.json"
    main(["map", str(net_file), "--fit", "--out", str(out_file)])
    other = save_network(random_network(120, 600, seed=6), tmp_path / "other.npz")
    assert main(["evaluate", str(other), str(out_file)]) == 2
    assert "made for network" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["map", "missing.npz"], "no such network file"),
        (["map", "NET", "--hardware", "nope"], "unknown hardware 'nope'"),
        (["map", "NET", "--set", "n_max=0"], "n_max=0"),
        (["map", "NET", "--mesh", "4by4"], "use ROWSxCOLS"),
        (["map", "NET", "--method", "magic"], "unknown method 'magic'"),
        (["map", "NET", "--time-limit", "-1"], "time_limit"),
    ],
)
def test_errors_are_one_line(argv, message, net_file, capsys):
    argv = [str(net_file) if a == "NET" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_map_reports_infeasible_with_cores_needed(net_file, capsys):
    assert main(["map", str(net_file), "--mesh", "1x1", "--set", "n_max=16", "--method", "sequential"]) == 1
    assert "needs" in capsys.readouterr().out
