"""Where a certified gap sits, per sender population: destinations, locality and hops of the mapping beside the bound's.

For every full application on a chip, from the mappings ``scripts/full_gaps.py
--keep-mappings DIR`` stored, and for each population that sends (spike-weighted):

- deliveries: destination cores per spike under the mapping, and the count every
  mapping must reach (``forced_destinations``, what the bound prices);
- local: the share of deliveries inside the sender's core under the mapping, and
  the share of spikes the per-sender bound lets deliver one packet locally (senders
  not ``never_local``; the local-room argument of ``formulations/bounds_local.py``
  charges a convolution's local inputs the core room they take, per layer, which
  this per-sender column does not show);
- hops per remote packet under the mapping (the bound prices the ring around each
  sender: one hop for its first four remote destinations on a mesh);
- the population's communication energy under the mapping.

Populations are listed by that energy; the header gives cores used against the
fewest cores any mapping needs. A row where the mapping's deliveries meet the forced
count but travel many hops points at hops; one where the bound lets most spikes be
local while the mapping is not points at locality (bound too low or mapping too high:
this table cannot tell which).

    python scripts/gap_sources.py --maps /tmp/maps      # writes scripts/results/gap_sources_crossbar128.md
"""

from __future__ import annotations

import argparse
import datetime as _dt
import platform
from pathlib import Path

import numpy as np

from snnmap.formulations.bounds import forced_destinations, min_cores
from snnmap.formulations.bounds_axons import never_local
from snnmap.formulations.energy import destination_pairs
from snnmap.instances.apps import APPS
from snnmap.instances.files import write_text
from snnmap.prepare import hardware_label, prepared

RESULTS = Path(__file__).resolve().parent / "results"
SHOWN = 5  # populations per application, the most expensive first


def stored_mapping(maps: Path, app: str, chip: str) -> np.ndarray:
    """The mapping full_gaps.py stored for ``app`` on ``chip`` (one file per time limit; the first)."""
    found = sorted(maps.glob(f"{app}_{chip}_*.npz"))
    if not found:
        raise SystemExit(f"no stored mapping {app}_{chip}_*.npz in {maps}: "
                         f"run python scripts/full_gaps.py --keep-mappings {maps} first")
    with np.load(found[0]) as f:
        return f["core_of"]


def app_table(app: str, chip: str, maps: Path) -> str:
    """One application's header line and per-population table."""
    net, hw = prepared(app, "full", chip)
    core_of = stored_mapping(maps, app, chip)
    s, pop = net.spikes, net.population
    npop = int(pop.max()) + 1
    pair_neuron, pair_core = destination_pairs(net, core_of, hw.num_cores)
    src = core_of[pair_neuron]
    w = s[pair_neuron]
    local = src == pair_core

    def by_pop(weights: np.ndarray, who: np.ndarray = pair_neuron) -> np.ndarray:
        return np.bincount(pop[who], weights=weights, minlength=npop)

    deliveries = by_pop(w)
    comm = by_pop(w * hw.packet_cost(src, pair_core))
    hops = by_pop(w * hw.hops(src, pair_core))
    remote = by_pop(w * ~local)
    sending = net.out_degree > 0
    sent = np.bincount(pop, weights=s * sending, minlength=npop)
    forced = np.bincount(pop, weights=s * forced_destinations(net, hw), minlength=npop)
    may_local = np.bincount(pop, weights=s * (sending & ~never_local(net, hw)), minlength=npop)
    used = np.unique(core_of).size
    names = net.population_names
    lines = [f"**{app}** on {hardware_label(hw)}: {used} cores used, at least {min_cores(net, hw, axons=True)} "
             f"needed; mapping comm {comm.sum():.3g} J.", "",
             "| population | neurons | comm J (mapping) | destinations / spike: mapping / forced "
             "| local: mapping / bound allows | hops per remote packet |",
             "|---|---:|---:|---:|---:|---:|"]
    for p in np.argsort(-comm)[:SHOWN]:
        if comm[p] <= 0 or sent[p] <= 0:
            continue
        lines.append(f"| {names[p] if p < len(names) else p} | {int(np.sum(pop == p))} | {comm[p]:.3g} "
                     f"| {deliveries[p] / sent[p]:.2f} / {forced[p] / sent[p]:.2f} "
                     f"| {1 - remote[p] / deliveries[p]:.0%} / {may_local[p] / sent[p]:.0%} "
                     f"| {hops[p] / remote[p] if remote[p] else 0.0:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maps", type=Path, required=True, help="directory of full_gaps.py --keep-mappings")
    ap.add_argument("--chip", default="crossbar128", help="preset (default crossbar128)")
    ap.add_argument("--apps", default="all", help="comma-separated applications (default: all 10)")
    ap.add_argument("--out", type=Path, default=None, help="output file (default scripts/results/gap_sources_CHIP.md)")
    args = ap.parse_args(argv)
    apps = list(APPS) if args.apps == "all" else args.apps.split(",")
    out = args.out or RESULTS / f"gap_sources_{args.chip}.md"
    stamp = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    parts = [f"# Where the gap sits, per sender population (python scripts/gap_sources.py; {stamp}; "
             f"{platform.machine()}, python {platform.python_version()})", "",
             "Spike-weighted, on the partition-refine mappings of scripts/full_gaps.py. Forced destinations and the "
             "local share the per-sender bound allows are what scripts/results/full_gaps.md's bound prices per "
             "sender (on convolutions, formulations/bounds_local.py also charges local inputs the core room "
             "they take, per layer: not shown here).", ""]
    for app in apps:
        parts += [app_table(app, args.chip, args.maps), ""]
        print(app, flush=True)
    write_text(out, "\n".join(parts))


if __name__ == "__main__":
    main()
