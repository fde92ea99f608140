"""A batch into PostGIS: each site in one transaction, its completion record beside its rows.

The completion record that a folder batch keeps in ``complete.json`` goes into the
``marker`` column of the site's row in ``{prefix}runs``, written in the same transaction
as its findings, issues and scores (:func:`safespace.io.postgis.write_postgis`). A site is
therefore either wholly there, with its record, or not there at all: a killed batch leaves
no half-written site, and ``resume`` skips exactly the sites whose record matches.
"""

from __future__ import annotations

from typing import Any

from safespace._version import __version__


def check_sink(url: str) -> None:
    """Connect once before any site runs: a bad address or password stops the batch."""
    from safespace.io.postgis import check_writable

    check_writable(url)


def write_site(assessment, url: str, site_id: str, record: dict[str, Any]) -> str:
    """Replace a site's rows with this assessment's, and store its record; returns the run id."""
    from safespace.io.postgis import write_postgis

    return write_postgis(assessment, url, site_id=site_id, marker=record)


def completed_in_db(
    url: str, site_id: str, *, input_sha256: str, profile_sha256: str
) -> dict[str, Any] | None:
    """The site's record when it is done for these inputs, profile and safespace version."""
    from safespace.io.postgis import completed_site

    record = completed_site(url, site_id)
    if (
        not record
        or record.get("input_sha256") != input_sha256
        or record.get("profile_sha256") != profile_sha256
        or record.get("safespace_version") != __version__
    ):
        return None
    return record
