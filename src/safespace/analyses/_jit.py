"""Tiered kernels: numba for big inputs, plain Python or NumPy for small ones.

Compiling a numba kernel costs seconds (a ``parallel=True`` kernel up to about 15 s on a
2-core machine); a run on a small layout (the README's demo estate) would otherwise spend
about 55 of its 60 cold seconds compiling kernels whose work takes milliseconds. A
:class:`Kernel` therefore wraps a numba dispatcher with

- a *work* estimate computed from its arguments in O(1) or O(size of a small array), and
  a *limit*: at or under the limit the call takes the small path, above it the compiled
  kernel (compiled once, then loaded from numba's on-disk cache);
- a *small path*: the kernel's own Python source run by the interpreter (:func:`interpreted`:
  the same statements, so the same floating-point operations in the same order), or a NumPy
  function written to perform the kernel's arithmetic element by element in the same order.

A kernel already compiled in this process is always used (it costs nothing more). The
environment variable ``SAFESPACE_KERNELS`` overrides the choice: ``jit`` always compiles,
``small`` always takes the small path, ``auto`` (the default) decides by the work estimate.

Each limit sits beside its kernel. They are set so that at the limit the small path costs
about what loading the compiled kernel from the cache and running it would (10-50 ms), the
sight-line walk of forward visibility excepted (up to about 0.25 s, against a 3-5 s compile);
and so that the README's demo estate compiles nothing (cold run about 4 s instead of 60 s).
The compiled path is unchanged, so large inputs run as fast as before. Answers are the same
on both paths; the two illuminance kernels compiled with ``fastmath`` may differ from their
small paths in the last bits (below 1e-12 relative in the fuzz runs).
"""

from __future__ import annotations

import importlib
import os
import types
from collections.abc import Callable
from typing import Any

from numba.core.registry import CPUDispatcher

__all__ = ["Kernel", "interpreted", "mode", "tiered"]

_TWINS: dict[int, types.FunctionType] = {}


def mode() -> str:
    """``auto``, ``jit`` or ``small``: the ``SAFESPACE_KERNELS`` setting (default ``auto``)."""
    value = os.environ.get("SAFESPACE_KERNELS", "auto").strip().lower() or "auto"
    if value not in ("auto", "jit", "small"):
        raise ValueError(f"SAFESPACE_KERNELS must be auto, jit or small, not {value!r}")
    return value


def interpreted(func: Any) -> Any:
    """The pure-Python twin of a numba dispatcher (anything else is returned unchanged).

    The twin is the dispatcher's Python function with every numba dispatcher among its
    globals replaced by that dispatcher's own twin, so that nothing is compiled. ``prange``
    runs as ``range``. O(number of functions reached), once per function.
    """
    if not isinstance(func, CPUDispatcher):
        return func
    twin = _TWINS.get(id(func))
    if twin is not None:
        return twin
    py = func.py_func
    env = dict(py.__globals__)
    twin = types.FunctionType(py.__code__, env, py.__name__, py.__defaults__, py.__closure__)
    twin.__doc__ = py.__doc__
    _TWINS[id(func)] = twin
    for name in py.__code__.co_names:
        value = env.get(name)
        if isinstance(value, CPUDispatcher):
            env[name] = interpreted(value)
    return twin


class Kernel:
    """A numba kernel with a small path for small inputs (see the module docstring).

    Parameters
    ----------
    jit
        The numba dispatcher (``cache=True``).
    work
        ``work(*args) -> float``: the cost of the call in the small path's units.
    limit
        The largest work the small path takes.
    small
        The small path, called with the same arguments: a function, or ``"module:name"``
        imported on first use (so that a kernel module and its NumPy twins may import each
        other); default :func:`interpreted` ``(jit)``.
    """

    def __init__(
        self, jit: CPUDispatcher, work: Callable[..., float], limit: float, small=None
    ) -> None:
        self.jit = jit
        self.work = work
        self.limit = float(limit)
        self._small = small
        self.__name__ = jit.py_func.__name__
        self.__qualname__ = jit.py_func.__qualname__
        self.__doc__ = jit.py_func.__doc__
        self.__module__ = jit.py_func.__module__
        self.__wrapped__ = jit.py_func

    @property
    def small(self) -> Callable:
        """The small path (made on first use)."""
        if self._small is None:
            self._small = interpreted(self.jit)
        elif isinstance(self._small, str):
            module, _, name = self._small.partition(":")
            self._small = getattr(importlib.import_module(module), name)
        return self._small

    def use_jit(self, *args) -> bool:
        """Whether a call with these arguments runs the compiled kernel."""
        how = mode()
        if how != "auto":
            return how == "jit"
        if self.jit.signatures:  # compiled (or loaded) already in this process
            return True
        return self.work(*args) > self.limit

    def __call__(self, *args):
        if self.use_jit(*args):
            return self.jit(*args)
        return self.small(*args)

    def __reduce__(self):
        # by reference, like a function: the work estimates may be lambdas
        return (_kernel_at, (self.__module__, self.__qualname__))

    def __repr__(self) -> str:
        return f"<Kernel {self.__module__}.{self.__qualname__} limit={self.limit:g}>"


def _kernel_at(module: str, name: str) -> Kernel:
    return getattr(importlib.import_module(module), name)


def tiered(work: Callable[..., float], limit: float, small=None) -> Callable[[Any], Kernel]:
    """Decorator: ``@tiered(work, limit)`` over ``@njit(cache=True)`` makes a :class:`Kernel`."""

    def wrap(jit: CPUDispatcher) -> Kernel:
        return Kernel(jit, work, limit, small)

    return wrap
