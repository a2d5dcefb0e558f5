"""snnmap: energy-optimal mapping of spiking neural networks onto neuromorphic hardware.

The front door::

    import snnmap
    net = snnmap.load_network("LeNet:mini")
    hw = snnmap.load_hardware("crossbar-mini")
    result = snnmap.solve(net, hw, method="greedy", seed=0)
    print(result.status, result.energy, result.report.terms)

The layers live inside this namespace (``snnmap.hardware``, ``snnmap.instances``,
``snnmap.formulations``, ``snnmap.heuristics``). The names below load on first
use (PEP 562), so ``import snnmap.hardware`` pulls in neither numba nor a solver.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "EnergyReport": "snnmap.formulations",
    "Mapping": "snnmap.formulations",
    "MappingError": "snnmap.formulations",
    "Result": "snnmap.formulations",
    "Status": "snnmap.formulations",
    "load_mapping": "snnmap.formulations",
    "save_mapping": "snnmap.formulations",
    "Hardware": "snnmap.hardware",
    "HardwareError": "snnmap.hardware",
    "list_presets": "snnmap.hardware",
    "load_hardware": "snnmap.hardware",
    "NetworkError": "snnmap.instances",
    "SpikingNetwork": "snnmap.instances",
    "save_network": "snnmap.instances",
    "evaluate": "snnmap.api",
    "fit_hardware": "snnmap.api",
    "fit_network": "snnmap.api",
    "load_network": "snnmap.api",
    "methods": "snnmap.api",
    "solve": "snnmap.api",
    "gap": "snnmap.gap_evaluator",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'snnmap' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
