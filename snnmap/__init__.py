"""snnmap: energy-optimal mapping of spiking neural networks onto neuromorphic hardware.

The front door::

    import snnmap
    net = snnmap.load_network("LeNet:mini")
    hw = snnmap.load_hardware("crossbar-mini")
    result = snnmap.solve(net, hw, method="greedy", seed=0)
    print(result.status, result.energy, result.report.terms)
"""

from formulations import EnergyReport, Mapping, MappingError, Result, Status, load_mapping, save_mapping
from hardware import Hardware, HardwareError, list_presets, load_hardware
from instances import NetworkError, SpikingNetwork, save_network
from snnmap.api import evaluate, fit_hardware, fit_network, load_network, methods, solve
from snnmap.gap_evaluator import gap

__version__ = "0.1.0"

__all__ = [
    "EnergyReport", "Hardware", "HardwareError", "Mapping", "MappingError", "NetworkError", "Result",
    "SpikingNetwork", "Status", "evaluate", "fit_hardware", "fit_network", "gap", "list_presets", "load_hardware",
    "load_mapping", "load_network", "methods", "save_mapping", "save_network", "solve",
]
