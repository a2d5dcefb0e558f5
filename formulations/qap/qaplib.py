"""Reader for QAPLIB instance files.

A QAPLIB ``.dat`` file holds the size ``n`` followed by two ``n x n`` integer
matrices, whitespace separated: first the distance matrix, then the flow matrix
(the convention of the shipped ``nug``/``had``/``chr``/``scr``/``rou``/``esc``
files). Some QAPLIB files list the flow matrix first; the objective
``sum F[a,b] D[p(a),p(b)]`` is then the same after transposing the roles, so the
order only matters for names, never for values.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from snnmap.formulations.qap.core import QAPError, qap_objective
from snnmap.instances.files import read_text, whole_numbers, write_text

__all__ = ["QAPError", "QAPInstance", "read_qaplib", "write_qaplib"]


@dataclass(frozen=True)
class QAPInstance:
    """An immutable QAP instance.

    Parameters
    ----------
    name : str
        Instance name (the file stem for files read from disk).
    flow : numpy.ndarray
        ``n x n`` flow between facilities (clusters).
    dist : numpy.ndarray
        ``m x m`` distance between locations (cores), ``m >= n``.
    linear : numpy.ndarray or None
        Optional ``n x m`` cost of putting facility ``a`` on location ``k``.
    """

    name: str
    flow: np.ndarray
    dist: np.ndarray
    linear: np.ndarray | None = field(default=None)

    @property
    def n(self) -> int:
        """Number of facilities."""
        return int(self.flow.shape[0])

    @property
    def m(self) -> int:
        """Number of locations."""
        return int(self.dist.shape[0])

    def replace(self, **changes) -> QAPInstance:
        """Return a copy with some fields changed."""
        return replace(self, **changes)

    def objective(self, assignment: np.ndarray) -> float:
        """Cost of ``assignment`` (location of each facility), see `qap_objective`."""
        return qap_objective(self.flow, self.dist, assignment, self.linear)


def read_qaplib(path: str | Path) -> QAPInstance:
    """Read a QAPLIB ``.dat`` file.

    Parameters
    ----------
    path : str or pathlib.Path
        File with ``n`` and then the distance and flow matrices.

    Returns
    -------
    QAPInstance
        Named after the file stem, with integer (``int64``) matrices.

    Raises
    ------
    QAPError
        If the file is missing, holds a non-integer token, a non-positive size
        or not exactly ``1 + 2 n^2`` numbers.
    """
    path = Path(path)
    tokens = read_text(path, "QAPLIB", QAPError).split()
    if not tokens:
        raise QAPError(f"{path}: empty file, expected the size n and two n x n matrices")
    values = []
    for pos, tok in enumerate(tokens):
        try:
            values.append(int(tok))
        except ValueError:
            raise QAPError(
                f"{path}: token {pos + 1} {tok!r} is not an integer "
                "(QAPLIB files hold integers only)"
            ) from None
    n = values[0]
    if n <= 0:
        raise QAPError(f"{path}: size n={n} must be >= 1")
    expected = 1 + 2 * n * n
    if len(values) != expected:
        raise QAPError(
            f"{path}: found {len(values) - 1} matrix entries after n={n}, "
            f"expected 2*n*n={2 * n * n} (two square {n} x {n} matrices)"
        )
    try:
        body = whole_numbers(values[1:], "matrix entries", low=None, meaning="a QAPLIB entry", error=QAPError,
                             locate=lambda k: f"token {k + 2}")
    except QAPError as exc:
        raise QAPError(f"{path}: {exc}") from None
    dist = body[: n * n].reshape(n, n)
    flow = body[n * n :].reshape(n, n)
    return QAPInstance(name=path.stem, flow=flow, dist=dist)


def write_qaplib(instance: QAPInstance, path: str | Path) -> None:
    """Write a square, integer, linear-free instance in QAPLIB format.

    Raises
    ------
    QAPError
        If the instance is rectangular, has a linear term or non-integer data.
    """
    if instance.n != instance.m or instance.linear is not None:
        raise QAPError(f"{instance.name}: QAPLIB format holds square instances without linear costs")
    for label, mat in (("dist", instance.dist), ("flow", instance.flow)):
        if not np.array_equal(mat, np.round(mat)):
            raise QAPError(f"{instance.name}: {label} matrix is not integral, QAPLIB needs integers")
    lines = [str(instance.n), ""]
    for mat in (instance.dist, instance.flow):
        lines += [" ".join(str(int(v)) for v in row) for row in mat]
        lines.append("")
    write_text(path, "\n".join(lines))
