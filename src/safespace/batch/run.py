"""``safespace.batch.run``: assess many sites through one executor, resumably."""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from safespace.errors import ProfileError, SafespaceError
from safespace.io._pgurl import is_postgis_url
from safespace.rules.profiles import Profile, load_profile

from .executors import Executor, make_executor
from .manifest import ManifestError, SiteSpec, site_dir, specs_from
from .markers import OUTPUT_NAMES, completed, input_digest, profile_digest
from .progress import ProgressBar
from .summary import summary_frame, write_csv, write_index
from .task import empty_summary, html_available, record_failure, registry_with, run_site

DEFAULT_FORMATS = ("geojson", "json", "html")


def parse_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """Formats from ``"geojson,json"`` or a list, checked and in a fixed order."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    wanted = {f.strip().lower() for item in items for f in str(item).split(",") if f.strip()}
    unknown = wanted - set(OUTPUT_NAMES)
    if unknown or not wanted:
        raise SafespaceError(
            f"unknown output format(s) {sorted(unknown) or formats!r}; use {list(OUTPUT_NAMES)}"
        )
    return tuple(f for f in OUTPUT_NAMES if f in wanted)


def _profiles(
    specs: Sequence[SiteSpec], wheres: Sequence[str], file: str, default: Any, registry
) -> dict[str, Profile]:
    """Load each profile the batch uses once; an unknown one is a manifest error."""
    loaded: dict[str, Profile] = {}
    for spec, where in zip(specs, wheres, strict=True):
        ref = spec.profile or str(default)
        if ref in loaded:
            continue
        try:
            loaded[ref] = (
                default if isinstance(default, Profile) and spec.profile is None
                else load_profile(ref, registry)
            )  # fmt: skip
        except ProfileError as exc:
            if spec.profile is None:
                raise  # the batch's own --profile: a usage error, not a row's
            raise ManifestError(f"profile: {exc}", file=file, row=where, site=spec.id) from None
    return loaded


def run(
    sites: str | os.PathLike | Sequence[dict[str, Any] | SiteSpec],
    *,
    outdir: str | os.PathLike,
    executor: str | Executor | Any = "process",
    workers: int | None = None,
    scheduler: Any = None,
    resume: bool = False,
    formats: str | Iterable[str] = DEFAULT_FORMATS,
    profile: str | os.PathLike | Profile = "default",
    extra_rules: Sequence[str] = (),
    progress: bool = False,
    incidents: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
) -> pd.DataFrame:
    """Assess every site of a batch and write per-site outputs and a summary.

    Parameters
    ----------
    sites
        A manifest (``.csv``/``.toml``) path, or a list of dicts (``id``, ``input``,
        optional ``context``, ``profile`` and ``incidents``; relative paths against the
        working folder) or :class:`SiteSpec`.
    outdir
        Output directory: ``OUTDIR/<site_id>/`` per site, ``summary.csv`` and ``index.html``.
        Or a PostGIS address (``postgresql://...?schema=...&prefix=...``, the ``postgis``
        extra): every site's findings, issues and scores go into the same tables, each site
        in one transaction that replaces its earlier rows, with its completion record in
        ``{prefix}runs`` (so ``resume`` skips it); ``formats`` is then not used and no
        summary file is written (see ``docs/gis.md``).
    executor
        ``"process"`` (local process pool, default), ``"inline"`` (this process),
        ``"dask"``, or an executor object (:class:`Executor`, a
        ``concurrent.futures.Executor``, a ``distributed.Client``).
    workers
        Worker processes for ``"process"`` or a Dask LocalCluster (default: all cores).
    scheduler
        A Dask scheduler address ``tcp://host:port`` or ``"local"``; implies Dask.
    resume
        Skip sites whose completion marker matches the input hash, profile hash,
        safespace version and formats, and whose outputs are intact.
    formats
        Any of ``geojson``, ``json``, ``html`` (html only when ``safespace.report`` exists).
    profile
        The profile of sites that name none: a built-in name, a TOML path or a Profile.
    extra_rules
        Import names of modules whose rules are added to the installed ones (rule packs
        not registered as entry points); every worker must be able to import them.
    progress
        Show a progress bar with ETA on stderr.
    incidents
        Recorded crime (files or folders, see :func:`safespace.read_incidents`) for every
        site that names none of its own: typically a force's data.police.uk download. Each
        site reads it in its worker; its hash joins the site's input hash, so ``resume``
        reruns a site when its crime data changed.

    Returns
    -------
    pandas.DataFrame
        One row per site, in input order: status (``ok``, ``partial`` — every output written
        but some rules failed, listed in ``error`` — or ``failed``), whether it was
        resumed, hashes, finding counts by severity, area scores, rule failures, seconds and
        the error. A failed site never stops the others.

    Raises
    ------
    ManifestError
        A manifest or site list that cannot run (checked before any site starts).
    """
    specs, file, wheres = specs_from(sites)
    default_incidents = _default_incidents(incidents)
    database = str(outdir) if is_postgis_url(outdir) else None
    root = Path(outdir).absolute() if database is None else None
    folders: list[Path | None] = []
    if database is not None:
        from .postgis_sink import check_sink

        check_sink(database)  # a bad address or password stops the batch before any site
        folders = [None] * len(specs)
    else:
        root.mkdir(parents=True, exist_ok=True)
    for spec, where in zip(specs, wheres, strict=True):
        if database is not None:
            break
        try:
            folders.append(site_dir(root, spec.id))
        except ManifestError as exc:
            raise ManifestError(exc.problem, file=file, row=where, site=spec.id) from None
    fmts = parse_formats(formats) if database is None else ("postgis",)
    if "html" in fmts and not html_available():
        fmts = tuple(f for f in fmts if f != "html")
    extra = tuple(extra_rules)
    registry = registry_with(extra)
    profiles = _profiles(specs, wheres, file, profile, registry)
    digests = {ref: profile_digest(p) for ref, p in profiles.items()}

    rows: list[dict[str, Any] | None] = [None] * len(specs)
    payloads, slots = [], []
    bar = ProgressBar(len(specs)) if progress else None
    for n, (spec, folder) in enumerate(zip(specs, folders, strict=True)):
        ref = spec.profile or str(profile)
        crime = spec.incidents or default_incidents
        spec_dict = {"id": spec.id, "input": spec.input, "context": spec.context}
        if crime:
            spec_dict["incidents"] = list(crime)
        if resume:
            try:
                in_sha = input_digest(spec.input, spec.context, crime)
            except (OSError, SafespaceError):
                in_sha = None
            if database is not None:
                from .postgis_sink import completed_in_db

                done = in_sha and completed_in_db(
                    database, spec.id, input_sha256=in_sha, profile_sha256=digests[ref]
                )
            else:
                done = in_sha and completed(
                    folder, input_sha256=in_sha, profile_sha256=digests[ref], formats=fmts
                )
            if done:
                rows[n] = dict(done.get("summary") or empty_summary(spec_dict), resumed=True)
                if bar:
                    bar.update(note=f"{spec.id} already done")
                continue
        payloads.append(
            {
                "spec": spec_dict,
                "folder": None if folder is None else str(folder),
                "formats": fmts,
                "database": database,
                "profile": profiles[ref],
                "profile_sha256": digests[ref],
                "extra_rules": extra,
            }
        )
        slots.append(n)

    if payloads:
        # Largest inputs first (longest-processing-time order): the last sites to finish are
        # then small ones, so workers do not sit idle while one big site runs alone.
        order = sorted(range(len(payloads)), key=lambda i: -_input_size(payloads[i]["spec"]))
        payloads = [payloads[i] for i in order]
        slots = [slots[i] for i in order]
        runner, owned = make_executor(executor, workers=workers, scheduler=scheduler)
        for payload in payloads:
            payload["threads"] = runner.task_threads
            payload["caller_pid"] = os.getpid()
        try:
            for i, result, error in runner.map_unordered(run_site, payloads):
                payload = payloads[i]
                if error is not None:  # the worker died or the task could not run
                    base = empty_summary(payload["spec"])
                    base.update(profile=payload["profile"].name,
                                profile_sha256=payload["profile_sha256"])  # fmt: skip
                    details = "".join(traceback.format_exception(error))
                    result = record_failure(
                        None if payload["folder"] is None else Path(payload["folder"]),
                        base,
                        f"{type(error).__name__}: {error}",
                        details,
                    )
                rows[slots[i]] = result
                if bar:
                    bar.update(
                        failed=result["status"] != "ok",
                        note=f"{result['site_id']} {result['status']}",
                    )
        finally:
            if owned:
                runner.close()

    frame = summary_frame(rows)  # type: ignore[arg-type]
    if root is not None:
        write_csv(frame, root)
        write_index(frame, root)
    return frame


def _default_incidents(incidents: Any) -> tuple[str, ...] | None:
    """The batch-wide incident paths, absolute and checked before any site starts."""
    if incidents is None:
        return None
    items = [incidents] if isinstance(incidents, str | os.PathLike) else list(incidents)
    paths = []
    for item in items:
        path = Path(item).absolute()
        if not path.exists():
            raise ManifestError(f"incidents file or folder not found: {path}", file=str(item))
        paths.append(str(path))
    return tuple(paths) or None


def _input_size(spec: dict[str, Any]) -> int:
    """Bytes of a site's input and context files: a proxy for its run time (0 if unknown)."""
    size = 0
    for key in ("input", "context"):
        path = spec.get(key)
        if path:
            try:
                size += Path(path).stat().st_size
            except (OSError, TypeError, ValueError):
                pass
    return size
