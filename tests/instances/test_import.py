"""NIR and edge-list import, including malformed input."""

import nir
import numpy as np
import pytest

from snnmap.instances.edgelist import load_edgelist, save_edgelist
from snnmap.instances.network import NetworkError
from snnmap.instances.nir_import import load_nir


def _graph(rng=np.random.default_rng(0)):
    shape = (2, 4, 4)
    return nir.NIRGraph(
        nodes={
            "in": nir.Input(input_type={"input": np.array([1, 6, 6])}),
            "conv": nir.Conv2d(input_shape=(6, 6), weight=rng.normal(0, 1, (2, 1, 3, 3)), stride=1, padding=0,
                               dilation=1, groups=1, bias=np.zeros(2)),
            "lif": nir.LIF(tau=np.full(shape, 0.01), r=np.full(shape, 10.0), v_leak=np.zeros(shape),
                           v_threshold=np.ones(shape)),
            "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
            "flat": nir.Flatten(input_type={"input": np.array([2, 2, 2])}, start_dim=0),
            "fc": nir.Affine(weight=rng.normal(0, 1, (3, 8)), bias=np.zeros(3)),
            "if": nir.IF(r=np.ones(3), v_threshold=np.ones(3)),
            "rec": nir.Linear(weight=-np.ones((3, 3)) + np.eye(3)),
            "out": nir.Output(output_type={"output": np.array([3])}),
        },
        edges=[("in", "conv"), ("conv", "lif"), ("lif", "pool"), ("pool", "flat"), ("flat", "fc"), ("fc", "if"),
               ("if", "rec"), ("rec", "if"), ("if", "out")],
    )


def test_nir_expansion_sizes_and_composition():
    g = _graph()
    net = load_nir(g, steps=50)
    assert net.population_names == ("in", "lif", "if")
    assert net.num_neurons == 36 + 32 + 3
    # conv: 2 maps x 16 outputs x 9 taps; lif -> (pool, flatten, affine) -> if: each lif neuron to 3; recurrent: 6
    assert net.num_synapses == 288 + 32 * 3 + 6
    # The composed weight lif(c, y, x) -> if(j) equals fc.weight[j, pooled index of (c, y, x)].
    pop, pre, post, w = net.population, net.pre, net.post, net.weights
    sel = (pop[pre] == 1) & (pop[post] == 2)
    local = pre[sel] - 36
    c, y, x = np.unravel_index(local, (2, 4, 4))
    pooled = c * 4 + (y // 2) * 2 + x // 2
    np.testing.assert_allclose(w[sel], g.nodes["fc"].weight[post[sel] - 68, pooled])
    assert net.provenance["spikes"] == "simulated" and net.total_spikes > 0


def test_nir_recorded_spikes_and_file(tmp_path):
    g = _graph()
    rec = {"in": np.ones((5, 1, 6, 6)), "lif": np.full((2, 4, 4), 2.0), "if": np.array([0, 1, 2])}
    net = load_nir(g, spikes=rec)
    assert net.provenance["spikes"] == "recorded"
    assert net.total_spikes == 36 * 5 + 32 * 2 + 3
    path = tmp_path / "g.nir"
    nir.write(path, g)
    assert load_nir(path, seed=1).fingerprint == load_nir(g, seed=1).fingerprint


def test_nir_bad_input():
    g = _graph()
    with pytest.raises(NetworkError, match="negative"):
        load_nir(g, spikes={"if": np.array([1, -1, 0])})
    with pytest.raises(NetworkError, match="3 neurons"):
        load_nir(g, spikes={"if": np.ones(4)})
    bad = nir.NIRGraph(
        nodes={"in": nir.Input(input_type={"input": np.array([4])}),
               "d": nir.Delay(delay=np.ones(4)),
               "out": nir.Output(output_type={"output": np.array([4])})},
        edges=[("in", "d"), ("d", "out")])
    with pytest.raises(NetworkError, match=r"node 'd' has unsupported type Delay.*Fix"):
        load_nir(bad)
    with pytest.raises(NetworkError, match="no such NIR file"):
        load_nir("/nonexistent/x.nir")


def test_edgelist_round_trip(tmp_path):
    from snnmap.instances.apps import build

    net = build("EdgeDet", "mini")
    e, s = tmp_path / "e.csv", tmp_path / "s.csv"
    save_edgelist(net, e, s)
    back = load_edgelist(e, s)
    assert back.fingerprint == net.fingerprint
    np.testing.assert_array_equal(back.weights, net.weights)


def test_edgelist_plain_formats(tmp_path):
    e, s = tmp_path / "e.csv", tmp_path / "s.csv"
    e.write_text("# a comment\n0,1\n1,2\n2,0\n")
    s.write_text("3\n0\n4.5\n")
    net = load_edgelist(e, s)
    assert net.num_neurons == 3 and net.num_synapses == 3 and net.weights is None
    assert net.spikes.tolist() == [3.0, 0.0, 4.5]


@pytest.mark.parametrize("edges,spikes,match", [
    ("pre,post\n0,1\n1,x\n", "neuron,spikes\n0,1\n", r"line 3, field 'post': 'x' is not a number"),
    ("pre,post\n0,1\n1,2,3\n", "1\n", r"line 3 has 3 fields"),
    ("src,dst\n0,1\n", "1\n", r"columns must be pre,post"),
    ("0,1.5\n", "1\n", r"field 'post'.*whole number"),
    ("0,-1\n", "1\n", r"field 'post'.*whole number"),
    ("0,1\n", "neuron,spikes\n0,2\n1,-3\n", r"line 3, field 'spikes'.*negative"),
    ("0,1\n0,1\n", "1\n1\n", r"duplicate synapse"),
    ("", "1\n", r"empty"),
])
def test_edgelist_malformed(tmp_path, edges, spikes, match):
    e, s = tmp_path / "e.csv", tmp_path / "s.csv"
    e.write_text(edges)
    s.write_text(spikes)
    with pytest.raises(NetworkError, match=match) as info:
        load_edgelist(e, s)
    assert str(tmp_path) in str(info.value)  # the message names the file


def test_edgelist_missing_file(tmp_path):
    with pytest.raises(NetworkError, match="no such edge-list file"):
        load_edgelist(tmp_path / "none.csv", tmp_path / "s.csv")
