"""Rebuild the shipped mini instances (seed 0) into instances/data/ (run in a source checkout).

    python scripts/make_minis.py
"""

from __future__ import annotations

import argparse

from snnmap.bks import installed_copy
from snnmap.instances.apps import APPS, DATA_DIR, build, mini_path
from snnmap.instances.io import save_network


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    if installed_copy(DATA_DIR):
        raise SystemExit(f"{DATA_DIR} belongs to an installed package; run this in a source checkout "
                         "(pip install -e .)")
    for app in APPS:
        net = build(app, "mini", rebuild=True)
        save_network(net, mini_path(app))
        print(f"{app:15s} {net.num_neurons:3d} neurons {net.num_synapses:4d} synapses {net.total_spikes:8.0f} spikes  "
              f"{net.fingerprint}")


if __name__ == "__main__":
    main()
