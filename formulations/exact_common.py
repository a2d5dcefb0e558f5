"""What every neuron-level exact model shares: instance data, symmetries, starts, sizes, start-up and scoring.

The MILP forms (:mod:`formulations.milp`) and the CP-SAT model
(:mod:`formulations.cpsat`) begin with :func:`start_up` (precheck, instance
data, size ceiling, start mapping), read the instance through
:class:`ExactData`, so they all see the same costs, the same forced
infeasibilities and the same symmetry breaking, run their solver through
:func:`run_interruptible` (Ctrl-C keeps the incumbent), and score the answer
with :func:`finish`.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import threading
import time
from typing import Any, Callable, TypeVar

import numpy as np

from snnmap.formulations.bounds import combinatorial_lower_bound, min_destinations, precheck
from snnmap.formulations.energy import evaluate, fixed_energy
from snnmap.formulations.result import Result, Status, infeasible_result, result_from_mapping
from snnmap.hardware import Hardware
from snnmap.instances import SpikingNetwork

#: Default ceiling on the estimated model size; above it a solve is refused unless ``force=True``.
MAX_NONZEROS = 2_000_000
#: Nonzeros per second of a Pyomo build and its hand-over to the solver, set generously (faster than measured) so
#: that only builds that cannot fit their time limit are skipped. Measured on the 2-core reference machine at
#: load 3: 29-45 k per second (LeNet:mini on loihi, 1.47 M nonzeros, 33-51 s; issue 14's session of 2026-12-02).
BUILD_NONZEROS_PER_S = 200_000

ProgressFn = Callable[[float, float, float], Any]
T = TypeVar("T")


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
def check_start(start: Any, network: SpikingNetwork, hardware: Hardware,
                comm: str | None) -> tuple[np.ndarray | None, str]:
    """A feasible start mapping (array, :class:`~formulations.energy.Mapping` or ``None``), or ``None`` with the reason.

    An infeasible start is dropped (with a note) rather than passed to a
    solver that would reject or repair it silently. A heuristic's *name* is
    refused: the exact models sit below the heuristics, so the front door
    turns names into mappings.
    """
    if start is None:
        return None, ""
    if isinstance(start, str):
        raise ValueError(
            f"start={start!r}: the exact models take a start mapping (array of cores), not a method name; "
            f"pass a mapping, or use the front door snnmap.solve(..., start={start!r}), which resolves heuristic names"
        )
    core_of = np.asarray(getattr(start, "core_of", start))
    report = evaluate(network, hardware, core_of, comm, link_loads=False)
    if not report.feasible:
        return None, "start mapping ignored: " + "; ".join(str(v) for v in report.violations)
    return core_of.astype(np.int64), ""


def canonical_start(core_of: np.ndarray, d: ExactData) -> np.ndarray | None:
    """The start moved by a cost-preserving symmetry so it obeys the symmetry breaking (``None`` if none does)."""
    def ok(cm: np.ndarray) -> bool:
        return all(a is None or int(cm[i]) in set(a.tolist()) for i, a in enumerate(d.allowed))

    if ok(core_of):
        return core_of
    if d.symmetry.startswith("interchangeable"):
        # Relabel cores in order of first use along the neurons' traffic order.
        order = np.argsort(-neuron_traffic(d.network), kind="stable")
        label: dict[int, int] = {}
        for i in order.tolist():
            label.setdefault(int(core_of[i]), len(label))
        rest = [c for c in range(d.k) if c not in label]
        for c in rest:
            label[c] = len(label)
        out = np.array([label[int(c)] for c in core_of])
        return out if ok(out) else None
    # Anchor: search the group generated by the cost-preserving permutations.
    cost = d.cost
    gens = [p for p in _candidate_permutations(d.hardware) if np.array_equal(cost[np.ix_(p, p)], cost)]
    seen = {tuple(range(d.k))}
    frontier = [np.arange(d.k)]
    while frontier:
        nxt = []
        for g in frontier:
            for p in gens:
                h = p[g]
                key = tuple(h.tolist())
                if key in seen:
                    continue
                seen.add(key)
                cand = h[core_of]
                if ok(cand):
                    return cand
                nxt.append(h)
        frontier = nxt
        if len(seen) > 10_000:
            break
    return None


@dataclasses.dataclass(frozen=True, eq=False)
class StartUp:
    """An exact run after the steps every exact model shares (:func:`start_up`).

    Attributes
    ----------
    data
        The instance as the models see it.
    size
        The model's size estimate.
    start
        The feasible start mapping, moved to obey the symmetry breaking (or ``None``).
    note
        Why a given start was dropped ("" otherwise).
    t0
        ``time.perf_counter()`` when the run began.
    """

    data: ExactData
    size: dict[str, int]
    start: np.ndarray | None
    note: str
    t0: float

    def remaining(self, time_limit: float | None) -> float | None:
        """Seconds of ``time_limit`` left (``None`` without a limit)."""
        return None if time_limit is None else max(0.0, time_limit - (time.perf_counter() - self.t0))


def start_up(network: SpikingNetwork, hardware: Hardware, *, method: str, form: str, comm: str | None,
             seed: int, start: Any, symmetry: bool, force: bool, max_nonzeros: int | None) -> StartUp | Result:
    """The shared first steps of an exact run, or the ``infeasible`` Result that ends it.

    :func:`~formulations.bounds.precheck`, :func:`prepare`, the size ceiling
    (:func:`check_size`), and the start: checked (:func:`check_start`) and
    moved to obey the symmetry breaking (:func:`canonical_start`).
    """
    t0 = time.perf_counter()
    problem = precheck(network, hardware)
    if problem:
        return infeasible_result(network, hardware, problem, method=method, runtime=time.perf_counter() - t0,
                                 seed=seed, comm=comm)
    d = prepare(network, hardware, comm, symmetry=symmetry)
    size = check_size(d, form, method, force, max_nonzeros)
    start_map, note = check_start(start, network, hardware, comm)
    if start_map is not None:
        start_map = canonical_start(start_map, d)
        if start_map is None:
            note = "start mapping ignored: no symmetric image of it obeys the symmetry breaking"
    return StartUp(data=d, size=size, start=start_map, note=note, t0=t0)


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


# ------------------------------------------------------------- interrupts
def run_interruptible(run: Callable[[], T], stop: Callable[[], Any]) -> tuple[T, bool]:
    """Run a blocking solver call so that Ctrl-C stops it and keeps its incumbent.

    The call runs in a worker thread while the main thread waits; SIGINT
    (Ctrl-C) calls ``stop()`` (the solver's own cancel, which makes it return
    its best solution soon) instead of raising ``KeyboardInterrupt`` inside the
    solver. Outside the main thread (where Python cannot take signals) ``run``
    simply runs.

    Returns
    -------
    tuple
        ``run()``'s value and whether Ctrl-C was pressed.
    """
    if threading.current_thread() is not threading.main_thread():
        return run(), False
    box: dict[str, Any] = {}
    done = threading.Event()
    pressed = threading.Event()

    def work() -> None:
        try:
            box["value"] = run()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc
        finally:
            done.set()

    def on_sigint(signum: int, frame: Any) -> None:
        pressed.set()
        stop()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        threading.Thread(target=work, name="snnmap-solver", daemon=True).start()
        while not done.wait(0.1):
            pass
    finally:
        signal.signal(signal.SIGINT, previous)
    if "error" in box:
        raise box["error"]
    return box["value"], pressed.is_set()


# ------------------------------------------------------------------ results
def valid_lower_bound(network: SpikingNetwork, hardware: Hardware, comm: str | None,
                      solver_bound: float | None) -> float:
    """``max(solver bound, combinatorial bound)``; a NaN or infinite solver bound is ignored."""
    lb = combinatorial_lower_bound(network, hardware, comm)
    if solver_bound is not None and math.isfinite(solver_bound):
        lb = max(lb, float(solver_bound))
    return lb


def energy_agrees(solver_energy: float | None, evaluated: float, rtol: float = 1e-6, atol: float = 0.0) -> bool:
    """Whether a solver's own energy matches the evaluator's (relative ``rtol``, plus ``atol`` joules)."""
    if solver_energy is None or not math.isfinite(solver_energy):
        return False
    return abs(solver_energy - evaluated) <= rtol * max(abs(evaluated), 1e-300) + atol


@dataclasses.dataclass(frozen=True, eq=False)
class SolverOutcome:
    """How a solver run ended, in joules, for :func:`finish`.

    Attributes
    ----------
    status
        How the solver stopped: ``optimal`` (proved at its proof tolerances),
        ``gap_limit``, ``time_limit``, ``interrupted``, ``infeasible`` (proved),
        ``feasible`` (stopped otherwise) or ``error``.
    termination
        The solver's own word for it (for ``stats`` and messages).
    mapping
        The solver's mapping (``None`` if it has none).
    objective, bound
        The solver's objective of ``mapping`` and its lower bound, in joules
        including the constant energy (``None`` when unknown).
    rtol, atol
        How closely ``objective`` must match the evaluator for ``optimal``.
    """

    status: Status
    termination: str
    mapping: np.ndarray | None = None
    objective: float | None = None
    bound: float | None = None
    rtol: float = 1e-6
    atol: float = 0.0


def finish(run: StartUp, out: SolverOutcome, *, method: str, seed: int, stats: dict[str, Any],
           notes: list[str], log_path: str | None = None) -> Result:
    """Score a solver's answer with the evaluator: the one scoring path of the exact models.

    - without a solver mapping the start (if any) is returned; a start better
      than the solver's mapping replaces it (a solver may drop its MIP start);
    - ``optimal`` stands only if the solver's objective matches the
      evaluator's energy (else ``feasible`` with a note);
    - the bound is ``max(solver bound, combinatorial bound)``, clipped to the
      energy of a proven optimum (solver tolerances may lift it a hair above).
    """
    d = run.data
    network, hardware, comm = d.network, d.hardware, d.comm

    def runtime() -> float:
        return time.perf_counter() - run.t0

    stats = {**stats, "termination": out.termination, "solver_objective": out.objective}
    notes = [n for n in [run.note, *notes] if n]
    core_of, solver_energy, status = out.mapping, out.objective, out.status
    if core_of is None and status == Status.INFEASIBLE:
        why = "; ".join(notes + ["the solver proved that no mapping meets the limits"])
        return infeasible_result(network, hardware, why, method=method, runtime=runtime(), seed=seed, comm=comm,
                                 stats=stats, log_path=log_path)
    if core_of is None and run.start is not None:
        core_of, solver_energy = run.start, None
        notes.append("no better mapping than the start was found")
        if status in (Status.OPTIMAL, Status.GAP_LIMIT):
            status = Status.FEASIBLE
    if core_of is None:
        if status not in (Status.TIME_LIMIT, Status.INTERRUPTED):
            status = Status.ERROR
        return result_from_mapping(network, hardware, None, method=method, status=status, runtime=runtime(),
                                   seed=seed, lower_bound=valid_lower_bound(network, hardware, comm, out.bound),
                                   comm=comm, log_path=log_path, stats=stats,
                                   message="; ".join(notes + [f"no mapping found (solver: {out.termination})"]))
    energy = evaluate(network, hardware, core_of, comm, link_loads=False).total
    if run.start is not None and core_of is not run.start:
        start_energy = evaluate(network, hardware, run.start, comm, link_loads=False).total
        if start_energy < energy:  # the solver dropped its MIP start: never return worse than it
            core_of, energy, solver_energy = run.start, start_energy, None
            notes.append("the solver's mapping was worse than the start; returning the start")
    if status == Status.OPTIMAL and not energy_agrees(solver_energy, energy, out.rtol, out.atol):
        status = Status.FEASIBLE
        notes.append(f"solver objective {solver_energy} J differs from the evaluator's {energy:.9g} J "
                     "by more than the solver's tolerance: not reported as optimal")
    bound = out.bound
    if bound is not None and status == Status.OPTIMAL:
        bound = min(bound, energy)
    lb = valid_lower_bound(network, hardware, comm, bound)
    stats["gap"] = (energy - lb) / energy if energy > 0 else 0.0
    return result_from_mapping(network, hardware, core_of, method=method, status=status, runtime=runtime(),
                               seed=seed, lower_bound=lb, comm=comm, message="; ".join(notes), log_path=log_path,
                               stats=stats)


def build_outlasts_limit(run: StartUp, time_limit: float | None, *, method: str, seed: int) -> Result | None:
    """The start and the combinatorial bound, status ``time_limit``, when building the model cannot fit the limit.

    A Pyomo build cannot be stopped part-way, so a model whose build alone (at the generous
    :data:`BUILD_NONZEROS_PER_S`) outlasts the seconds left is not started: waiting for it would break the
    time limit many times over. ``None`` when the build fits.
    """
    left = run.remaining(time_limit)
    need = run.size["nonzeros"] / BUILD_NONZEROS_PER_S
    if left is None or need <= left:
        return None
    why = (f"building the model ({run.size['nonzeros']:,} nonzeros) takes at least {need:.1f} s, more than the "
           f"{left:.1f} s left of the time limit: not built; raise the time limit above about {5 * need:.0f} s or "
           "use 'cpsat' or 'partition-benders'")
    out = SolverOutcome(status=Status.TIME_LIMIT, termination="time limit before the build")
    return finish(run, out, method=method, seed=seed, stats=dict(run.size), notes=[why])


def interrupted_result(run: StartUp, *, method: str, seed: int) -> Result:
    """Ctrl-C before the solver started: the start mapping (if any) with status ``interrupted``."""
    out = SolverOutcome(status=Status.INTERRUPTED, termination="interrupted before the solver started")
    return finish(run, out, method=method, seed=seed, stats=dict(run.size), notes=[])
