"""Recorded incidents in: data.police.uk street-level CSVs and generic incident tables.

:func:`read_incidents` turns one file, several files or a folder of them into one
GeoDataFrame of *located* incidents with the columns

| column | type | meaning |
|---|---|---|
| ``id`` | str | the record's own id (data.police.uk ``Crime ID``), else ``<file name>:<row>`` |
| ``category`` | str | the crime type as published (``Burglary``, ``Anti-social behaviour``) |
| ``month`` | str or NaN | ``YYYY-MM`` |
| ``source`` | str | the file it came from |
| ``row`` | int | the record's row in that file (1 = first data row) |
| ``location`` | str or None | data.police.uk ``Location`` (the anonymised map point's name) |
| ``lsoa`` | str or None | data.police.uk ``LSOA code`` |
| ``outcome`` | str or None | data.police.uk ``Last outcome category`` |
| ``geometry`` | Point | in the source CRS (EPSG:4326 for data.police.uk and lon/lat tables) |

Nothing is lost: records without coordinates are counted, not returned. The frame's
``attrs`` hold ``rows`` (records read), ``located``, ``unlocated`` (an int),
``unlocated_by_category``, ``by_category`` (every record, located or not),
``no_id`` (records without a Crime ID: anti-social behaviour in data.police.uk files),
``sources`` (one entry per file with the same counts) and ``format``.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from safespace.errors import InputError

#: The header of a data.police.uk street-level file (``*-street.csv``), as published.
POLICE_UK_COLUMNS: tuple[str, ...] = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)

#: The attribution data.police.uk asks for (Open Government Licence v3.0).
OGL_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    "(data.police.uk)."
)

COLUMNS: tuple[str, ...] = (
    "id",
    "category",
    "month",
    "source",
    "row",
    "location",
    "lsoa",
    "outcome",
    "geometry",
)

INCIDENT_SUFFIXES = (".csv", ".geojson", ".json", ".gpkg")
#: Files of a data.police.uk download that are not incidents (a folder read skips them):
#: outcomes restate the street file's crimes, stop and search records are not crimes.
NOT_INCIDENTS = ("-outcomes.csv", "-stop-and-search.csv")
_LONLAT = (("longitude", "latitude"), ("lon", "lat"), ("lng", "lat"), ("long", "lat"))
_XY = (("x", "y"), ("easting", "northing"))
_CATEGORY_NAMES = ("category", "crime type", "crime_type", "offence", "type", "crime")
_MONTH_NAMES = ("month",)
_DATE_NAMES = ("date", "datetime", "occurred", "date_occurred", "reported")
_ID_NAMES = ("id", "crime id", "crime_id", "incident_id", "ref")
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def empty_incidents(crs: Any = "EPSG:4326") -> gpd.GeoDataFrame:
    """An incident frame with no rows and the full schema."""
    frame = gpd.GeoDataFrame(
        {c: pd.Series(dtype=object) for c in COLUMNS if c != "geometry"}, geometry=[], crs=crs
    )
    frame.attrs.update(_attrs(0, Counter(), Counter(), 0, [], "none"))
    return frame


def incident_files(path: str | os.PathLike) -> list[Path]:
    """The incident files a path names: the file itself, or every CSV, GeoJSON and
    GeoPackage under a folder (recursively, sorted: a data.police.uk download is a folder
    per month), leaving out a download's ``*-outcomes.csv`` and ``*-stop-and-search.csv``."""
    p = Path(path)
    if p.is_dir():
        files = sorted(
            f
            for f in p.rglob("*")
            if f.is_file()
            and f.name.lower().endswith(INCIDENT_SUFFIXES)
            and not f.name.lower().endswith(NOT_INCIDENTS)
        )
        if not files:
            raise InputError("no incident files (.csv, .geojson, .gpkg) in the folder", file=p)
        return files
    if not p.exists():
        raise InputError("no such incident file", file=p)
    return [p]


def read_incidents(
    path: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
    category: str | None = None,
    month: str | None = None,
    date: str | None = None,
    id: str | None = None,  # noqa: A002 - the column's natural name
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read recorded incidents: data.police.uk street CSVs or a generic incident table.

    Parameters
    ----------
    path
        A file (``.csv``, ``.geojson``/``.json``, ``.gpkg``), a folder (every such file
        under it) or a list of files and folders. A CSV with the data.police.uk header
        (``Crime ID, Month, ..., Crime type, ...``) is read as published.
    x, y
        The coordinate columns of a generic CSV (default: ``longitude``/``latitude``,
        ``lon``/``lat``, then ``x``/``y`` or ``easting``/``northing``, any case).
    crs
        The CRS of a generic CSV's coordinates (default EPSG:4326 for lon/lat columns;
        required for ``x``/``y``). GeoJSON and GeoPackage files carry their own.
    category
        The category column of a generic table (default: ``category``, ``crime type``,
        ``offence``, ``type``; ``unknown`` where there is none).
    month, date
        A column holding the month (``YYYY-MM``, or any date) or a date, turned into
        ``YYYY-MM`` (default: ``month``, else ``date``; NaN where there is none).
    id
        The id column of a generic table (default ``id``; else ``<file name>:<row>``).
    layer
        The GeoPackage layer to read (default: the first).

    Returns
    -------
    geopandas.GeoDataFrame
        The located incidents, columns as in the module docstring; the counts of every
        record read (located, unlocated, by category, without id) in ``.attrs``.

    Raises
    ------
    safespace.errors.InputError
        A missing file, an unknown column, an unreadable coordinate, month or date (naming
        the file and the row), or files in different CRSs.
    """
    paths: list[Path] = []
    items: Iterable = [path] if isinstance(path, str | os.PathLike) else path
    for item in items:
        paths += incident_files(item)
    if not paths:
        raise InputError("incidents: no file given")
    opts = dict(x=x, y=y, crs=crs, category=category, month=month, date=date, id=id, layer=layer)
    frames = [_read_one(p, **opts) for p in paths]
    return _combine(frames)


# --------------------------------------------------------------------------- one file


def _read_one(path: Path, **opts: Any) -> gpd.GeoDataFrame:
    name = path.name.lower()
    if name.endswith(".csv"):
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"cannot read the CSV ({exc})", file=path) from None
        if {"Crime ID", "Longitude", "Latitude", "Crime type"} <= set(table.columns):
            return _police_uk(table, path)
        return _generic_csv(table, path, **opts)
    if name.endswith((".geojson", ".json", ".gpkg")):
        try:
            frame = (
                gpd.read_file(path, layer=opts.get("layer"))
                if opts.get("layer")
                else (gpd.read_file(path))
            )
        except Exception as exc:  # pyogrio's errors are many; name the file
            raise InputError(f"cannot read the file ({exc})", file=path) from None
        return _generic_vector(frame, path, **opts)
    raise InputError("incidents are read from .csv, .geojson/.json or .gpkg files", file=path)


def _police_uk(table: pd.DataFrame, path: Path) -> gpd.GeoDataFrame:
    missing = [c for c in ("Month", "Crime type") if c not in table.columns]
    if missing:
        raise InputError(f"data.police.uk file without column(s) {missing}", file=path)
    lon = _numbers(table["Longitude"], path, "Longitude")
    lat = _numbers(table["Latitude"], path, "Latitude")
    _check_lonlat(lon, lat, path)
    months = _months(table["Month"], path, "Month")
    crime_id = table["Crime ID"]
    return _build(
        path,
        ids=crime_id,
        category=table["Crime type"],
        month=months,
        xs=lon,
        ys=lat,
        crs=CRS.from_epsg(4326),
        extra={
            "location": table.get("Location"),
            "lsoa": table.get("LSOA code"),
            "outcome": table.get("Last outcome category"),
        },
        no_id=int(crime_id.isna().sum()),
        fmt="data.police.uk",
    )


def _generic_csv(table: pd.DataFrame, path: Path, **opts: Any) -> gpd.GeoDataFrame:
    lower = {c.lower().strip(): c for c in table.columns}
    xcol, ycol = opts.get("x"), opts.get("y")
    lonlat = False
    if xcol or ycol:
        if not (xcol and ycol):
            raise InputError("name both coordinate columns (x= and y=)", file=path)
        for c in (xcol, ycol):
            if c not in table.columns:
                raise InputError(
                    f"no column {c!r} (columns: {', '.join(table.columns)})", file=path
                )
        lonlat = (xcol.lower(), ycol.lower()) in _LONLAT
    else:
        for pair in _LONLAT + _XY:
            if pair[0] in lower and pair[1] in lower:
                xcol, ycol = lower[pair[0]], lower[pair[1]]
                lonlat = pair in _LONLAT
                break
        else:
            raise InputError(
                "no coordinate columns found: name them with x= and y= "
                f"(columns: {', '.join(table.columns)})",
                file=path,
            )
    given = opts.get("crs")
    if given is not None:
        crs = CRS.from_user_input(given)
    elif lonlat:
        crs = CRS.from_epsg(4326)
    else:
        raise InputError(
            f"coordinates in {xcol!r}/{ycol!r} need a CRS: pass crs= (e.g. 'EPSG:27700')",
            file=path,
        )
    xs = _numbers(table[xcol], path, xcol)
    ys = _numbers(table[ycol], path, ycol)
    if crs.is_geographic:
        _check_lonlat(xs, ys, path)
    return _from_table(table, path, xs, ys, crs, **opts)


def _generic_vector(frame: gpd.GeoDataFrame, path: Path, **opts: Any) -> gpd.GeoDataFrame:
    if frame.crs is None and opts.get("crs") is None:
        raise InputError("the file has no CRS: pass crs=", file=path)
    crs = CRS.from_user_input(frame.crs if frame.crs is not None else opts["crs"])
    geoms = np.asarray(frame.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    types = shapely.get_type_id(geoms)
    bad = present & (types != shapely.GeometryType.POINT)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        kind = shapely.get_type_id(geoms[i])
        raise InputError(
            f"an incident must be a point, not geometry type {kind} "
            f"({int(bad.sum())} such feature(s))",
            file=path,
            feature=str(i),
        )
    xs = np.full(len(frame), np.nan)
    ys = np.full(len(frame), np.nan)
    xs[present] = shapely.get_x(geoms[present])
    ys[present] = shapely.get_y(geoms[present])
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    table = table.astype(object).where(table.notna(), None)
    return _from_table(table, path, xs, ys, crs, **opts)


def _from_table(
    table: pd.DataFrame, path: Path, xs: np.ndarray, ys: np.ndarray, the_crs: CRS, **opts: Any
) -> gpd.GeoDataFrame:
    lower = {str(c).lower().strip(): c for c in table.columns}

    def column(given: str | None, names: tuple[str, ...], what: str) -> pd.Series | None:
        if given is not None:
            if given not in table.columns:
                raise InputError(
                    f"no {what} column {given!r} (columns: {', '.join(map(str, table.columns))})",
                    file=path,
                )
            return table[given]
        for n in names:
            if n in lower:
                return table[lower[n]]
        return None

    cat = column(opts.get("category"), _CATEGORY_NAMES, "category")
    if cat is None:
        cat = pd.Series(["unknown"] * len(table), index=table.index, dtype=object)
    mcol = column(opts.get("month"), _MONTH_NAMES, "month") if opts.get("date") is None else None
    if mcol is not None:
        months = _months(mcol, path, str(mcol.name))
    else:
        dcol = column(opts.get("date"), _DATE_NAMES, "date")
        months = (
            _dates_to_months(dcol, path, str(dcol.name))
            if dcol is not None
            else np.full(len(table), np.nan, dtype=object)
        )
    ids = column(opts.get("id"), _ID_NAMES, "id")
    return _build(
        path,
        ids=ids,
        category=cat,
        month=months,
        xs=xs,
        ys=ys,
        crs=the_crs,
        extra={},
        no_id=int(ids.isna().sum()) if ids is not None else len(table),
        fmt="table",
    )


# --------------------------------------------------------------------------- parts


def _numbers(values: pd.Series, path: Path, col: str) -> np.ndarray:
    """Floats; empty cells NaN; any other unreadable value is an error naming its row."""
    out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(out) & values.notna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"column {col!r}: {values.iloc[i]!r} is not a number ({int(bad.sum())} such row(s))",
            file=path,
            feature=f"row {i + 1}",
        )
    return out


def _check_lonlat(lon: np.ndarray, lat: np.ndarray, path: Path) -> None:
    with np.errstate(invalid="ignore"):
        bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"longitude/latitude out of range ({lon[i]}, {lat[i]}): are these projected "
            "coordinates? name the CRS with crs=",
            file=path,
            feature=f"row {i + 1}",
        )


def _months(values: pd.Series, path: Path, col: str) -> np.ndarray:
    """``YYYY-MM`` strings (NaN where empty); a value that is a full date is cut to its month."""
    text = values.astype(object).where(values.notna(), None)
    out = np.full(len(values), np.nan, dtype=object)
    s = pd.Series(text.to_numpy(), dtype=object)
    present = s.notna().to_numpy()
    stripped = s[present].astype(str).str.strip()
    ok = stripped.str.match(_MONTH_RE).to_numpy()
    out[np.flatnonzero(present)[ok]] = stripped.to_numpy()[ok]
    if (~ok).any():
        rest = np.flatnonzero(present)[~ok]
        out[rest] = _dates_to_months(s.iloc[rest], path, col, rows=rest)
    return out


def _dates_to_months(
    values: pd.Series, path: Path, col: str, rows: np.ndarray | None = None
) -> np.ndarray:
    parsed = pd.to_datetime(
        pd.Series(values.to_numpy(), dtype=object), errors="coerce", format="mixed"
    )
    bad = parsed.isna().to_numpy() & pd.Series(values.to_numpy()).notna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        row = int(rows[i]) if rows is not None else i
        raise InputError(
            f"column {col!r}: {values.iloc[i]!r} is not a month (YYYY-MM) or a date "
            f"({int(bad.sum())} such row(s))",
            file=path,
            feature=f"row {row + 1}",
        )
    out = parsed.dt.strftime("%Y-%m").to_numpy(dtype=object)
    out[parsed.isna().to_numpy()] = np.nan
    return out


def _text(values: pd.Series | None, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, None, dtype=object)
    arr = values.to_numpy(dtype=object).copy()
    arr[pd.isna(arr)] = None
    return np.array([None if v is None else str(v) for v in arr], dtype=object)


def _build(
    path: Path,
    *,
    ids: pd.Series | None,
    category: pd.Series,
    month: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    crs: CRS,
    extra: dict[str, pd.Series | None],
    no_id: int,
    fmt: str,
) -> gpd.GeoDataFrame:
    n = len(xs)
    rows = np.arange(1, n + 1)
    cats = _text(category, n)
    cats[cats == None] = "unknown"  # noqa: E711 - element-wise on an object array
    cats = np.array([c.strip() or "unknown" for c in cats], dtype=object)
    given = _text(ids, n)
    stem = path.name
    fallback = np.array([f"{stem}:{r}" for r in rows], dtype=object)
    idv = np.where(given == None, fallback, given)  # noqa: E711
    located = ~(np.isnan(xs) | np.isnan(ys))
    by_cat = Counter(cats.tolist())
    unloc_cat = Counter(cats[~located].tolist())
    cols: dict[str, Any] = {
        "id": idv[located],
        "category": cats[located],
        "month": np.asarray(month, dtype=object)[located],
        "source": np.full(int(located.sum()), str(path), dtype=object),
        "row": rows[located],
    }
    for key in ("location", "lsoa", "outcome"):
        cols[key] = _text(extra.get(key), n)[located]
    frame = gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(xs[located], ys[located]), crs=crs)
    src = {
        "file": str(path),
        "format": fmt,
        "rows": n,
        "located": int(located.sum()),
        "unlocated": int(n - located.sum()),
        "no_id": no_id,
    }
    frame.attrs.update(_attrs(n, by_cat, unloc_cat, no_id, [src], fmt))
    return frame


def _attrs(
    n: int, by_cat: Counter, unloc_cat: Counter, no_id: int, sources: list, fmt: str
) -> dict[str, Any]:
    unlocated = int(sum(unloc_cat.values()))
    return {
        "rows": int(n),
        "located": int(n - unlocated),
        "unlocated": unlocated,
        "unlocated_by_category": dict(sorted(unloc_cat.items())),
        "by_category": dict(sorted(by_cat.items())),
        "no_id": int(no_id),
        "sources": sources,
        "format": fmt,
    }


def _combine(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    if len(frames) == 1:
        return frames[0]
    crss = {CRS.from_user_input(f.crs).to_string() for f in frames}
    if len(crss) > 1:
        raise InputError(
            "incident files in different CRSs ("
            + ", ".join(sorted(crss))
            + "): read them separately and reproject"
        )
    attrs = [f.attrs for f in frames]
    by_cat: Counter = Counter()
    unloc: Counter = Counter()
    for a in attrs:
        by_cat.update(a["by_category"])
        unloc.update(a["unlocated_by_category"])
    fmts = sorted({a["format"] for a in attrs})
    for f in frames:
        f.attrs = {}
    out = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
    for f, a in zip(frames, attrs, strict=True):
        f.attrs = a
    out.attrs = _attrs(
        sum(a["rows"] for a in attrs),
        by_cat,
        unloc,
        sum(a["no_id"] for a in attrs),
        [s for a in attrs for s in a["sources"]],
        fmts[0] if len(fmts) == 1 else "mixed",
    )
    return out


def to_layout_crs(frame: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    """The incidents in ``crs`` (the layout's metric CRS), ``attrs`` kept."""
    attrs = dict(frame.attrs)
    out = frame.to_crs(crs) if frame.crs is not None else frame.set_crs(crs)
    out = out.reset_index(drop=True)
    out.attrs = attrs
    return out


def incidents_layer(
    incidents: Any, crs: Any, notes: list | None = None, inputs: list | None = None
) -> gpd.GeoDataFrame:
    """The ``incidents`` layer of a layout: read (or take) the incidents, project them.

    Parameters
    ----------
    incidents
        A path, a folder, a list of them, or a GeoDataFrame with a ``category`` column.
    crs
        The layout's metric CRS.
    notes, inputs
        The layout's input notes and input records, appended to (the unlocated records
        are counted in a note; each file's SHA-256 is recorded).

    Returns
    -------
    geopandas.GeoDataFrame
        Located incidents in ``crs`` with at least ``id``, ``category``, ``month``,
        ``source``, ``geometry``; ``attrs`` as :func:`read_incidents` gives them.
    """
    from safespace.findings import InputNote
    from safespace.io.sources import _file_sha256

    if isinstance(incidents, gpd.GeoDataFrame):
        frame = _from_frame(incidents)
        label = "<GeoDataFrame>"
    else:
        frame = read_incidents(incidents)
        label = ", ".join(s["file"] for s in frame.attrs["sources"])
        if inputs is not None:
            for s in frame.attrs["sources"]:
                inputs.append(
                    {
                        "role": "incidents",
                        "label": s["file"],
                        "sha256": _file_sha256(Path(s["file"])),
                    }
                )
    a = frame.attrs
    if notes is not None:
        notes.append(
            InputNote(
                "info",
                "incidents-read",
                f"{a['rows']:,} incident record(s): {a['located']:,} located, "
                f"{a['unlocated']:,} without a location (counted, not mapped); "
                f"{a['no_id']:,} without a record id",
                label,
            )
        )
    return to_layout_crs(frame, crs)


def _from_frame(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A caller's GeoDataFrame in the incident schema (``category`` required)."""
    if frame.crs is None:
        raise InputError("the incidents have no CRS: set one (.set_crs)", file="<GeoDataFrame>")
    if "category" not in frame.columns:
        raise InputError("the incidents have no 'category' column", file="<GeoDataFrame>")
    geoms = np.asarray(frame.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    n = len(frame)
    out = gpd.GeoDataFrame(
        {
            "id": (
                _text(frame["id"], n)
                if "id" in frame
                else np.array([f"<GeoDataFrame>:{i + 1}" for i in range(n)], dtype=object)
            )[present],
            "category": _text(frame["category"], n)[present],
            "month": (
                _months(frame["month"], Path("<GeoDataFrame>"), "month")
                if "month" in frame
                else np.full(n, np.nan, dtype=object)
            )[present],
            "source": (
                _text(frame["source"], n)
                if "source" in frame
                else np.full(n, "<GeoDataFrame>", dtype=object)
            )[present],
            "row": np.arange(1, n + 1)[present],
            "location": _text(frame.get("location"), n)[present],
            "lsoa": _text(frame.get("lsoa"), n)[present],
            "outcome": _text(frame.get("outcome"), n)[present],
        },
        geometry=geoms[present],
        crs=frame.crs,
    )
    cats = _text(frame["category"], n)
    src = {
        "file": "<GeoDataFrame>",
        "format": "frame",
        "rows": n,
        "located": int(present.sum()),
        "unlocated": int(n - present.sum()),
        "no_id": 0 if "id" in frame else n,
    }
    out.attrs.update(
        _attrs(
            n,
            Counter(cats.tolist()),
            Counter(cats[~present].tolist()),
            src["no_id"],
            [src],
            "frame",
        )
    )
    return out
