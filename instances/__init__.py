"""Spiking-network instances: the network model, its files, and the applications."""

from instances.io import load_network_file, save_network
from instances.network import NetworkError, SpikingNetwork

__all__ = ["NetworkError", "SpikingNetwork", "load_network_file", "save_network"]
