"""The relay geometry (formulations/relay.py) and the relay-tile start of partition-refine (heuristics/relay_tiles)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from snnmap.formulations.energy import destination_pairs, evaluate
from snnmap.formulations.relay import RelayGeometry, relay_geometry
from snnmap.hardware import load_hardware
from snnmap.heuristics.relay_tiles import relay_clusters, tile_of_positions, tile_rows
from snnmap.instances.layers import NetBuilder
from snnmap.prepare import prepared
from snnmap.registry import METHODS

DIR8 = [(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)]  # (dx, dy), as VisualPursuit


def relay_net(h: int, w: int, dirs=DIR8, drop: int = -1):
    """retina -> lagged (one-to-one) and V1 (every direction); lagged q -> V1[d, q + d]; V1 -> one reader.

    ``drop``: the index of a lagged -> V1 synapse left out (an edited network: no relay geometry).
    """
    b = NetBuilder()
    ret, lag = b.add("retina", (1, h, w)), b.add("lagged", (1, h, w))
    v1 = b.add("V1", (len(dirs), h, w))
    out = b.add("out", 1)
    ids = np.arange(h * w)
    b.connect(ret, lag, ids, ids, 1.0)
    b.connect(ret, v1, np.tile(ids, len(dirs)), np.arange(len(dirs) * h * w), 1.0)
    g = RelayGeometry(0, 0, 0, (h, w), tuple((dy, dx) for dx, dy in dirs), True)
    lp, lt = g.lagged_edges()
    keep = np.arange(lp.size) != drop
    b.connect(lag, v1, lp[keep], lt[keep], 1.0)
    b.connect(v1, out, np.arange(len(dirs) * h * w), np.zeros(len(dirs) * h * w, dtype=np.int64), 1.0)
    spikes = np.random.default_rng(h * w).integers(1, 9, b.num_neurons).astype(float)
    return b.network(spikes, t_run=0.1, name="relay-test",
                     provenance={"params": {"height": h, "width": w, "directions": dirs}})


def cut_length(tile: np.ndarray, h: int, w: int) -> int:
    """Neighbouring positions (4-neighbours) in different tiles."""
    t = tile.reshape(h, w)
    return int((t[1:] != t[:-1]).sum() + (t[:, 1:] != t[:, :-1]).sum())


@pytest.mark.parametrize("h,w,most", [(5, 7, 6), (6, 4, 5), (4, 9, 12), (6, 6, 36), (3, 5, 1)])
def test_tile_rows_feasible_and_least_cut_among_row_tilings(h, w, most):
    tile = tile_of_positions(h, w, most)
    assert np.bincount(tile).max() <= most
    assert tile.size == h * w and np.array_equal(np.unique(tile), np.arange(tile.max() + 1))
    best = np.inf
    for parts in range(1, h + 1):  # every composition of h into row heights, each row in equal-ish tiles
        for cuts in itertools.combinations(range(1, h), parts - 1):
            heights = np.diff([0, *cuts, h])
            if all(most // r for r in heights):
                best = min(best, (parts - 1) * w + sum((-(-w // (most // r)) - 1) * r for r in heights))
    assert cut_length(tile, h, w) == best
    assert sum(r for r, _ in tile_rows(h, w, most)) == h


def test_tile_rows_refuses_empty_tiles():
    with pytest.raises(ValueError, match="at least one position"):
        tile_rows(4, 4, 0)


def test_relay_geometry_found_checked_and_refused():
    g = relay_geometry(relay_net(4, 5))
    assert g is not None and g.shape == (4, 5) and g.direct_to_lagged
    assert g.offsets[1] == (1, 1) and (g.direct, g.lagged, g.target) == (0, 20, 40)
    assert relay_geometry(relay_net(4, 5, drop=7)) is None  # one synapse missing: no geometry
    net, _ = prepared("LeNet", "mini", "loihi")
    assert relay_geometry(net) is None
    mini, _ = prepared("VisualPursuit", "mini", "loihi")
    assert relay_geometry(mini).shape == (1, 4)


def test_relay_clusters_make_every_direct_sender_single():
    net = relay_net(8, 8)
    hw = load_hardware("loihi", n_max=60, a_max=4096)
    cluster_of, k = relay_clusters(net, hw)
    assert np.bincount(cluster_of).max() <= 60 and k == np.unique(cluster_of).size
    src, dst = destination_pairs(net, cluster_of, k)
    per = np.bincount(src, minlength=net.num_neurons)
    g = relay_geometry(net)
    assert np.all(per[g.direct:g.direct + 64] == 1)  # every position whole on its tile's cluster
    # Lagged senders reach a second cluster only at the borders of the 6-position tiles (60 // 9).
    tile = tile_of_positions(8, 8, 6).reshape(8, 8)
    lag = per[g.lagged:g.lagged + 64].reshape(8, 8)
    pad = np.pad(tile, 1, mode="edge")
    around = np.stack([pad[1 + dy:9 + dy, 1 + dx:9 + dx] for dx, dy in DIR8])
    assert (lag > 1).any() and np.all((lag > 1) <= (around != tile[None]).any(axis=0))


def test_relay_clusters_none_without_relay():
    net, hw = prepared("LeNet", "mini", "loihi")
    assert relay_clusters(net, hw) is None


def test_partition_refine_starts_from_relay_tiles_on_visualpursuit():
    net, hw = prepared("VisualPursuit", "full", "loihi")
    res = METHODS["partition-refine"](net, hw, time_limit=8, seed=0, starts=("relay",))
    assert res.stats["start"] == "relay"
    rep = evaluate(net, hw, res.mapping, link_loads=False)
    assert rep.feasible
    src, _ = destination_pairs(net, np.asarray(res.mapping), hw.num_cores)
    per = np.bincount(src, minlength=net.num_neurons)
    spikes = net.spikes
    # The retina keeps one destination almost everywhere (the refinement may trade a few at tile borders).
    assert float(spikes[:1024] @ per[:1024]) <= 1.01 * spikes[:1024].sum()
