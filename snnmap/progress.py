"""A progress display for long runs: quiet for the first second, then a line per update."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Callable progress sink: ``progress(0.4)``, ``progress("placing clusters")``, or, from
    the exact models, ``progress(elapsed_s, incumbent_J, bound_J)``.

    Updates within ``min_interval`` seconds of the last shown one are dropped,
    and nothing is shown during the first ``delay`` seconds, so short runs stay quiet.
    """

    def __init__(self, label: str = "", *, stream: TextIO | None = None, delay: float = 1.0, min_interval: float = 0.5):
        self.label = label
        self.stream = stream or sys.stderr
        self.delay = delay
        self.min_interval = min_interval
        self.start = time.perf_counter()
        self._last = -1e9

    def __call__(self, update: float | str, *more: float | None) -> None:
        now = time.perf_counter()
        elapsed = now - self.start
        if elapsed < self.delay or now - self._last < self.min_interval:
            return
        self._last = now
        if more:
            incumbent, bound = (list(more) + [None])[:2]
            text = f"incumbent {_j(incumbent)}, bound {_j(bound)}"
        elif isinstance(update, (int, float)):
            text = f"{update * 100:5.1f}%"
        else:
            text = str(update)
        prefix = f"{self.label}: " if self.label else ""
        print(f"[{elapsed:7.1f} s] {prefix}{text}", file=self.stream, flush=True)


def _j(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g} J"
