"""Batch manifests: which sites to assess, read from CSV or TOML and checked before anything runs."""

from __future__ import annotations

import csv
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safespace.errors import InputError

# A site id becomes a folder name under OUTDIR: letters, digits, dot, dash, underscore, no
# leading dot (so never ``.``, ``..`` or a hidden file), no separator, bounded length.
SITE_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")
# Names the batch writes at the top of OUTDIR; a site folder must not take them.
RESERVED_NAMES = frozenset({"summary.csv", "index.html"})
COLUMNS = ("id", "input", "context", "profile", "incidents")


class ManifestError(InputError):
    """A manifest that cannot be run: names the manifest file, the row or site, and the problem.

    Parameters
    ----------
    message
        What is wrong.
    file
        The manifest file (or ``"<sites>"`` for a list given in Python).
    row
        Where: ``"row 3"`` for CSV (line number), ``"site #2"`` for TOML or a list.
    site
        The site id, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: str | None = None,
        site: str | None = None,
    ):
        self.row = row
        self.site = site
        where = ", ".join(p for p in (row, site and f"site {site!r}") if p)
        super().__init__(f"{where}: {message}" if where else message, file=file)


@dataclass(frozen=True)
class SiteSpec:
    """One site of a batch.

    Attributes
    ----------
    id
        The site id; its outputs go to ``OUTDIR/<id>/``.
    input
        The layout to assess (absolute path after reading a manifest).
    context
        The existing area around the proposal, or None.
    profile
        A built-in profile name or a TOML path, or None for the batch's default profile.
    incidents
        Recorded crime for this site (files or folders, absolute), or None for the batch's
        default (``run(..., incidents=...)``, ``batch --incidents``).
    """

    id: str
    input: str
    context: str | None = None
    profile: str | None = None
    incidents: tuple[str, ...] | None = None


def check_site_id(site_id: Any) -> str | None:
    """Why ``site_id`` cannot name an output folder, or None when it can."""
    if not isinstance(site_id, str) or not site_id:
        return "the site id is empty"
    if not SITE_ID.match(site_id):
        return (
            f"unsafe site id {site_id!r}: use 1-128 of A-Z a-z 0-9 . _ - and do not start "
            "with a dot (it names a folder under the output directory)"
        )
    if site_id.lower() in RESERVED_NAMES:
        return f"site id {site_id!r} is reserved for the batch summary"
    return None


def site_dir(outdir: str | os.PathLike, site_id: str) -> Path:
    """``OUTDIR/<site_id>``, refusing any id or symlink that would lead outside OUTDIR.

    Raises
    ------
    ManifestError
        An unsafe id, or a folder that resolves outside OUTDIR (e.g. a symlink).
    """
    problem = check_site_id(site_id)
    if problem:
        raise ManifestError(problem, site=str(site_id))
    root = Path(outdir).resolve()
    path = root / site_id
    # Resolve again: an existing symlink OUTDIR/<id> -> elsewhere must not be followed.
    if path.resolve().parent != root or path.is_symlink():
        raise ManifestError(
            f"output folder {path} resolves outside the output directory {root}", site=site_id
        )
    return path


def _looks_like_path(profile: str) -> bool:
    return profile.endswith(".toml") or "/" in profile or "\\" in profile


def _records_from_csv(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"not UTF-8 text ({exc})", file=str(path)) from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise ManifestError(
            "empty manifest: expected a header row id,input[,context,profile,incidents]"
        )
    unknown = [h for h in header if h not in COLUMNS]
    if unknown or "id" not in header or "input" not in header:
        raise ManifestError(
            "header must name id and input, and may name context, profile and incidents; "
            f"got {header}",
            file=str(path),
            row="row 1",
        )
    reader.fieldnames = header
    records = []
    for row in reader:
        line = f"row {reader.line_num}"
        if None in row:
            raise ManifestError(
                f"{len(header) + len(row[None])} values for {len(header)} columns",
                file=str(path),
                row=line,
            )
        values = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
        if not any(values.values()):
            continue  # a blank line
        records.append((line, values))
    return records


def _records_from_toml(path: Path) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"not valid TOML ({exc})", file=str(path)) from None
    extra = set(data) - {"site"}
    if extra:
        raise ManifestError(
            f"unknown key(s) {sorted(extra)}; list sites as [[site]] tables", file=str(path)
        )
    sites = data.get("site", [])
    if not isinstance(sites, list):
        raise ManifestError("'site' must be an array of tables ([[site]])", file=str(path))
    records = []
    for n, site in enumerate(sites, start=1):
        where = f"site #{n}"
        if not isinstance(site, dict):
            raise ManifestError("expected a table", file=str(path), row=where)
        unknown = set(site) - set(COLUMNS)
        if unknown:
            raise ManifestError(
                f"unknown key(s) {sorted(unknown)}; use {list(COLUMNS)}",
                file=str(path),
                row=where,
                site=site.get("id") if isinstance(site.get("id"), str) else None,
            )
        records.append((where, dict(site)))
    return records


def _spec_from_record(values: Mapping[str, Any], base: Path, file: str, where: str) -> SiteSpec:
    site_id = values.get("id")
    problem = check_site_id(site_id)
    if problem:
        raise ManifestError(problem, file=file, row=where)
    for key in COLUMNS:
        value = values.get(key)
        if key == "incidents" and isinstance(value, list | tuple):
            if all(isinstance(v, str | os.PathLike) for v in value):
                continue
            value = next(v for v in value if not isinstance(v, str | os.PathLike))
        if value is not None and not isinstance(value, str | os.PathLike):
            raise ManifestError(
                f"{key} must be text, got {type(value).__name__}",
                file=file,
                row=where,
                site=site_id,
            )
    raw_input = values.get("input")
    if not raw_input:
        raise ManifestError("no input path", file=file, row=where, site=site_id)
    inp = (base / str(raw_input)).absolute()
    if not inp.is_file():
        raise ManifestError(f"input file not found: {inp}", file=file, row=where, site=site_id)
    ctx = values.get("context") or None
    if ctx is not None:
        ctx_path = (base / str(ctx)).absolute()
        if not ctx_path.is_file():
            raise ManifestError(
                f"context file not found: {ctx_path}", file=file, row=where, site=site_id
            )
        ctx = str(ctx_path)
    profile = values.get("profile") or None
    if profile is not None and _looks_like_path(str(profile)):
        profile = str((base / str(profile)).absolute())
    incidents = _incident_paths(values.get("incidents"), base, file, where, site_id)
    return SiteSpec(id=site_id, input=str(inp), context=ctx, profile=profile, incidents=incidents)


def _incident_paths(
    value: Any, base: Path, file: str, where: str, site_id: str
) -> tuple[str, ...] | None:
    """A site's incident files or folders, absolute and checked; None when it names none.

    A CSV cell may list several, separated by ``;``; a TOML value may be a list.
    """
    if value is None or value == "" or value == []:
        return None
    items = [value] if isinstance(value, str | os.PathLike) else list(value)
    parts = [p.strip() for item in items for p in str(item).split(";") if p.strip()]
    paths = []
    for part in parts:
        path = (base / part).absolute()
        if not path.exists():
            raise ManifestError(
                f"incidents file or folder not found: {path}", file=file, row=where, site=site_id
            )
        paths.append(str(path))
    return tuple(paths) or None


def check_unique(specs: Iterable[SiteSpec], file: str, wheres: Iterable[str]) -> None:
    """Raise ManifestError on a site id used twice (compared without case: OUTDIR may fold it)."""
    seen: dict[str, str] = {}
    for spec, where in zip(specs, wheres, strict=True):
        key = spec.id.lower()
        if key in seen:
            raise ManifestError(
                f"duplicate site id (first used at {seen[key]})", file=file, row=where, site=spec.id
            )
        seen[key] = where


def read_manifest(path: str | os.PathLike) -> list[SiteSpec]:
    """Read and check a batch manifest.

    A CSV manifest has a header row naming ``id`` and ``input`` and optionally ``context``,
    ``profile`` and ``incidents``; a TOML manifest has one ``[[site]]`` table per site with the
    same keys. Input, context, profile and incidents paths are relative to the manifest's
    folder; ``incidents`` names recorded-crime files or folders (``;``-separated in CSV, a
    string or a list in TOML). A profile that
    is not a path (no ``/``, no ``.toml``) names a built-in profile.

    Parameters
    ----------
    path
        The manifest, ``.csv`` or ``.toml``.

    Returns
    -------
    list of SiteSpec
        In manifest order, with absolute paths.

    Raises
    ------
    ManifestError
        Missing manifest or input file, unsafe or duplicate site id, unknown column, bad
        TOML; the message names the manifest, the row or site, and the problem.
    """
    path = Path(path)
    file = str(path)
    if not path.is_file():
        raise ManifestError("manifest not found", file=file)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = _records_from_csv(path)
    elif suffix == ".toml":
        records = _records_from_toml(path)
    else:
        raise ManifestError("a manifest is a .csv or .toml file", file=file)
    if not records:
        raise ManifestError("the manifest lists no sites", file=file)
    base = path.parent.absolute()
    specs = [_spec_from_record(values, base, file, where) for where, values in records]
    check_unique(specs, file, [w for w, _ in records])
    return specs


def specs_from(sites: Any) -> tuple[list[SiteSpec], str, list[str]]:
    """Sites from a manifest path or a list of dicts/SiteSpecs: (specs, label, row names)."""
    if isinstance(sites, str | os.PathLike):
        specs = read_manifest(sites)
        return specs, str(sites), [f"site {s.id!r}" for s in specs]
    specs, wheres = [], []
    for n, item in enumerate(sites, start=1):
        where = f"site #{n}"
        if isinstance(item, SiteSpec):
            item = {"id": item.id, "input": item.input, "context": item.context,
                    "profile": item.profile, "incidents": item.incidents}  # fmt: skip
        if not isinstance(item, Mapping):
            raise ManifestError(
                f"expected a dict or SiteSpec, got {type(item).__name__}", file="<sites>", row=where
            )
        unknown = set(item) - set(COLUMNS)
        if unknown:
            raise ManifestError(
                f"unknown key(s) {sorted(unknown)}; use {list(COLUMNS)}", file="<sites>", row=where
            )
        specs.append(_spec_from_record(item, Path.cwd(), "<sites>", where))
        wheres.append(where)
    if not specs:
        raise ManifestError("no sites given", file="<sites>")
    check_unique(specs, "<sites>", wheres)
    return specs, "<sites>", wheres
