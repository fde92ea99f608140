"""The work for one site, run inside a worker: assess, write outputs, write the marker last.

Everything here must be importable and picklable by reference, so that process pools and
Dask workers can run it; a task returns a small JSON-safe summary dict, never the findings.
"""

from __future__ import annotations

import gc
import importlib
import os
import time
import traceback
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from safespace._version import __version__
from safespace.findings import AREAS
from safespace.io.sources import _file_sha256
from safespace.io.writers import _atomic_write
from safespace.rules.engine import Rule, _rules_in, discover_rules

from .markers import ERROR_FILE, MARKER, OUTPUT_NAMES, combine_digests, write_marker

COUNT_COLUMNS = ("findings", "high", "medium", "low", "info")


@lru_cache(maxsize=8)
def registry_with(extra_rules: tuple[str, ...] = ()) -> dict[str, Rule]:
    """Every discovered rule plus the rules of the modules named (cached per process)."""
    registry = dict(discover_rules())
    for name in extra_rules:
        for r in _rules_in(importlib.import_module(name), f"module {name}"):
            registry[r.id] = r
    return dict(sorted(registry.items()))


def limit_threads(threads: int | None) -> None:
    """Let this process's numba kernels use at most ``threads`` threads (None: no change)."""
    if not threads:
        return
    import numba

    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def html_available() -> bool:
    """Whether the HTML report writer (``safespace.report.write_html``) can be imported."""
    try:
        from safespace.report import write_html  # noqa: F401
    except ImportError:
        return False
    return True


def empty_summary(spec: dict[str, Any]) -> dict[str, Any]:
    """The summary row of a site before anything is known."""
    row: dict[str, Any] = {
        "site_id": spec["id"],
        "status": "failed",
        "resumed": False,
        "input": spec["input"],
        "context": spec.get("context"),
        "profile": None,
        "input_sha256": None,
        "profile_sha256": None,
        **{c: None for c in COUNT_COLUMNS},
        **{f"score_{a}": None for a in AREAS},
        "rule_failures": None,
        "seconds": None,
        "error": None,
    }
    return row


def _write_output(assessment, path: Path, fmt: str) -> None:
    # Write under a temporary name in the same folder, then rename: a reader (or --resume)
    # never sees half a file, whatever the format's own writer does.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    writers: dict[str, Callable[[Path], Any]] = {
        "geojson": assessment.to_geojson,
        "json": assessment.to_json,
        "html": assessment.to_html,
    }
    try:
        writers[fmt](tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _clear_stale(folder: Path) -> None:
    """Remove the marker first (the site is not done until it is rewritten) and leftovers
    of a worker killed while writing."""
    (folder / MARKER).unlink(missing_ok=True)
    for leftover in folder.glob(".*.part"):
        leftover.unlink(missing_ok=True)
    for leftover in folder.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)


def record_failure(folder: Path | None, summary: dict[str, Any], error: str, details: str) -> dict:
    """Mark a site failed: the error in the summary, the traceback in ``error.txt``
    (in the site's folder; a batch into PostGIS has none)."""
    summary = dict(summary, status="failed", error=error)
    if folder is None:
        return summary
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / ERROR_FILE, f"site {summary['site_id']}: {error}\n\n{details}")
    except OSError:
        pass  # the summary still carries the error
    return summary


_baseline_frozen = False


def freeze_baseline() -> None:
    """Once per worker process: move the objects alive now (imported modules, the worker's
    own machinery) out of the cyclic garbage collector's reach (``gc.freeze``).

    A site makes hundreds of thousands of objects and so triggers full collections, and a
    full collection walks every tracked object: without this a Dask worker (~120k objects
    of its own) pays more per collection than a pool worker (~90k). Objects a site makes
    are still collected as usual. Never done in the caller's own process: inline runs, a
    thread pool passed as the executor, or an in-process Dask cluster share its pid.
    """
    global _baseline_frozen
    if not _baseline_frozen:
        gc.collect()
        gc.freeze()
        _baseline_frozen = True


def run_site(payload: dict[str, Any]) -> dict[str, Any]:
    """Assess one site and write its outputs; never raises for a problem with the site.

    Parameters
    ----------
    payload
        ``spec`` (dict with id, input, context and optional incidents), ``folder`` (the site's output folder),
        ``formats``, ``profile`` (a resolved Profile), ``profile_sha256``, ``extra_rules``,
        ``threads`` (numba threads for this task, or None), ``caller_pid`` (the pid of the
        process that submitted the batch: a task in another process calls
        :func:`freeze_baseline`).

    Returns
    -------
    dict
        The site's summary row: status, counts, scores, hashes, error.
    """
    from safespace.assessment import assess

    start = time.perf_counter()
    spec = payload["spec"]
    database = payload.get("database")
    folder = Path(payload["folder"]) if payload.get("folder") is not None else None
    summary = empty_summary(spec)
    profile = payload["profile"]
    summary.update(profile=profile.name, profile_sha256=payload["profile_sha256"])
    try:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            _clear_stale(folder)
        limit_threads(payload.get("threads"))
        if payload.get("caller_pid") not in (None, os.getpid()):
            freeze_baseline()
        registry = registry_with(tuple(payload.get("extra_rules", ())))
        result = assess(
            spec["input"],
            profile=profile,
            context=spec.get("context"),
            incidents=spec.get("incidents"),
            registry=registry,
        )
        input_sha = combine_digests((i["role"], i["sha256"]) for i in result.provenance["inputs"])
        outputs = {}
        for fmt in payload["formats"] if database is None else ():
            path = folder / OUTPUT_NAMES[fmt]
            _write_output(result, path, fmt)
            outputs[path.name] = _file_sha256(path)
        counts = result.counts()
        summary.update(
            # a site whose rules partly failed is not "ok": its findings lack those rules'
            status="partial" if result.failures else "ok",
            input_sha256=input_sha,
            findings=len(result.findings),
            **counts,
            **{f"score_{a}": s.value for a, s in result.scores.items() if a in AREAS},
            rule_failures=len(result.failures),
            error="; ".join(f"rule {f.rule_id}: {f.error}: {f.message}" for f in result.failures)
            or None,
        )
        summary["seconds"] = round(time.perf_counter() - start, 3)
        record = {
            "site_id": spec["id"],
            "input_sha256": input_sha,
            "profile_sha256": payload["profile_sha256"],
            "safespace_version": __version__,
            "formats": list(payload["formats"]),
            "outputs": outputs,
            "summary": summary,
        }
        if database is not None:
            from .postgis_sink import write_site

            # the rows and this record in one transaction: the site is done or not there
            write_site(result, database, spec["id"], record)
        else:
            (folder / ERROR_FILE).unlink(missing_ok=True)
            write_marker(folder, record)
    except Exception as exc:  # one bad site must never stop the batch
        summary["seconds"] = round(time.perf_counter() - start, 3)
        return record_failure(
            folder, summary, f"{type(exc).__name__}: {exc}", traceback.format_exc()
        )
    return summary


def noop(payload: Any) -> Any:
    """A task that does nothing: for measuring an executor's per-task overhead."""
    return payload
