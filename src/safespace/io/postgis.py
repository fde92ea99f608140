"""PostGIS in and out (the ``postgis`` extra: SQLAlchemy, psycopg 3, GeoAlchemy2).

Reading gives the raw features every reader gives (``fid``, ``tags``, ``geometry``, see
``docs/architecture.md``) from a table, a query, or a table per layer, in any SRID.
Writing puts an assessment's findings, issues and scores into tables with a geometry
column in the source SRID, spatial indexes, and a run id per assessment, in one
transaction. See ``docs/gis.md``.

Nothing here runs at import time of safespace: :mod:`safespace.io.sources` and the writers
import this module only when a database address is given.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from safespace.errors import InputError
from safespace.io._pgurl import (
    PgAddress,
    PostGISSource,
    check_identifier,
    parse,
    scrub,
    split_table,
)
from safespace.io.writers import FINDING_JSON_COLUMNS, FINDING_TEXT_COLUMNS

try:  # the extra
    import sqlalchemy as sa
    from geoalchemy2 import Geometry, WKBElement
    from sqlalchemy.dialects.postgresql import JSONB
    from sqlalchemy.pool import NullPool
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "PostGIS input and output need the postgis extra: pip install 'safespace[postgis]'"
    ) from exc

__all__ = [
    "PostGISSource",
    "completed_site",
    "connect",
    "read_postgis",
    "table_names",
    "write_postgis",
]

DEFAULT_SCHEMA = "public"
DEFAULT_PREFIX = "safespace_"
#: Column names a geometry is looked for under when a query has several geometry columns.
_WKB, _SRID = "__safespace_wkb", "__safespace_srid"


# -- connecting ------------------------------------------------------------------------------
def _engine(address: PgAddress) -> sa.Engine:
    parts = urlsplit(address.url)
    query = dict(address.libpq)
    host = parts.hostname or query.pop("host", None)
    url = sa.URL.create(
        "postgresql+psycopg",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        host=host,
        port=parts.port,
        database=unquote(parts.path.lstrip("/")) or None,
        query=query,
    )
    # no pool: a batch worker opens one connection per site and closes it
    return sa.create_engine(url, poolclass=NullPool, hide_parameters=True)


@contextmanager
def connect(address: str | PgAddress) -> Iterator[sa.Connection]:
    """A connection to the database, or a clear :class:`InputError` without credentials.

    Parameters
    ----------
    address
        A database address (see :mod:`safespace.io._pgurl`) or its parsed form.

    Raises
    ------
    safespace.errors.InputError
        The server cannot be reached, or refuses the credentials. The message names the
        host, port and database, and never the user's password.
    """
    addr = parse(address) if isinstance(address, str) else address
    engine = _engine(addr)
    try:
        try:
            conn = engine.connect()
        except sa.exc.OperationalError as exc:
            raise InputError(_connect_problem(exc, addr), file=addr.label) from None
        try:
            yield conn
        finally:
            conn.close()
    finally:
        engine.dispose()


def _connect_problem(exc: Exception, addr: PgAddress) -> str:
    text = str(getattr(exc, "orig", exc) or exc)
    if "password authentication failed" in text or "no password supplied" in text:
        why = (
            "the server refused the credentials (password authentication failed); check the "
            "password in the address, PGPASSWORD or your .pgpass file"
        )
    elif "does not exist" in text and "database" in text:
        why = "the database does not exist"
    else:
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        why = f"cannot connect ({first.strip()})"
    return scrub(why, addr)


def _raw(conn: sa.Connection):
    """The psycopg connection under SQLAlchemy's, with hstore decoding when available."""
    driver = conn.connection.driver_connection
    if not getattr(driver, "_safespace_hstore", False):
        from psycopg.types import TypeInfo
        from psycopg.types.hstore import register_hstore

        info = TypeInfo.fetch(driver, "hstore")
        if info is not None:
            register_hstore(info, driver)
        driver._safespace_hstore = True
    return driver


# -- reading ---------------------------------------------------------------------------------
def _layer_tags() -> Mapping[str, tuple[str, str]]:
    from safespace.layout import LAYER_TAGS

    return LAYER_TAGS


def _geometry_oids(cur) -> set[int]:
    cur.execute("SELECT oid FROM pg_type WHERE typname = 'geometry'")
    oids = {row[0] for row in cur.fetchall()}
    if not oids:
        raise InputError("the database has no PostGIS (CREATE EXTENSION postgis)")
    return oids


def _select(table: str | None, query: str | None, label: str) -> str:
    if table is not None:
        schema, name = split_table(table, label=label)
        return f'SELECT * FROM "{schema}"."{name}"'
    sql = (query or "").strip().rstrip(";").strip()
    if not sql:
        raise InputError("empty query", file=label)
    return sql


def _read_unit(
    conn: sa.Connection,
    *,
    table: str | None,
    query: str | None,
    geometry: str | None,
    label: str,
) -> gpd.GeoDataFrame:
    """One table or query as a GeoDataFrame (tag columns, the geometry) in its SRID."""
    from psycopg import errors as pg_errors

    inner = _select(table, query, label)
    driver = _raw(conn)
    try:
        with driver.cursor() as cur:
            oids = _geometry_oids(cur)
            cur.execute(f"SELECT * FROM ({inner}) AS _safespace_q LIMIT 0")
            columns = [(d.name, d.type_code) for d in cur.description]
            geoms = [n for n, t in columns if t in oids]
            if geometry is not None:
                check_identifier(geometry, "geometry column", label=label)
                if geometry not in geoms:
                    raise InputError(f"no geometry column {geometry!r}", file=label)
                geoms = [geometry]
            if not geoms:
                raise InputError("no geometry column (a PostGIS geometry)", file=label)
            if len(geoms) > 1:
                raise InputError(
                    f"several geometry columns ({', '.join(geoms)}); name one with geometry=",
                    file=label,
                )
            g = geoms[0]
            keep = [n for n, _ in columns if n not in geoms]
            cols = ", ".join('_safespace_q."{}"'.format(n.replace('"', '""')) for n in keep)
            cur.execute(
                f"SELECT {cols + ', ' if cols else ''}"
                f'ST_AsBinary(_safespace_q."{g}") AS {_WKB}, '
                f'ST_SRID(_safespace_q."{g}") AS {_SRID} '
                f"FROM ({inner}) AS _safespace_q"
            )
            rows = cur.fetchall()
    except pg_errors.UndefinedTable:
        driver.rollback()
        raise InputError("no such table", file=label) from None
    except pg_errors.Error as exc:
        driver.rollback()
        raise InputError(f"the database refused the query: {exc}".strip(), file=label) from None
    frame = pd.DataFrame(rows, columns=[*keep, _WKB, _SRID])
    srids = sorted({int(s) for s in frame[_SRID].dropna()})
    if not srids and len(frame):
        raise InputError("no feature has a geometry", file=label)
    if len(srids) > 1:
        raise InputError(f"mixed SRIDs {srids} in one geometry column", file=label)
    srid = srids[0] if srids else 4326
    if srid == 0:
        raise InputError(
            "the geometries have no SRID (0); set one with ST_SetSRID or UpdateGeometrySRID",
            file=label,
        )
    wkb = [None if b is None else bytes(b) for b in frame.pop(_WKB)]
    frame = frame.drop(columns=[_SRID])
    try:
        crs = CRS.from_epsg(srid)
    except Exception:
        raise InputError(f"SRID {srid} is not an EPSG code pyproj knows", file=label) from None
    return gpd.GeoDataFrame(frame, geometry=shapely.from_wkb(wkb), crs=crs)


def _rows_sha256(raw: gpd.GeoDataFrame) -> str:
    """SHA-256 over the rows read, independent of the order the server returned them in."""
    rows = sorted(
        hashlib.sha256(
            (shapely.to_wkb(g, hex=True) if g is not None else "").encode()
            + json.dumps(t, sort_keys=True).encode()
            + str(f).encode()
        ).hexdigest()
        for f, t, g in zip(raw["fid"], raw["tags"], raw.geometry.values, strict=True)
    )
    digest = hashlib.sha256(str(raw.crs.to_epsg() or raw.crs).encode())
    for row in rows:
        digest.update(row.encode())
    return digest.hexdigest()


def _source_of(source: str | PostGISSource) -> PostGISSource:
    if isinstance(source, PostGISSource):
        return source
    addr = parse(source)
    opts = addr.options
    layers = None
    if opts.get("layers"):
        layers = {}
        for item in opts["layers"].split(","):
            name, sep, ref = item.partition(":")
            if not sep or not ref:
                raise InputError(f"layers= wants LAYER:TABLE pairs, not {item!r}", file=addr.label)
            layers[name.strip()] = ref.strip()
    return PostGISSource(
        source,
        table=opts.get("table"),
        query=opts.get("query"),
        layers=layers,
        geometry=opts.get("geometry"),
    )


def _unit_label(base: str, ref: str | None, query: str | None) -> str:
    if ref is not None:
        schema, name = split_table(ref, label=base)
        return f"{base}?table={schema}.{name}"
    digest = hashlib.sha256((query or "").encode()).hexdigest()[:12]
    return f"{base}?query=sha256:{digest}"


def read_postgis(source: str | PostGISSource):
    """Raw features from PostGIS, as :func:`safespace.io.sources.read_source` returns them.

    Parameters
    ----------
    source
        A database address with ``?table=``/``?query=``/``?layers=``, or a
        :class:`PostGISSource`.

    Returns
    -------
    safespace.io.sources.RawInput
        ``label`` is ``postgresql://host:port/db?table=schema.table`` (no credentials);
        ``sha256`` hashes the rows read (geometry, tags and ids), whatever their order.

    Raises
    ------
    safespace.errors.InputError
        No table or query named, an unsafe table or schema name, a missing table, no or
        several geometry columns, no SRID, or a connection problem.
    """
    from safespace.io.frame import read_frame
    from safespace.io.sources import RawInput

    spec = _source_of(source)
    addr = parse(spec.url)
    base = addr.label
    given = [x for x in (spec.table, spec.query, spec.layers) if x]
    if len(given) != 1:
        raise InputError(
            "name exactly one of table=, query= or layers= for a PostGIS source", file=base
        )
    units: list[tuple[str | None, str | None, str | None, str]] = []
    if spec.layers:
        known = _layer_tags()
        for layer, ref in spec.layers.items():
            if layer not in known:
                raise InputError(f"unknown layer {layer!r}; use one of {sorted(known)}", file=base)
            is_query = any(c.isspace() for c in ref.strip())
            units.append((layer, None if is_query else ref, ref if is_query else None, ""))
    else:
        units.append((None, spec.table, spec.query, ""))
    frames = []
    labels = []
    with connect(addr) as conn:
        for layer, table, query, _ in units:
            label = _unit_label(base, table, query)
            labels.append(label)
            frame = _read_unit(conn, table=table, query=query, geometry=spec.geometry, label=label)
            raw = read_frame(frame, label=label)
            if layer is not None:
                key, value = _layer_tags()[layer]
                raw["tags"] = [t if key in t else {**t, key: value} for t in raw["tags"]]
                name = table or f"query{len(frames)}"
                raw["fid"] = [f"{name}/{f}" for f in raw["fid"]]
            frames.append(raw)
    crs = frames[0].crs
    frames = [f.to_crs(crs) if not CRS.from_user_input(f.crs).equals(crs) else f for f in frames]
    features = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=crs)
    label = (
        labels[0]
        if len(labels) == 1
        else f"{base}?layers="
        + ",".join(
            f"{layer}:{lab.split('=', 1)[1]}"
            for (layer, *_), lab in zip(units, labels, strict=True)
        )
    )
    return RawInput(features, label, _rows_sha256(features), [])


# -- writing ---------------------------------------------------------------------------------
def table_names(prefix: str = DEFAULT_PREFIX) -> dict[str, str]:
    """The tables a prefix writes: ``runs``, ``findings``, ``issues`` and ``scores``."""
    check_identifier(prefix + "x", "prefix")
    return {k: f"{prefix}{k}" for k in ("runs", "findings", "issues", "scores")}


def _tables(meta: sa.MetaData, prefix: str, srid: int) -> dict[str, sa.Table]:
    names = table_names(prefix)

    def geom() -> sa.Column:
        return sa.Column("geom", Geometry("GEOMETRY", srid=srid, spatial_index=True), nullable=True)

    def keys() -> list[sa.Column]:
        return [
            sa.Column("run_id", sa.Text, nullable=False, index=True),
            sa.Column("site_id", sa.Text, index=True),
        ]

    txt = sa.Text
    return {
        "runs": sa.Table(
            names["runs"],
            meta,
            sa.Column("run_id", txt, primary_key=True),
            sa.Column("site_id", txt, index=True),
            sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
            sa.Column("safespace_version", txt),
            sa.Column("profile", txt),
            sa.Column("input_sha256", txt),
            sa.Column("profile_sha256", txt),
            sa.Column("srid", sa.Integer),
            sa.Column("summary", txt),
            sa.Column("counts", JSONB),
            sa.Column("provenance", JSONB),
            sa.Column("marker", JSONB),
        ),
        "findings": sa.Table(
            names["findings"],
            meta,
            *keys(),
            *(sa.Column(c, txt) for c in FINDING_TEXT_COLUMNS),
            *(sa.Column(c, JSONB) for c in FINDING_JSON_COLUMNS),
            geom(),
        ),
        "issues": sa.Table(
            names["issues"],
            meta,
            *keys(),
            *(
                sa.Column(c, txt)
                for c in (
                    "issue_id",
                    "place",
                    "title",
                    "severity",
                    "planning_weight",
                    "recommendation",
                    "basis",
                    "scope",
                    "kind",
                )  # fmt: skip
            ),
            sa.Column("extent_m", sa.Float),
            sa.Column("priority", sa.Float),
            sa.Column("key_concern", sa.Boolean),
            *(sa.Column(c, JSONB) for c in ("rules", "finding_ids", "areas", "evidence")),
            geom(),
        ),
        "scores": sa.Table(
            names["scores"],
            meta,
            *keys(),
            sa.Column("area", txt),
            sa.Column("value", sa.Float),
            sa.Column("confidence", sa.Float),
            sa.Column("explanation", txt),
            geom(),
        ),
    }


def output_srid(assessment) -> int:
    """The SRID outputs are written in: the source CRS's EPSG code, else the working CRS's."""
    layout = assessment.layout
    for crs in (getattr(layout, "source_crs", None), getattr(assessment, "crs", None)):
        if crs is not None:
            code = CRS.from_user_input(crs).to_epsg()
            if code:
                return int(code)
    raise InputError("the assessment's CRS has no EPSG code: cannot write it to PostGIS")


def _to_srid(geoms: list, from_crs, srid: int) -> list:
    arr = np.array(geoms, dtype=object)
    if len(arr) == 0 or from_crs is None:
        return list(arr)
    target = CRS.from_epsg(srid)
    if CRS.from_user_input(from_crs).equals(target):
        return list(arr)
    return list(np.asarray(gpd.GeoSeries(arr, crs=from_crs).to_crs(target).values, dtype=object))


def _wkb(geom, srid: int):
    if geom is None or geom.is_empty:
        return None
    return WKBElement(shapely.to_wkb(geom), srid=srid)


def _rows(assessment, run_id: str, site_id: str | None, srid: int) -> dict[str, list[dict]]:
    from safespace.io.writers import finding_records, issue_records, jsonable, score_records

    crs = assessment.crs
    key = {"run_id": run_id, "site_id": site_id}
    f_geoms = _to_srid([f.geometry for f in assessment.findings], crs, srid)
    findings = [
        {**key, **rec, "geom": _wkb(g, srid)}
        for rec, g in zip(finding_records(assessment), f_geoms, strict=True)
    ]
    i_geoms = _to_srid([i.geometry for i in assessment.issues], crs, srid)
    issues = []
    for rec, g in zip(issue_records(assessment), i_geoms, strict=True):
        rec = dict(rec)
        rec["issue_id"] = rec.pop("id")
        rec.pop("priority_terms", None)
        issues.append({**key, **rec, "geom": _wkb(g, srid)})
    site_geom = None
    if assessment.layout is not None:
        try:
            site_geom = _to_srid([assessment.layout.site_polygon], crs, srid)[0]
        except Exception:  # an empty layout has no extent
            site_geom = None
    scores = [
        {**key, "area": area, **rec, "geom": _wkb(site_geom, srid)}
        for area, rec in score_records(assessment).items()
    ]
    provenance = jsonable(assessment.provenance)
    run = {
        **key,
        "safespace_version": provenance.get("safespace_version"),
        "profile": provenance.get("profile"),
        "srid": srid,
        "summary": assessment.summary_line(),
        "counts": assessment.counts(),
        "provenance": provenance,
    }
    return {"findings": findings, "issues": issues, "scores": scores, "runs": [run]}


def _existing_srid(conn: sa.Connection, schema: str, table: str) -> int | None:
    row = conn.execute(
        sa.text(
            "SELECT srid FROM geometry_columns WHERE f_table_schema = :s AND f_table_name = :t "
            "AND f_geometry_column = 'geom'"
        ),
        {"s": schema, "t": table},
    ).first()
    return None if row is None else int(row[0])


def write_postgis(
    assessment,
    url: str,
    *,
    schema: str | None = None,
    prefix: str | None = None,
    site_id: str | None = None,
    run_id: str | None = None,
    marker: Mapping[str, Any] | None = None,
) -> str:
    """Write an assessment into PostGIS tables, in one transaction.

    Tables ``{prefix}runs``, ``{prefix}findings``, ``{prefix}issues`` and
    ``{prefix}scores`` are created when missing, with a ``geom`` column in the source's
    SRID, a GiST index on it and indexes on ``run_id`` and ``site_id``; many runs share them.

    Parameters
    ----------
    assessment
        The :class:`~safespace.Assessment` to write.
    url
        A database address; its ``?schema=``/``?prefix=`` options are used when the
        arguments are not given.
    schema, prefix
        Where the tables go (default ``public`` and ``safespace_``); plain identifiers only.
    site_id
        A site's id: its earlier rows (any run) are replaced, in the same transaction.
    run_id
        The run id (default: a new UUID).
    marker
        A JSON-safe record stored with the run (the batch's completion record).

    Returns
    -------
    str
        The run id.

    Raises
    ------
    safespace.errors.InputError
        An unsafe schema or prefix, a connection problem, or tables of this prefix that
        hold another SRID.
    """
    addr = parse(url)
    label = addr.label
    schema = check_identifier(schema or addr.options.get("schema") or DEFAULT_SCHEMA, "schema",
                              label=label)  # fmt: skip
    prefix = prefix if prefix is not None else addr.options.get("prefix", DEFAULT_PREFIX)
    check_identifier(prefix + "x", "prefix", label=label)
    srid = output_srid(assessment)
    run_id = run_id or uuid.uuid4().hex
    rows = _rows(assessment, run_id, site_id, srid)
    if marker is not None:
        from safespace.io.writers import jsonable

        rows["runs"][0].update(
            marker=jsonable(dict(marker)),
            input_sha256=marker.get("input_sha256"),
            profile_sha256=marker.get("profile_sha256"),
        )
    with connect(addr) as conn:
        try:
            with conn.begin():
                # one writer at a time per set of tables: creation and a site's replacement
                # never race another worker of the same batch
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                    {"k": f"safespace:{schema}.{prefix}"},
                )
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                meta = sa.MetaData(schema=schema)
                tables = _tables(meta, prefix, srid)
                for name in ("findings", "issues", "scores"):
                    have = _existing_srid(conn, schema, tables[name].name)
                    if have is not None and have != srid:
                        raise InputError(
                            f"table {schema}.{tables[name].name} holds SRID {have}, this "
                            f"assessment SRID {srid}: write it with another prefix",
                            file=label,
                        )
                meta.create_all(conn, checkfirst=True)
                if site_id is not None:
                    for name in ("findings", "issues", "scores", "runs"):
                        t = tables[name]
                        conn.execute(t.delete().where(t.c.site_id == site_id))
                for name in ("runs", "findings", "issues", "scores"):
                    if rows[name]:
                        conn.execute(tables[name].insert(), rows[name])
        except sa.exc.DBAPIError as exc:
            raise InputError(
                scrub(f"the database refused the write: {exc.orig}", addr), file=label
            ) from None
    return run_id


def completed_site(
    url: str, site_id: str, *, schema: str | None = None, prefix: str | None = None
) -> dict[str, Any] | None:
    """The marker stored with a site's run, or None when the site has no run yet."""
    addr = parse(url)
    schema = check_identifier(schema or addr.options.get("schema") or DEFAULT_SCHEMA, "schema",
                              label=addr.label)  # fmt: skip
    prefix = prefix if prefix is not None else addr.options.get("prefix", DEFAULT_PREFIX)
    runs = table_names(prefix)["runs"]
    with connect(addr) as conn:
        exists = conn.execute(
            sa.text("SELECT to_regclass(:t)"), {"t": f'"{schema}"."{runs}"'}
        ).scalar()
        if exists is None:
            return None
        row = conn.execute(
            sa.text(f'SELECT marker FROM "{schema}"."{runs}" WHERE site_id = :s'),
            {"s": site_id},
        ).first()
    return None if row is None or row[0] is None else dict(row[0])


def check_writable(url: str) -> None:
    """Connect, and check the schema and prefix an address names (an InputError if not)."""
    addr = parse(url)
    check_identifier(addr.options.get("schema") or DEFAULT_SCHEMA, "schema", label=addr.label)
    check_identifier(addr.options.get("prefix", DEFAULT_PREFIX) + "x", "prefix", label=addr.label)
    with connect(addr) as conn:
        conn.execute(sa.text("SELECT 1"))
