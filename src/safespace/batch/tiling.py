"""Large areas in tiles: cut a Layout into overlapping squares, assess them in parallel, merge.

How it works
------------
1. The layout is loaded once. Its extent is covered by a grid of square *cores* of side
   ``tile_m`` (half-open ``[x0, x1) × [y0, y1)``, in the layout's metric CRS).
2. Each tile is the layout clipped to its core grown by ``margin_m`` on every side
   (:func:`clip_layout`), so every analysis near the core sees everything within its reach.
3. Tiles are assessed through the batch executors (in-process, process pool, Dask).
4. A located finding is kept only by the tile whose core contains its anchor,
   ``shapely.point_on_surface(finding.geometry)``; so a finding seen by two overlapping
   tiles is kept once. Unlocated findings (layout-wide statements) are kept once per
   distinct (rule, severity, title, message), as many times as the tile that has most.
5. Numeric metrics are core-area-weighted means (right for densities and ratios; per-tile
   values, e.g. counts, are kept in ``provenance["tiling"]["tiles"]``). Scores are the
   untiled formulas (``docs/scoring.md``) applied to the merged metrics, and say so; a score
   a rule gives itself for an area without a documented measure is averaged over tiles
   weighted by core area. Issues are grouped from the merged findings on the whole layout,
   exactly as an untiled assessment does.
6. Recorded crime (``layout.incidents``) is not cut into tiles: the crime-context rules
   (area ``crime``) compare the site with the wider area, so they run once, on the whole
   layout, in the calling process; and the design issues are weighed by the incidents near
   them on the whole layout, as untiled (``docs/crime.md``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from safespace._crime import crime_exposure
from safespace.assessment import Assessment, _sort_key, assess
from safespace.errors import SafespaceError
from safespace.findings import Finding, Score
from safespace.issues import group_issues
from safespace.layout import Layout, layout_from
from safespace.rules.engine import Site, select_rules
from safespace.rules.profiles import Profile, load_profile
from safespace.scoring import area_coverage, area_scores

from .executors import make_executor
from .task import limit_threads, registry_with

MIN_MARGIN_M = 200.0
#: the rule area run once on the whole layout rather than per tile
WHOLE_LAYOUT_AREA = "crime"
_REACH_WORDS = ("reach", "radius")


def default_margin(profile: Profile) -> float:
    """The tile margin a profile needs: its longest analysis reach, at least 200 m.

    The reach is the largest numeric parameter, among the rules the profile runs, whose
    name ends in ``_m`` or contains ``reach`` or ``radius`` (a distance a rule looks
    across). Counting every such length is conservative: a wider margin only costs time.
    """
    reach = [
        float(value)
        for rid in profile.rule_ids
        for name, value in profile.params.get(rid, {}).items()
        if (name.endswith("_m") or any(w in name for w in _REACH_WORDS))
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    ]
    return max([MIN_MARGIN_M, *reach])


def clip_layout(layout: Layout, region: shapely.Geometry, *, mode: str = "select") -> Layout:
    """The part of a layout inside ``region`` (a polygon in ``layout.crs``).

    Parameters
    ----------
    layout
        The layout to cut.
    region
        Where to cut, in the layout's metric CRS.
    mode
        ``"select"`` keeps every feature that intersects the region whole (tiling uses this:
        a feature's own findings then carry the same geometry, hence the same anchor, as in
        an untiled run); ``"cut"`` intersects geometries with the region and drops what is
        left empty (for cutting small sites out of a large extract).

    Returns
    -------
    Layout
        Same CRS and inputs; the notes about features it keeps, and notes that name no
        feature of the layout (layout-wide ones).

    Notes
    -----
    One STRtree per layer: O(n log n) to build and O(log n + k) per query, n features, k
    hits. Feature order is kept, so the result is deterministic.
    """
    if mode not in ("select", "cut"):
        raise ValueError(f"mode must be 'select' or 'cut', not {mode!r}")
    layers = {}
    kept_fids: set[str] = set()
    all_fids: set[str] = set()
    for name, frame in layout.layers.items():
        all_fids.update(frame["fid"])
        if frame.empty:
            layers[name] = frame
            continue
        hits = np.sort(frame.sindex.query(region, predicate="intersects"))
        part = frame.iloc[hits]
        if mode == "cut" and len(part):
            cut = shapely.intersection(part.geometry.values, region)
            keep = ~shapely.is_empty(cut)
            part = part[keep].set_geometry(cut[keep], crs=frame.crs)
        part = part.reset_index(drop=True)
        kept_fids.update(part["fid"])
        layers[name] = part
    notes = [n for n in layout.notes if n.feature is None or n.feature not in all_fids]
    notes += [n for n in layout.notes if n.feature is not None and n.feature in kept_fids]
    notes.sort(key=layout.notes.index)
    return Layout(
        crs=layout.crs,
        source_crs=layout.source_crs,
        notes=notes,
        inputs=list(layout.inputs),
        completeness=dict(layout.completeness),
        **layers,
    )


@dataclass(repr=False)
class TileLayout(Layout):
    """A tile's layout: its own features, but the whole layout's site polygon, so a rule
    asking "is this inside the site?" answers as it would untiled."""

    whole_site: shapely.Geometry | None = None
    #: the whole layout's data extent: a tile's edge is not where the data stops
    whole_extent: shapely.Geometry | None = None

    @property
    def site_polygon(self) -> shapely.Geometry:
        """The whole layout's site, so a tile's rules measure against the same site as untiled."""
        return self.whole_site if self.whole_site is not None else super().site_polygon


@dataclass(frozen=True)
class Tile:
    """One grid cell: its index and its half-open core ``[x0, x1) × [y0, y1)``."""

    ix: int
    iy: int
    x0: float
    y0: float
    size: float

    @property
    def core(self) -> shapely.Polygon:
        """The core square."""
        return shapely.box(self.x0, self.y0, self.x0 + self.size, self.y0 + self.size)

    def region(self, margin: float) -> shapely.Polygon:
        """The core grown by ``margin`` on every side: what the tile's assessment sees."""
        return shapely.box(
            self.x0 - margin, self.y0 - margin, self.x0 + self.size + margin,
            self.y0 + self.size + margin,
        )  # fmt: skip


def tile_grid(bounds: Sequence[float], tile_m: float) -> tuple[list[Tile], tuple[int, int]]:
    """Square tiles of side ``tile_m`` whose half-open cores cover ``bounds`` (minx, miny,
    maxx, maxy); returns the tiles (row-major from the lower left) and (nx, ny)."""
    if not (tile_m > 0 and math.isfinite(tile_m)):
        raise SafespaceError(f"the tile size must be a positive number of metres, not {tile_m}")
    minx, miny, maxx, maxy = bounds
    # floor(...) + 1 cells keep maxx strictly inside the last half-open core.
    nx = int(math.floor((maxx - minx) / tile_m)) + 1
    ny = int(math.floor((maxy - miny) / tile_m)) + 1
    tiles = [
        Tile(ix, iy, minx + ix * tile_m, miny + iy * tile_m, tile_m)
        for iy in range(ny)
        for ix in range(nx)
    ]
    return tiles, (nx, ny)


def anchor_cells(
    findings: Sequence[Finding], origin: tuple[float, float], tile_m: float, shape: tuple[int, int]
) -> np.ndarray:
    """The (ix, iy) grid cell of each finding's anchor (``point_on_surface``), or (-1, -1)
    for an unlocated finding; anchors beyond the grid go to the nearest edge cell.

    Vectorised over findings: O(n).
    """
    geoms = np.array([f.geometry for f in findings], dtype=object)
    cells = np.full((len(findings), 2), -1, dtype=np.int64)
    if len(geoms) == 0:
        return cells
    located = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if located.any():
        xy = shapely.get_coordinates(shapely.point_on_surface(geoms[located]))
        ij = np.floor((xy - np.asarray(origin)) / tile_m).astype(np.int64)
        ij = np.clip(ij, 0, np.asarray(shape) - 1)
        cells[located] = ij
    return cells


def assess_tile(payload: dict[str, Any]) -> dict[str, Any]:
    """Worker task: assess one tile's layout and return its findings, scores and metrics."""
    limit_threads(payload.get("threads"))
    registry = registry_with(tuple(payload.get("extra_rules", ())))
    result = assess(
        payload["layout"], profile=payload["profile"], rules=payload["rules"], registry=registry
    )
    return {
        "findings": result.findings,
        "scores": result.scores,
        "metrics": result.metrics,
        "failures": result.failures,
        "provenance": result.provenance,
    }


def _unlocated_key(f: Finding) -> tuple:
    return (f.rule_id, f.severity, f.title, f.message)


def _merge_metrics(parts: Sequence[tuple[float, Mapping[str, dict]]]) -> dict[str, dict]:
    merged: dict[str, dict] = {}
    keys = {(a, k) for _, m in parts for a, vals in m.items() for k in vals}
    for area, key in sorted(keys):
        vals = [(w, m[area][key]) for w, m in parts if key in m.get(area, {})]
        numeric = (
            all(isinstance(v, int | float) and not isinstance(v, bool) for _, v in vals)
            and sum(w for w, _ in vals) > 0
        )
        if numeric:
            total = sum(w for w, _ in vals)
            merged.setdefault(area, {})[key] = sum(w * float(v) for w, v in vals) / total
        elif all(
            json.dumps(v, default=str) == json.dumps(vals[0][1], default=str) for _, v in vals
        ):
            merged.setdefault(area, {})[key] = vals[0][1]
    return merged


def _tiled_scores(
    scores: dict[str, Score], given: Mapping[str, Any], n_tiles: int
) -> dict[str, Score]:
    """Say of each score measured from merged tile metrics that it is a weighted mean.

    Scores are the untiled formulas (:func:`safespace.scoring.area_scores`) applied to the
    tiles' measures merged by core-area-weighted means: an approximation of the untiled
    measure (a tile measures its margin too), so the explanation says so.
    """
    out = {}
    for area, score in scores.items():
        if score.value is None or area in given or score.explanation.startswith("core-area"):
            out[area] = score
            continue
        why = f"core-area-weighted mean of {n_tiles} tiles' measures: {score.explanation}"
        out[area] = Score(area, score.value, why, score.confidence)
    return out


def merge_tiles(
    layout: Layout,
    tiles: Sequence[Tile],
    results: Sequence[dict[str, Any]],
    *,
    shape: tuple[int, int],
    margin_m: float,
    profile: Profile,
    whole: Assessment | None = None,
) -> Assessment:
    """One Assessment from the tiles' results (see the module docstring for the rules).

    ``whole`` is the assessment of the rules run once on the whole layout (the crime
    context): its findings, metrics and failures join the tiles'."""
    extent = layout.extent
    origin = (tiles[0].x0 - tiles[0].ix * tiles[0].size, tiles[0].y0 - tiles[0].iy * tiles[0].size)
    tile_m = tiles[0].size
    findings: list[Finding] = []
    unlocated: dict[tuple, list[Finding]] = {}
    given: dict[str, list[tuple[float, Score]]] = {}
    areas_run: set[str] = set()
    metric_parts, failures, seen_failures, per_tile = [], [], set(), []
    for tile, res in zip(tiles, results, strict=True):
        weight = float(shapely.area(shapely.intersection(tile.core, extent))) or 0.0
        cells = anchor_cells(res["findings"], origin, tile_m, shape)
        mine_unlocated: dict[tuple, list[Finding]] = {}
        for f, (ix, iy) in zip(res["findings"], cells, strict=True):
            if ix < 0:
                mine_unlocated.setdefault(_unlocated_key(f), []).append(f)
            elif (ix, iy) == (tile.ix, tile.iy):
                findings.append(f)
        for key, group in mine_unlocated.items():
            if len(group) > len(unlocated.get(key, ())):
                unlocated[key] = group
        # A score the tile's own measures do not imply was given by a rule (a plugin area).
        derived = area_scores(
            res["findings"], [], res["metrics"], {}, res["scores"].keys(), view=profile.view
        )
        for area, score in res["scores"].items():
            areas_run.add(area)
            if area not in derived or derived[area].value != score.value:
                given.setdefault(area, []).append((weight, score))
        metric_parts.append((weight, res["metrics"]))
        for fail in res["failures"]:
            if (fail.rule_id, fail.error, fail.message) not in seen_failures:
                seen_failures.add((fail.rule_id, fail.error, fail.message))
                failures.append(fail)
        per_tile.append({"tile": [tile.ix, tile.iy], "metrics": res["metrics"]})
    for group in unlocated.values():
        findings.extend(group)
    if whole is not None:
        findings.extend(whole.findings)
        for fail in whole.failures:
            if (fail.rule_id, fail.error, fail.message) not in seen_failures:
                seen_failures.add((fail.rule_id, fail.error, fail.message))
                failures.append(fail)
        areas_run.update({f.area for f in whole.findings} | set(whole.metrics))
    findings.sort(key=_sort_key)
    for n, f in enumerate(findings, start=1):
        f.id = f"{f.rule_id}-{n:04d}"
    given_scores = []
    for area, parts in given.items():
        total = sum(w for w, _ in parts) or len(parts)
        parts = [(w, s) for w, s in parts if s.value is not None] or parts
        if parts[0][1].value is None:
            given_scores.append(parts[0][1])
            continue
        value = sum((w or 1.0) * s.value for w, s in parts) / total
        why = f"core-area-weighted mean of {len(parts)} tile score(s): " + parts[0][1].explanation
        given_scores.append(Score(area, round(min(100.0, max(0.0, value)), 1), why))
    provenance = dict(results[0]["provenance"]) if results else {}
    provenance.update(
        inputs=list(layout.inputs),
        crs=layout.crs.to_string(),
        tiling={
            "tile_m": tile_m,
            "margin_m": margin_m,
            "grid": list(shape),
            "origin": list(origin),
            "tiles_assessed": len(tiles),
            "tiles": per_tile,
        },
    )
    metrics = _merge_metrics(metric_parts)
    if whole is not None:
        for area, values in whole.metrics.items():
            metrics.setdefault(area, {}).update(values)
    coverage = area_coverage(findings, metrics, areas_run)
    scores = _tiled_scores(
        area_scores(findings, given_scores, metrics, coverage, areas_run, view=profile.view),
        given,
        len(tiles),
    )
    return Assessment(
        findings=findings,
        scores=scores,
        metrics=metrics,
        issues=group_issues(
            findings, layout, profile, exposure=crime_exposure(findings, layout, profile)
        ),
        coverage=coverage,
        notes=list(layout.notes),
        failures=failures,
        provenance=provenance,
        layout=layout,
        profile=profile,
        site=Site(layout),
    )


def assess_tiled(
    source_or_layout: Any,
    *,
    tile_m: float,
    margin_m: float | None = None,
    profile: str | Profile = "default",
    rules: Sequence[str] | None = None,
    context: Any = None,
    executor: Any = "process",
    workers: int | None = None,
    scheduler: Any = None,
    extra_rules: Sequence[str] = (),
) -> Assessment:
    """Assess a large layout in overlapping square tiles, in parallel, and merge the results.

    Parameters
    ----------
    source_or_layout
        A Layout, or anything :func:`safespace.load` reads (loaded once, here).
    tile_m
        Side of a tile's core, metres.
    margin_m
        Overlap on every side of a core, metres; default :func:`default_margin` of the
        profile (the longest analysis reach, at least 200 m).
    profile, rules, context
        As for :func:`safespace.assess`.
    executor, workers, scheduler
        As for :func:`safespace.batch.run` (``"process"``, ``"inline"``, ``"dask"``, an
        executor object; a scheduler address or ``"local"``).
    extra_rules
        Import names of extra rule modules (importable by every worker).

    Returns
    -------
    Assessment
        Findings kept once each (by the tile whose core holds their anchor); scores and
        metrics merged as the module docstring explains; ``provenance["tiling"]`` records
        the grid.

    Raises
    ------
    SafespaceError
        A tile that could not be assessed (its worker died): a partial merge would be wrong.
    """
    layout = layout_from(source_or_layout, context=context)
    registry = registry_with(tuple(extra_rules))
    prof = profile if isinstance(profile, Profile) else load_profile(profile, registry)
    margin = default_margin(prof) if margin_m is None else float(margin_m)
    if not (margin >= 0 and math.isfinite(margin)):
        raise SafespaceError(f"the tile margin must be >= 0 metres, not {margin_m}")
    extent = layout.extent
    if extent.is_empty:
        raise SafespaceError("the layout has no features to tile")
    grid, shape = tile_grid(extent.bounds, float(tile_m))
    # the crime-context rules compare the site with the wider area: run once, untiled
    run_ids = [r for r in prof.rule_ids if r in registry]
    if rules is not None:
        wanted = set(select_rules(registry, rules))
        run_ids = [r for r in run_ids if r in wanted]
    whole_ids = [r for r in run_ids if registry[r].area == WHOLE_LAYOUT_AREA]
    tile_ids = [r for r in run_ids if registry[r].area != WHOLE_LAYOUT_AREA]
    whole = assess(layout, profile=prof, rules=whole_ids, registry=registry) if whole_ids else None
    whole_site = layout.site_polygon
    whole_extent = layout.data_extent
    tiles, payloads = [], []
    for tile in grid:
        part = clip_layout(layout, tile.region(margin))
        if not any(len(frame) for frame in part.layers.values()):
            continue  # nothing within reach of this core: no finding can anchor there
        part = TileLayout(**vars(part), whole_site=whole_site, whole_extent=whole_extent)
        tiles.append(tile)
        payloads.append(
            {
                "layout": part,
                "profile": prof,
                "rules": tile_ids,
                "extra_rules": tuple(extra_rules),
            }
        )
    results: list[dict[str, Any] | None] = [None] * len(payloads)
    runner, owned = make_executor(executor, workers=workers, scheduler=scheduler)
    for payload in payloads:
        payload["threads"] = runner.task_threads
    try:
        for i, res, error in runner.map_unordered(assess_tile, payloads):
            if error is not None:
                t = tiles[i]
                raise SafespaceError(
                    f"tile ({t.ix}, {t.iy}) could not be assessed: {type(error).__name__}: {error}"
                ) from error
            results[i] = res
    finally:
        if owned:
            runner.close()
    return merge_tiles(
        layout,
        tiles,
        results,
        shape=shape,
        margin_m=margin,
        profile=prof,  # type: ignore[arg-type]
        whole=whole,
    )
