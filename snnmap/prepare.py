"""Instances as the gap study maps them: one home for the gap evaluator, the best-known table, scripts and tests.

An instance is an application at a scale (``LeNet:mini``, ``VGG16:full``) on a
hardware preset. Full instances get their fan-in unrolled where the cores
need it and, when the preset is too small, a mesh resized to hold them with
:data:`FIT_SLACK` spare cores; mini instances are mapped as they ship. A
hardware *label* (``crossbar128@18x18``) names the chip an instance ended up
on, so a row of the gap table or of the best-known table can be rebuilt.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from snnmap.api import fit_hardware, fit_network, load_network
from snnmap.hardware import Hardware, load_hardware
from snnmap.instances import SpikingNetwork

FIT_SLACK = 0.25  # spare cores over a sequential fill when a preset must be resized


@functools.lru_cache(maxsize=4)
def network(app: str, scale: str) -> SpikingNetwork:
    """Application ``app`` at ``scale`` as built (mini: shipped; full: cached on first build)."""
    return load_network(f"{app}:{scale}")


def instance_of(app: str, scale: str, hardware: Hardware) -> SpikingNetwork:
    """The network as mapped on ``hardware``: full instances get the fan-in the cores cannot hold unrolled."""
    net = network(app, scale)
    return fit_network(net, hardware) if scale == "full" else net


def instance_hardware(net: SpikingNetwork, name: str | Hardware, scale: str,
                      mesh: tuple[int, int] | None = None) -> Hardware:
    """The chip an application is mapped on.

    The preset as it is when the network fits it with :data:`FIT_SLACK` spare
    cores (e.g. Loihi's 128 cores); otherwise, for ``full`` instances, the
    preset resized to the smallest near-square mesh that holds the network
    with that slack (e.g. crossbar128's 5 x 5 mesh grows to fit LeNet).
    """
    hw = load_hardware(name, mesh=mesh)
    if scale == "full" and mesh is None:
        fitted = fit_hardware(net, hw, slack=FIT_SLACK)
        if fitted.num_cores > hw.num_cores:
            hw = fitted
    return hw


@functools.lru_cache(maxsize=4)
def prepared(app: str, scale: str, hardware: str, mesh: tuple[int, int] | None = None,
             overrides: tuple[tuple[str, Any], ...] = ()) -> tuple[SpikingNetwork, Hardware]:
    """The network as mapped (fan-in unrolled where the cores need it) and its hardware.

    ``overrides`` are ``(field, value)`` pairs for :func:`load_hardware` (a
    sweep's grid point: any limit or energy field, ``comm``). Raises
    ``ValueError`` when the application cannot be mapped on the preset at any size.
    """
    chip = load_hardware(hardware, mesh=mesh, **dict(overrides))
    net = instance_of(app, scale, chip)
    return net, instance_hardware(net, chip, scale, mesh)


def hardware_label(hw: Hardware) -> str:
    """``NAME@ROWSxCOLS`` for a mesh chip, else its name: the inverse of :func:`hardware_of`."""
    return f"{hw.name}@{hw.mesh[0]}x{hw.mesh[1]}" if hw.mesh else hw.name


def hardware_of(label: str) -> Hardware:
    """The hardware a label like ``crossbar128@6x6`` names."""
    name, _, mesh = label.partition("@")
    if not mesh:
        return load_hardware(name)
    try:
        rows, cols = (int(v) for v in mesh.split("x"))
    except ValueError:
        raise ValueError(f"hardware label {label!r}: use NAME or NAME@ROWSxCOLS, e.g. crossbar128@6x6") from None
    return load_hardware(name, mesh=(rows, cols))


def exact_mesh(k: int) -> tuple[int, int]:
    """The most square ``rows x cols`` mesh with exactly ``k`` cores."""
    rows = max(r for r in range(1, int(math.isqrt(k)) + 1) if k % r == 0)
    return rows, k // rows


def exact_bench_hardware(n: int, k: int) -> Hardware:
    """Loihi energies on a ``K``-core mesh, one core per tile, ``n_max = ceil(1.25 N / K)``."""
    return load_hardware("loihi", mesh=exact_mesh(k), cores_per_tile=1, n_max=math.ceil(1.25 * n / k),
                         p_static=1e-6)
