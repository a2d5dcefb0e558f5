"""Messages per convolution layer: the mapping's, the bound's, and those of the best aligned tiling of the layer.

For every convolution of a full application (``instances/geometry.py``) on a
chip, the spike-weighted destination cores of the layer's input neurons:

- under partition-refine's mapping as ``scripts/full_gaps.py --keep-mappings DIR`` stored it;
- in the bound: each neuron's forced destination count plus the tile-border
  second, third and further destinations (``formulations/bounds_tiles.py``), in messages;
- under the best aligned tiling of that layer alone (every output position whole
  on a core, tiles of ``a x b`` positions with ``a b <= n_max // C_out``, the input
  neurons not counted as sharing a core): a feasible arrangement of the layer, so an
  upper reference for what the layer needs (not a mapping of the whole network).

Where the mapping is far above the tiling, the gap is the mapping's; where the
bound is far below it, the bound's.

A second table splits each application's remaining gap by sender population: the
messages the mapping sends beyond the bound's (forced destinations plus the tile-border
second and further destinations of the population's convolution) and the hop energy the mapping pays
(the bound charges none on a chip where four cores share a tile and few neurons reach more).

    python scripts/tile_layers.py --maps /tmp/maps          # writes scripts/results/tile_layers.md
"""

from __future__ import annotations

import argparse
import datetime as _dt
import platform
from pathlib import Path

import numpy as np

from snnmap.formulations.bounds import forced_destinations
from snnmap.formulations.bounds_tiles import layer_raise
from snnmap.formulations.energy import destination_pairs
from snnmap.instances.apps import APPS as ALL_APPS
from snnmap.instances.files import write_text
from snnmap.instances.geometry import ConvGeometry, aligned_tilings, conv_layers
from snnmap.prepare import hardware_label, prepared

RESULTS = Path(__file__).resolve().parent / "results"
APPS = ("LeNet", "AlexNet", "VGG16", "EdgeDet", "ImgSmooth")


def best_tiling(g: ConvGeometry, weight: np.ndarray, n_max: int) -> tuple[float, int, int]:
    """Least spike-weighted destinations of the layer's inputs over aligned ``a x b`` tilings, and ``(a, b)``."""
    tau = n_max // (1 if g.depthwise else g.out_shape[0])
    return min(aligned_tilings(g, weight, tau)) if tau >= 1 else (float("nan"), 0, 0)


def _mapping(app: str, chip: str, maps: Path, time_limit: float):
    """The application as full_gaps.py prepared it, and the mapping it stored."""
    net, hw = prepared(app, "full", chip)
    path = maps / f"{app}_{chip}_{time_limit:g}s.npz"
    if not path.exists():
        raise SystemExit(f"no stored mapping {path}: run scripts/full_gaps.py --keep-mappings {maps} first")
    with np.load(path) as f:
        return net, hw, f["core_of"]


def _messages(net, hw, core_of) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per neuron: destination cores under the mapping, hop energy paid, forced destinations, second- and
    further-destination weights (spikes, for the tile raise in messages)."""
    pair_neuron, pair_core = destination_pairs(net, core_of, hw.num_cores)
    dests = np.bincount(pair_neuron, minlength=net.num_neurons)
    hops = np.bincount(pair_neuron, weights=net.spikes[pair_neuron] * hw.hop_energy(core_of[pair_neuron], pair_core),
                       minlength=net.num_neurons)
    m = forced_destinations(net, hw).astype(np.float64)
    second = np.where(net.out_degree > 0, net.spikes * (np.maximum(m, 2) - m), 0.0)
    third = np.where((net.out_degree > 0) & (m <= 2), net.spikes, 0.0)  # each destination beyond the second
    return dests, hops, m, second, third


def rows_for(app: str, chip: str, maps: Path, time_limit: float) -> list[str]:
    net, hw, core_of = _mapping(app, chip, maps, time_limit)
    dests, _, m, second, third = _messages(net, hw, core_of)
    s = net.spikes
    out = []
    for g in conv_layers(net):
        ids = slice(g.in_offset, g.in_offset + int(np.prod(g.in_shape)))
        mapped = float(s[ids] @ dests[ids])
        bound = float(s[ids] @ m[ids]) + layer_raise(net, hw, g, second, np.zeros(net.num_neurons), third)
        tiled, a, b = best_tiling(g, s[ids], hw.limits.n_max)
        out.append(f"| {app} | {hardware_label(hw)} | {net.population_names[g.target]} | {g.in_shape} -> {g.out_shape} "
                   f"| {g.kernel[0]}x{g.kernel[1]} / {g.stride[0]} | {mapped / 1e3:.1f} | {bound / 1e3:.1f} "
                   f"| {tiled / 1e3:.1f} ({a}x{b}) | {mapped / tiled:.2f} | {bound / tiled:.2f} |")
    return out


def population_rows(app: str, chip: str, maps: Path, time_limit: float) -> list[str]:
    """Per sender population with a gap: mapping messages beyond the bound's, and the mapping's hop energy."""
    net, hw, core_of = _mapping(app, chip, maps, time_limit)
    dests, hops, m, second, third = _messages(net, hw, core_of)
    s = net.spikes
    raise_of = {g.source: layer_raise(net, hw, g, second, np.zeros(net.num_neurons), third) for g in conv_layers(net)}
    out = []
    for p, name in enumerate(net.population_names):
        ids = net.population == p
        beyond = float(s[ids] @ dests[ids] - s[ids] @ m[ids]) - raise_of.get(p, 0.0)
        hop, mapped = float(hops[ids].sum()), float(s[ids] @ dests[ids])
        if beyond > 0.5 or hop > 0:
            out.append(f"| {app} | {hardware_label(hw)} | {name} | {int(ids.sum())} | {mapped / 1e3:.1f} "
                       f"| {beyond / 1e3:.1f} | {beyond * hw.energy.e_route * 1e6:.2f} | {hop * 1e6:.2f} |")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maps", type=Path, required=True, help="the --keep-mappings directory of full_gaps.py")
    ap.add_argument("--apps", default=",".join(APPS))
    ap.add_argument("--split-apps", default=",".join(ALL_APPS), help="applications of the per-population table")
    ap.add_argument("--chips", default="loihi")
    ap.add_argument("--time-limit", type=float, default=40.0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    lines = ["| application | chip | layer | shape | kernel / stride | mapping (k msgs) | bound (k msgs) "
             "| aligned tiling (k msgs) | mapping / tiling | bound / tiling |",
             "|---|---|---|---|---|---:|---:|---:|---:|---:|"]
    split = ["| application | chip | sender population | neurons | mapping (k msgs) | beyond the bound (k msgs) "
             "| beyond x e_route (uJ) | mapping's hops (uJ) |", "|---|---|---|---:|---:|---:|---:|---:|"]
    for chip in args.chips.split(","):
        for app in args.apps.split(","):
            lines += rows_for(app, chip, args.maps, args.time_limit)
            print(lines[-1], flush=True)
        for app in args.split_apps.split(","):
            rows = population_rows(app, chip, args.maps, args.time_limit)
            split += rows
            print("\n".join(rows), flush=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    head = (f"# Messages per convolution layer (python scripts/tile_layers.py; {stamp}; {platform.machine()}, "
            f"python {platform.python_version()})\n\nSpike-weighted destination cores of each convolution's input "
            "neurons: under partition-refine's mapping (the one full_gaps.py measured), in the bound (forced "
            "destinations plus the tile-border second and further destinations), and under the best aligned tiling "
            "of the layer alone (output positions whole in a x b tiles of at most n_max // C_out positions).\n\n")
    tail = ("\n\nWhere each application's remaining gap sits, by sender population: messages the mapping sends beyond "
            "the bound's (forced destinations plus the tile-border second and further destinations), priced at "
            "e_route, and the hop energy the mapping pays (not net of the hops the bound charges: on loihi none, "
            "each neuron's forced destinations fitting the four cores of its tile). Populations with neither are "
            "left out.\n\n")
    write_text(args.out / "tile_layers.md", head + "\n".join(lines) + tail + "\n".join(split) + "\n")


if __name__ == "__main__":
    main()
