"""The 10 applications: structure (sizes computed independently here), determinism, hardware fit, registry."""

import json
import math

import numpy as np
import pytest

from snnmap.hardware import load_hardware
from snnmap.instances.apps import (
    APPS,
    FULL_SUMMARY,
    app_module,
    app_rows,
    build,
    cache_path,
    declared_sizes,
    load_app,
    mini_path,
)
from snnmap.instances.io import save_network
from snnmap.instances.network import NetworkError


def _taps(n, k, s=1, p=0):
    """Valid (output, tap) pairs along one axis, counted by brute force."""
    out = (n + 2 * p - k) // s + 1
    return sum(1 for o in range(out) for d in range(k) if 0 <= o * s + d - p < n)


def _out(n, k, s=1, p=0):
    return (n + 2 * p - k) // s + 1


# Mini sizes by hand (layer by layer, see each builder's docstring).
MINI = {
    # 3x3 in; conv 2@2x2 -> 2x2x2 (8*4 syn); pool 2/2 -> 2 (8); dense 3 (6); out 2 (6)
    "LeNet": (9 + 8 + 2 + 3 + 2, 32 + 8 + 6 + 6),
    # 3x3 in; conv 2@2 -> 8 (32); pool 2/1 -> 2 (8); conv 3@1x1 -> 3 (6); fc 2 (6); out 2 (4)
    "AlexNet": (9 + 8 + 2 + 3 + 2 + 2, 32 + 8 + 6 + 6 + 4),
    # 2x2 in; two 3x3/p1 convs (1 ch, 4 taps each of 4 outputs); pool -> 1;
    # two 2-ch convs on 1x1 (centre tap); 3 dense of 2
    "VGG16": (4 + 4 + 4 + 1 + 2 + 2 + 2 + 2 + 2, 16 + 16 + 4 + 2 + 4 + 4 + 4 + 4),
    # 6 samples; conv 2@1x3 -> 2x4 (24); pool 1x2/2 -> 2x2 (8); fc 2 (8); out 2 (4)
    "HeartClass": (6 + 8 + 4 + 2 + 2, 24 + 8 + 8 + 4),
    "DigitRecogMLP": (9 + 6 + 4 + 3, 9 * 6 + 6 * 4 + 4 * 3),
    # 9 inputs, 5 exc, 5 inh: all-to-all, one-to-one, inh -> every other exc
    "DigitRecogSTDP": (9 + 5 + 5, 9 * 5 + 5 + 5 * 4),
    # 4x4 in, 2 orientations of 3x3 valid -> 2x2x2
    "EdgeDet": (16 + 8, 8 * 9),
    # 4x4 in -> 3x3 stride 2 pad 1 -> 2x2
    "ImgSmooth": (16 + 4, _taps(4, 3, 2, 1) ** 2),
    # retina 4, lagged 4, V1 2x4, MT 2x2, pursuit 2; syn: relay 4, direct 8, lagged 3+3, MT 8+8, pooling 4, lateral 2
    "VisualPursuit": (4 + 4 + 8 + 4 + 2, 4 + 8 + 6 + 8 + 8 + 4 + 2),
}


@pytest.fixture(scope="module")
def minis():
    return {app: build(app, "mini") for app in APPS}


@pytest.fixture(scope="module")
def rebuilt():
    return {app: build(app, "mini", rebuild=True) for app in APPS}


@pytest.mark.parametrize("app", [a for a in APPS if a in MINI])
def test_mini_sizes_by_hand(app, minis):
    net = minis[app]
    assert (net.num_neurons, net.num_synapses) == MINI[app]
    assert declared_sizes(app, "mini") == MINI[app]


def test_heartestm_mini_structure(minis):
    net = minis["HeartEstm"]
    names = list(net.population_names)
    assert names == ["input", "reservoir", "readout"]
    pop = net.population
    assert [int((pop == k).sum()) for k in range(3)] == [2, 18, 2]
    pre, post = net.pre, net.post
    # Input feeds only the reservoir; the readout receives every reservoir neuron and sends nothing.
    assert np.all(pop[post[pop[pre] == 0]] == 1)
    ro = pop[post] == 2
    assert ro.sum() == 18 * 2 and np.all(pop[pre[ro]] == 1)
    assert not np.any(pop[pre] == 2)
    assert not np.any(pre == post)
    # 20 % inhibitory reservoir neurons: exactly the ones with negative recurrent weights.
    rec = (pop[pre] == 1) & (pop[post] == 1)
    inh = np.unique(pre[rec & (net.weights < 0)])
    assert np.all(net.weights[rec & np.isin(pre, inh)] < 0) and len(inh) <= round(0.2 * 18)
    assert rec.sum() > 18  # recurrent


def test_stdp_topology(minis):
    net = minis["DigitRecogSTDP"]
    pop, pre, post = net.population, net.pre, net.post
    ie = (pop[pre] == 2) & (pop[post] == 1)
    # inhibitory k reaches every excitatory neuron but its partner k
    assert np.all((pre[ie] - 14) != (post[ie] - 9)) and ie.sum() == 20 and np.all(net.weights[ie] < 0)
    ei = (pop[pre] == 1) & (pop[post] == 2)
    assert np.all(post[ei] - pre[ei] == 5)


@pytest.mark.parametrize("app", APPS)
def test_mini_is_small_simulated_and_reproducible(app, minis, rebuilt):
    net, again = minis[app], rebuilt[app]
    assert net.num_neurons <= 32
    assert net.total_spikes > 0 and np.all(net.spikes == np.round(net.spikes))
    # Every population that receives synapses fires at least once: the spikes come from simulation.
    for k, name in enumerate(net.population_names):
        assert net.spikes[net.population == k].sum() > 0, f"{app}: population {name} is silent"
    for key in ("builder", "version", "seed", "data_source", "weight_source", "params", "scale"):
        assert key in net.provenance
    # Shipped file == fresh build: integer structure and spike counts identical everywhere; trained
    # weights within a tolerance (BLAS kernels differ in the last bits between CPUs, e.g. Intel vs AMD).
    for field in ("indptr", "indices", "spikes", "population"):
        a, b = getattr(net, field), getattr(again, field)
        assert a.dtype == b.dtype and np.array_equal(a, b), f"{app}: {field} differs"
    assert net.weights.dtype == again.weights.dtype
    np.testing.assert_allclose(again.weights, net.weights, rtol=1e-9, atol=1e-12, err_msg=f"{app}: weights differ")


def test_other_seed_changes_instance():
    a = build("DigitRecogMLP", "mini", seed=1)
    b = build("DigitRecogMLP", "mini", seed=1)
    c = build("DigitRecogMLP", "mini", seed=0)
    assert a.fingerprint == b.fingerprint != c.fingerprint


@pytest.mark.parametrize("app", APPS)
def test_mini_fits_crossbar_mini_and_needs_three_cores(app, minis):
    hw = load_hardware("crossbar-mini")
    lim = hw.limits
    net = minis[app]
    assert math.ceil(net.num_neurons / lim.n_max) >= 3
    # Sequential fill: neurons 0..n_max-1 on core 0, and so on; check every limit.
    core = np.arange(net.num_neurons) // lim.n_max
    assert core.max() < hw.num_cores
    pc = core[net.post]
    for c in range(core.max() + 1):
        on = pc == c
        assert np.unique(net.pre[on]).size <= lim.a_max
        assert on.sum() <= lim.syn_max


def _vgg_full():
    n, cin, neurons, syn = 32, 3, 3 * 32 * 32, 0
    for width, convs in zip([16, 32, 64, 128, 128], [2, 2, 3, 3, 3]):
        for _ in range(convs):
            syn += width * cin * (3 * n - 2) ** 2  # 3x3 pad 1: 3n - 2 valid taps per axis
            neurons += width * n * n
            cin = width
        syn += cin * n * n  # 2x2/2 pooling: each neuron feeds one
        n //= 2
        neurons += cin * n * n
    flat = cin * n * n
    for units in (512, 512, 10):
        syn += flat * units
        neurons += units
        flat = units
    return neurons, syn


def _alexnet_full():
    layers = [("c", 24, 11, 4, 2), ("p", 0, 3, 2, 0), ("c", 64, 5, 1, 2), ("p", 0, 3, 2, 0), ("c", 96, 3, 1, 1),
              ("c", 96, 3, 1, 1), ("c", 64, 3, 1, 1), ("p", 0, 3, 2, 0)]
    c, n, neurons, syn = 3, 96, 3 * 96 * 96, 0
    for kind, cout, k, s, p in layers:
        t = _taps(n, k, s, p) ** 2
        syn += (cout * c * t) if kind == "c" else c * t
        c = cout if kind == "c" else c
        n = _out(n, k, s, p)
        neurons += c * n * n
    flat = c * n * n
    for units in (1024, 1024, 10):
        syn += flat * units
        neurons += units
        flat = units
    return neurons, syn


FULL = {
    "LeNet": (1024 + 4704 + 1176 + 1600 + 400 + 120 + 84 + 10,
              6 * 28 * 28 * 25 + 4704 + 16 * 10 * 10 * 6 * 25 + 1600 + 120 * 400 + 120 * 84 + 84 * 10),
    "VGG16": _vgg_full(),
    "AlexNet": _alexnet_full(),
    "HeartClass": (256 + 8 * 250 + 8 * 125 + 16 * 121 + 16 * 60 + 64 + 4,
                   8 * 250 * 7 + 2000 + 16 * 8 * 121 * 5 + 1920 + 960 * 64 + 64 * 4),
    "DigitRecogMLP": (784 + 1200 + 1200 + 10, 784 * 1200 + 1200 * 1200 + 1200 * 10),
    "DigitRecogSTDP": (784 + 800, 784 * 400 + 400 + 400 * 399),
    "EdgeDet": (128 * 128 * 5, 4 * (3 * 128 - 2) ** 2),
    "ImgSmooth": (256 * 256 + 128 * 128, _taps(256, 5, 2, 2) ** 2),
    "VisualPursuit": (32 * 32 * 2 + 8 * 1024 + 8 * 16 * 16 + 8,
                      1024 + 8 * 1024 + 4 * 31 * 32 + 4 * 31 * 31 + 2 * 8 * _taps(32, 4, 2, 1) ** 2 + 8 * 256 + 56),
}


@pytest.mark.parametrize("app", APPS)
def test_full_sizes_declared_and_summarised(app):
    summary = json.loads(FULL_SUMMARY.read_text())
    declared = declared_sizes(app, "full")
    assert (summary[app]["neurons"], summary[app]["synapses"]) == declared
    if app in FULL:
        assert declared == FULL[app]


def test_full_scale_requirements():
    assert declared_sizes("LeNet", "full")[0] >= 5000
    assert declared_sizes("DigitRecogSTDP", "full")[0] >= 1000
    n_syn = declared_sizes("VGG16", "full")[1]
    assert 10_000_000 <= n_syn <= 40_000_000
    convs = [s for s in app_module("VGG16").SCALES["full"]["specs"] if s.kind == "conv"]
    dense = [s for s in app_module("VGG16").SCALES["full"]["specs"] if s.kind == "dense"]
    assert len(convs) == 13 and len(dense) == 3


def test_registry_names_and_errors(minis, tmp_path, monkeypatch):
    assert len(APPS) == 10
    assert load_app("lenet").fingerprint == minis["LeNet"].fingerprint
    assert load_app("VGG16:MINI").name == "VGG16:mini"
    with pytest.raises(NetworkError, match="LeNet, AlexNet, VGG16"):
        load_app("ResNet")
    with pytest.raises(NetworkError, match="unknown scale"):
        load_app("LeNet:huge")
    # A cached full instance is read from the cache, never rebuilt (cache from SNNMAP_CACHE).
    monkeypatch.setenv("SNNMAP_CACHE", str(tmp_path))
    marker = minis["EdgeDet"].replace(name="cached")
    save_network(marker, cache_path("EdgeDet", "full", 0))
    assert str(cache_path("EdgeDet", "full", 0)).startswith(str(tmp_path))
    assert load_app("edgedet:full").name == "cached"


def test_shipped_minis_exist_and_rows():
    assert all(mini_path(a).is_file() for a in APPS)
    rows = app_rows()
    assert len(rows) == 20 and {r["scale"] for r in rows} == {"mini", "full"}
    assert all(r["neurons"] > 0 and r["synapses"] > 0 and r["total_spikes"] > 0 for r in rows)


@pytest.mark.slow
@pytest.mark.parametrize("app", ["LeNet", "HeartEstm", "VisualPursuit", "EdgeDet"])
def test_full_build_matches_summary(app, tmp_path):
    net = load_app(f"{app}:full", cache_dir=tmp_path)
    assert cache_path(app, "full", 0, tmp_path).is_file()
    rec = json.loads(FULL_SUMMARY.read_text())[app]
    # The summary was measured on one machine. Sizes are integers and identical everywhere; spike counts come
    # from weights whose last bits depend on the CPU's BLAS, so a potential within rounding of the threshold may
    # fire one step apart elsewhere: a handful of spikes in 10^5 is allowed, not a different network.
    assert (net.num_neurons, net.num_synapses) == (rec["neurons"], rec["synapses"])
    assert net.total_spikes == pytest.approx(rec["total_spikes"], rel=1e-4)
