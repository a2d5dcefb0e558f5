"""Catalogue of bad (and good) files, as a hostile but honest user would give them (issue 11, items 3, 4, 6-8).

Each row makes its files in ``tmp_path``, runs the ``snnmap`` command in-process
(or one API call), and checks the exit code, the words the one-line message
must contain, that no traceback is shown, and which files must or must not exist.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from snnmap.cli import main
from snnmap.instances import SpikingNetwork, save_network
from snnmap.instances.edgelist import save_edgelist

BOM = b"\xef\xbb\xbf"


def chain() -> SpikingNetwork:
    """Four neurons, four synapses: 0 -> 1, 0 -> 2, 1 -> 2, 2 -> 3."""
    return SpikingNetwork.from_edges(4, [0, 0, 1, 2], [1, 2, 2, 3], [3.0, 1.0, 2.0, 0.0], name="chain")


def network_doc() -> dict:
    return {"format": "snnmap-network", "version": 1, "name": "chain", "num_neurons": 4, "t_run": 1.0,
            "pre": [0, 0, 1, 2], "post": [1, 2, 2, 3], "spikes": [3.0, 1.0, 2.0, 0.0]}


def mapping_doc(**changes) -> dict:
    doc = {"format": "snnmap-mapping", "version": 1, "network": "chain", "network_fingerprint": chain().fingerprint,
           "num_neurons": 4, "hardware": "crossbar-mini", "num_cores": 8, "mesh": [2, 4], "core_of": [0, 0, 1, 2]}
    doc.update(changes)
    return doc


def preset_text(**replace: str) -> str:
    text = (importlib.resources.files("snnmap.hardware") / "presets" / "crossbar-mini.toml").read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


def write_json(path: Path, doc, bom: bool = False) -> None:
    path.write_bytes((BOM if bom else b"") + json.dumps(doc).encode())


def npz_arrays(**changes) -> dict:
    net = chain()
    meta = {"format": "snnmap-network", "version": 1, "name": "chain", "num_neurons": 4, "t_run": 1.0,
            "population_names": ["all"], "provenance": {}}
    arrays = {"indptr": net.indptr, "indices": net.indices, "spikes": net.spikes,
              "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    arrays.update(changes)
    return arrays


def nir_graph(tau, *, weight=None, type_check=True, input_size=2):
    """Input(2) -> Affine -> LIF -> Output, LIF parameters of tau's shape (Norse writes shape (1,))."""
    import nir

    w = np.array([[1.0, 0.5]]) if weight is None else weight
    like = np.ones_like(tau, dtype=float)
    return nir.NIRGraph(
        nodes={"in": nir.Input(input_type={"input": np.array([input_size])}),
               "fc": nir.Affine(weight=w, bias=np.zeros(w.shape[0])),
               "lif": nir.LIF(tau=tau, r=like * 10, v_leak=like * 0, v_threshold=like),
               "out": nir.Output(output_type={"output": np.array([w.shape[0]])})},
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")],
        type_check=type_check,
    )


def load_nir_graph(**kwargs) -> Callable[[Path], None]:
    """An API call: import a NIR graph object (not type-checked, as a user's exporter may make it)."""
    def call(d: Path) -> None:
        from snnmap.instances.nir_import import load_nir

        net = load_nir(nir_graph(type_check=False, **kwargs), steps=20)
        assert net.num_neurons == 2 + (kwargs["weight"].shape[0] if "weight" in kwargs else 1)
    return call


# ------------------------------------------------------------------ setups
# Each writes the files of one case into the directory it is given.
def net_json(**changes) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        doc = network_doc()
        doc.update(changes)
        write_json(d / "net.json", doc)
    return make


def net_npz(**changes) -> Callable[[Path], None]:
    return lambda d: np.savez(d / "net.npz", **npz_arrays(**changes))


def with_mapping(**changes) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        save_network(chain(), d / "net.json")
        write_json(d / "m.json", mapping_doc(**changes))
    return make


def toml(**replace: str) -> Callable[[Path], None]:
    return lambda d: (d / "chip.toml").write_text(preset_text(**replace))


def toml_without(key: str) -> Callable[[Path], None]:
    lines = preset_text().splitlines(keepends=True)
    return lambda d: (d / "chip.toml").write_text("".join(ln for ln in lines if not ln.startswith(f"{key} =")))


def edge_csv(edges: str, spikes: str = "neuron,spikes\n0,1\n") -> Callable[[Path], None]:
    def make(d: Path) -> None:
        (d / "e.csv").write_text(edges)
        (d / "e.spikes.csv").write_text(spikes)
    return make


def nir_file(tau) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        import nir

        nir.write(d / "g.nir", nir_graph(tau))
    return make


def bom_files(d: Path) -> None:
    net = chain()
    save_network(net, d / "plain.json")
    (d / "net.json").write_bytes(BOM + (d / "plain.json").read_bytes())
    write_json(d / "m.json", mapping_doc(), bom=True)
    (d / "chip.toml").write_bytes(BOM + preset_text().encode())
    save_edgelist(net, d / "e.csv", d / "e.spikes.csv")
    for name in ("e.csv", "e.spikes.csv"):
        (d / name).write_bytes(BOM + (d / name).read_bytes())
    (d / "q.dat").write_bytes(BOM + b"2\n0 1\n1 0\n0 3\n3 0\n")


EVAL = ["evaluate", "net.json", "m.json", "-H", "crossbar-mini"]
MAP = ["map", "net.json", "-H", "crossbar-mini", "-m", "greedy", "-o", "out.json"]
MAP_NPZ = ["map", "net.npz", "-H", "crossbar-mini", "-m", "greedy", "-o", "out.json"]


@dataclasses.dataclass(frozen=True)
class Case:
    """One row: files to make, the command (or API call), the expected exit code and message words, files after.

    An API call's refusal (a ``ValueError``) counts as exit code 2, its success as 0.
    """

    id: str
    setup: Callable[[Path], None] | None
    argv: list[str] | Callable[[Path], None]
    code: int
    words: tuple[str, ...] = ()
    exist: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


CASES = [
    # Item 3: whole numbers only, duplicates refused, every refusal names file, field and index.
    Case("json-pre-fraction", net_json(pre=[0, 0, 1, 2.5]), MAP, 2,
         ("net.json", "'pre'", "entry 3", "2.5 is not a whole number"), absent=("out.json",)),
    Case("json-post-fraction", net_json(post=[1, 2, 2, 10.6]), MAP, 2, ("net.json", "'post'", "entry 3", "10.6")),
    Case("json-pre-bool", net_json(pre=[0, True, 1, 2]), MAP, 2, ("net.json", "'pre'", "entry 1", "true")),
    Case("json-pre-text", net_json(pre=[0, "0", 1, 2]), MAP, 2, ("net.json", "'pre'", "entry 1", "'0' is text")),
    Case("json-post-out-of-range", net_json(post=[1, 2, 2, 4]), MAP, 2, ("net.json", "'post'", "entry 3", "0..3")),
    Case("json-duplicate-synapse", net_json(pre=[0, 0, 1, 1], post=[1, 2, 2, 2]), MAP, 2,
         ("net.json", "duplicate synapse (1, 2) at entries 2 and 3")),
    Case("json-spikes-nan", net_json(spikes=[3.0, float("nan"), 2.0, 0.0]), MAP, 2,
         ("net.json", "'spikes'", "entry 1", "nan")),
    Case("json-spikes-negative", net_json(spikes=[3.0, -1.0, 2.0, 0.0]), MAP, 2, ("net.json", "'spikes'", "entry 1")),
    Case("json-spikes-text", net_json(spikes=[3.0, "1", 2.0, 0.0]), MAP, 2, ("net.json", "'spikes'", "text")),
    Case("json-num-neurons-bool", net_json(num_neurons=True), MAP, 2, ("net.json", "'num_neurons'", "true")),
    Case("json-t-run-huge", net_json(t_run=10**400), MAP, 2, ("net.json", "'t_run'")),
    Case("mapping-core-fraction", with_mapping(core_of=[0, 0, 2.6, 2]), EVAL, 2,
         ("m.json", "'core_of'", "entry 2", "2.6 is not a whole number")),
    Case("mapping-core-text", with_mapping(core_of=[0, 0, "2", 2]), EVAL, 2,
         ("m.json", "'core_of'", "entry 2", "text")),
    Case("mapping-core-bool", with_mapping(core_of=[0, 0, True, 2]), EVAL, 2,
         ("m.json", "'core_of'", "entry 2", "true/false")),
    Case("mapping-core-negative", with_mapping(core_of=[0, -1, 1, 2]), EVAL, 2, ("m.json", "'core_of'", "entry 1")),
    Case("npz-duplicate-synapse", net_npz(indices=np.array([1, 1, 2, 3])), MAP_NPZ, 2,
         ("net.npz", "duplicate synapse (0, 1)", "merge")),
    Case("npz-unsorted-row", net_npz(indices=np.array([2, 1, 2, 3])), MAP_NPZ, 2, ("net.npz", "not sorted")),
    Case("npz-fractional-indices", net_npz(indices=np.array([1.0, 2.5, 2.0, 3.0])), MAP_NPZ, 2,
         ("net.npz", "'indices'", "entry 1", "2.5")),
    Case("npz-negative-spikes", net_npz(spikes=np.array([3.0, -1.0, 2.0, 0.0])), MAP_NPZ, 2,
         ("net.npz", "'spikes'", "entry 1")),
    Case("npz-nan-spikes", net_npz(spikes=np.array([3.0, np.nan, 2.0, 0.0])), MAP_NPZ, 2,
         ("net.npz", "'spikes'", "nan")),
    Case("csv-fraction", edge_csv("pre,post\n0,1\n1,2.5\n"), ["map", "e.csv", "-H", "crossbar-mini", "-m", "greedy"],
         2, ("e.csv", "line 3", "'post'", "2.5")),
    Case("csv-duplicate", edge_csv("pre,post\n0,1\n0,1\n"), ["map", "e.csv", "-H", "crossbar-mini"], 2,
         ("e.csv", "duplicate synapse (0, 1)")),
    # Item 6: huge sizes, huge integers, binary files, unclear messages.
    Case("toml-huge-mesh", toml(**{"mesh = [2, 4]": "mesh = [100000, 100000]"}), ["map", "net.json", "-H", "chip.toml"],
         2, ("chip.toml", "10,000,000,000 cores", "GiB", "smaller mesh")),
    Case("cli-huge-mesh-override", net_json(), ["map", "net.json", "-H", "crossbar-mini", "--mesh", "100000x100000"],
         2, ("--mesh", "100000x100000", "at most 1000000 cores")),
    Case("json-num-neurons-1e12", net_json(num_neurons=10**12), MAP, 2,
         ("net.json", "num_neurons=1000000000000", "TiB", "check the neuron count")),
    Case("json-num-neurons-float", net_json(num_neurons=1e12), MAP, 2,
         ("net.json", "num_neurons=1000000000000")),
    Case("json-id-1e30", net_json(pre=[0, 0, 1, 10**30]), MAP, 2, ("net.json", "'pre'", "entry 3", "64-bit")),
    Case("json-id-1e30-float", net_json(post=[1, 2, 2, 1e30]), MAP, 2, ("net.json", "'post'", "entry 3", "1e+30")),
    Case("mapping-core-1e30", with_mapping(core_of=[0, 0, 10**30, 2]), EVAL, 2,
         ("m.json", "'core_of'", "entry 2", "64-bit")),
    Case("csv-id-1e23", edge_csv("pre,post\n0,1\n1,1e23\n"), ["map", "e.csv", "-H", "crossbar-mini"], 2,
         ("e.csv", "line 3", "'post'", "1e+23", "64-bit")),
    Case("csv-id-1e12", edge_csv("pre,post\n0,1\n1,1000000000000\n"), ["map", "e.csv", "-H", "crossbar-mini"], 2,
         ("e.csv", "num_neurons=1000000000001", "TiB", "1000000000000")),
    Case("qap-binary", lambda d: (d / "q.dat").write_bytes(bytes(range(256))), ["qap", "q.dat"], 2,
         ("q.dat", "not a UTF-8 text file", "QAPLIB")),
    Case("qap-entry-1e30", lambda d: (d / "q.dat").write_text("2\n0 1\n1 0\n0 " + "1" + "0" * 30 + "\n3 0\n"),
         ["qap", "q.dat"], 2, ("q.dat", "token 7", "64-bit")),
    Case("npz-is-text", lambda d: (d / "net.npz").write_text("pre,post\n0,1\n"), MAP_NPZ, 2,
         ("net.npz", "not an snnmap .npz network", "text file")),
    Case("npz-with-objects", lambda d: np.savez(d / "net.npz", indptr=np.array([{"a": 1}], dtype=object)), MAP_NPZ, 2,
         ("net.npz", "Python objects")),
    Case("mapping-num-cores-text", with_mapping(num_cores="8"), EVAL, 2, ("m.json", "'num_cores'", "'8' is text")),
    Case("mapping-mesh-fraction", with_mapping(mesh=[2, 4.5]), EVAL, 2, ("m.json", "'mesh'", "4.5")),
    Case("nir-shape-1-params", nir_file(np.array([0.02])), ["map", "g.nir", "-H", "crossbar-mini", "-m", "greedy"], 0),
    Case("nir-shape-1-params-api", None, load_nir_graph(tau=np.array([0.02]), weight=np.ones((3, 2))), 0),
    Case("nir-weight-shape", None, load_nir_graph(tau=np.array([0.02]), weight=np.ones((3, 5))), 2,
         ("node 'fc'", "(outputs, inputs)")),
    Case("nir-fractional-input-size", None, load_nir_graph(tau=np.array([0.02]), input_size=2.5), 2,
         ("node 'in'", "'input_type'", "2.5 is not a whole number")),
    Case("nir-text-parameter", None, load_nir_graph(tau=np.array(["fast"])), 2, ("node 'lif'", "LIF", "fast")),
    # Item 7: required energies, non-finite totals.
    Case("toml-missing-energy", toml_without("e_syn"),
         ["map", "net.json", "-H", "chip.toml"], 2, ("chip.toml", "e_syn is required", "0.0")),
    Case("toml-missing-energy-table", lambda d: (d / "chip.toml").write_text(preset_text().split("[energy]")[0]),
         ["map", "net.json", "-H", "chip.toml"], 2, ("chip.toml", "e_spike, e_syn, e_local, e_route, e_hop, p_static")),
    Case("toml-missing-mesh", toml_without("mesh"), ["map", "net.json", "-H", "chip.toml"], 2,
         ("chip.toml", "mesh is required")),
    Case("toml-energy-overflow", lambda d: (toml(**{"e_syn = 2.0e-11": "e_syn = 1e308"})(d), net_json()(d)),
         ["map", "net.json", "-H", "chip.toml", "-m", "sequential", "-o", "out.json"], 2,
         ("chip.toml", "E_synapse", "overflows", "e_syn"), absent=("out.json",)),
    Case("toml-energy-inf", toml(**{"e_syn = 2.0e-11": "e_syn = inf"}), ["map", "net.json", "-H", "chip.toml"], 2,
         ("chip.toml", "e_syn=inf", "finite")),
    # Item 8: files with a UTF-8 byte-order mark read as without one.
    Case("bom-json-network-and-mapping", bom_files, ["evaluate", "net.json", "m.json", "-H", "chip.toml"], 0,
         ("E_synapse",)),
    Case("bom-csv", bom_files, ["map", "e.csv", "-H", "crossbar-mini", "-m", "greedy", "-o", "out.json"], 0,
         exist=("out.json",)),
    Case("bom-qaplib", bom_files, ["qap", "q.dat"], 0, ("n = 2",)),
    # Item 4: outputs are written whole, through a temporary name.
    Case("map-writes-output", net_json(), MAP, 0, ("mapping written to out.json",), exist=("out.json",)),
    Case("output-under-a-file", lambda d: (d / "afile").write_text("x"),
         ["map", "net.json", "-H", "crossbar-mini", "-m", "greedy", "-o", "afile/m.json"], 2, ("afile",),
         absent=("afile/m.json",)),
    Case("output-to-a-device", None, ["map", "net.json", "-H", "crossbar-mini", "-m", "greedy", "-o", "/dev/full"], 2,
         ("/dev/full",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_catalogue(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if case.setup is not None:
        case.setup(tmp_path)
    if not callable(case.argv) and "net.json" in case.argv and not (tmp_path / "net.json").exists():
        save_network(chain(), tmp_path / "net.json")  # a good network for hardware and output cases
    if callable(case.argv):
        try:
            case.argv(tmp_path)
            code, message = 0, ""
        except ValueError as exc:
            code, message = 2, f"snnmap: error: {exc}"
        out, err = capsys.readouterr()
        err += message
    else:
        code = main(case.argv)
        out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    assert code == case.code, (out, err)
    text = out + err
    for word in case.words:
        assert word in text, (word, text)
    if case.code == 2:
        assert len(err.strip().splitlines()) == 1, err  # one clear line
    for name in case.exist:
        assert (tmp_path / name).is_file()
    for name in case.absent:
        assert not (tmp_path / name).exists()
    assert not list(tmp_path.glob(".*.tmp")), "a temporary file was left behind"


def test_mapping_written_by_map_reads_back(tmp_path, monkeypatch, capsys):
    """The written mapping file is whole: it scores to the energy the map command printed."""
    monkeypatch.chdir(tmp_path)
    save_network(chain(), tmp_path / "net.json")
    assert main(MAP) == 0
    assert main(["evaluate", "net.json", "out.json", "-H", "crossbar-mini", "--json"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out[out.index("{"):])
    assert doc["feasible"] and doc["energy"] > 0


def test_output_onto_a_directory_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    save_network(chain(), tmp_path / "net.json")
    (tmp_path / "out.json").mkdir()
    assert main(MAP) == 2
    err = capsys.readouterr().err
    assert "out.json" in err and "exists and is not a" in err and "Traceback" not in err
