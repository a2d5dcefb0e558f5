"""Shared file helpers and the cache of full instances: atomic writes, corrupt and concurrent caches."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from snnmap.instances import SpikingNetwork, apps, load_network_file, save_network
from snnmap.instances.files import FileError, atomic_write, read_text, whole_numbers
from snnmap.instances.network import NetworkError


def tiny(seed: int = 0) -> SpikingNetwork:
    return SpikingNetwork.from_edges(3, [0, 1], [1, 2], [1.0 + seed, 2.0, 0.0], name="tiny",
                                     provenance={"builder": "test", "version": "1"})


def test_atomic_write_replaces_whole_and_keeps_the_name(tmp_path):
    target = tmp_path / "net.npz"
    target.write_text("old")
    # Written through a handle: numpy must not make it net.npz.npz.
    atomic_write(target, lambda fh: np.savez(fh, a=np.arange(3)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]
    assert np.load(target)["a"].tolist() == [0, 1, 2]


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "m.json"
    target.write_text("old")

    def fail(fh):
        fh.write(b"half")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        atomic_write(target, fail)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]  # no temporary file left


def test_atomic_write_refuses_directories_and_devices(tmp_path):
    with pytest.raises(FileError, match="not a regular file"):
        atomic_write(tmp_path, lambda fh: fh.write(b"x"))
    with pytest.raises(FileError, match="not a regular file"):
        atomic_write("/dev/null", lambda fh: fh.write(b"x"))
    (tmp_path / "afile").write_text("x")
    with pytest.raises(FileError, match="afile is a file, not a directory"):
        atomic_write(tmp_path / "afile" / "sub" / "m.json", lambda fh: fh.write(b"x"))
    with pytest.raises(FileError, match="cannot write the file"):
        atomic_write("/proc/snnmap-test.json", lambda fh: fh.write(b"x"))


def test_read_text_strips_a_bom_and_names_the_file(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"\xef\xbb\xbfhello")
    assert read_text(f, "test") == "hello"
    f.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(FileError, match=r"a.txt: not a UTF-8 text file \(byte 0 is 0xff\)"):
        read_text(f, "test")
    with pytest.raises(NetworkError, match="no such network file"):
        read_text(tmp_path / "none.json", "network", NetworkError)


@pytest.mark.parametrize("values, message", [
    ([0, 1, True], "entry 2: true is true/false"),
    ([0, "1"], "entry 1: '1' is text"),
    ([0, 2.5], "entry 1: 2.5 is not a whole number"),
    ([float("nan")], "nan is not a whole number"),
    ([float("inf")], "inf is not a whole number"),
    ([0], "0 is out of range"),
    ([2**63], "beyond the 64-bit integer range"),
    ([10**30, 1], "beyond the 64-bit integer range"),
    ([None], "null is not a number"),
    ([[0, 1]], "flat list"),
    (np.array([1e19]), "beyond the 64-bit integer range"),
    (np.array([2**63], dtype=np.uint64), "beyond the 64-bit integer range"),
    (np.array([True]), "true/false"),
    (np.array([1, 0], dtype=np.uint8), "entry 1: 0 is out of range; an id must be a whole number >= 1"),
])
def test_whole_numbers_refuse(values, message):
    with pytest.raises(FileError, match=message):
        whole_numbers(values, "ids", low=1, meaning="an id")


def test_whole_numbers_accept_whole_floats_and_ints():
    assert whole_numbers([0, 1.0, 2], "ids").tolist() == [0, 1, 2]
    out = whole_numbers(np.array([3, 4], dtype=np.int32), "ids")
    assert out.dtype == np.int64 and out.tolist() == [3, 4]


# ---------------------------------------------------------------- the cache
@pytest.fixture
def fake_builder(monkeypatch):
    """HeartEstm's builder replaced by a tiny network, counting its calls (no simulation)."""
    calls = []

    def build(scale, seed=0, progress=None):
        calls.append(scale)
        return tiny(seed)

    monkeypatch.setattr(apps.app_module("HeartEstm"), "build", build)
    return calls


@pytest.mark.parametrize("damage", ["garbage", "torn", "empty"])
def test_corrupt_cached_instance_is_rebuilt(tmp_path, fake_builder, damage):
    path = apps.cache_path("HeartEstm", "full", 0, tmp_path)
    save_network(tiny(), path)
    whole = path.read_bytes()
    path.write_bytes({"garbage": b"not a network", "torn": whole[: len(whole) // 2], "empty": b""}[damage])
    seen = []
    net = apps.build("HeartEstm", "full", cache_dir=tmp_path, progress=seen.append)
    assert fake_builder == ["full"] and net.fingerprint == tiny().fingerprint
    assert any("building again" in msg for msg in seen)
    assert load_network_file(path).fingerprint == tiny().fingerprint  # the cache is whole again
    apps.build("HeartEstm", "full", cache_dir=tmp_path)
    assert fake_builder == ["full"]  # read from the cache, not built again


def test_unwritable_cache_names_the_fix(tmp_path, fake_builder):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory should be")
    with pytest.raises(FileError, match=r"SNNMAP_CACHE"):
        apps.build("HeartEstm", "full", cache_dir=blocker)


@pytest.mark.slow
def test_concurrent_builds_share_one_cache(tmp_path):
    """Two `snnmap build HeartEstm --scale full` on one cache, twice, while a reader polls the file.

    Before atomic writes this failed about 1 time in 8 and the reader saw torn files.
    """
    path = apps.cache_path("HeartEstm", "full", 0, tmp_path)
    torn: list[str] = []
    reads = [0]
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            if path.is_file():
                try:
                    load_network_file(path)
                    reads[0] += 1
                except NetworkError as exc:
                    torn.append(str(exc))
            time.sleep(0.005)

    reader = threading.Thread(target=poll)
    reader.start()
    env = dict(os.environ, SNNMAP_CACHE=str(tmp_path))
    cmd = [sys.executable, "-m", "snnmap.cli", "build", "HeartEstm", "--scale", "full"]
    try:
        for extra in ([], ["--rebuild"]):  # first both build; then both overwrite a file being read
            procs = [subprocess.Popen(cmd + extra, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(2)]
            results = [p.communicate(timeout=600) for p in procs]
            assert [p.returncode for p in procs] == [0, 0], results
    finally:
        stop.set()
        reader.join()
    assert not torn, torn[:3]
    assert reads[0] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left
