"""What every neuron-level exact model shares: instance data, checks, symmetries, starts, sizes.

The MILP forms (:mod:`formulations.milp`) and the CP-SAT model
(:mod:`formulations.cpsat`) read the instance through :class:`ExactData`, so
they all see the same costs, the same forced infeasibilities and the same
symmetry breaking.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np

from snnmap.formulations.bounds import combinatorial_lower_bound, min_cores, min_destinations
from snnmap.formulations.energy import evaluate, fixed_energy
from snnmap.formulations.result import Result, Status, result_from_mapping
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork

#: Default ceiling on the estimated model size; above it a solve is refused unless ``force=True``.
MAX_NONZEROS = 2_000_000

ProgressFn = Callable[[float, float, float], Any]


class ModelTooLargeError(ValueError):
    """An exact model would be too large to build and prove in reasonable time.

    ``size`` holds the estimate (``variables``, ``constraints``, ``nonzeros``).
    """

    def __init__(self, message: str, size: dict[str, int]):
        super().__init__(message)
        self.size = size


@dataclasses.dataclass(frozen=True, eq=False)
class ExactData:
    """The instance as the exact models see it (all arrays read-only views).

    Attributes
    ----------
    n, k
        Neurons and cores.
    comm
        ``"multicast"`` or ``"unicast"``.
    cost
        ``K x K`` packet cost in joules (``e_local`` on the diagonal).
    spikes, pre, post, in_degree, out_degree
        From the network.
    senders
        Neurons with at least one target.
    targets
        ``targets[i]``: postsynaptic neurons of ``i`` (array per neuron).
    static_per_core
        Static energy of one powered core over ``t_run`` when cores are
        power-gated (else 0: then static energy is a constant).
    constant
        Mapping-independent energy: fixed energy plus, without power gating,
        the static energy of all ``K`` cores.
    min_dests
        The fewest destination cores each neuron can have (multicast).
    allowed
        ``allowed[i]``: cores neuron ``i`` may take after pins and symmetry
        breaking (``None`` = all).
    symmetry
        What symmetry breaking was applied (for ``Result.stats``).
    """

    network: SpikingNetwork
    hardware: Hardware
    n: int
    k: int
    comm: str
    cost: np.ndarray
    spikes: np.ndarray
    pre: np.ndarray
    post: np.ndarray
    in_degree: np.ndarray
    out_degree: np.ndarray
    senders: np.ndarray
    targets: list[np.ndarray]
    static_per_core: float
    constant: float
    min_dests: np.ndarray
    allowed: list[np.ndarray | None]
    symmetry: str

    @property
    def limits(self):
        return self.hardware.limits

    @property
    def needs_axons(self) -> bool:
        """Whether the model needs the axon indicators ``z`` (always for multicast)."""
        lim = self.limits
        return self.comm == "multicast" or lim.a_max is not None or lim.dest_max is not None

    def objective_scale(self) -> float:
        """A factor bringing the largest packet-energy coefficient ``s_i * cost`` to 1.

        Scaling by the communication (not the static) coefficients keeps every
        packet's energy well above the solvers' tolerances even when one
        core's static energy is a million packets' worth.
        """
        s = self.spikes[self.senders] if self.senders.size else np.zeros(0)
        big = float(s.max(initial=0.0)) * float(self.cost.max(initial=0.0))
        if big <= 0:
            big = self.static_per_core
        return 1.0 / big if big > 0 else 1.0


# ------------------------------------------------------------------ checks
def constant_infeasibility(network: SpikingNetwork, hardware: Hardware) -> str:
    """Why no mapping can be feasible, from constant checks alone ("" when none applies)."""
    lim = hardware.limits
    k = hardware.num_cores
    if lim.fanin_max is not None and network.num_synapses and network.in_degree.max() > lim.fanin_max:
        j = int(np.argmax(network.in_degree))
        return (f"neuron {j} has {int(network.in_degree[j])} presynaptic neurons, more than "
                f"fanin_max={lim.fanin_max} (no mapping changes a fan-in)")
    if lim.syn_max is not None and network.num_synapses and network.in_degree.max() > lim.syn_max:
        j = int(np.argmax(network.in_degree))
        return f"neuron {j} has {int(network.in_degree[j])} synapses, more than syn_max={lim.syn_max}"
    if lim.a_max is not None and network.num_synapses and network.in_degree.max() > lim.a_max:
        j = int(np.argmax(network.in_degree))
        return (f"neuron {j} has {int(network.in_degree[j])} presynaptic neurons, more than "
                f"a_max={lim.a_max} input axons per core")
    need = min_cores(network, hardware)
    if need > k:
        return (f"the limits need at least {need} cores but {hardware.name} has {k}: "
                f"use a larger mesh, e.g. load_hardware({hardware.name!r}, cores={need})")
    if lim.dest_max is not None:
        dests = min_destinations(network, hardware)
        if dests.size and dests.max() > lim.dest_max:
            i = int(np.argmax(dests))
            return (f"neuron {i} must reach at least {int(dests[i])} destination cores "
                    f"(its targets do not fit fewer cores), more than dest_max={lim.dest_max}")
    pins = network.pins
    if pins is not None:
        bad = np.flatnonzero(pins >= k)
        if bad.size:
            return (f"neuron {int(bad[0])} is pinned to core {int(pins[bad[0]])}, "
                    f"which does not exist (cores 0..{k - 1})")
        counts = np.bincount(pins[pins >= 0], minlength=k)
        if counts.size and counts.max() > lim.n_max:
            c = int(np.argmax(counts))
            return f"{int(counts[c])} neurons are pinned to core {c}, more than n_max={lim.n_max}"
    return ""


# --------------------------------------------------------------- symmetries
def _candidate_permutations(hardware: Hardware) -> list[np.ndarray]:
    """Core permutations that might preserve the costs: mesh flips/rotations, torus shifts, tile swaps."""
    k = hardware.num_cores
    out: list[np.ndarray] = []
    if hardware.topology == "matrix" or hardware.mesh is None:
        return out
    rows, cols = hardware.mesh
    cpt = hardware.cores_per_tile
    core = np.arange(k)
    tile, slot = core // cpt, core % cpt
    r, c = tile // cols, tile % cols
    maps = [(rows - 1 - r, c), (r, cols - 1 - c), (rows - 1 - r, cols - 1 - c)]
    if rows == cols:
        maps += [(c, r), (cols - 1 - c, rows - 1 - r)]
    if hardware.topology == "torus":
        maps += [((r + 1) % rows, c), (r, (c + 1) % cols)]
    for r2, c2 in maps:
        out.append((r2 * cols + c2) * cpt + slot)
    if cpt > 1:  # swapping two cores on one tile
        swap = core.copy()
        swap[slot == 0] += 1
        swap[slot == 1] -= 1
        out.append(swap)
    return out


def core_orbits(hardware: Hardware) -> np.ndarray:
    """Orbit representative (smallest core index) of every core under the cost-preserving symmetries.

    A permutation ``p`` is kept only if ``cost[p][:, p] == cost`` exactly, so
    separate x/y hop costs drop the transposes, and tiles with several cores
    keep their in-tile swaps.
    """
    cost = hardware.cost_matrix
    k = hardware.num_cores
    parent = np.arange(k)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for p in _candidate_permutations(hardware):
        if not np.array_equal(cost[np.ix_(p, p)], cost):
            continue
        for a, b in zip(range(k), p.tolist()):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(a) for a in range(k)])


def cores_interchangeable(hardware: Hardware) -> bool:
    """All cores alike: one diagonal cost and one off-diagonal cost (e.g. a bus, or zero hop cost)."""
    cost = hardware.cost_matrix
    k = hardware.num_cores
    if k == 1:
        return True
    off = cost[~np.eye(k, dtype=bool)]
    return bool(np.all(off == off[0]) and np.all(np.diag(cost) == cost[0, 0]))


def neuron_traffic(network: SpikingNetwork) -> np.ndarray:
    """Spikes a neuron sends plus receives over its synapses: how much its placement matters."""
    s = network.spikes
    return s * network.out_degree + np.bincount(network.post, weights=s[network.pre], minlength=network.num_neurons)


def allowed_cores(network: SpikingNetwork, hardware: Hardware, symmetry: bool) -> tuple[list[np.ndarray | None], str]:
    """Cores each neuron may take after pins and (valid) symmetry breaking.

    - pins fix a neuron's core; with any pin no symmetry is broken (a
      symmetry would move the pinned neuron);
    - all cores interchangeable: neurons in decreasing traffic take cores
      in order (the ``r``-th neuron may only use cores ``0..r``): every
      mapping can be relabelled so (bin-packing symmetry breaking);
    - otherwise the heaviest neuron is confined to one core of every orbit of
      the cost-preserving mesh symmetries (the mesh's fundamental domain).
    """
    n, k = network.num_neurons, hardware.num_cores
    allowed: list[np.ndarray | None] = [None] * n
    pins = network.pins
    if pins is not None and np.any(pins >= 0):
        for i in np.flatnonzero(pins >= 0).tolist():
            allowed[i] = np.array([int(pins[i])])
        return allowed, "none (pinned neurons)"
    if not symmetry or k == 1:
        return allowed, "none"
    order = np.argsort(-neuron_traffic(network), kind="stable")
    if cores_interchangeable(hardware):
        for r, i in enumerate(order.tolist()[: k - 1]):
            allowed[i] = np.arange(r + 1)
        return allowed, "interchangeable cores: r-th heaviest neuron on cores 0..r"
    reps = np.unique(core_orbits(hardware))
    if reps.size < k:
        allowed[int(order[0])] = reps
        return allowed, f"anchor: neuron {int(order[0])} on {reps.size} of {k} cores (fundamental domain)"
    return allowed, "none (no cost-preserving symmetry)"


# ------------------------------------------------------------------ prepare
def prepare(network: SpikingNetwork, hardware: Hardware, comm: str | None = None, *,
            symmetry: bool = True) -> ExactData:
    """Gather what the exact models need, with symmetry breaking when ``symmetry``."""
    comm = hardware.comm if comm is None else comm
    if comm not in ("multicast", "unicast"):
        raise ValueError(f"comm={comm!r}: must be 'multicast' or 'unicast'")
    k = hardware.num_cores
    static_core = float(network.t_run * hardware.energy.p_static)
    constant = fixed_energy(network, hardware) + (0.0 if hardware.power_gating else static_core * k)
    indptr = network.indptr
    targets = [network.indices[indptr[i]:indptr[i + 1]] for i in range(network.num_neurons)]
    allowed, sym = allowed_cores(network, hardware, symmetry)
    return ExactData(
        network=network, hardware=hardware, n=network.num_neurons, k=k, comm=comm,
        cost=np.asarray(hardware.cost_matrix, dtype=np.float64), spikes=network.spikes,
        pre=network.pre, post=network.post, in_degree=network.in_degree, out_degree=network.out_degree,
        senders=np.flatnonzero(network.out_degree > 0), targets=targets,
        static_per_core=static_core if hardware.power_gating else 0.0, constant=constant,
        min_dests=min_destinations(network, hardware), allowed=allowed, symmetry=sym,
    )


# ------------------------------------------------------------------- starts
def resolve_start(start: Any, network: SpikingNetwork, hardware: Hardware, seed: int,
                  comm: str | None) -> tuple[np.ndarray | None, str]:
    """A feasible start mapping from an array or a heuristic name, or ``None`` with the reason.

    An infeasible start is dropped (with a note) rather than passed to a
    solver that would reject or repair it silently.
    """
    if start is None:
        return None, ""
    name = ""
    if isinstance(start, str):
        from snnmap.heuristics import METHODS as HEURISTICS  # lazy: heuristics import formulations

        if start not in HEURISTICS:
            raise ValueError(f"start={start!r}: unknown heuristic; known: {', '.join(sorted(HEURISTICS))}")
        name = start
        res = HEURISTICS[start](network, hardware, seed=seed, comm=comm)
        if res.mapping is None:
            return None, f"start heuristic {start!r} found no mapping ({res.message})"
        start = res.mapping
    core_of = np.asarray(getattr(start, "core_of", start))
    report = evaluate(network, hardware, core_of, comm, link_loads=False)
    if not report.feasible:
        return None, f"start {name or 'mapping'} ignored: " + "; ".join(str(v) for v in report.violations)
    return core_of.astype(np.int64), ""


# -------------------------------------------------------------------- sizes
def estimate_size(data: ExactData, form: str) -> dict[str, int]:
    """Variables, constraints and nonzeros of a form before building it.

    ``form`` is ``"textbook"``, ``"compact"`` or ``"cpsat"``.
    """
    n, k, s = data.n, data.k, int(data.pre.size)
    ns = int(data.senders.size)
    var = n * k + k
    con = n + 2 * k + n * k
    nnz = n * k * 3 + k
    if data.needs_axons:
        var += ns * k
        con += s * k + k
        nnz += 2 * s * k + ns * k
    if form == "textbook":
        if data.comm == "multicast":
            var += ns * k * k
            con += ns * k * k
            nnz += 3 * ns * k * k
        else:
            var += s * k * k
            con += s * k * k
            nnz += 3 * s * k * k
    elif form == "compact":
        var += ns * k * k
        con += ns * k * k + 2 * ns * k
        nnz += 2 * ns * k * k + 2 * ns * k * k + s * k
    else:  # cpsat: one enforced cost row per (sender, own core)
        var += ns
        con += ns * k
        nnz += ns * k * k + s * k
    return {"variables": int(var), "constraints": int(con), "nonzeros": int(nnz)}


def check_size(data: ExactData, form: str, method: str, force: bool, max_nonzeros: int | None) -> dict[str, int]:
    """The size estimate; raises :class:`ModelTooLargeError` above the ceiling unless ``force``."""
    size = estimate_size(data, form)
    limit = MAX_NONZEROS if max_nonzeros is None else int(max_nonzeros)
    if not force and size["nonzeros"] > limit:
        raise ModelTooLargeError(
            f"{method}: the {form} model of {data.n} neurons on {data.k} cores would have about "
            f"{size['variables']:,} variables, {size['constraints']:,} constraints and "
            f"{size['nonzeros']:,} nonzeros (ceiling {limit:,}); proving it could take hours. "
            "Use the two-stage mode (cluster, then place the clusters exactly: method 'qap'), "
            "a heuristic such as 'partition-refine', or pass force=True to build it anyway.",
            size,
        )
    return size


# ------------------------------------------------------------------ results
def valid_lower_bound(network: SpikingNetwork, hardware: Hardware, comm: str | None,
                      solver_bound: float | None) -> float:
    """``max(solver bound, combinatorial bound)``; a NaN or infinite solver bound is ignored."""
    lb = combinatorial_lower_bound(network, hardware, comm)
    if solver_bound is not None and math.isfinite(solver_bound):
        lb = max(lb, float(solver_bound))
    return lb


def infeasible_result(network: SpikingNetwork, hardware: Hardware, method: str, message: str, runtime: float,
                      seed: int, comm: str | None, stats: dict[str, Any] | None = None,
                      log_path: str | None = None) -> Result:
    """A :class:`Result` for an instance without a feasible mapping."""
    return result_from_mapping(network, hardware, None, method=method, status=Status.INFEASIBLE, runtime=runtime,
                               seed=seed, comm=comm, message=message, stats=stats, log_path=log_path)


def energy_agrees(solver_energy: float | None, evaluated: float, rtol: float = 1e-6, atol: float = 0.0) -> bool:
    """Whether a solver's own energy matches the evaluator's (relative ``rtol``, plus ``atol`` joules)."""
    if solver_energy is None or not math.isfinite(solver_energy):
        return False
    return abs(solver_energy - evaluated) <= rtol * max(abs(evaluated), 1e-300) + atol
