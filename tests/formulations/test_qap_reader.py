"""QAPLIB reader and input checks of the QAP package."""

from pathlib import Path

import numpy as np
import pytest

from snnmap.formulations.qap import QAPError, QAPInstance, qap_objective, read_qaplib, solve_qap, write_qaplib

QAPLIB = Path(__file__).resolve().parents[3] / "shared" / "qaplib"


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    inst = QAPInstance("r5", rng.integers(0, 9, (5, 5)), rng.integers(0, 9, (5, 5)))
    path = tmp_path / "r5.dat"
    write_qaplib(inst, path)
    back = read_qaplib(path)
    assert back.name == "r5" and back.n == 5 and back.m == 5
    np.testing.assert_array_equal(back.flow, inst.flow)
    np.testing.assert_array_equal(back.dist, inst.dist)


def test_reads_order_distance_then_flow(tmp_path):
    path = tmp_path / "t.dat"
    path.write_text("2\n\n0 3\n3 0\n\n0 1\n2 0\n")
    inst = read_qaplib(path)
    np.testing.assert_array_equal(inst.dist, [[0, 3], [3, 0]])
    np.testing.assert_array_equal(inst.flow, [[0, 1], [2, 0]])
    assert inst.objective(np.array([0, 1])) == 9.0


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty file"),
        ("2\n0 1 1 0\n0 1 1", r"expected 2\*n\*n=8"),
        ("2\n0 1 1 0\n0 1 1 0 5", r"expected 2\*n\*n=8"),
        ("2\n0 1 1 0\n0 x 1 0", "'x' is not an integer"),
        ("2\n0 1 1 0\n0 1.5 1 0", "'1.5' is not an integer"),
        ("0\n", "must be >= 1"),
        ("-3\n1 2", "must be >= 1"),
    ],
)
def test_malformed_files(tmp_path, text, fragment):
    path = tmp_path / "bad.dat"
    path.write_text(text)
    with pytest.raises(QAPError, match=fragment) as err:
        read_qaplib(path)
    assert "bad.dat" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_missing_file(tmp_path):
    with pytest.raises(QAPError, match="nope.dat"):
        read_qaplib(tmp_path / "nope.dat")


def test_write_refuses_rectangular_or_float(tmp_path):
    with pytest.raises(QAPError, match="square"):
        write_qaplib(QAPInstance("r", np.zeros((2, 2)), np.zeros((3, 3))), tmp_path / "x.dat")
    with pytest.raises(QAPError, match="not integral"):
        write_qaplib(QAPInstance("f", np.full((2, 2), 0.5), np.zeros((2, 2))), tmp_path / "x.dat")


@pytest.mark.skipif(not QAPLIB.exists(), reason="shared QAPLIB folder not present")
def test_shipped_instance_reads():
    inst = read_qaplib(QAPLIB / "nug12.dat")
    assert inst.n == 12 and inst.flow.dtype == np.int64
    # nug12's distances are Manhattan distances on a 3 x 4 grid.
    xy = np.array([(i // 4, i % 4) for i in range(12)])
    np.testing.assert_array_equal(inst.dist, np.abs(xy[:, None] - xy[None]).sum(-1))


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"flow": np.zeros((2, 3)), "dist": np.zeros((3, 3))}, "flow: must be square"),
        ({"flow": np.zeros((3, 3)), "dist": np.zeros((2, 2))}, "need m >= n"),
        ({"flow": np.zeros((2, 2)), "dist": np.zeros((3, 3)), "linear": np.zeros((3, 2))},
         "linear: shape"),
        ({"flow": [[0, np.nan], [1, 0]], "dist": np.zeros((2, 2))}, "NaN"),
        ({"flow": np.zeros((2, 2)), "dist": np.zeros((2, 2)), "method": "magic"}, "unknown"),
        ({"flow": np.zeros((2, 2)), "dist": np.zeros((3, 3)), "start": [1, 1]}, "start"),
        ({"flow": np.zeros((2, 2)), "dist": np.zeros((3, 3)), "start": [0, 3]}, "start"),
        ({"flow": np.zeros((2, 2)), "dist": np.zeros((2, 2)), "time_limit": -1}, "time_limit"),
    ],
)
def test_solve_qap_refuses_bad_input(kwargs, fragment):
    flow, dist = kwargs.pop("flow"), kwargs.pop("dist")
    with pytest.raises(QAPError, match=fragment):
        solve_qap(flow, dist, **kwargs)


def test_objective_refuses_non_injective():
    with pytest.raises(QAPError, match="share a location"):
        qap_objective(np.ones((2, 2)), np.ones((3, 3)), np.array([1, 1]))
