"""A small progress bar with ETA on stderr (a redrawn line on a terminal, lines otherwise)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:d}:{s:02d}"


class ProgressBar:
    """Counts finished tasks and shows done/total, failures, elapsed time and ETA.

    The ETA assumes the remaining tasks take as long on average as the finished ones did
    (wall clock, so it already accounts for the parallelism).
    """

    def __init__(self, total: int, label: str = "sites", stream: TextIO | None = None):
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.failed = 0
        self.start = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def line(self, width: int = 24) -> str:
        """The bar as text."""
        elapsed = time.perf_counter() - self.start
        frac = self.done / self.total if self.total else 1.0
        filled = int(round(frac * width))
        eta = elapsed / self.done * (self.total - self.done) if self.done else None
        return (
            f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {self.label}"
            + (f", {self.failed} failed" if self.failed else "")
            + f" | {_clock(elapsed)} elapsed, ETA {_clock(eta) if eta is not None else '?'}"
        )

    def update(self, failed: bool = False, note: str = "") -> None:
        """One more task finished."""
        self.done += 1
        self.failed += bool(failed)
        text = self.line() + (f" | {note}" if note else "")
        if self.tty:
            end = "\n" if self.done >= self.total else ""
            self.stream.write("\r\x1b[2K" + text + end)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
