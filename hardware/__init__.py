"""The hardware model: cores, limits, interconnect, energy costs, and the presets."""

from snnmap.hardware.model import COMM_MODELS, EnergyCosts, Hardware, HardwareError, LatencyCosts, Limits, mesh_for
from snnmap.hardware.presets import PRESET_DIR, hardware_from_dict, list_presets, load_hardware

__all__ = [
    "COMM_MODELS", "EnergyCosts", "Hardware", "HardwareError", "LatencyCosts", "Limits", "PRESET_DIR",
    "hardware_from_dict", "list_presets", "load_hardware", "mesh_for",
]
