"""Every exit of an exact method is honest: proofs, gap stops, Ctrl-C, missing solvers, determinism, layering."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from snnmap.formulations import Status
from snnmap.formulations.qap import solve_qap
from snnmap.formulations.qap.models import solve_milp as qap_milp
from snnmap.formulations.result import PROOF_GAP, proof_status
from snnmap.formulations.solver_options import translate, unavailable_message
from snnmap.hardware import load_hardware
from snnmap.instances.apps import load_app
from snnmap.registry import METHODS

FORMULATIONS = Path(__file__).resolve().parents[2] / "formulations"
EXACT = ("milp", "milp-textbook", "cpsat")


@pytest.fixture(scope="module")
def lenet():
    return load_app("LeNet:mini"), load_hardware("crossbar-mini")


# ---------------------------------------------------------------- proofs
def test_proof_status_rule() -> None:
    assert proof_status(True, 2.0, 1.0) == Status.OPTIMAL  # stopped at a proof tolerance
    assert proof_status(False, 2.0, 1.0) == Status.GAP_LIMIT  # a loose gap proves nothing
    assert proof_status(False, 2.0, 2.0 * (1 - PROOF_GAP / 2)) == Status.OPTIMAL  # the bound meets it
    assert proof_status(False, 2.0, None) == Status.GAP_LIMIT


@pytest.mark.parametrize(("name", "gap"), [("cpsat", 5.0), ("milp", 0.5), ("milp-textbook", 0.5)])
def test_a_gap_stop_is_not_called_optimal(lenet, name: str, gap: float) -> None:
    # The runs: each stopped above the optimum (197.4 nJ) and printed "optimal".
    net, hw = lenet
    res = METHODS[name](net, hw, mip_gap=gap, threads=1, time_limit=60)
    assert res.report.feasible and res.lower_bound <= res.energy
    if res.energy > 197.4e-9 * (1 + 1e-6):
        assert res.status == Status.GAP_LIMIT, (name, res.energy)
    else:  # a lucky first solution: optimal only with a bound that proves it
        assert res.status in (Status.GAP_LIMIT, Status.OPTIMAL)
        assert res.status == Status.GAP_LIMIT or res.energy - res.lower_bound <= 1e-6 * res.energy


@pytest.mark.parametrize("name", ["milp", "milp-textbook", "component-milp"])
def test_a_build_that_cannot_fit_the_time_limit_returns_the_start_unbuilt(lenet, monkeypatch, name: str) -> None:
    # A Pyomo build cannot be stopped part-way (LeNet:mini on loihi: 1.47 M nonzeros, 33-51 s under a 1 s
    # limit before this guard): a build that cannot fit is not started, and says so.
    from snnmap.formulations import exact_common

    net, hw = lenet
    start = METHODS["greedy"](net, hw, seed=0).mapping
    built = METHODS[name](net, hw, time_limit=1, start=start)
    assert "not built" not in built.message and "build_time" in built.stats  # small models are built as before
    monkeypatch.setattr(exact_common, "BUILD_NONZEROS_PER_S", 1.0)  # as if the build took days
    res = METHODS[name](net, hw, time_limit=30, start=start)
    assert res.status == Status.TIME_LIMIT and "build_time" not in res.stats
    assert "not built" in res.message and "raise the time limit" in res.message
    assert np.array_equal(res.mapping, start) and res.report.feasible
    assert 0 < res.lower_bound <= res.energy


def test_qap_gap_stop_is_not_called_optimal() -> None:
    rng = np.random.default_rng(4)
    F = rng.integers(0, 9, (7, 7)).astype(float)
    xy = np.array([(i // 4, i % 4) for i in range(8)])
    D = np.abs(xy[:, None] - xy[None]).sum(-1).astype(float)
    res = qap_milp(F, D, gap=0.9, time_limit=60)
    exact = solve_qap(F, D, method="bnb")
    assert exact.status == Status.OPTIMAL
    assert res.status in (Status.GAP_LIMIT, Status.OPTIMAL)
    if res.objective > exact.objective * (1 + 1e-9):
        assert res.status == Status.GAP_LIMIT
    assert res.lower_bound <= exact.objective * (1 + 1e-9)


def test_a_heuristic_name_as_start_is_refused_naming_the_fix(lenet) -> None:
    # The exact models themselves take mappings only; the front door resolves names (next test).
    net, hw = lenet
    for name in EXACT:
        with pytest.raises(ValueError, match=r"pass a mapping.*snnmap\.solve\(\.\.\., start='greedy'\)"):
            METHODS[name].function(net, hw, start="greedy")


def test_the_front_door_resolves_a_heuristic_name_as_start(lenet) -> None:
    net, hw = lenet
    greedy = METHODS["greedy"](net, hw)
    for name in EXACT:
        res = METHODS[name](net, hw, start="greedy", time_limit=2)
        assert res.mapping is not None and res.energy <= greedy.energy * (1 + 1e-9)


# ------------------------------------------------------------- solvers
def test_one_option_table_with_real_names() -> None:
    assert translate("cplex", mip_gap=0.1, time_limit=5) == {"mip_tolerances_mipgap": 0.1, "timelimit": 5.0}
    assert translate("cbc", mip_gap=0.1, time_limit=5) == {"ratioGap": 0.1, "seconds": 5.0}
    assert translate("appsi_highs", mip_gap=0.1, threads=2) == {"mip_rel_gap": 0.1, "threads": 2}
    with pytest.warns(UserWarning, match="no option table"):
        assert translate("mysolver", time_limit=5) == {}


def test_a_missing_solver_is_an_error_result_saying_how_to_install() -> None:
    net, hw = load_app("LeNet:mini"), load_hardware("crossbar-mini")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "nosuchsolver" has no option table either
        res = METHODS["milp"](net, hw, solver="nosuchsolver", time_limit=5)
        q = qap_milp(np.ones((2, 2)), np.ones((2, 2)), solver="nosuchsolver")
    assert res.status == Status.ERROR and "'nosuchsolver' is not installed" in res.message
    assert "install it with `apt-get install coinor-cbc`" in unavailable_message("cbc")
    assert q.status == Status.ERROR and "not installed" in q.message


# ------------------------------------------------------------ Ctrl-C
def _sigint_on_first_incumbent(seen: list):
    def progress(elapsed: float, incumbent: float, bound: float) -> None:
        seen.append((time.perf_counter(), incumbent))
        if len(seen) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C: the process gets SIGINT, wherever it is
    return progress


@pytest.mark.parametrize("name", ["milp", "cpsat"])
def test_ctrl_c_keeps_the_incumbent_and_bound(name: str) -> None:
    net, hw = load_app("AlexNet:mini"), load_hardware("crossbar-mini")  # minutes to prove
    seen: list = []
    res = METHODS[name](net, hw, time_limit=120, threads=1, progress=_sigint_on_first_incumbent(seen))
    stopped = time.perf_counter()
    assert res.status == Status.INTERRUPTED, res.message
    assert res.mapping is not None and res.report.feasible
    assert res.lower_bound is not None and res.lower_bound <= res.energy
    # The last incumbent reported, or better (CP-SAT reports its rounded objective: within its tolerance).
    assert res.energy <= seen[-1][1] * (1 + 1e-9) + res.stats.get("optimality_tolerance", 0.0)
    assert stopped - seen[0][0] < 5.0  # stops soon after Ctrl-C (generous: a shared CI machine)


def test_ctrl_c_stops_the_qap_branch_and_bound() -> None:
    rng = np.random.default_rng(0)
    n = 16
    F = rng.integers(0, 10, (n, n)).astype(float)
    D = rng.integers(1, 10, (n, n)).astype(float)
    calls = []

    def progress(info: dict) -> None:
        calls.append(info)
        os.kill(os.getpid(), signal.SIGINT)

    # A shell that starts a job in the background ignores SIGINT in it: restore Python's handler so that
    # the signal is a KeyboardInterrupt wherever the suite runs.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        res = solve_qap(F, D, method="bnb", progress=progress, time_limit=120)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert calls and res.status == Status.INTERRUPTED
    assert np.isfinite(res.objective) and res.lower_bound <= res.objective


@pytest.mark.slow
def test_ctrl_c_in_the_cli_prints_and_writes_the_incumbent(tmp_path) -> None:
    out = tmp_path / "out.json"
    cmd = [sys.executable, "-m", "snnmap.cli", "map", "AlexNet:mini", "-H", "crossbar-mini", "-m", "milp",
           "--time-limit", "60", "-o", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    # Ctrl-C once the solver has an incumbent (about 8 s in on an idle machine).
    t0 = time.time()
    for line in proc.stderr:
        if "incumbent" in line or time.time() - t0 > 50:
            break
    proc.send_signal(signal.SIGINT)
    sent = time.time()
    stdout, stderr = proc.communicate(timeout=30)
    assert time.time() - sent < 5.0
    assert "Traceback" not in stderr
    assert "status interrupted" in stdout and "total" in stdout
    assert proc.returncode != 0  # an interrupted run is not a success
    assert out.exists() and json.loads(out.read_text())


# --------------------------------------------------------- determinism
_SOLVE = """
import sys
from snnmap.hardware import load_hardware
from snnmap.instances.apps import load_app
from snnmap.formulations.cpsat import solve
res = solve(load_app(sys.argv[1]), load_hardware("crossbar-mini"), seed=3, time_limit=120)
print(res.status, " ".join(map(str, res.mapping.tolist())))
"""


def test_cpsat_same_seed_same_mapping_across_processes() -> None:
    # Two parallel workers race to equally good mappings; the proof must still end on one of them.
    procs = [subprocess.Popen([sys.executable, "-c", _SOLVE, "VGG16:mini"], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0].startswith("optimal") and outs[0] == outs[1]


# -------------------------------------------------------------- layers
def _module_imports(path: Path) -> tuple[set[str], list[str]]:
    """Modules imported at module level, and those imported inside functions."""
    tree = ast.parse(path.read_text())
    top, inner = set(), []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            (top.update if node in tree.body else inner.extend)(names)
    return top, inner


def test_formulations_import_only_downwards_and_without_cycles() -> None:
    graph = {}
    for path in sorted(FORMULATIONS.rglob("*.py")):
        rel = path.relative_to(FORMULATIONS).with_suffix("")
        name = ".".join(("snnmap", "formulations", *[p for p in rel.parts if p != "__init__"]))
        top, inner = _module_imports(path)
        for mod in top | set(inner):
            assert not mod.startswith(("snnmap.heuristics", "snnmap.api", "snnmap.cli")), (name, mod)
        graph[name] = {m for m in top if m.startswith("snnmap.formulations")}
        # Imports inside functions load heavy libraries on first use; of our own modules only the
        # dispatcher solve_qap loads a method's module so.
        if name != "snnmap.formulations.qap.solve":
            assert not [m for m in inner if m.startswith("snnmap.")], name
    state: dict[str, int] = {}

    def visit(mod: str, path: tuple) -> None:
        assert state.get(mod) != 1, f"import cycle: {' -> '.join(path + (mod,))}"
        if state.get(mod) == 2 or mod not in graph:
            return
        state[mod] = 1
        for dep in graph[mod]:
            if dep != mod and not mod.startswith(dep + "."):  # a package's own __init__ is not a cycle
                visit(dep, path + (mod,))
        state[mod] = 2

    for mod in graph:
        visit(mod, ())
