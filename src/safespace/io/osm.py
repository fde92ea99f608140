"""Read OpenStreetMap files (``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``) into raw features.

Everything runs offline through pyosmium. libosmium does the heavy work in C++: decoding,
the node-location cache, dropping untagged objects and assembling multipolygon relations.
Only the few tagged objects reach Python. Geometries are built as WKB in C++ and converted in
bulk with ``shapely.from_wkb``.

Three passes read the file. The first reads the relations only, which is cheap because
relations are few. It tells which relations to keep and which ways are their members. The
second is libosmium's own relation pass for area assembly. The third reads everything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import shapely
from shapely.geometry import LineString

from safespace.errors import InputError
from safespace.io._osm_tags import (
    closed_way_is_area,
    node_is_relevant,
    relation_is_relevant,
    way_is_relevant,
)

__all__ = ["read_osm"]

BAD_GEOMETRY = "osm-bad-geometry"
REPAIRED_GEOMETRY = "osm-repaired-geometry"
RELATION_GEOMETRY = "osm-relation-geometry"


@dataclass
class _Relation:
    id: int
    tags: dict[str, str]
    ways: list[tuple[int, str]]
    nodes: list[int]

    @property
    def multipolygon(self) -> bool:
        return self.tags.get("type") == "multipolygon"


@dataclass
class _Collected:
    """What the main pass hands over to the bulk geometry step."""

    node_fids: list[str] = field(default_factory=list)
    node_tags: list[dict[str, str]] = field(default_factory=list)
    node_xy: list[tuple[float, float]] = field(default_factory=list)
    way_fids: list[str] = field(default_factory=list)
    way_tags: list[dict[str, str]] = field(default_factory=list)
    way_wkb: list[str] = field(default_factory=list)
    way_closed: list[bool] = field(default_factory=list)
    way_complete: list[bool] = field(default_factory=list)
    member_wkb: dict[int, str] = field(default_factory=dict)
    area_wkb: dict[int, str] = field(default_factory=dict)


def _note(code: str, message: str, fid: str, level: str = "warning") -> dict[str, str]:
    return {"level": level, "code": code, "message": message, "feature": fid}


_MAIN_KEYS = ("building", "amenity", "highway", "barrier", "natural", "landuse", "emergency")


def _what(tags) -> str:
    """The tag that says what an object is (``building=yes``), to prefix its notes."""
    for key in _MAIN_KEYS:
        value = tags.get(key)
        if value:
            return f"{key}={value}: "
    return ""


def _way_wkb(
    way: osmium.osm.Way, factory: osmium.geom.WKBFactory, notes: list[dict]
) -> tuple[str | None, bool]:
    """A way's line as hex WKB (None when dropped), and whether all its nodes are located.

    At an extract's edge the line runs through the located nodes only, with a note.
    """
    fid = f"way/{way.id}"
    what = _what(way.tags)
    nodes = way.nodes
    # libosmium silently skips missing nodes at the start of a way, so test the first one.
    if len(nodes) and nodes[0].location.valid():
        try:
            return factory.create_linestring(way), True
        except osmium.InvalidLocationError:
            pass
        except RuntimeError:
            # libosmium's geometry_error: fewer than two distinct points.
            notes.append(
                _note(BAD_GEOMETRY, f"{what}way has fewer than 2 distinct nodes; dropped", fid)
            )
            return None, False
    # Some nodes lie outside the extract: keep the located part, in order.
    coords: list[tuple[float, float]] = []
    total = located = 0
    for ref in nodes:
        total += 1
        loc = ref.location
        if loc.valid():
            located += 1
            xy = (loc.lon, loc.lat)
            if not coords or coords[-1] != xy:
                coords.append(xy)
    if len(coords) < 2:
        if located == total:
            why = "way has fewer than 2 distinct nodes"
        else:
            why = (
                f"{total - located} of {total} nodes are missing from the extract "
                "and fewer than 2 remain"
            )
        notes.append(_note(BAD_GEOMETRY, f"{what}{why}; dropped", fid))
        return None, False
    missing = f"{total - located} of {total} nodes are missing from the extract"
    notes.append(_note(BAD_GEOMETRY, f"{what}{missing}; built from the located ones", fid))
    return shapely.to_wkb(LineString(coords), hex=True), False


# libosmium's format names by file suffix (lower case), most specific first.
_FORMATS = (
    (".pbf", "pbf"),
    (".bz2", "osm.bz2"),
    (".gz", "osm.gz"),
    (".osm", "osm"),
    (".xml", "osm"),
)


def _source(file: Path) -> osmium.io.File | str:
    """The file for libosmium, with its format named when the suffix tells it.

    libosmium's own detection is case-sensitive (``X.OSM.PBF`` fails); anything else is left
    to it and fails with a clear message.
    """
    name = file.name.lower()
    for suffix, fmt in _FORMATS:
        if name.endswith(suffix):
            return osmium.io.File(str(file), fmt)
    return str(file)


def _sniff(file: Path) -> str | None:
    """What the file's first bytes say it is: ``pbf``, ``osm.bz2``, ``osm.gz``, ``osm``."""
    with open(file, "rb") as fh:
        head = fh.read(64)
    if head.startswith(b"\x1f\x8b"):
        return "osm.gz"
    if head.startswith(b"BZh"):
        return "osm.bz2"
    if b"OSMHeader" in head[:32]:
        return "pbf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"<?xml", b"<osm", b"<!")):
        return "osm"
    return None


_FORMAT_WORDS = {
    "pbf": "an OSM PBF file",
    "osm.bz2": "bzip2-compressed",
    "osm.gz": "gzip-compressed",
    "osm": "XML",
}


def _check_format(file: Path, label: str) -> None:
    """Refuse a file whose content is not what its name says, saying what it is."""
    named = next((fmt for sfx, fmt in _FORMATS if file.name.lower().endswith(sfx)), None)
    found = _sniff(file)
    if named is None or found is None or found == named:
        return
    raise InputError(
        f"the file name says {_FORMAT_WORDS[named]}, but its content is {_FORMAT_WORDS[found]}: "
        "rename it to match its content",
        file=label,
    )


def _scan_relations(source: Path, pool: osmium.io.ThreadPool) -> list[_Relation]:
    """Pass 1: the relations worth keeping, with their members."""
    found = []
    processor = osmium.FileProcessor(_source(source), osmium.osm.RELATION, thread_pool=pool)
    for rel in processor.with_filter(osmium.filter.EmptyTagFilter()):
        tags = dict(rel.tags)
        if not relation_is_relevant(tags):
            continue
        ways, nodes = [], []
        for member in rel.members:
            if member.type == "w":
                ways.append((member.ref, member.role))
            elif member.type == "n":
                nodes.append(member.ref)
        found.append(_Relation(rel.id, tags, ways, nodes))
    return found


class _MemberWays:
    """Handler for objects the main filter chain drops: keeps untagged member ways' lines."""

    def __init__(self, wanted: set[int], out: dict[int, str]):
        self.wanted = wanted
        self.out = out
        self.factory = osmium.geom.WKBFactory()

    def way(self, way: osmium.osm.Way) -> None:
        if way.id in self.wanted:
            wkb, _ = _way_wkb(way, self.factory, [])
            if wkb is not None:
                self.out[way.id] = wkb


def _read_objects(
    source: Path, relations: list[_Relation], pool: osmium.io.ThreadPool, notes: list[dict]
) -> tuple[_Collected, osmium.index.LocationTable]:
    """Passes 2 and 3: tagged nodes and ways, member ways, assembled multipolygons."""
    got = _Collected()
    wanted = {ref for rel in relations for ref, _ in rel.ways}
    mp_ids = [rel.id for rel in relations if rel.multipolygon]
    processor = osmium.FileProcessor(_source(source), thread_pool=pool).with_locations()
    entities = osmium.osm.NODE | osmium.osm.WAY
    if mp_ids:
        entities |= osmium.osm.AREA
        processor.with_areas(osmium.filter.IdFilter(mp_ids).enable_for(osmium.osm.RELATION))
        # libosmium also makes an area of every closed way (id 2 * way id); only those of
        # relations (id 2 * relation id + 1) may reach Python: closed ways are handled in bulk.
        area_ids = osmium.filter.IdFilter([2 * rid + 1 for rid in mp_ids])
        processor.with_filter(area_ids.enable_for(osmium.osm.AREA))
    # Relations were read in pass 1; untagged objects never reach Python.
    processor.with_filter(osmium.filter.EntityFilter(entities))
    processor.with_filter(osmium.filter.EmptyTagFilter())
    if wanted:
        processor.handler_for_filtered(_MemberWays(wanted, got.member_wkb))
    factory = osmium.geom.WKBFactory()

    for obj in processor:
        kind = obj.type_str()
        if kind == "n":
            tags = dict(obj.tags)
            if not node_is_relevant(tags):
                continue
            loc = obj.location
            if not loc.valid():
                notes.append(
                    _note(BAD_GEOMETRY, "node has no valid location; dropped", f"node/{obj.id}")
                )
                continue
            got.node_fids.append(f"node/{obj.id}")
            got.node_tags.append(tags)
            got.node_xy.append((loc.lon, loc.lat))
        elif kind == "w":
            tags = dict(obj.tags)
            keep = way_is_relevant(tags)
            member = obj.id in wanted
            if not (keep or member):
                continue
            wkb, complete = _way_wkb(obj, factory, notes if keep else [])
            if wkb is None:
                continue
            if member:
                got.member_wkb[obj.id] = wkb
            if keep:
                got.way_fids.append(f"way/{obj.id}")
                got.way_tags.append(tags)
                got.way_wkb.append(wkb)
                got.way_closed.append(obj.is_closed())
                got.way_complete.append(complete)
        elif kind == "a" and not obj.from_way():
            try:
                got.area_wkb[obj.orig_id()] = factory.create_multipolygon(obj)
            except (RuntimeError, osmium.InvalidLocationError):
                pass  # handled as a relation that did not assemble
    return got, processor.node_location_storage


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a geometry (empty when there is none)."""
    if isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        return geom
    parts = [
        g for g in shapely.get_parts(geom) if isinstance(g, shapely.Polygon | shapely.MultiPolygon)
    ]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _single(geoms: np.ndarray) -> np.ndarray:
    """MultiPolygons with one part as plain Polygons (vectorised)."""
    one = shapely.get_num_geometries(geoms) == 1
    multi = shapely.get_type_id(geoms) == 6
    pick = one & multi
    if pick.any():
        geoms = geoms.copy()
        geoms[pick] = shapely.get_geometry(geoms[pick], 0)
    return geoms


def _way_geometries(got: _Collected, notes: list[dict]) -> np.ndarray:
    """Lines for all kept ways; polygons for the closed ones whose tags make them areas."""
    lines = shapely.from_wkb(np.asarray(got.way_wkb, dtype=object))
    geoms = lines.copy()
    closed = np.asarray(got.way_closed, dtype=bool)
    if not len(lines):
        return geoms
    is_area = closed & np.fromiter((closed_way_is_area(t) for t in got.way_tags), bool, len(lines))
    # A ring needs three distinct corners. A closed way cut at the extract's edge is closed
    # again across the gap (it has its note already).
    corners = shapely.get_num_coordinates(lines) - shapely.is_closed(lines)
    too_small = is_area & (corners < 3)
    for i in np.flatnonzero(too_small & np.asarray(got.way_complete, dtype=bool)):
        notes.append(
            _note(
                BAD_GEOMETRY,
                "closed way has fewer than 3 distinct corners; kept as a line",
                got.way_fids[i],
            )
        )
    idx = np.flatnonzero(is_area & ~too_small)
    if len(idx):
        coords, ring_of = shapely.get_coordinates(lines[idx], return_index=True)
        polys = shapely.polygons(shapely.linearrings(coords, indices=ring_of))
        bad = ~shapely.is_valid(polys)
        for j in np.flatnonzero(bad):
            fixed = _polygonal(shapely.make_valid(polys[j]))
            if fixed.is_empty:
                notes.append(
                    _note(
                        BAD_GEOMETRY,
                        "outline encloses no area; kept as a line",
                        got.way_fids[idx[j]],
                    )
                )
                polys[j] = lines[idx[j]]
            else:
                notes.append(
                    _note(
                        REPAIRED_GEOMETRY,
                        "self-intersecting outline repaired",
                        got.way_fids[idx[j]],
                        "info",
                    )
                )
                polys[j] = fixed
        geoms[idx] = polys
    # Open ways whose tags want an area (ways cut at the extract's edge have their note).
    open_area = ~closed & np.asarray(got.way_complete, dtype=bool)
    open_area &= np.fromiter(
        (("building" in t) or t.get("area") == "yes" for t in got.way_tags), bool, len(lines)
    )
    for i in np.flatnonzero(open_area):
        notes.append(
            _note(BAD_GEOMETRY, "area outline is not closed; kept as a line", got.way_fids[i])
        )
    return geoms


def _relation_fallback(
    rel: _Relation,
    members: dict[int, str],
    store: osmium.index.LocationTable,
    notes: list[dict],
) -> shapely.Geometry | None:
    """Geometry of a relation libosmium did not assemble, from whatever members are located."""
    fid = f"relation/{rel.id}"
    located = [(ref, role) for ref, role in rel.ways if ref in members]
    missing = len(rel.ways) - len(located)
    outline = [ref for ref, role in located if role == "outline"]
    outer = outline or [ref for ref, role in located if role != "inner"]
    inner = [] if outline else [ref for ref, role in located if role == "inner"]
    geom = None
    if outer:
        outer_lines = shapely.from_wkb([members[r] for r in outer])
        area = _polygonal(shapely.polygonize(outer_lines))
        if not area.is_empty and inner:
            holes = _polygonal(shapely.polygonize(shapely.from_wkb([members[r] for r in inner])))
            area = area.difference(holes) if not holes.is_empty else area
        if not area.is_empty:
            geom = shapely.make_valid(area) if not area.is_valid else area
            geom = _polygonal(geom)
        else:
            geom = shapely.line_merge(shapely.multilinestrings(list(outer_lines)))
    if geom is None and rel.nodes:
        points = []
        for ref in rel.nodes:
            try:
                loc = store.get(ref)
            except (KeyError, RuntimeError, osmium.InvalidLocationError):
                continue
            if loc.valid():
                points.append((loc.lon, loc.lat))
        if points:
            geom = shapely.multipoints(points)
    kind = rel.tags.get("type", "?")
    if geom is None or geom.is_empty:
        notes.append(
            _note(
                BAD_GEOMETRY,
                f"{_what(rel.tags)}relation (type={kind}) has no located members; dropped",
                fid,
            )
        )
        return None
    if rel.multipolygon:
        why = (
            f"{missing} of {len(rel.ways)} member ways are missing from the extract"
            if missing
            else "its rings do not close"
        )
        notes.append(
            _note(
                BAD_GEOMETRY,
                f"multipolygon could not be assembled ({why}); "
                f"kept the {geom.geom_type} its located members form",
                fid,
            )
        )
    else:
        notes.append(
            _note(
                RELATION_GEOMETRY,
                f"relation of type={kind} has no geometry of its own; "
                f"used the {geom.geom_type} of its members",
                fid,
                "info",
            )
        )
    return geom


def _relation_geometries(
    relations: list[_Relation],
    got: _Collected,
    store: osmium.index.LocationTable,
    notes: list[dict],
) -> tuple[list[str], list[dict[str, str]], np.ndarray]:
    fids, tags, geoms = [], [], []
    assembled = [rel for rel in relations if rel.id in got.area_wkb]
    if assembled:
        polys = _single(shapely.from_wkb([got.area_wkb[rel.id] for rel in assembled]))
        by_id = dict(zip((rel.id for rel in assembled), polys, strict=True))
    else:
        by_id = {}
    for rel in relations:
        geom = by_id.get(rel.id)
        if geom is None:
            geom = _relation_fallback(rel, got.member_wkb, store, notes)
            if geom is None:
                continue
        fids.append(f"relation/{rel.id}")
        tags.append(rel.tags)
        geoms.append(geom)
    return fids, tags, np.asarray(geoms, dtype=object)


def read_osm(path: str | os.PathLike) -> gpd.GeoDataFrame:
    """Read an OpenStreetMap file into raw features.

    Parameters
    ----------
    path
        An ``.osm``, ``.osm.bz2``, ``.osm.gz`` (XML) or ``.osm.pbf`` file.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``fid`` (``node/1``, ``way/2``, ``relation/3``), ``tags`` (dict of str) and
        ``geometry`` in EPSG:4326: nodes as Points, ways as LineStrings (Polygons when closed
        and tagged as an area), multipolygon relations as (Multi)Polygons. Only objects with
        tags that matter to safespace are kept (see ``safespace.io._osm_tags``).
        ``frame.attrs["notes"]`` lists every repair or drop as a dict with ``level``,
        ``code``, ``message`` and ``feature``.

    Raises
    ------
    safespace.errors.InputError
        The file is missing or is not a readable OSM file.

    Notes
    -----
    O(N) in the objects of the file; node locations are cached in memory (about 16 bytes
    per node). Multipolygon relations are assembled by libosmium; a relation that fails
    (members missing at an extract's edge, broken rings) is kept as the polygons or lines its
    located members form, with a note.
    """
    file = Path(path)
    label = str(path)
    if not file.exists():
        raise InputError("file not found", file=label)
    if not file.is_file():
        raise InputError("not a regular file", file=label)
    if file.stat().st_size == 0:
        raise InputError("the file is empty", file=label)
    _check_format(file, label)
    notes: list[dict] = []
    pool = osmium.io.ThreadPool()
    try:
        relations = _scan_relations(file, pool)
        got, store = _read_objects(file, relations, pool, notes)
    except osmium.InvalidLocationError as exc:
        raise InputError(f"a node has a malformed location ({exc})", file=label) from None
    except (RuntimeError, ValueError, OSError) as exc:
        # libosmium refuses DTDs and entities ("XML entities are not supported") before
        # expanding any, so "billion laughs" and external entities fail here at once
        raise InputError(f"not a readable OSM file ({exc})", file=label) from None

    points = shapely.points(np.asarray(got.node_xy, dtype=float).reshape(-1, 2))
    ways = _way_geometries(got, notes)
    rel_fids, rel_tags, rel_geoms = _relation_geometries(relations, got, store, notes)
    frame = gpd.GeoDataFrame(
        {
            "fid": got.node_fids + got.way_fids + rel_fids,
            "tags": got.node_tags + got.way_tags + rel_tags,
        },
        geometry=np.concatenate([points, ways, rel_geoms]).astype(object),
        crs="EPSG:4326",
    )
    frame.attrs["notes"] = notes
    return frame
