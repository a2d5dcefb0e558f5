"""Data checks, the objective evaluator and the result shape shared by all QAP methods."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from snnmap.formulations.result import Status

__all__ = [
    "QAPError",
    "QAPResult",
    "brute_force_qap",
    "check_data",
    "is_integral",
    "qap_objective",
]

class QAPError(ValueError):
    """Invalid QAP data: a malformed file or inconsistent matrices."""


@dataclass
class QAPResult:
    """Outcome of one QAP solve; the same shape for every method.

    Attributes
    ----------
    assignment : numpy.ndarray
        ``assignment[a]`` is the location of facility ``a`` (``int64``, length ``n``).
    objective : float
        Cost of ``assignment`` recomputed in float by `qap_objective` (``inf`` if none).
    lower_bound : float
        Valid lower bound on the optimum (``-inf`` if the method has none).
    status : Status
        The same :class:`~formulations.result.Status` as every mapping method:
        ``optimal`` (proved), ``feasible`` (a heuristic, no proof attempted),
        ``gap_limit`` (stopped at a requested gap, valid bound), ``time_limit``
        or ``interrupted`` (Ctrl-C; best assignment so far, valid bound),
        ``infeasible`` or ``error`` (``message`` says why).
    nodes : int
        Branch-and-bound nodes (own B&B, or the solver's count when known, else 0).
    runtime : float
        Wall-clock seconds.
    method : str
        The method that ran (``"bnb"``, ``"milp"``, ``"cpsat"``, ``"anneal"``).
    seed : int
        Seed used.
    rounding_error : float
        Bound on ``|true cost - cost the solver optimised|`` for any assignment
        when the method scaled costs to integers (CP-SAT), else 0.
    info : dict
        Method specific extras (solver status text, root bound, ...).
    message : str
        Why a run failed or stopped early ("" otherwise).
    """

    assignment: np.ndarray
    objective: float
    lower_bound: float
    status: Status
    nodes: int
    runtime: float
    method: str
    seed: int = 0
    rounding_error: float = 0.0
    info: dict = field(default_factory=dict)
    message: str = ""

    def __post_init__(self) -> None:
        self.status = Status(self.status)

    @property
    def proven(self) -> bool:
        """Whether the objective is proven optimal."""
        return self.status == Status.OPTIMAL

    @property
    def gap(self) -> float:
        """Relative gap ``(objective - lower_bound) / |objective|`` (0 when both are 0)."""
        if not np.isfinite(self.objective) or not np.isfinite(self.lower_bound):
            return float("inf")
        diff = max(0.0, self.objective - self.lower_bound)
        return 0.0 if diff == 0 else diff / max(abs(self.objective), 1e-300)


def _as_matrix(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise QAPError(f"{name}: not a numeric matrix ({exc})") from None
    if arr.ndim != 2:
        raise QAPError(f"{name}: expected a 2-D matrix, got {arr.ndim} dimension(s)")
    if not np.all(np.isfinite(arr)):
        raise QAPError(f"{name}: contains NaN or infinite entries")
    return arr


def check_data(flow, dist, linear=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate and convert QAP data to contiguous float64 arrays.

    Parameters
    ----------
    flow : array_like
        ``n x n`` flow matrix (facilities).
    dist : array_like
        ``m x m`` distance matrix (locations), ``m >= n``.
    linear : array_like, optional
        ``n x m`` assignment cost.

    Returns
    -------
    tuple
        ``(flow, dist, linear)`` as float64 arrays (``linear`` may be None).

    Raises
    ------
    QAPError
        On wrong shapes, non-finite entries, or fewer locations than facilities.
    """
    F = _as_matrix(flow, "flow")
    D = _as_matrix(dist, "dist")
    if F.shape[0] != F.shape[1]:
        raise QAPError(f"flow: must be square, got shape {F.shape}")
    if D.shape[0] != D.shape[1]:
        raise QAPError(f"dist: must be square, got shape {D.shape}")
    n, m = F.shape[0], D.shape[0]
    if n == 0:
        raise QAPError("flow: empty instance (n=0), need at least one facility")
    if m < n:
        raise QAPError(f"dist: {m} locations for {n} facilities; need m >= n (one facility per location)")
    L = None
    if linear is not None:
        L = _as_matrix(linear, "linear")
        if L.shape != (n, m):
            raise QAPError(f"linear: shape {L.shape}, expected (n, m) = ({n}, {m})")
        L = np.ascontiguousarray(L)
    return np.ascontiguousarray(F), np.ascontiguousarray(D), L


def is_integral(*arrays) -> bool:
    """True if every given array (None skipped) holds only integers."""
    return all(a is None or bool(np.all(a == np.round(a))) for a in arrays)


def qap_objective(flow, dist, assignment, linear=None) -> float:
    """Exact float cost ``sum_{a,b} F[a,b] D[p(a),p(b)] + sum_a L[a,p(a)]``.

    Parameters
    ----------
    flow, dist, linear : array_like
        Instance data as in `check_data`.
    assignment : array_like of int
        Location of each facility; must be injective and in range.

    Raises
    ------
    QAPError
        If ``assignment`` is not an injective map into ``range(m)``.
    """
    F = np.asarray(flow, dtype=np.float64)
    D = np.asarray(dist, dtype=np.float64)
    p = np.asarray(assignment)
    n, m = F.shape[0], D.shape[0]
    if p.shape != (n,) or not np.issubdtype(p.dtype, np.integer):
        raise QAPError(f"assignment: expected {n} integer locations, got shape {p.shape} dtype {p.dtype}")
    if p.min(initial=0) < 0 or p.max(initial=0) >= m:
        raise QAPError(f"assignment: locations must lie in [0, {m})")
    if len(np.unique(p)) != n:
        raise QAPError("assignment: two facilities share a location")
    cost = float(np.sum(F * D[np.ix_(p, p)]))
    if linear is not None:
        cost += float(np.asarray(linear, dtype=np.float64)[np.arange(n), p].sum())
    return cost


def brute_force_qap(flow, dist, linear=None) -> tuple[float, np.ndarray]:
    """Optimum by enumerating every injective assignment (tiny instances only).

    Raises
    ------
    QAPError
        If there are more than 10^6 assignments.
    """
    F, D, L = check_data(flow, dist, linear)
    n, m = F.shape[0], D.shape[0]
    count = 1
    for k in range(n):
        count *= m - k
    if count > 1_000_000:
        raise QAPError(f"brute force: {count} assignments for n={n}, m={m} is too many")
    best, arg = float("inf"), None
    for perm in itertools.permutations(range(m), n):
        p = np.asarray(perm, dtype=np.int64)
        c = qap_objective(F, D, p, L)
        if c < best:
            best, arg = c, p
    return best, arg
