"""Spiking-network instances: the network model, its files, and the applications."""

from instances.io import load_network_file, save_network
from instances.network import NetworkError, SpikingNetwork
from instances.unroll import unroll_fanin

__all__ = ["NetworkError", "SpikingNetwork", "load_network_file", "save_network", "unroll_fanin"]
