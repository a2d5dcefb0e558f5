"""What every snnmap reader and writer shares: atomic writes, text reading and number checks.

- :func:`atomic_write` writes a file under a temporary name in the same
  directory and renames it into place, so a reader (or a second writer) sees
  either the old file, or the complete new one, never a torn one.
- :func:`read_text` reads UTF-8 text (a byte-order mark is allowed) with
  errors that name the file.
- :func:`whole_numbers` and :func:`finite_numbers` are the one validation path
  for the numbers of every file format (JSON, CSV, ``.npz``, NIR, mapping and
  QAPLIB files): whole numbers only where indices are meant (no ``true``, no
  ``"2"``, no ``2.5``, no NaN, nothing beyond int64), every refusal naming the
  field, the entry and the fix.
- :func:`check_memory` refuses sizes whose arrays cannot fit in this machine's memory.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

import numpy as np

INT64_MAX = int(np.iinfo(np.int64).max)


class FileError(ValueError):
    """A file cannot be read or written; the message names the file and the fix."""


# ------------------------------------------------------------------- writing
@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary name beside ``path`` to write to, renamed onto ``path`` only when the block succeeds.

    The one way snnmap writes a file: a reader (or a second writer) sees the old
    file or the complete new one, never a torn one, and a failed or interrupted
    write leaves the old file in place. The temporary file sits in the target's
    directory (a rename is atomic only within one file system) and keeps the
    suffix, so writers that infer the format from the name (matplotlib) still do.

    Raises
    ------
    FileError
        When the target is a directory or a device, or the file system refuses the write.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise FileError(f"{path}: exists and is not a regular file (a directory or device): choose a file path")
    blocker = next((p for p in path.parents if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise FileError(f"{path}: cannot write the file: {blocker} is a file, not a directory: choose another path")
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # os.open with mode 0o666 lets the umask set the permissions, as for any new file.
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        try:
            yield tmp
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise FileError(f"{path}: cannot write the file ({exc.strerror or exc}): choose a writable path") from None


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Write a file through ``write(binary_handle)`` and rename it into place (see :func:`replacing`).

    Writing through a handle also stops numpy from appending ``.npz`` to the name.
    """
    with replacing(path) as tmp, open(tmp, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    data = text.encode("utf-8")
    return atomic_write(path, lambda fh: fh.write(data))


# ------------------------------------------------------------------- reading
def read_text(path: str | Path, what: str, error: type[ValueError] = FileError) -> str:
    """The text of a UTF-8 file (with or without a byte-order mark).

    Parameters
    ----------
    path
        The file.
    what
        What the file should be (``"network"``, ``"mapping"``...), for messages.
    error
        The error class raised (a :class:`ValueError` subclass of the caller's layer).
    """
    path = Path(path)
    if path.is_dir():
        raise error(f"{path}: is a directory, not a {what} file")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} file ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a UTF-8 text file (byte {exc.start} is 0x{data[exc.start]:02x}): "
                    f"give a {what} file in text form") from None


# --------------------------------------------------------------- validation
def whole_numbers(
    values: Any,
    field: str,
    *,
    low: int | None = 0,
    high: int | None = None,
    meaning: str = "each entry",
    error: type[ValueError] = FileError,
    locate: Callable[[int], str] | None = None,
) -> np.ndarray:
    """``values`` as a 1-D int64 array, refusing anything that is not a whole number in range.

    Refused: ``true``/``false``, text, fractions, NaN and infinities, values
    below ``low`` or above ``high`` (and beyond int64), nested lists.

    Parameters
    ----------
    values
        A list (e.g. parsed JSON) or a numpy array.
    field
        Name of the field, for messages.
    low, high
        Allowed range (inclusive); ``None`` for no bound.
    meaning
        What one entry is (``"a neuron index"``), for the fix in messages.
    error
        The error class raised.
    locate
        Names the place of entry ``k`` (default ``"entry k"``; CSV readers give line numbers).
    """
    hi = INT64_MAX if high is None else min(int(high), INT64_MAX)
    lo = -INT64_MAX if low is None else int(low)
    bound = f"in {lo}..{hi}" if high is not None else f">= {lo}" if low is not None else "within int64"
    rule = f"{meaning} must be a whole number {bound}"
    arr = _numeric(values, field, error, locate, rule)

    def fail(k: int, problem: str) -> None:
        raise error(f"field {field!r}, {_where(k, locate)}: {problem}; {rule}")

    if arr.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(arr) | (arr != np.floor(arr)))
        if bad.size:
            fail(int(bad[0]), f"{show_value(arr[bad[0]])} is not a whole number")
        # float(2**63) rounds to 2**63 itself, one beyond int64: compare against it, not hi.
        out = (arr < lo) | (arr > hi) | (arr >= 2.0**63)
    elif arr.dtype.kind == "u":
        out = (arr > np.uint64(hi)) | ((arr < np.uint64(lo)) if lo > 0 else False)
    else:
        out = (arr < lo) | (arr > hi)
    if arr.size and out.any():
        k = int(np.flatnonzero(out)[0])
        v = arr[k]
        beyond = v >= 2.0**63 if arr.dtype.kind in "fu" else False
        fail(k, f"{show_value(v)} is {'beyond the 64-bit integer range' if beyond else 'out of range'}")
    return arr.astype(np.int64, copy=False)


def whole_number(value: Any, field: str, **kwargs: Any) -> int:
    """One whole number (see :func:`whole_numbers`), e.g. a file's ``num_cores``."""
    kwargs.setdefault("locate", lambda k: "value")
    return int(whole_numbers([value], field, **kwargs)[0])


def finite_numbers(
    values: Any,
    field: str,
    *,
    low: float | None = None,
    meaning: str = "each entry",
    error: type[ValueError] = FileError,
    locate: Callable[[int], str] | None = None,
) -> np.ndarray:
    """``values`` as a 1-D float64 array of finite numbers ``>= low`` (no booleans, no text)."""
    rule = f"{meaning} must be a finite number" + (f" >= {low:g}" if low is not None else "")
    arr = _numeric(values, field, error, locate, rule)
    with np.errstate(over="ignore"):
        arr = arr.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(arr) | ((arr < low) if low is not None else False))
    if bad.size:
        k = int(bad[0])
        raise error(f"field {field!r}, {_where(k, locate)}: {show_value(arr[k])} is not allowed; {rule}")
    return arr


def _numeric(values: Any, field: str, error: type[ValueError], locate: Callable[[int], str] | None,
             rule: str) -> np.ndarray:
    """A 1-D numeric array (int, uint or float kind) from a list or array, or ``error`` naming the bad entry."""

    def fail(k: int, problem: str) -> None:
        raise error(f"field {field!r}, {_where(k, locate)}: {problem}; {rule}")

    if isinstance(values, (list, tuple)):
        # numpy reads True as 1: find booleans before it does.
        for k, v in enumerate(values):
            if isinstance(v, (bool, np.bool_)):
                fail(k, f"{json_text(v)} is true/false, not a number")
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError, OverflowError):
        raise error(f"field {field!r}: must be a flat list of numbers; {rule}") from None
    if arr.ndim != 1:
        raise error(f"field {field!r}: must be a flat list of numbers, got {arr.ndim} dimension(s); {rule}")
    if arr.dtype.kind in "iuf":
        return arr
    if arr.dtype.kind == "b":
        fail(0, f"{json_text(bool(arr[0]))} is true/false, not a number")
    if arr.dtype.kind == "O":
        # Python ints beyond int64 (and Nones) make an object array: name the first such entry.
        for k, v in enumerate(arr):
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                if not -INT64_MAX <= v <= INT64_MAX:
                    fail(k, f"{show_value(v)} is beyond the 64-bit integer range")
            elif not isinstance(v, (float, np.floating)):
                fail(k, f"{json_text(v)} is not a number")
        return arr.astype(np.float64)
    if arr.dtype.kind in "US":
        k = 0
        if isinstance(values, (list, tuple)):
            k = next(i for i, v in enumerate(values) if isinstance(v, (str, bytes)))
        fail(k, f"{json_text(arr[k].item())} is text, not a number")
    raise error(f"field {field!r}: holds {arr.dtype} values; {rule}")


def _where(k: int, locate: Callable[[int], str] | None) -> str:
    return locate(k) if locate is not None else f"entry {k}"


def show_value(v: Any) -> str:
    """A number as the user wrote it: ``2.5``, ``1e+23``, ``12`` (never a wrapped int64)."""
    if isinstance(v, (bool, np.bool_)):
        return json_text(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return str(int(f)) if np.isfinite(f) and f == int(f) and abs(f) < 1e16 else repr(f)
    if isinstance(v, (int, np.integer)):
        text = str(int(v))
        return text if len(text) <= 20 else f"{text[:6]}...({len(text)} digits)"
    return repr(v)


def json_text(v: Any) -> str:
    """A value as JSON would show it (``true``, ``"2"``, ``null``), for messages."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, (str, bytes)):
        return repr(v if isinstance(v, str) else v.decode(errors="replace"))
    return repr(v)


# ------------------------------------------------------------------- memory
def physical_memory() -> int:
    """This machine's memory in bytes (0 when the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 0


def check_memory(nbytes: float, what: str, fix: str, error: type[ValueError] = FileError) -> None:
    """Refuse ``what`` when its arrays (``nbytes``) would not fit in this machine's memory."""
    total = physical_memory()
    if total and nbytes > total:
        raise error(f"{what} needs about {_bytes(nbytes)} of memory for its arrays, more than this "
                    f"machine's {_bytes(total)}: {fix}")


def _bytes(n: float) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    k = 0
    while n >= 1024 and k < len(units) - 1:
        n, k = n / 1024, k + 1
    return f"{n:.1f} {units[k]}"
