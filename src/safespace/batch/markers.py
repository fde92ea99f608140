"""Completion markers: what makes a site "done" for ``--resume``, and the hashes behind it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from safespace._version import __version__
from safespace.io.sources import _file_sha256
from safespace.io.writers import _atomic_write, jsonable
from safespace.rules.profiles import Profile

MARKER = "complete.json"
ERROR_FILE = "error.txt"
# File names of each output format inside a site folder.
OUTPUT_NAMES = {"geojson": "findings.geojson", "json": "assessment.json", "html": "report.html"}


def combine_digests(parts: Iterable[tuple[str, str]]) -> str:
    """One SHA-256 over (role, sha256) pairs, e.g. the proposal's and the context's."""
    digest = hashlib.sha256()
    for role, sha in parts:
        digest.update(f"{role}:{sha}\n".encode())
    return digest.hexdigest()


def input_digest(
    input_path: str, context_path: str | None, incidents: Sequence[str] | None = None
) -> str:
    """The input hash of a site: its proposal file and, when given, its context file and
    every incident file (a folder's files as :func:`safespace.io.incidents.incident_files`
    lists them) — the same digest as the provenance inputs of the site's assessment."""
    parts = [("proposal", _file_sha256(Path(input_path)))]
    if context_path:
        parts.append(("context", _file_sha256(Path(context_path))))
    if incidents:
        from safespace.io.incidents import incident_files

        for path in incidents:
            parts += [("incidents", _file_sha256(f)) for f in incident_files(path)]
    return combine_digests(parts)


def profile_digest(profile: Profile) -> str:
    """A hash of the resolved profile: its files, the rules it runs and every parameter.

    The file hash alone would miss a rule pack installed or removed since the last run.
    """
    blob = json.dumps(
        {"sha256": profile.sha256, "rules": profile.rule_ids, "params": jsonable(profile.params)},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def write_marker(folder: Path, record: dict[str, Any]) -> Path:
    """Write the completion marker (last, atomically): nothing before it counts as done."""
    text = json.dumps(jsonable(record), sort_keys=True, indent=2)
    return _atomic_write(folder / MARKER, text + "\n")


def completed(
    folder: Path, *, input_sha256: str, profile_sha256: str, formats: Iterable[str]
) -> dict[str, Any] | None:
    """The marker's record when the site is done for these inputs, profile and formats.

    Done means: a readable marker with the same input hash, profile hash and safespace
    version, every requested format among its outputs, and every output file present with
    the SHA-256 the marker recorded (so a truncated or edited output is redone).
    """
    try:
        record = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    if (
        record.get("input_sha256") != input_sha256
        or record.get("profile_sha256") != profile_sha256
        or record.get("safespace_version") != __version__
    ):
        return None
    outputs = record.get("outputs") or {}
    if not set(formats) <= set(record.get("formats") or ()):
        return None
    for name, sha in outputs.items():
        path = folder / name
        if Path(name).name != name or not path.is_file() or _file_sha256(path) != sha:
            return None
    return record
