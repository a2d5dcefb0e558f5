"""Rebuild the shipped mini instances (seed 0) into instances/data/."""

from snnmap.instances.apps import APPS, build, mini_path
from snnmap.instances.io import save_network

for app in APPS:
    net = build(app, "mini", rebuild=True)
    save_network(net, mini_path(app))
    print(f"{app:15s} {net.num_neurons:3d} neurons {net.num_synapses:4d} synapses {net.total_spikes:8.0f} spikes  {net.fingerprint}")
