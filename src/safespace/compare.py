"""Comparing a proposal with the existing situation: findings new, resolved and unchanged."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from safespace.assessment import Assessment, assess
from safespace.findings import Finding

MATCH_TOLERANCE_M = 5.0


@dataclass
class Comparison:
    """Findings of ``after`` against ``before``.

    Attributes
    ----------
    new
        In ``after`` only: what the proposal makes worse.
    resolved
        In ``before`` only: what the proposal fixes.
    unchanged
        Pairs ``(before, after)`` matched by rule and location: what it leaves.
    score_changes
        Per area, ``(before, after)`` scores.
    """

    before: Assessment
    after: Assessment
    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    unchanged: list[tuple[Finding, Finding]] = field(default_factory=list)
    score_changes: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    #: The matching distance :func:`compare` used (m).
    tolerance_m: float = MATCH_TOLERANCE_M

    def summary_line(self) -> str:
        """One line: counts of new, resolved and unchanged findings."""
        return (
            f"{len(self.new)} new, {len(self.resolved)} resolved, "
            f"{len(self.unchanged)} unchanged findings"
        )

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """Every finding with a ``status`` column (new/resolved/unchanged), in the after CRS."""
        rows, geoms = [], []
        for status, items in (
            ("new", self.new),
            ("resolved", self.resolved),
            ("unchanged", [a for _, a in self.unchanged]),
        ):
            for f in items:
                rows.append(
                    {
                        "status": status,
                        "rule_id": f.rule_id,
                        "area": f.area,
                        "severity": f.severity,
                        "title": f.title,
                        "message": f.message,
                    }
                )
                geoms.append(f.geometry)
        return gpd.GeoDataFrame(
            pd.DataFrame(
                rows, columns=["status", "rule_id", "area", "severity", "title", "message"]
            ),
            geometry=geoms,
            crs=self.after.crs,
        )

    def to_geojson(self, path: str | Path) -> Path:
        """Write the comparison as GeoJSON (WGS84) with a ``status`` property."""
        from safespace.io.writers import _atomic_write, _round_geometry, jsonable

        frame = self.to_geodataframe()
        if len(frame) and frame.crs is not None:
            frame = frame.to_crs(4326)
        feats = []
        for rec, geom in zip(
            frame.drop(columns="geometry").to_dict("records"), frame.geometry.values, strict=True
        ):
            feats.append(
                {"type": "Feature", "geometry": _round_geometry(geom), "properties": jsonable(rec)}
            )
        doc = {
            "type": "FeatureCollection",
            "features": feats,
            "safespace": jsonable(
                {"summary": self.summary_line(), "score_changes": self.score_changes}
            ),
        }
        import json

        return _atomic_write(
            Path(path), json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n"
        )

    def to_html(self, path: str | Path) -> Path:
        """Write a self-contained HTML comparison report."""
        from safespace.report import write_comparison_html

        return write_comparison_html(self, path)


def _anchor(geom) -> shapely.Point | None:
    if geom is None or geom.is_empty:
        return None
    return shapely.point_on_surface(geom)


def _in_crs(findings: list[Finding], src, dst) -> list:
    geoms = [f.geometry for f in findings]
    if src is None or dst is None or src == dst or not geoms:
        return geoms
    return list(gpd.GeoSeries(geoms, crs=src).to_crs(dst).values)


def compare(
    before: Any, after: Any, *, tolerance: float = MATCH_TOLERANCE_M, **assess_kwargs: Any
) -> Comparison:
    """Compare two assessments (or two layouts, assessed with the same profile).

    Findings match when they come from the same rule and their locations (a point on
    each geometry) lie within ``tolerance`` metres; each finding matches at most once,
    nearest pairs first. Findings without a location match on rule and message.

    Parameters
    ----------
    before, after
        :class:`Assessment` objects, or anything :func:`safespace.assess` takes.
    tolerance
        Metres within which two findings of one rule are the same finding.
    """
    if not isinstance(before, Assessment):
        before = assess(before, **assess_kwargs)
    if not isinstance(after, Assessment):
        after = assess(after, **assess_kwargs)
    after_geoms = after.findings and [f.geometry for f in after.findings]
    before_geoms = _in_crs(before.findings, before.crs, after.crs)
    matched_b: set[int] = set()
    matched_a: set[int] = set()
    pairs: list[tuple[float, int, int]] = []
    for i, fb in enumerate(before.findings):
        pb = _anchor(before_geoms[i])
        for j, fa in enumerate(after.findings):
            if fa.rule_id != fb.rule_id:
                continue
            pa = _anchor(after_geoms[j])
            if pa is None or pb is None:
                if pa is None and pb is None and fa.message == fb.message:
                    pairs.append((0.0, i, j))
                continue
            d = float(shapely.distance(pa, pb))
            if d <= tolerance:
                pairs.append((d, i, j))
    unchanged = []
    for _, i, j in sorted(pairs):
        if i in matched_b or j in matched_a:
            continue
        matched_b.add(i)
        matched_a.add(j)
        unchanged.append((before.findings[i], after.findings[j]))
    areas = sorted(set(before.scores) | set(after.scores))
    return Comparison(
        before=before,
        after=after,
        tolerance_m=float(tolerance),
        new=[f for j, f in enumerate(after.findings) if j not in matched_a],
        resolved=[f for i, f in enumerate(before.findings) if i not in matched_b],
        unchanged=unchanged,
        score_changes={
            a: (
                before.scores[a].value if a in before.scores else None,
                after.scores[a].value if a in after.scores else None,
            )
            for a in areas
        },
    )
