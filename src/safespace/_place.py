"""Place names from the data: street and building names, "between … and …", grid references.

Private helpers for the issue grouping (:mod:`safespace.issues`) and any message that must
name a place in words a planning committee can hear: the ``name`` column of the layout's
layers (OSM ``name``), the feature ids of a drawn proposal (``fp01``: they are the plan's own
labels), never raw OpenStreetMap ids (``way/253080548``), and where nothing is named, a grid
reference (an Ordnance Survey reference in Great Britain, else the easting and northing in
the layout's metric CRS).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from safespace._geom import inner_points

if TYPE_CHECKING:
    from safespace.layout import Layout

#: Ids that are database keys, not labels a reader knows: OSM elements and unnamed features.
_RAW_ID = re.compile(r"^(node|way|relation|feature|id)/", re.IGNORECASE)
_RAW_IN_TEXT = re.compile(r"\b(?:node|way|relation|feature)/\d+\b")

#: Plain words for the ``highway`` values of route layers.
ROUTE_WORDS: dict[str, str] = {
    "footway": "footway",
    "path": "path",
    "pedestrian": "pedestrian street",
    "steps": "steps",
    "cycleway": "cycle path",
    "bridleway": "bridleway",
    "track": "track",
    "corridor": "passage",
    "living_street": "street",
    "service": "service road",
    "residential": "street",
    "unclassified": "road",
    "tertiary": "road",
    "secondary": "road",
    "primary": "road",
    "trunk": "road",
}

#: Plain words for the non-route layers.
LAYER_WORDS: dict[str, str] = {
    "buildings": "building",
    "entrances": "entrance",
    "lamps": "lamp",
    "police": "police premises",
    "emergency_phones": "emergency phone",
    "planting": "planting",
    "barriers": "boundary",
    "parking": "parking",
    "pedestrian_areas": "pedestrian area",
    "boundary": "site",
}

ROUTE_LAYERS = ("streets", "foot_routes")

#: Where an OS grid reference (EPSG:27700) is the natural way to say where (lon/lat box of
#: Great Britain; Northern Ireland uses the Irish grid and is left out).
_GB_BOX = (-8.2, 49.8, 2.0, 60.9)
_NI_BOX = (-8.2, 54.0, -5.4, 55.4)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def is_raw_id(fid: str) -> bool:
    """True for ids a reader does not know (``way/123``, ``node/5``, ``feature/3``)."""
    return bool(_RAW_ID.match(str(fid)))


def _below_ground(frame) -> np.ndarray:
    """Per route: in a tunnel, or on a layer below ground (OSM ``tunnel``, ``layer``)."""
    tunnel = (
        frame["tunnel"].fillna(False).astype(bool).to_numpy()
        if "tunnel" in frame
        else np.zeros(len(frame), bool)
    )
    level = (
        pd.to_numeric(frame["layer"], errors="coerce").to_numpy(float) if "layer" in frame else None
    )
    if level is not None:
        tunnel = tunnel | (np.nan_to_num(level, nan=0.0) < 0)
    return tunnel


@dataclass
class PlaceIndex:
    """What the layout knows about each feature id: layer, name, route type, geometry."""

    layer: dict[str, str]
    name: dict[str, str]
    highway: dict[str, str]
    geometry: dict[str, Any]
    crs: Any
    routes: list[str]
    route_tree: shapely.STRtree | None
    #: Routes below ground (``tunnel`` or a negative ``layer``): never the street a place
    #: on the surface is described by.
    underground: frozenset[str] = frozenset()

    @classmethod
    def of(cls, layout: Layout) -> PlaceIndex:
        """Index every feature of ``layout`` (route layers first, so routes win ties)."""
        layer: dict[str, str] = {}
        name: dict[str, str] = {}
        highway: dict[str, str] = {}
        geometry: dict[str, Any] = {}
        underground: set[str] = set()
        order = list(ROUTE_LAYERS) + [n for n in layout.layers if n not in ROUTE_LAYERS]
        for lname in order:
            frame = layout.layers[lname]
            if frame.empty:
                continue
            names = frame["name"] if "name" in frame else [None] * len(frame)
            tags = frame["tags"] if "tags" in frame else [None] * len(frame)
            hws = frame["highway"] if "highway" in frame else [None] * len(frame)
            below = _below_ground(frame) if lname in ROUTE_LAYERS else np.zeros(len(frame), bool)
            for fid, nm, tg, hw, geom, low in zip(
                frame["fid"], names, tags, hws, frame.geometry.values, below, strict=False
            ):
                fid = str(fid)
                if fid in layer:
                    continue
                layer[fid] = lname
                if low:
                    underground.add(fid)
                label = _text(nm)
                if label is None and isinstance(tg, dict):
                    label = _text(tg.get("name"))
                if label:
                    name[fid] = label
                if _text(hw):
                    highway[fid] = str(hw)
                geometry[fid] = geom
        routes = sorted(f for f, ln in layer.items() if ln in ROUTE_LAYERS)
        tree = shapely.STRtree([geometry[f] for f in routes]) if routes else None
        return cls(layer, name, highway, geometry, layout.crs, routes, tree, frozenset(underground))

    # -- words ---------------------------------------------------------------------------
    def is_route(self, fid: str) -> bool:
        """Whether ``fid`` is a street or foot route."""
        return self.layer.get(fid) in ROUTE_LAYERS

    def word(self, fid: str) -> str:
        """The plain noun for the feature: ``footway``, ``street``, ``parking``, ..."""
        if self.is_route(fid):
            return ROUTE_WORDS.get(self.highway.get(fid, ""), "route")
        return LAYER_WORDS.get(self.layer.get(fid, ""), "feature")

    def label(self, fid: str, *, word: bool = True) -> str:
        """How to call one feature in prose: its name, else its noun and drawn id, else the noun.

        ``Orchard Way``; ``footway fp01``; ``the footway`` for an unnamed OSM way.
        """
        if fid in self.name:
            return self.name[fid]
        noun = self.word(fid)
        if not is_raw_id(fid) and fid in self.layer:
            return f"{noun} {fid}" if word else fid
        return f"the {noun}"

    def named_near(
        self, geom: Any, distance: float, exclude: Iterable[str] = ()
    ) -> list[tuple[float, str]]:
        """Named routes within ``distance`` of ``geom``: (distance, name), nearest first."""
        if self.route_tree is None or geom is None or geom.is_empty:
            return []
        skip = set(exclude)
        idx = self.route_tree.query(geom, predicate="dwithin", distance=distance)
        best: dict[str, float] = {}
        for i in np.sort(idx):
            fid = self.routes[int(i)]
            if fid in skip or fid not in self.name or fid in self.underground:
                continue
            d = float(shapely.distance(self.geometry[fid], geom))
            nm = self.name[fid]
            best[nm] = min(d, best.get(nm, math.inf))
        return sorted((d, n) for n, d in best.items())

    def ends_between(self, geom: Any, exclude: Iterable[str], tol: float = 5.0) -> list[str]:
        """Named routes met at the two ends of a line (``between X and Y``), each end's nearest."""
        if geom is None or geom.is_empty:
            return []
        merged = shapely.line_merge(geom) if geom.geom_type == "MultiLineString" else geom
        lines = (
            list(merged.geoms)
            if merged.geom_type == "MultiLineString"
            else [merged]
            if merged.geom_type == "LineString"
            else []
        )
        if not lines:
            return []
        # the two extreme ends of the group: first and last coordinate of the longest line
        coords = np.concatenate([shapely.get_coordinates(ln)[[0, -1]] for ln in lines])
        if len(coords) > 2:  # pick the two ends farthest apart
            d = np.hypot(*(coords[:, None, :] - coords[None, :, :]).transpose(2, 0, 1))
            i, j = np.unravel_index(int(np.argmax(d)), d.shape)
            coords = coords[[i, j]]
        out: list[str] = []
        for xy in coords:
            near = self.named_near(shapely.Point(xy), tol, exclude)
            if near and near[0][1] not in out:
                out.append(near[0][1])
        return out


def join_names(names: list[str], limit: int = 3) -> str:
    """``A``, ``A and B``, ``A, B and C``, ``A, B, C and 2 more``."""
    names = list(dict.fromkeys(n for n in names if n))
    if not names:
        return ""
    if len(names) > limit:
        rest = len(names) - limit
        return ", ".join(names[:limit]) + f" and {rest} more"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 home``, ``2 homes``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


# --- grid references -----------------------------------------------------------------------

_LETTERS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # the OS grid skips I


def os_grid_reference(easting: float, northing: float, digits: int = 4) -> str | None:
    """An Ordnance Survey grid reference (``TL 4512 5823``) from EPSG:27700 metres.

    ``digits`` per coordinate: 4 gives 10 m squares. None outside the national grid.
    """
    if not (0 <= easting < 700_000 and 0 <= northing < 1_300_000):
        return None
    e100, n100 = int(easting // 100_000), int(northing // 100_000)
    l1 = (19 - n100) - (19 - n100) % 5 + (e100 + 10) // 5
    l2 = (19 - n100) * 5 % 25 + e100 % 5
    scale = 10 ** (5 - digits)
    e = int((easting % 100_000) // scale)
    n = int((northing % 100_000) // scale)
    return f"{_LETTERS[l1]}{_LETTERS[l2]} {e:0{digits}d} {n:0{digits}d}"


def _in_box(lon: float, lat: float, box: tuple[float, float, float, float]) -> bool:
    return box[0] <= lon <= box[2] and box[1] <= lat <= box[3]


def grid_reference(point: Any, crs: Any) -> str:
    """Where a point is, as a reader can find it on a map.

    In Great Britain an OS grid reference at 10 m (``TL 4512 5823``); elsewhere the easting
    and northing in the layout's metric CRS rounded to 10 m (``E 303250 N 5787850,
    EPSG:32631``).
    """
    crs = CRS.from_user_input(crs)
    x, y = float(point.x), float(point.y)
    lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
    if _in_box(lon, lat, _GB_BOX) and not _in_box(lon, lat, _NI_BOX):
        e, n = Transformer.from_crs(crs, 27700, always_xy=True).transform(x, y)
        ref = os_grid_reference(e, n)
        if ref:
            return ref
    code = crs.to_epsg()
    where = f"EPSG:{code}" if code else crs.name
    return f"E {round(x, -1):.0f} N {round(y, -1):.0f} ({where})"


# --- prose ---------------------------------------------------------------------------------


def plain_text(text: str, index: PlaceIndex) -> str:
    """``text`` with raw OSM ids replaced by the feature's name (or dropped), tidied."""

    def swap(m: re.Match) -> str:
        return index.name.get(m.group(0), "")

    out = _RAW_IN_TEXT.sub(swap, text)
    out = re.sub(r"\(\s*(?:,\s*)*\)", "", out)
    out = re.sub(r"\s+([,.:;])", r"\1", out)
    out = re.sub(r",\s*,", ",", out)
    out = re.sub(r"\s{2,}", " ", out)
    out = re.sub(r"\b(?:nan|None)\b\s*", "", out)
    return re.sub(r"\s{2,}", " ", out).strip()


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (up to the first ``. `` or the end)."""
    m = re.search(r"(?<=[a-z0-9)%])\.\s", text)
    return text[: m.start() + 1] if m else text


# --- where an unnamed thing is -------------------------------------------------------------


def named_surface_routes(layout: Layout) -> tuple[Any, np.ndarray, np.ndarray]:
    """The layout's named routes on the surface: ``(tree, names, geometries)``, the tree
    None when there is none.

    Streets, then foot routes, in the layers' order; ways below ground are left out (a path
    on the surface is not "off" a road tunnel). O(n log n) for n routes (the tree): rules
    reach it once per assessment through ``site.analysis``.
    """
    names, geoms = [], []
    for frame in (layout.streets, layout.foot_routes):
        if frame.empty or "name" not in frame:
            continue
        below = _below_ground(frame)
        for name, geom, low in zip(frame["name"], frame.geometry.values, below, strict=True):
            text = _text(name)
            if text and not low and geom is not None and not geom.is_empty:
                names.append(text)
                geoms.append(geom)
    tree = shapely.STRtree(geoms) if geoms else None
    return tree, np.array(names, dtype=object), np.array(geoms, dtype=object)


def where_unnamed(layout: Layout, geom: Any, within: float = 60.0, index: Any = None) -> str:
    """Words that place an unnamed route or area: ``off Hauptstraße`` (the nearest named
    street within ``within`` m), else ``at TQ 3265 8155`` (a grid reference).

    ``index`` is :func:`named_surface_routes` of ``layout``, when the caller holds it (the
    rules' :func:`safespace.rules._common.where_unnamed` caches it); else it is built.
    """
    if geom is None or geom.is_empty:
        return ""
    tree, names, geoms = index if index is not None else named_surface_routes(layout)
    if tree is not None:
        idx = tree.query(geom, predicate="dwithin", distance=within)
        if len(idx):
            d = shapely.distance(geoms[idx], geom)
            # a block touches several streets at distance 0: the one it fronts longest
            # names it (ties by name), not the first the spatial index returns, which
            # changes with the layout's orientation
            near = idx[d <= d.min() + 0.5]
            if len(set(names[near])) == 1:  # one street: no frontage to weigh
                return f"off {names[near[0]]}"
            zone = shapely.buffer(geom, float(d.min()) + 5.0)
            front = shapely.length(shapely.intersection(geoms[near], zone))
            best = min(range(len(near)), key=lambda k: (-round(float(front[k]), 1), names[near[k]]))
            return f"off {names[near[best]]}"
    try:
        return f"at {grid_reference(inner_points(geom), layout.crs)}"
    except Exception:  # a degenerate geometry: say nothing rather than fail a rule
        return ""
