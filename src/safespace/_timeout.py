"""A wall-clock limit for a block of Python code (a rule from an installed rule pack)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from safespace.errors import SafespaceError


class RuleTimeout(SafespaceError):
    """A rule ran past its time limit and was stopped."""


def can_limit() -> bool:
    """Whether a time limit can be enforced here: POSIX ``SIGALRM``, on the main thread (a
    Dask worker thread cannot take signals)."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise :class:`RuleTimeout` in the block once ``seconds`` have passed.

    The alarm interrupts Python code; a rule stuck inside one long C call (a numpy
    operation) is stopped when that call returns. Where :func:`can_limit` is false, or
    ``seconds`` is 0, the block runs unbounded.
    """
    if not seconds or seconds <= 0 or not can_limit():
        yield
        return

    def _expired(signum, frame):
        raise RuleTimeout(f"{what} still running after {seconds:g} s; stopped")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)
