"""The command line's bad-input catalogue: every case a user can cause ends in one line, never a traceback.

Each row: the argv (``{tmp}`` is a scratch directory holding ``net.npz``, a 6-neuron chain;
``map.json``, its sequential mapping on ``HW``; ``other.json``, a mapping of another
network; ``afile``, a plain file; ``adir``, a directory; ``notes.txt``; ``small.dat``, a
5-facility QAPLIB file), the exit code, words the message must contain, and files that
must or must not exist afterwards. Runs in-process (fast).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import stat
from pathlib import Path

import numpy as np
import pytest

from snnmap import cli
from snnmap.cli import main
from snnmap.formulations import save_mapping
from snnmap.hardware import load_hardware
from snnmap.instances import SpikingNetwork, save_network


@dataclasses.dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    code: int
    words: tuple[str, ...]
    exists: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


NET = "{tmp}/net.npz"
HW = ("-H", "crossbar128", "--mesh", "2x2", "--set", "n_max=2")
TAKES = "it takes --time-limit, --seed, --comm"

CASES = [
    # options a method does not take (issue 10 item 5)
    Case(("map", "LeNet:mini", "-H", "crossbar-mini", "-m", "partition-refine", "--threads", "2"), 2,
         ("method 'partition-refine' does not take --threads", TAKES)),
    Case(("map", NET, *HW, "-m", "sequential", "--log", "{tmp}/s.log"), 2, ("'sequential' does not take --log",),
         absent=("{tmp}/s.log",)),
    Case(("map", NET, *HW, "-m", "greedy", "--start", "sequential"), 2, ("'greedy' does not take --start", TAKES)),
    Case(("map", NET, *HW, "-m", "cpsat", "--solver", "highs"), 2, ("'cpsat' does not take --solver", "--mip-gap")),
    Case(("map", NET, *HW, "-m", "auto", "--mip-gap", "0.1"), 2, ("'auto' does not take --mip-gap", "--threads")),
    Case(("map", NET, "-m", "magic"), 2, ("unknown method 'magic'", "partition-refine")),
    # unwritable outputs, checked before any work (issue 11 item 6)
    Case(("map", NET, *HW, "-m", "sequential", "-o", "/dev/full"), 2, ("--out /dev/full", "not a file"),
         exists=("/dev/full",)),
    Case(("map", NET, *HW, "-m", "sequential", "-o", "{tmp}/afile/m.json"), 2, ("afile is a file, not a directory",),
         absent=("{tmp}/afile/m.json",)),
    Case(("map", NET, *HW, "-m", "sequential", "-o", "{tmp}/adir"), 2, ("--out", "exists and is not a file",)),
    Case(("map", NET, *HW, "-m", "cpsat", "--log", "{tmp}/afile/x.log"), 2, ("--log", "is a file, not a directory")),
    Case(("map", NET, *HW, "-m", "sequential", "-o", "/proc/snnmap/m.json"), 2, ("cannot write in /proc",)),
    Case(("plot", NET, "{tmp}/map.json", *HW, "-o", "/dev/full"), 2, ("--out /dev/full", "not a file")),
    Case(("gap", "--out", "{tmp}/afile"), 2, ("--out", "exists and is not a directory")),
    Case(("gap", "--out", "/proc/snnmap-gap"), 2, ("cannot write in /proc",)),
    Case(("build", "LeNet", "--cache", "{tmp}/afile"), 2, ("--cache", "exists and is not a directory")),
    # sizes and numbers out of range, refused by the argument types
    Case(("map", NET, "--mesh", "100000x100000"), 2, ("--mesh", "at most 1000000 cores")),
    Case(("map", NET, "--mesh", "0x4"), 2, ("--mesh", "ROWSxCOLS")),
    Case(("map", NET, "--mesh", "4by4"), 2, ("--mesh", "ROWSxCOLS")),
    Case(("map", NET, "-m", "cpsat", "--seed", str(2**64)), 2, ("--seed", "0 to 2147483647")),
    Case(("map", NET, "--seed", "-1"), 2, ("--seed", "0 to 2147483647")),
    Case(("build", "LeNet", "--seed", "-1"), 2, ("--seed", "0 to 2147483647")),
    Case(("qap", "{tmp}/small.dat", "--seed", str(2**64)), 2, ("--seed",)),
    Case(("map", NET, "-m", "cpsat", "--threads", "-1"), 2, ("--threads", "1 to 1024")),
    Case(("map", NET, "-m", "milp", "--threads", "9" * 30), 2, ("--threads", "1 to 1024")),
    Case(("map", NET, "-m", "cpsat", "--mip-gap", "-1"), 2, ("--mip-gap", ">= 0")),
    Case(("map", NET, "-m", "cpsat", "--mip-gap", "inf"), 2, ("--mip-gap", ">= 0")),
    Case(("map", NET, "--fit", "--slack", "-1"), 2, ("--slack", "from 0 to 100")),
    Case(("map", NET, "--slack", "0.5"), 2, ("--slack", "add --fit")),
    Case(("map", NET, "--set", f"n_max={10**30}"), 2, ("--set n_max", "too large")),
    Case(("map", NET, "--set", "n_max"), 2, ("FIELD=VALUE",)),
    Case(("map", NET, "--hardware", "nochip"), 2, ("unknown hardware 'nochip'",)),
    Case(("gap", "--jobs", "0"), 2, ("--jobs", "1 to 1024")),
    Case(("map", NET, "--bogus"), 2, ("unrecognized arguments: --bogus",)),
    Case((), 2, ("required: command",)),
    # time limits: 0 is refused everywhere; 'none' (or leaving it out) is the method's default
    Case(("map", NET, "--time-limit", "0"), 2, ("--time-limit", "time_limit must be a positive", "'none'")),
    Case(("map", NET, "--time-limit", "nan"), 2, ("--time-limit", "positive")),
    Case(("map", NET, "--time-limit", "inf"), 2, ("--time-limit", "positive")),
    Case(("qap", "{tmp}/small.dat", "--time-limit", "0"), 2, ("--time-limit", "positive")),
    Case(("gap", "--time-limit", "0"), 2, ("--time-limit", "positive")),
    Case(("map", NET, *HW, "-m", "sequential", "--time-limit", "none", "-o", "{tmp}/ok.json"), 0, (),
         exists=("{tmp}/ok.json",)),
    Case(("map", NET, *HW, "-m", "sequential", "-o", "{tmp}/afile"), 0, ("mapping written",)),  # overwrites a file
    Case(("map", NET, *HW, "-m", "sequential", "-o", "{tmp}/new/dir/m.json"), 0, (),
         exists=("{tmp}/new/dir/m.json",)),
    Case(("qap", "{tmp}/small.dat", "-m", "bnb", "--time-limit", "none"), 0, ()),
    # networks that are not networks
    Case(("map", "{tmp}/adir"), 2, ("adir: is a directory", ".npz", "application name")),
    Case(("map", "{tmp}/notes.txt"), 2, ("unknown network format '.txt'", ".npz", "application name")),
    Case(("map", "NoSuchApp"), 2, ("no such file or application", "LeNet")),
    Case(("map", NET, "--spikes", "{tmp}/notes.txt"), 2, ("--spikes", ".csv")),
    Case(("build", "NoSuchApp"), 2, ("unknown application 'NoSuchApp'",)),
    Case(("qap", "{tmp}/missing.dat"), 2, ("missing.dat",)),
    # warm starts: a heuristic's name or a mapping file (issue 11 item 8)
    Case(("map", NET, *HW, "-m", "cpsat", "--start", "{tmp}/map.json", "-o", "{tmp}/warm.json"), 0, ("optimal",),
         exists=("{tmp}/warm.json",)),
    Case(("map", NET, *HW, "-m", "milp", "--start", "greedy"), 0, ("optimal",)),
    Case(("map", NET, *HW, "-m", "cpsat", "--start", "{tmp}/other.json"), 2, ("made for network",)),
    Case(("map", NET, *HW, "-m", "milp", "--start", "cpsat"), 2, ("'cpsat' is not a heuristic", "greedy")),
    Case(("map", NET, *HW, "-m", "milp", "--start", "nosuch"), 2, ("neither a heuristic", "nor a mapping file")),
    Case(("evaluate", NET, "{tmp}/missing.json", *HW), 2, ("no such mapping file",)),
    Case(("evaluate", NET, "{tmp}/other.json", *HW), 2, ("made for network",)),
]

# SANA-FE co-simulation (issue 12): `lmap.json` maps net.npz on loihi's first tile; `ok.yaml` is a SANA-FE
# network with its mapping, `conv3d.yaml` one with an edge type the reader does not support, `plain.yaml`
# YAML that is no SANA-FE network. Runs where the snnmap[sanafe] extra is installed.
LMAP = "{tmp}/lmap.json"
SANAFE_CASES = [
    Case(("simulate", NET, LMAP), 0, ("SANA-FE 2.2.9", "total", "time per step")),
    Case(("export", NET, LMAP, "--format", "sanafe", "-o", "{tmp}/exp"), 0, ("network.yaml",),
         exists=("{tmp}/exp/arch.yaml", "{tmp}/exp/network.yaml")),
    Case(("simulate", NET, "{tmp}/other.json"), 2, ("made for network",)),
    Case(("export", NET, "{tmp}/other.json", "--format", "sanafe", "-o", "{tmp}/exp2"), 2, ("made for network",),
         absent=("{tmp}/exp2",)),
    Case(("simulate", NET, LMAP, "--set", "n_max=1"), 2, ("breaks a limit of loihi", "n_max=1")),
    Case(("simulate", NET, "{tmp}/map.json", *HW), 2, ("'crossbar128'", "is not one SANA-FE models")),
    Case(("simulate", NET, LMAP, "--set", "e_local=0"), 2, ("e_local", "set e_local = e_route")),
    Case(("simulate", NET, LMAP, "--comm", "unicast"), 2, ("is unicast", "one message per destination core")),
    Case(("simulate", NET, LMAP, "--steps", "3"), 2, ("spikes 9 times", "at least that many steps")),
    Case(("simulate", "{tmp}/plain.yaml", "{tmp}/plain.yaml", "--steps", "4"), 2, ("not a SANA-FE network file",)),
    Case(("simulate", "{tmp}/conv3d.yaml", "{tmp}/conv3d.yaml", "--steps", "4"), 2,
         ("edge type 'conv3d' is not supported", "conv2d, dense, sparse")),
    Case(("simulate", "{tmp}/ok.yaml", "{tmp}/ok.yaml"), 2, ("give --steps",)),
    Case(("simulate", "{tmp}/ok.yaml", "{tmp}/ok.yaml", "--steps", "4"), 0, ("own simulation", "total")),
    Case(("simulate", NET, "{tmp}/ok.yaml"), 2, ("mapping is for network",)),
    Case(("export", "{tmp}/ok.yaml", "{tmp}/ok.yaml", "--format", "sanafe", "-o", "{tmp}/exp3"), 2,
         ("already a SANA-FE network file",)),
    Case(("export", NET, LMAP, "--format", "sanafe", "-o", "{tmp}/afile"), 2,
         ("--out", "exists and is not a directory")),
    Case(("export", NET, LMAP, "--format", "nest", "-o", "{tmp}/exp4"), 2, ("--format", "sanafe")),
]
SANAFE_NET = """network:
  name: two
  groups:
  - name: a
    attributes: {soma_hw_name: loihi_lif, synapse_hw_name: loihi_dense_synapse, threshold: 1.0}
    neurons:
    - 0..1: {bias: 0.6}
  - name: b
    attributes: {soma_hw_name: loihi_lif, synapse_hw_name: loihi_dense_synapse, threshold: 1.0}
    neurons:
    - 0..1: {}
  edges:
  - a -> b: {type: EDGE, weight: [1.0, 1.0, 1.0, 1.0]}
mappings:
- a: {core: '0.0'}
- b: {core: '0.1'}
"""


def _qaplib(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 10, (n, n)), rng.integers(0, 10, (n, n))
    np.fill_diagonal(a, 0)
    np.fill_diagonal(b, 0)
    path.write_text(f"{n}\n\n" + "\n".join(" ".join(map(str, row)) for row in (*a, *b)) + "\n")
    return path


@pytest.fixture(scope="module")
def tmp(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("catalogue")
    net = SpikingNetwork.from_edges(6, [0, 1, 2, 3, 4], [1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 9], name="chain6")
    other = SpikingNetwork.from_edges(6, [0, 1], [1, 2], [1, 1, 1, 1, 1, 1], name="other6")
    save_network(net, root / "net.npz")
    hw = load_hardware("crossbar128", mesh=(2, 2), n_max=2)
    save_mapping(root / "map.json", np.array([0, 0, 1, 1, 2, 2]), net, hw)
    save_mapping(root / "other.json", np.array([0, 0, 1, 1, 2, 2]), other, hw)
    (root / "afile").write_text("a plain file\n")  # a mapping is written over it by one case; stays a file
    (root / "notes.txt").write_text("not a network\n")
    (root / "adir").mkdir()
    _qaplib(root / "small.dat", 5, seed=1)
    save_mapping(root / "lmap.json", np.array([0, 0, 1, 1, 2, 2]), net, load_hardware("loihi", mesh=(1, 1)))
    (root / "ok.yaml").write_text(SANAFE_NET.replace("EDGE", "dense"))
    (root / "conv3d.yaml").write_text(SANAFE_NET.replace("EDGE", "conv3d"))
    (root / "plain.yaml").write_text("architecture: {name: not a network}\n")
    return root


def _fill(text: str, tmp: Path) -> str:
    return text.replace("{tmp}", str(tmp))


@pytest.mark.parametrize("case", [
    *CASES,
    *(pytest.param(c, marks=pytest.mark.skipif(importlib.util.find_spec("sanafe") is None,
                                                reason='needs pip install "snnmap[sanafe]"')) for c in SANAFE_CASES),
], ids=lambda c: " ".join(c.argv)[:70] or "(no command)")
def test_catalogue(case: Case, tmp: Path, capsys) -> None:
    code = main([_fill(a, tmp) for a in case.argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert code == case.code, err
    text = err if code else out
    for word in case.words:
        assert _fill(word, tmp) in text, text
    if code:
        assert len(err.strip().splitlines()) == 1, err
    for path in case.exists:
        assert Path(_fill(path, tmp)).exists(), path
    for path in case.absent:
        assert not Path(_fill(path, tmp)).exists(), path


def test_dev_full_is_never_replaced(tmp: Path) -> None:
    assert main(["map", str(tmp / "net.npz"), *HW, "-m", "sequential", "-o", "/dev/full"]) == 2
    assert stat.S_ISCHR(Path("/dev/full").stat().st_mode)


@pytest.mark.parametrize("exc, words", [
    (MemoryError(), "out of memory"),
    (OverflowError("int too large to convert to C long"), "a number is too large"),
    (OSError(28, "No space left on device", "m.json"), "m.json: No space left on device"),
    (FileExistsError(17, "File exists", "afile"), "afile: File exists"),
])
def test_errors_raised_inside_a_run_are_one_line(exc, words, tmp, monkeypatch, capsys) -> None:
    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(cli.api, "load_network", fail)
    assert main(["map", str(tmp / "net.npz"), "-m", "sequential"]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("command", ["simulate", "export"])
def test_missing_sanafe_extra_is_one_line(command, tmp, monkeypatch, capsys) -> None:
    from snnmap import sanafe_bridge

    def missing(name):
        raise ImportError(name)

    monkeypatch.setattr(sanafe_bridge.importlib, "import_module", missing)
    extra = ("--format", "sanafe", "-o", str(tmp / "exp5")) if command == "export" else ()
    assert main([command, str(tmp / "net.npz"), str(tmp / "lmap.json"), *extra]) == 2
    err = capsys.readouterr().err
    assert 'pip install "snnmap[sanafe]"' in err and len(err.strip().splitlines()) == 1


def test_write_failure_after_the_run_keeps_the_printed_result(tmp, monkeypatch, capsys) -> None:
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp / "m.json"))

    monkeypatch.setattr(cli, "save_mapping", full)
    assert main(["map", str(tmp / "net.npz"), *HW, "-m", "sequential", "-o", str(tmp / "m.json")]) == 2
    out, err = capsys.readouterr()
    assert "total" in out and "No space left on device" in err and not (tmp / "m.json").exists()


def test_qap_bnb_has_a_default_time_limit_and_a_progress_line(tmp, monkeypatch, capsys) -> None:
    assert main(["qap", "--help"]) == 0
    assert "bnb stops after 300 s" in " ".join(capsys.readouterr().out.split())
    monkeypatch.setattr(cli, "QAP_BNB_SECONDS", 6.0)  # bnb reports every 5 s
    assert main(["qap", str(_qaplib(tmp / "n22.dat", 22, seed=2)), "-m", "bnb"]) == 0
    out, err = capsys.readouterr()
    assert "time_limit" in out and "qap bnb:" in err and "nodes, incumbent" in err
