"""Executors behind one interface: in-process, local processes, Dask distributed.

Each runs ``fn(item)`` for every item and yields ``(index, result, error)`` as tasks finish.
A task that raised, or whose worker died, comes back with ``error`` set; the others go on.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from typing import Any

from safespace.errors import SafespaceError

Outcome = tuple[int, Any, BaseException | None]


class Executor:
    """Runs tasks; subclasses say where. Use as a context manager to release workers."""

    name = "executor"

    @property
    def workers(self) -> int:
        """How many tasks can run at once."""
        return 1

    @property
    def task_threads(self) -> int | None:
        """Threads each task's parallel kernels may use (None: leave the default).

        The numba kernels run ``prange`` loops on every core; N worker processes on one
        machine would each start that many threads, so each gets cores // N instead.
        """
        return None

    def map_unordered(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Outcome]:
        """Run ``fn`` on every item; yield ``(index, result, error)`` in completion order."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the workers."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InlineExecutor(Executor):
    """Runs every task in this process, one after the other (debugging, tiny batches)."""

    name = "inline"

    def map_unordered(self, fn, items):
        """Run ``func`` over ``items``; yield ``(index, result)`` as each finishes."""
        for i, item in enumerate(items):
            try:
                yield i, fn(item), None
            except Exception as exc:
                yield i, None, exc


def _mp_context():
    # Never fork a process that may hold threads (Dask, numba, BLAS): spawn a fresh
    # interpreter, or fork from a clean forkserver where the platform has one.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


class ProcessExecutor(Executor):
    """A local process pool (``concurrent.futures.ProcessPoolExecutor``, forkserver/spawn).

    Parameters
    ----------
    workers
        Number of worker processes; default all cores.
    pool
        An existing ``concurrent.futures.Executor`` to use instead (not closed by us).

    Notes
    -----
    When a worker process dies (killed, ``os._exit``, out of memory) the pool breaks: every
    task still pending in it comes back with the error, and the next ``map_unordered``
    starts a fresh pool.
    """

    name = "process"

    def __init__(self, workers: int | None = None, pool: futures.Executor | None = None):
        self._workers = workers or os.cpu_count() or 1
        self._pool = pool
        self._own = pool is None

    @property
    def workers(self) -> int:
        """How many sites run at once."""
        return self._workers

    @property
    def task_threads(self) -> int | None:
        """numba threads each task may use (cores ÷ workers), so workers do not oversubscribe."""
        return max(1, (os.cpu_count() or 1) // self._workers) if self._own else None

    def _ensure_pool(self) -> futures.Executor:
        broken = getattr(self._pool, "_broken", False)
        if self._pool is None or (broken and self._own):
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = futures.ProcessPoolExecutor(self._workers, mp_context=_mp_context())
        return self._pool

    def map_unordered(self, fn, items):
        """Run ``func`` over ``items``; yield ``(index, result)`` as each finishes."""
        pool = self._ensure_pool()
        pending = {pool.submit(fn, item): i for i, item in enumerate(items)}
        for fut in futures.as_completed(pending):
            try:
                yield pending[fut], fut.result(), None
            except Exception as exc:  # includes BrokenProcessPool when a worker died
                yield pending[fut], None, exc

    def close(self) -> None:
        """Release the workers."""
        if self._pool is not None and self._own:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None


_QUIET_WORKERS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
}


class DaskExecutor(Executor):
    """Dask distributed: a scheduler address, ``"local"`` for a LocalCluster, or a Client.

    Parameters
    ----------
    scheduler
        ``tcp://host:port`` of a running scheduler, ``"local"`` (or None) to start a
        ``LocalCluster`` of ``workers`` single-threaded worker processes on the loopback
        interface, or a ``distributed.Client``.
    workers
        Workers of the LocalCluster (default all cores); ignored for a remote scheduler.

    Notes
    -----
    Dask reschedules the task of a worker that died on another worker, up to the
    scheduler's ``allowed-failures``; after that the task fails with ``KilledWorker``.
    Workers must be able to import safespace (and any extra rule modules).
    """

    name = "dask"

    def __init__(self, scheduler: Any = None, workers: int | None = None):
        try:
            import distributed
        except ImportError:
            raise SafespaceError(
                "the Dask executor needs dask[distributed]: pip install 'safespace[dask]'"
            ) from None
        self._cluster = None
        self._own_client = True
        if isinstance(scheduler, distributed.Client):
            self.client, self._own_client = scheduler, False
        elif scheduler in (None, "local"):
            import dask

            # No dashboard, so no one reads the workers' statistical profiler (it samples
            # the task's stack every 10 ms, taking the GIL) or the GIL monitor: turn both off.
            with dask.config.set(_QUIET_WORKERS):
                self._cluster = distributed.LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
            self.client = distributed.Client(self._cluster)
        else:
            try:
                self.client = distributed.Client(str(scheduler), timeout="30s")
            except OSError as exc:
                raise SafespaceError(
                    f"cannot reach the Dask scheduler {scheduler}: {exc}"
                ) from None

    @property
    def workers(self) -> int:
        """How many sites run at once."""
        info = self.client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    @property
    def task_threads(self) -> int | None:
        # Only a LocalCluster is known to share this machine; remote workers keep their own
        # setting (set NUMBA_NUM_THREADS on them).
        """numba threads each task may use (cores ÷ workers), so workers do not oversubscribe."""
        if self._cluster is None:
            return None
        return max(1, (os.cpu_count() or 1) // self.workers)

    def map_unordered(self, fn, items):
        """Run ``func`` over ``items``; yield ``(index, result)`` as each finishes."""
        import distributed

        batch = uuid.uuid4().hex[:8]
        name = getattr(fn, "__name__", "task")
        futs = [
            self.client.submit(fn, item, key=f"safespace-{name}-{batch}-{i}", pure=False)
            for i, item in enumerate(items)
        ]
        index = {f.key: i for i, f in enumerate(futs)}
        for fut in distributed.as_completed(futs):
            i = index[fut.key]
            try:
                yield i, fut.result(), None
            except Exception as exc:  # a task error, or KilledWorker
                yield i, None, exc
            finally:
                fut.release()

    def close(self) -> None:
        """Release the workers."""
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(
    executor: str | Executor | futures.Executor | Any = "process",
    *,
    workers: int | None = None,
    scheduler: Any = None,
) -> tuple[Executor, bool]:
    """An Executor from a name or object, and whether the caller must close it.

    ``scheduler`` given (an address, ``"local"`` or a Client) means Dask whatever the name.
    A ``concurrent.futures.Executor`` or a ``distributed.Client`` is wrapped (not closed).
    """
    if isinstance(executor, Executor):
        return executor, False
    if isinstance(executor, futures.Executor):
        return ProcessExecutor(workers, pool=executor), False
    if "distributed" in sys.modules and isinstance(executor, sys.modules["distributed"].Client):
        return DaskExecutor(executor), False
    if scheduler is not None and executor in ("process", "dask", None):
        return DaskExecutor(scheduler, workers), True
    if executor == "inline":
        return InlineExecutor(), True
    if executor == "process" or executor is None:
        return ProcessExecutor(workers), True
    if executor == "dask":
        return DaskExecutor(scheduler, workers), True
    raise SafespaceError(
        f"unknown executor {executor!r}: use 'inline', 'process', 'dask' or an executor object"
    )
