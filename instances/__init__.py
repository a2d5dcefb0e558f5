"""Spiking-network instances: the network model, its files, and the applications."""

from snnmap.instances.io import load_network_file, save_network
from snnmap.instances.network import NetworkError, SpikingNetwork
from snnmap.instances.unroll import unroll_fanin

__all__ = ["NetworkError", "SpikingNetwork", "load_network_file", "save_network", "unroll_fanin"]
