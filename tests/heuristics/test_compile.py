"""Kernels are compiled before any timer starts, and a cold cache gives the same mappings as a warm one."""

import json
import os
import subprocess
import sys

import pytest

from snnmap import registry
from snnmap.hardware import load_hardware
from snnmap.heuristics import warm_up
from snnmap.heuristics.common import Timer
from snnmap.heuristics.compile import COMPILING
from snnmap.instances import SpikingNetwork

METHODS = {name: registry.get(name).function for name in registry.names(kind="heuristic")}

# Run in a fresh process: warm up, then map with a listener that records any
# numba compilation (there must be none left), and print the results as JSON.
CHILD = """
import json
import numpy as np
from numba.core import event
import snnmap
from snnmap.formulations.qap import solve_qap
from snnmap.hardware import load_hardware
from snnmap import registry
from snnmap.heuristics import place_clusters, warm_up

METHODS = {name: registry.get(name).function for name in registry.names(kind="heuristic")}

class Compiles(event.Listener):
    def __init__(self):
        self.names = []
    def on_start(self, ev):
        self.names.append(ev.data["dispatcher"].py_func.__qualname__)
    def on_end(self, ev):
        pass

messages = []
compiled = warm_up(progress=messages.append)
late = Compiles()
out = {"compiled": compiled, "messages": messages, "runs": {}}
net = snnmap.load_network("LeNet:mini")
hw = load_hardware("crossbar-mini")
with event.install_listener("numba:compile", late):
    for name in ("greedy", "sneap", "partition-refine"):
        # partition-refine finishes its passes in about a second: 10 s is ample once compiled,
        # and far less than compiling takes, so a cold cache would show in its result.
        r = METHODS[name](net, hw, seed=3, time_limit=10)
        out["runs"][name] = {"status": str(r.status), "energy": repr(r.energy),
                             "mapping": np.asarray(r.mapping).tolist()}
    # Every other kernel path of a full run: the other methods, pins, unicast, a hop-matrix
    # chip, exact cluster placement, the QAP solvers.
    for name in sorted(METHODS):
        METHODS[name](net, hw, seed=3, time_limit=10, comm="unicast")
    pins = np.full(net.num_neurons, -1)
    pins[0] = 2
    METHODS["greedy"](snnmap.SpikingNetwork.from_edges(net.num_neurons, net.pre, net.post, net.spikes,
                                                       pins=pins), hw)
    matrix = load_hardware(hw, topology="matrix", hop_matrix=np.asarray(hw.distance, dtype=float))
    METHODS["partition-refine"](net, matrix, seed=3, time_limit=10)
    flow = np.array([[0, 3, 1], [3, 0, 2], [1, 2, 0]])
    place_clusters(flow, hw, method="qap")
    rng = np.random.default_rng(1)
    flow = rng.integers(0, 9, (5, 5)).astype(float)
    np.fill_diagonal(flow, 0)
    dist = rng.integers(1, 9, (6, 6)).astype(float)
    dist = dist + dist.T
    np.fill_diagonal(dist, 0)
    out["bnb_nodes"] = solve_qap(flow, dist, method="bnb", progress=lambda _: None).nodes
    solve_qap(flow, dist, method="anneal")
out["late_compiles"] = late.names
print(json.dumps(out))
"""


def _run_child(cache_dir) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_cold_and_warm_cache_give_the_same_mappings(tmp_path):
    cold = _run_child(tmp_path)
    warm = _run_child(tmp_path)
    assert cold["compiled"] and cold["messages"] == [COMPILING]
    assert not warm["compiled"] and warm["messages"] == []
    # warm_up left nothing for the runs to compile (the branch and bound searched beyond its root).
    assert cold["late_compiles"] == [] and warm["late_compiles"] == []
    assert cold["bnb_nodes"] > 1
    assert cold["runs"] == warm["runs"]
    # The time-limited method finished its passes on both caches: compiling ate none of its budget.
    assert cold["runs"]["partition-refine"]["status"] == warm["runs"]["partition-refine"]["status"] == "feasible"


def test_warm_up_reports_nothing_once_done():
    warm_up()
    messages: list[str] = []
    assert warm_up(progress=messages.append) is False
    assert messages == []


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_heuristic_warms_up_before_its_timer_starts(name, monkeypatch):
    module = sys.modules[METHODS[name].__module__]
    events: list[object] = []

    def timer(*args, **kwargs):
        events.append("timer")
        return Timer(*args, **kwargs)

    monkeypatch.setattr(module, "warm_up", lambda progress=None: events.append(("warm_up", progress)))
    monkeypatch.setattr(module, "Timer", timer)
    net = SpikingNetwork.from_edges(4, [0, 1, 2], [1, 2, 3], [5.0, 3.0, 2.0, 1.0])
    res = METHODS[name](net, load_hardware("crossbar-mini"), progress=print, time_limit=5)
    assert res.status == "feasible", res.message
    assert events[:2] == [("warm_up", print), "timer"]
