"""The Layout: one in-memory model of a site, in a projected metric CRS, from any input."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from pyproj import CRS
from pyproj.exceptions import CRSError

from safespace._classify import LAYERS, classify, empty_layer, layer_of
from safespace._context import join_routes, replace_inside
from safespace._crs import check_coordinates, crs_choice
from safespace._geom import convex_hull_xy
from safespace._hygiene import clean_features, merge_duplicates
from safespace.errors import InputError
from safespace.findings import InputNote
from safespace.io.sources import OSM_SUFFIXES, RawInput, Source, read_source
from safespace.limits import Limits, check_features, using

ENTRANCE_SNAP_M = 1.5

#: The layers whose completeness a source declares (``safespace:complete``, ``--complete``).
#: ``boundary`` is not among them: a red line is given or it is not.
COMPLETENESS_LAYERS: tuple[str, ...] = tuple(name for name in LAYERS if name != "boundary")
COMPLETE_TAG = "safespace:complete"
_OSM_ID = re.compile(r"^(?:id/)?(?:node|way|relation)/-?\d+$")

# The tag that makes an untagged feature part of a layer, for ``load(..., as_layer=...)``.
LAYER_TAGS = {
    "buildings": ("building", "yes"),
    "streets": ("highway", "residential"),
    "foot_routes": ("highway", "footway"),
    "lamps": ("highway", "street_lamp"),
    "police": ("amenity", "police"),
    "emergency_phones": ("emergency", "phone"),
    "boundary": ("safespace:role", "site"),
    "parking": ("amenity", "parking"),
    "planting": ("natural", "shrub"),
    "barriers": ("barrier", "fence"),
}


@dataclass
class Layout:
    """A site's layers, each a GeoDataFrame in the metric CRS ``crs``.

    Attributes
    ----------
    crs
        The projected metric CRS every layer is in.
    source_crs
        The CRS the (proposal) input came in; GeoJSON output is written in WGS84.
    buildings, entrances, streets, foot_routes, pedestrian_areas, lamps, police,
    emergency_phones, boundary, planting, barriers, parking
        The layers; see ``docs/architecture.md`` for their columns.
    notes
        Every repair, drop, merge or warning made while reading the inputs.
    inputs
        One record per input: ``role`` (proposal/context), ``label`` and ``sha256``.
    completeness
        Per origin (``proposal``, ``context``, ``external``), the layers that are
        *complete* — what is not there is not there (an applicant's drawing) — rather than
        *partial* (an OpenStreetMap extract: what is not mapped is unknown). See
        ``docs/data.md``.
    incidents
        Recorded incidents (``load(..., incidents=...)``): points in ``crs`` with ``id``,
        ``category``, ``month``, ``source`` (see :func:`safespace.read_incidents`; the
        unlocated records are counted in its ``attrs``), or None when none were given.
    """

    crs: CRS
    source_crs: CRS
    buildings: gpd.GeoDataFrame
    entrances: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    foot_routes: gpd.GeoDataFrame
    pedestrian_areas: gpd.GeoDataFrame
    lamps: gpd.GeoDataFrame
    police: gpd.GeoDataFrame
    emergency_phones: gpd.GeoDataFrame
    boundary: gpd.GeoDataFrame
    planting: gpd.GeoDataFrame
    barriers: gpd.GeoDataFrame
    parking: gpd.GeoDataFrame
    notes: list[InputNote] = field(default_factory=list)
    inputs: list[dict[str, str]] = field(default_factory=list)
    completeness: dict[str, frozenset[str]] = field(default_factory=dict)
    incidents: gpd.GeoDataFrame | None = None

    def is_complete(self, layer: str, origin: str = "proposal") -> bool:
        """Whether ``layer`` is complete in the part of the layout that came from ``origin``."""
        return layer in self.completeness.get(origin, frozenset())

    def complete_mask(self, layer: str, origins: Iterable[str]) -> np.ndarray:
        """Per origin given (e.g. a layer's ``origin`` column): is ``layer`` complete there?"""
        return np.array([self.is_complete(layer, o) for o in origins], dtype=bool)

    def layer_status(self, origin: str = "proposal") -> dict[str, str]:
        """``complete`` or ``partial`` for every layer of one origin."""
        return {
            name: "complete" if self.is_complete(name, origin) else "partial"
            for name in COMPLETENESS_LAYERS
        }

    @property
    def origins(self) -> list[str]:
        """The origins present in the layout, proposal first."""
        seen = {o for frame in self.layers.values() if "origin" in frame for o in frame["origin"]}
        return [o for o in ("proposal", "context", "external") if o in seen]

    @property
    def data_extent(self) -> shapely.Geometry:
        """Where the data describes a place's surroundings (see :func:`data_extent`)."""
        return data_extent(self)

    @property
    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Every layer by name."""
        return {name: getattr(self, name) for name in LAYERS}

    @property
    def site(self) -> shapely.Geometry | None:
        """The site boundary as one polygon, or None when no boundary was given."""
        if self.boundary.empty:
            return None
        return shapely.union_all(self.boundary.geometry.values)

    @property
    def extent(self) -> shapely.Polygon:
        """The bounding box of every feature (the site when no boundary was given)."""
        bounds = [f.total_bounds for f in self.layers.values() if not f.empty]
        if not bounds:
            return shapely.Polygon()
        b = np.array(bounds)
        return shapely.box(b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())

    @property
    def site_polygon(self) -> shapely.Geometry:
        """The site boundary, or the layout's extent when there is none."""
        site = self.site
        return site if site is not None else self.extent

    def summary(self) -> dict[str, int]:
        """Feature count per layer."""
        return {name: len(frame) for name, frame in self.layers.items()}

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.summary().items() if v)
        return f"<Layout crs={self.crs.to_string()} {counts} notes={len(self.notes)}>"


def data_extent(layout: Layout) -> shapely.Geometry:
    """Where the data can be trusted to describe the surroundings of a place.

    The convex hull of the buildings (where building data stops, nothing can be said about
    overlooking or enclosure) intersected with the hull of every feature; the hull of every
    feature when there are no buildings. O(n log n) in the number of vertices.
    """
    whole = getattr(layout, "whole_extent", None)  # a tile answers for the whole layout
    if whole is not None:
        return whole
    geoms = [f.geometry.values for f in layout.layers.values() if not f.empty]
    if not geoms:
        return shapely.Polygon()
    coords = shapely.get_coordinates(np.concatenate(geoms))
    coords = coords[np.isfinite(coords).all(axis=1)]
    hull = convex_hull_xy(coords)
    if not layout.buildings.empty:
        pts = shapely.get_coordinates(layout.buildings.geometry.values)
        b_hull = convex_hull_xy(pts)
        if shapely.get_type_id(b_hull) == 3:
            hull = shapely.intersection(hull, b_hull)
    return hull


def _to_crs(value: Any) -> CRS:
    try:
        return CRS.from_user_input(value)
    except CRSError as exc:
        raise InputError(f"unknown CRS {value!r} ({exc})") from None


def _project(raw: RawInput, crs: CRS) -> gpd.GeoDataFrame:
    frame = raw.features
    if frame.empty:
        return frame.set_crs(crs, allow_override=True)
    check_coordinates(frame.total_bounds, CRS.from_user_input(frame.crs), raw.label)
    return frame.to_crs(crs) if not CRS.from_user_input(frame.crs).equals(crs) else frame


def _reader_notes(raw: RawInput) -> list[InputNote]:
    return [
        InputNote(
            n.get("level", "warning"),
            n.get("code", "reader"),
            n.get("message", ""),
            raw.label,
            n.get("feature"),
        )
        for n in raw.notes
    ]


def _read_boundary(boundary: Any, source_crs: CRS, crs: CRS) -> gpd.GeoDataFrame:
    if isinstance(boundary, shapely.Geometry):
        frame = gpd.GeoDataFrame(
            {"fid": ["boundary"], "tags": [{"safespace:role": "site"}]},
            geometry=[boundary],
            crs=source_crs,
        )
        label = "<boundary>"
    else:
        raw = read_source(boundary)
        frame, label = raw.features, raw.label
        check_coordinates(frame.total_bounds, CRS.from_user_input(frame.crs), label)
    polys = frame[np.isin(shapely.get_type_id(frame.geometry.values), (3, 6))]
    if polys.empty:
        raise InputError("the boundary has no polygon", file=label)
    out = polys.to_crs(crs)
    out = out.assign(origin="proposal", name=None)
    out["tags"] = [{**t, "safespace:role": "site"} for t in out["tags"]]
    geoms = shapely.make_valid(out.geometry.values)
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=crs))[
        ["fid", "origin", "name", "tags", "geometry"]
    ]


def _apply_as_layer(
    features: gpd.GeoDataFrame, as_layer: str | None, label: str, notes: list[InputNote]
) -> gpd.GeoDataFrame:
    if as_layer is None:
        if features.empty:
            return features
        if any(
            layer_of(t, int(g))
            for t, g in zip(
                features["tags"], shapely.get_type_id(features.geometry.values), strict=True
            )
        ):
            return features
        if not np.isin(shapely.get_type_id(features.geometry.values), (3, 6)).all():
            notes.append(
                InputNote(
                    "warning",
                    "no-known-tags",
                    "no feature carries an OSM tag safespace knows (building=*, "
                    "highway=*, ...): nothing to assess; see docs/tags.md",
                    label,
                )
            )
            return features
        notes.append(
            InputNote(
                "warning",
                "read-as-buildings",
                f"no feature carries an OSM tag safespace knows and all "
                f"{len(features)} are polygons: read as buildings (say "
                "as_layer='buildings' to make this explicit)",
                label,
            )
        )
        as_layer = "buildings"
    if as_layer not in LAYER_TAGS:
        raise InputError(
            f"as_layer must be one of {sorted(LAYER_TAGS)}, not {as_layer!r}", file=label
        )
    key, value = LAYER_TAGS[as_layer]
    out = features.copy()
    out["tags"] = [t if key in t else {**t, key: value} for t in out["tags"]]
    return out


def _unusable_buildings(features: gpd.GeoDataFrame, label: str) -> list[InputNote]:
    """Notes for building=* features that are not polygons (so cannot be buildings)."""
    types = shapely.get_type_id(features.geometry.values)
    notes = []
    for fid, tags, gtype in zip(features["fid"], features["tags"], types, strict=True):
        value = tags.get("building")
        if value and value != "no" and gtype not in (3, 6):
            kind = shapely.GeometryType(int(gtype)).name.lower()
            notes.append(
                InputNote(
                    "warning",
                    "building-not-polygon",
                    f"building={value} has a {kind} geometry, not a polygon; not "
                    "used as a building (it blocks no view and casts no shadow)",
                    label,
                    fid,
                )
            )
    return notes


def _assign_entrances(layers: dict[str, gpd.GeoDataFrame]) -> None:
    entrances, buildings = layers["entrances"], layers["buildings"]
    fids = [None] * len(entrances)
    if not entrances.empty and not buildings.empty:
        tree = shapely.STRtree(buildings.geometry.values)
        pairs = tree.query_nearest(
            entrances.geometry.values, max_distance=ENTRANCE_SNAP_M, all_matches=False
        )
        bfids = buildings["fid"].to_numpy()
        for e, b in zip(*pairs, strict=True):
            fids[int(e)] = bfids[int(b)]
    layers["entrances"] = entrances.assign(building_fid=fids)


def _police_access_points(layers: dict[str, gpd.GeoDataFrame]) -> None:
    """A point on each police premises where a person reaches it from the network."""
    police = layers["police"]
    if police.empty:
        layers["police"] = police.assign(access_point=pd.Series(dtype=object))
        return
    entrances = layers["entrances"]
    routes = pd.concat([layers["foot_routes"].geometry, layers["streets"].geometry])
    routes = routes.values if len(routes) else None
    points = []
    for geom in police.geometry.values:
        kind = shapely.get_type_id(geom)
        if kind == 0:
            points.append(geom)
            continue
        if kind not in (3, 6):
            # a line, multipoint or collection tagged police: a point on its (non-empty)
            # parts stands in; GEOS gives an empty point for a collection with empty parts
            parts = np.array([geom], dtype=object)
            while len(parts) and (shapely.get_type_id(parts) == 7).any():  # nested collections
                parts = shapely.get_parts(parts)
                parts = parts[~shapely.is_empty(parts)]
            parts = parts[~shapely.is_empty(parts)]
            points.append(shapely.point_on_surface(parts[0]) if len(parts) else geom)
            continue
        outline = geom.boundary
        if not entrances.empty:
            near = entrances.geometry.values[
                shapely.distance(entrances.geometry.values, outline) <= ENTRANCE_SNAP_M
            ]
            if len(near):
                points.append(near[0])
                continue
        if routes is not None:
            nearest_route = routes[int(np.argmin(shapely.distance(routes, outline)))]
            a, _ = shapely.ops.nearest_points(outline, nearest_route)
            points.append(a)
        else:
            points.append(geom.representative_point())
    layers["police"] = police.assign(
        access_point=gpd.GeoSeries(points, index=police.index, crs=police.crs)
    )


def _finish_layers(layers: dict[str, gpd.GeoDataFrame], crs: CRS) -> None:
    for name in LAYERS:
        frame = layers.get(name)
        if frame is None or frame.empty:
            layers[name] = empty_layer(name, crs)
        else:
            layers[name] = frame.reset_index(drop=True)


def data_area(layout: Layout) -> float:
    """Area (m²) of the convex hull of the centres of every feature of ``layout``
    (:func:`_extent_area` over all layers)."""
    frames = [f[["geometry"]] for f in layout.layers.values() if not f.empty]
    if not frames:
        return 0.0
    return _extent_area(gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=layout.crs))


def _extent_area(features: gpd.GeoDataFrame) -> float:
    """Area (m²) of the convex hull of the features' centres (the middles of their bounding
    boxes): where the data is, robust to one long way (a river, a motorway) running far out
    of an extract. O(n log n), cheap enough to run before any analysis."""
    if features.empty:
        return 0.0
    b = shapely.bounds(features.geometry.values)
    b = b[np.isfinite(b).all(axis=1)]
    if len(b) < 3:
        return 0.0
    centres = np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2])
    return float(shapely.convex_hull(shapely.multipoints(centres)).area)


def load(
    source: Source,
    *,
    context: Source | None = None,
    crs: Any = None,
    boundary: Source | shapely.Geometry | None = None,
    join_tolerance: float = 1.0,
    as_layer: str | None = None,
    police: Source | None = None,
    complete: Iterable[str] | str | bool | None = None,
    incidents: Any = None,
    limits: Limits | Mapping[str, Any] | None = None,
) -> Layout:
    """Read a layout from GeoJSON, OpenStreetMap, a vector file or a GeoDataFrame.

    Parameters
    ----------
    source
        A path (``.geojson``/``.json``, ``.gpkg``, ``.osm``, ``.osm.bz2``, ``.osm.gz``,
        ``.osm.pbf``), a GeoJSON mapping, or a GeoDataFrame in any CRS. Features say what
        they are with OpenStreetMap tags (see ``docs/tags.md``).
    context
        The existing area the proposal sits in (typically an OSM extract). Inside the site
        boundary the proposal replaces it; proposal routes whose ends lie within
        ``join_tolerance`` of a context route are joined to it.
    crs
        The metric CRS to work in. Default: the input's own CRS when it is projected in
        metres, else the UTM zone of the data's centroid.
    boundary
        The site boundary (a path, mapping, frame, or a shapely geometry in the source's
        CRS), when the source does not carry a ``safespace:role=site`` polygon.
    join_tolerance
        Metres within which a proposal route end joins a context route.
    as_layer
        Read features that carry no tag of that layer as members of it (e.g.
        ``"buildings"`` for a building-outline dataset such as LINZ or Overture, whose
        attributes are not OSM tags). Without it, a source in which no feature carries a
        recognised tag but every feature is a polygon is read as buildings, with a note.
    police
        Police premises outside the layout (a file, mapping or frame): they join
        ``layout.police`` with ``origin="external"``. Features without an ``amenity`` tag
        are read as ``amenity=police``.
    complete
        The layers of the proposal source that are complete (``"lamps,entrances"``, a list
        of layer names, ``"all"``/True or ``"none"``/False). Overrides a
        ``safespace:complete`` property on the site boundary. Default: an OpenStreetMap
        file (or a GeoJSON whose features carry OSM ids) is partial in every layer; any
        other drawing is complete in every layer. A context source is always partial
        unless its own site-boundary feature declares otherwise. See ``docs/data.md``.
    incidents
        Recorded crime: a file, a folder or a list of them (data.police.uk street CSVs,
        generic CSV / GeoJSON / GeoPackage tables, see :func:`safespace.read_incidents`),
        or a GeoDataFrame with ``category`` (and ``month``) columns. It becomes
        ``layout.incidents`` in the metric CRS; records without a location are counted in
        a note. See ``docs/crime.md``.
    limits
        Resource limits (:class:`safespace.limits.Limits` or a mapping of some of its
        fields, e.g. ``{"max_features": 2_000_000}``); default: those in force.

    Returns
    -------
    Layout

    Raises
    ------
    safespace.errors.InputError
        An unreadable file, a feature that cannot be read, or coordinates that do not fit
        the declared CRS.
    safespace.errors.ResourceLimitError
        An input with more features than ``limits`` allow.
    """
    lim = Limits.of(limits)
    raw = read_source(source)
    raw_ctx = read_source(context) if context is not None else None
    with using(lim):
        for r in (raw, raw_ctx):
            if r is not None:
                check_features(len(r.features), r.label)
    source_crs = CRS.from_user_input(raw.features.crs)
    why_replaced = None
    if crs is not None:
        work_crs = _to_crs(crs)
    else:
        basis = raw if not raw.features.empty else raw_ctx
        if basis is None or basis.features.empty:
            raise InputError("no features to assess", file=raw.label)
        # a distorted projected CRS (Web Mercator, an equal-area one) is not worked in
        work_crs, why_replaced = crs_choice(
            basis.features.total_bounds, CRS.from_user_input(basis.features.crs), basis.label
        )

    notes: list[InputNote] = _reader_notes(raw)
    if why_replaced:
        notes.append(InputNote("info", "crs-replaced", why_replaced, raw.label))
    inputs = [{"role": "proposal", "label": raw.label, "sha256": raw.sha256}]
    features, more = clean_features(_project(raw, work_crs), raw.label)
    notes += more
    features = _apply_as_layer(features, as_layer, raw.label, notes)
    notes += _unusable_buildings(features, raw.label)
    layers = classify(features, origin="proposal")

    if boundary is not None:
        layers["boundary"] = _read_boundary(boundary, source_crs, work_crs)
        if isinstance(boundary, str | Path):
            raw_b = read_source(boundary)  # its label: a database address without credentials
            inputs.append({"role": "boundary", "label": raw_b.label, "sha256": raw_b.sha256})

    if raw_ctx is not None:
        inputs.append({"role": "context", "label": raw_ctx.label, "sha256": raw_ctx.sha256})
        notes += _reader_notes(raw_ctx)
        ctx_features, more = clean_features(_project(raw_ctx, work_crs), raw_ctx.label)
        notes += more
        notes += _unusable_buildings(ctx_features, raw_ctx.label)
        ctx_layers = classify(ctx_features, origin="context")
        site = (
            shapely.union_all(layers["boundary"].geometry.values)
            if not layers["boundary"].empty
            else None
        )
        if site is None:
            site = shapely.convex_hull(shapely.union_all(features.geometry.values))
            notes.append(
                InputNote(
                    "info",
                    "site-from-hull",
                    "no site boundary: the proposal's convex hull replaces the context",
                    raw.label,
                )
            )
        ctx_layers = replace_inside(ctx_layers, site)
        ctx_layers["boundary"] = ctx_layers["boundary"].iloc[0:0]
        joins = join_routes(layers, ctx_layers, join_tolerance)
        notes.append(
            InputNote(
                "info",
                "context-joined",
                f"{joins} proposal route end(s) joined to context routes "
                f"(tolerance {join_tolerance} m)",
                raw.label,
            )
        )
        for name in LAYERS:
            parts = [f for f in (layers[name], ctx_layers[name]) if not f.empty]
            if parts:
                layers[name] = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=work_crs)

    if police is not None:
        raw_pol = read_source(police)
        with using(lim):
            check_features(len(raw_pol.features), raw_pol.label)
        inputs.append({"role": "police", "label": raw_pol.label, "sha256": raw_pol.sha256})
        pol_features, more = clean_features(_project(raw_pol, work_crs), raw_pol.label)
        notes += more
        pol_features = _apply_as_layer(pol_features, "police", raw_pol.label, notes)
        external = classify(pol_features, origin="external")["police"]
        if external.empty:
            raise InputError("no police premises in the file", file=raw_pol.label)
        parts = [f for f in (layers["police"], external) if not f.empty]
        layers["police"] = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=work_crs)

    layers["buildings"], more = merge_duplicates(layers["buildings"], raw.label)
    notes += more
    _assign_entrances(layers)
    _police_access_points(layers)
    _finish_layers(layers, work_crs)
    completeness = {"proposal": _completeness(raw, complete, notes)}
    if raw_ctx is not None:
        completeness["context"] = _completeness(raw_ctx, None, notes, role="context")
    if police is not None:
        # an external premises file lists the premises it lists: only police is complete
        completeness["external"] = frozenset({"police"})
    incident_layer = None
    if incidents is not None:
        from safespace.io.incidents import incidents_layer

        incident_layer = incidents_layer(incidents, work_crs, notes, inputs)
    return Layout(
        incidents=incident_layer,
        crs=work_crs,
        source_crs=source_crs,
        notes=notes,
        inputs=inputs,
        completeness=completeness,
        **layers,
    )


def _is_osm_derived(raw: RawInput) -> bool:
    """An OSM file, or a file whose feature ids are OSM ids (an Overpass/osm2geojson export)."""
    label = raw.label.lower()
    if label.endswith(OSM_SUFFIXES):
        return True
    fids = raw.features["fid"] if "fid" in raw.features else ()
    if len(fids) == 0:
        return False
    sample = [str(f) for f in list(fids)[:200]]
    return sum(bool(_OSM_ID.match(f)) for f in sample) > len(sample) / 2


def parse_complete(value: Iterable[str] | str | bool | None, label: str = "") -> frozenset[str]:
    """The layer names a completeness declaration names (``"lamps,entrances"``, ``"all"``).

    Raises
    ------
    InputError
        A name that is not a layer.
    """
    if value is None or value is False:
        return frozenset()
    if value is True:
        return frozenset(COMPLETENESS_LAYERS)
    names = value.split(",") if isinstance(value, str) else list(value)
    names = [str(n).strip().lower() for n in names if str(n).strip()]
    if names in (["all"], ["yes"], ["true"]):
        return frozenset(COMPLETENESS_LAYERS)
    if names in ([], ["none"], ["no"], ["false"]):
        return frozenset()
    # the singular forms people type
    alias = {"lamp": "lamps", "entrance": "entrances", "emergency_phone": "emergency_phones",
             "phones": "emergency_phones", "building": "buildings", "street": "streets"}  # fmt: skip
    names = [alias.get(n, n) for n in names]
    unknown = sorted(set(names) - set(COMPLETENESS_LAYERS))
    if unknown:
        raise InputError(
            f"{COMPLETE_TAG}: unknown layer(s) {', '.join(unknown)}; use any of "
            f"{', '.join(COMPLETENESS_LAYERS)}, or 'all' / 'none'",
            file=label or None,
        )
    return frozenset(names)


def _declared(raw: RawInput) -> str | None:
    for tags in raw.features["tags"] if "tags" in raw.features else ():
        if isinstance(tags, dict) and tags.get("safespace:role") == "site" and COMPLETE_TAG in tags:
            return str(tags[COMPLETE_TAG])
    return None


def _completeness(
    raw: RawInput,
    given: Iterable[str] | str | bool | None,
    notes: list[InputNote],
    role: str = "proposal",
) -> frozenset[str]:
    declared = _declared(raw)
    if given is not None:
        layers, how = parse_complete(given, raw.label), "as the caller said"
    elif declared is not None:
        layers, how = parse_complete(declared, raw.label), f"as its {COMPLETE_TAG} declares"
    elif role == "context" or _is_osm_derived(raw):
        layers = frozenset()
        how = "an OpenStreetMap extract (what is not mapped is unknown)"
        if role == "context" and not _is_osm_derived(raw):
            how = "a context source (say otherwise with safespace:complete on its site feature)"
    else:
        layers, how = frozenset(COMPLETENESS_LAYERS), "a drawing (what is not drawn is not there)"
    if layers == frozenset(COMPLETENESS_LAYERS):
        listed = "complete in every layer"
    elif layers:
        listed = f"complete in {', '.join(sorted(layers))}; partial in the others"
    else:
        listed = "partial in every layer"
    notes.append(InputNote("info", "completeness", f"{role}: {listed}, {how}", raw.label))
    return layers


def layout_from(source_or_layout: Source | Layout, **kwargs: Any) -> Layout:
    """A Layout as given, or loaded from a source."""
    if isinstance(source_or_layout, Layout):
        for key in ("context", "incidents"):
            if kwargs.get(key) is not None:
                raise InputError(f"give '{key}' to load(), not with an already loaded Layout")
        return source_or_layout
    return load(source_or_layout, **{k: v for k, v in kwargs.items() if v is not None})
