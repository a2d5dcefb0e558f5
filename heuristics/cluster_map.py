"""Shared driver of the cluster-then-place methods (SNEAP, SpiNeMap, partition-refine)."""

from __future__ import annotations

import numpy as np

from snnmap.hardware import Hardware
from snnmap.heuristics.aligned import image_layout
from snnmap.heuristics.common import Progress, Timer
from snnmap.heuristics.placement import cluster_flow, place_clusters
from snnmap.instances import SpikingNetwork


def place_cluster_mapping(network: SpikingNetwork, hardware: Hardware, cluster_of: np.ndarray, num_clusters: int, *,
                          comm: str, method: str, timer: Timer, seed: int, effort: float = 1.0,
                          progress: Progress = None, time_share: float = 1.0,
                          image: bool = False) -> tuple[np.ndarray | None, str]:
    """Place the clusters and return ``core_of`` (or ``None`` and why not); with ``image``, the clusters'
    image coordinates (:func:`heuristics.aligned.image_layout`) give the placement one more start."""
    if num_clusters > hardware.num_cores:
        return None, (f"n_max/a_max/syn_max: the clustering needs {num_clusters} cores but {hardware.name} has "
                      f"{hardware.num_cores}; use more cores, e.g. load_hardware({hardware.name!r}, "
                      f"cores={num_clusters})")
    flow = cluster_flow(network, cluster_of, num_clusters, comm)
    left = timer.left()
    limit = None if not np.isfinite(left) else max(0.0, left * time_share)
    layout = image_layout(network, cluster_of, num_clusters, flow) if image else None
    pos = place_clusters(flow, hardware, method=method, time_limit=limit, seed=seed, effort=effort,
                         progress=progress, parent=timer, layout=layout)
    return pos[cluster_of], ""
