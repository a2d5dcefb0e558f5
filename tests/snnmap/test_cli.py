"""The command line: happy paths and one-line errors instead of tracebacks."""

from __future__ import annotations

import json

import pytest

from snnmap import registry
from snnmap.cli import MAP_OPTIONS, main
from snnmap.instances import save_network
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


def test_map_help_lists_every_method_with_its_summary(capsys):
    assert main(["map", "--help"]) == 0
    out = capsys.readouterr().out
    for m in registry.METHODS.values():
        assert any(line.split()[:2] == [m.name, m.kind] and m.summary in line for line in out.splitlines()), m.name


@pytest.fixture(scope="module")
def chain_file(tmp_path_factory):
    from snnmap.instances import SpikingNetwork

    net = SpikingNetwork.from_edges(6, [0, 1, 2, 3, 4], [1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 9], name="chain6")
    return save_network(net, tmp_path_factory.mktemp("sweep") / "chain.npz")


# One value per method option of `snnmap map` (cli.MAP_OPTIONS), each valid on its own.
SWEEP_VALUES = {"time_limit": ["--time-limit", "5"], "seed": ["--seed", "3"], "comm": ["--comm", "unicast"],
                "start": ["--start", "sequential"], "log_path": ["--log", "LOG"], "solver": ["--solver", "highs"],
                "threads": ["--threads", "1"], "mip_gap": ["--mip-gap", "0"], "force": ["--force"],
                # Latency needs a chip with latency numbers: the later -H wins.
                "max_step_time": ["--max-step-time", "1", "-H", "loihi"],
                "objective": ["--objective", "weighted", "-H", "loihi"]}


def test_sweep_covers_every_map_option():
    assert set(SWEEP_VALUES) == set(MAP_OPTIONS)


@pytest.mark.parametrize("option", sorted(MAP_OPTIONS))
@pytest.mark.parametrize("name", [n for n, m in registry.METHODS.items() if m.kind != "peer"])  # peers: test_peers.py
def test_every_method_option_pair_runs_or_is_refused_in_one_line(name, option, chain_file, tmp_path, capsys):
    log = tmp_path / "solver.log"
    flags = [str(log) if v == "LOG" else v for v in SWEEP_VALUES[option]]
    code = main(["map", str(chain_file), "-H", "crossbar128", "--mesh", "2x2", "--set", "n_max=2", "-m", name,
                 *flags])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if option in registry.METHODS[name].options:
        assert code == 0, out + err
        assert log.is_file() == (option == "log_path")
    else:
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert f"method {name!r} does not take {flags[0]}; it takes --time-limit, --seed, --comm" in err
