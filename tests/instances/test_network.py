"""The network model and its files: construction, round trips, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from snnmap.instances import NetworkError, SpikingNetwork, load_network_file, save_network
from tests.helpers import random_network


def test_from_edges_sorts_into_csr():
    net = SpikingNetwork.from_edges(4, [2, 0, 0, 1], [3, 2, 1, 3], [1, 2, 3, 4], populations=["a", "b", "b", "c"])
    assert net.pre.tolist() == [0, 0, 1, 2] and net.post.tolist() == [1, 2, 3, 3]
    assert net.indptr.tolist() == [0, 2, 3, 4, 4]
    assert net.population_names == ("a", "b", "c") and net.population.tolist() == [0, 1, 1, 2]
    assert net.in_degree.tolist() == [0, 1, 1, 2] and net.out_degree.tolist() == [2, 1, 1, 0]
    with pytest.raises(ValueError):
        net.spikes[0] = 5  # immutable arrays


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_lossless_round_trip(tmp_path, suffix):
    net = random_network(50, 300, seed=1).replace(t_run=0.25, provenance={"builder": "test", "seed": 1})
    net = net.replace(spikes=net.spikes + 1 / 3)  # floats that need every digit
    path = save_network(net, tmp_path / f"net{suffix}")
    back = load_network_file(path)
    assert back.fingerprint == net.fingerprint
    assert np.array_equal(back.spikes, net.spikes) and back.t_run == 0.25
    assert back.provenance == {"builder": "test", "seed": 1}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(spikes=[1, -2, 0]), "field 'spikes', entry 1: -2 is not allowed"),
        (dict(spikes=[1, float("nan"), 0]), "must be a finite number"),
        (dict(spikes=[1, 2]), "2 entries for 3 neurons"),
        (dict(post=[1, 3]), "field 'post', entry 1: 3 is out of range; a neuron index must be a whole number in 0..2"),
        (dict(pre=[-1, 0]), "field 'pre', entry 0: -1 is out of range"),
        (dict(pre=[0, 0], post=[1, 1]), "duplicate synapse \\(0, 1\\)"),
        (dict(t_run=0.0), "t_run"),
    ],
)
def test_bad_networks_are_refused(kwargs, message):
    args = dict(num_neurons=3, pre=[0, 1], post=[1, 2], spikes=[1, 2, 3])
    args.update(kwargs)
    t_run = args.pop("t_run", 1.0)
    with pytest.raises(NetworkError, match=message):
        SpikingNetwork.from_edges(args["num_neurons"], args["pre"], args["post"], args["spikes"], t_run=t_run)


def test_malformed_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(NetworkError, match="bad.npz: not an snnmap .npz network"):
        load_network_file(bad)
    j = tmp_path / "bad.json"
    j.write_text("{")
    with pytest.raises(NetworkError, match="bad.json: not valid JSON"):
        load_network_file(j)
    j.write_text(json.dumps({"format": "snnmap-network", "num_neurons": 2, "t_run": 1.0, "pre": [0], "post": [1],
                             "spikes": [1, -1]}))
    with pytest.raises(NetworkError, match="bad.json: field 'spikes', entry 1: -1"):
        load_network_file(j)
    with pytest.raises(NetworkError, match="no such network file"):
        load_network_file(tmp_path / "missing.npz")
    other = tmp_path / "x.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(NetworkError, match="missing array"):
        load_network_file(other)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(indices=np.array([1.0, 2.5, 3.0])), "field 'indices', entry 1: 2.5 is not a whole number"),
        (dict(indices=np.array([1, 1, 3]), indptr=np.array([0, 2, 2, 3, 3])), "duplicate synapse \\(0, 1\\)"),
        (dict(indices=np.array([2, 1, 3]), indptr=np.array([0, 2, 2, 3, 3])), "targets of neuron 0 are not sorted"),
        (dict(indptr=np.array([0, 1, 2, 3, 3.5])), "field 'indptr', entry 4"),
        (dict(spikes=np.array([1.0, np.inf, 0.0, 0.0])), "field 'spikes', entry 1: inf"),
        (dict(spikes=np.array([True, False, True, True])), "true/false"),
        (dict(pins=np.array([0, -2, -1, -1])), "field 'pins', entry 1: -2 is out of range"),
        (dict(population=np.array([0, 0, 1, 0])), "field 'population', entry 2: 1 is out of range"),
        (dict(weights=np.array([1.0, np.nan, 1.0])), "field 'weights', entry 1: nan"),
        (dict(num_neurons=True), "'num_neurons', value: true"),
        (dict(t_run=True), "t_run=true"),
        (dict(t_run=10**400), "t_run=100000...\\(401 digits\\)"),
        (dict(t_run=float("nan")), "t_run=nan"),
    ],
)
def test_constructor_checks_every_array(changes, message):
    """The one validation path: the constructor, whatever reader or builder made the arrays."""
    net = SpikingNetwork.from_edges(4, [0, 1, 2], [1, 2, 3], [1.0, 2.0, 0.0, 0.0])
    with pytest.raises(NetworkError, match=message):
        net.replace(**changes)


def test_constructor_normalises_dtypes():
    net = SpikingNetwork(num_neurons=np.int32(3), indptr=np.array([0, 1, 2, 2], dtype=np.int32),
                         indices=np.array([1.0, 2.0]), spikes=np.array([1, 2, 0], dtype=np.int16))
    assert net.indptr.dtype == net.indices.dtype == np.int64 and net.spikes.dtype == np.float64
    assert type(net.num_neurons) is int and net.indices.tolist() == [1, 2]


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_time_steps_round_trip_and_default(tmp_path, suffix):
    net = random_network(12, 30, seed=2)
    assert net.time_steps is None and net.steps == 1000  # t_run = 1 s in the applications' 1 ms steps
    assert net.replace(t_run=0.096).steps == 96
    stepped = net.replace(time_steps=128)
    assert stepped.steps == 128 and stepped.fingerprint == net.fingerprint
    for original in (net, stepped):
        back = load_network_file(save_network(original, tmp_path / f"n{original.steps}{suffix}"))
        assert back.time_steps == original.time_steps and back.steps == original.steps


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "128"])
def test_time_steps_must_be_a_whole_number_of_steps(value):
    with pytest.raises(NetworkError, match="time_steps"):
        random_network(5, 8, seed=1).replace(time_steps=value)
