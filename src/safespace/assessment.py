"""Running rules over a layout, and what comes out: the Assessment."""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from safespace._memory import release_free_memory
from safespace._timeout import time_limit
from safespace._version import __version__
from safespace.errors import ResourceLimitError
from safespace.findings import (
    Finding,
    InputNote,
    Issue,
    Metric,
    Score,
    severity_rank,
)
from safespace.issues import group_issues
from safespace.layout import Layout, data_area, layout_from
from safespace.limits import Limits, check_area, using
from safespace.moderation import moderate
from safespace.rules.engine import Rule, Site, discover_rules, run_rule, select_rules
from safespace.rules.profiles import Profile, load_profile
from safespace.scoring import area_coverage, area_scores


@dataclass
class RuleFailure:
    """A rule that raised: recorded, and the other rules still ran."""

    rule_id: str
    error: str
    message: str
    traceback: str


@dataclass
class Assessment:
    """The result of assessing a layout: findings, scores, metrics, notes and provenance.

    Attributes
    ----------
    findings
        Every :class:`Finding`, sorted by area, severity (highest first) and rule id.
    scores
        Per rule area that ran, a :class:`Score` 0–100 with a one-line explanation.
    metrics
        Per area, measured values by key.
    notes
        Input notes from reading the layout (repairs, drops, merges).
    failures
        Rules that raised, with their errors.
    provenance
        safespace version, profile name and hash, rules run, and each input's SHA-256.
    issues
        The findings grouped by place (:class:`~safespace.findings.Issue`), in priority
        order; every finding belongs to exactly one (``Finding.issue_id``).
    coverage
        Per rule area: the share of it that could be assessed from measured data
        (``assessable_share``, None when not known), and its data gaps.
    layout
        The layout that was assessed (not serialised).
    """

    findings: list[Finding]
    scores: dict[str, Score]
    metrics: dict[str, dict[str, Any]]
    notes: list[InputNote]
    failures: list[RuleFailure]
    provenance: dict[str, Any]
    layout: Layout | None = field(default=None, repr=False)
    profile: Profile | None = field(default=None, repr=False)
    site: Site | None = field(default=None, repr=False)
    issues: list[Issue] = field(default_factory=list)
    coverage: dict[str, dict[str, Any]] = field(default_factory=dict)

    def analysis(self, func: Callable[..., Any], /, **kwargs: Any) -> Any:
        """A shared analysis of the assessed layout, reusing what the rules computed.

        The report uses this to draw per-area figures without computing anything twice.
        """
        if self.site is None:
            raise ValueError("this assessment has no layout to analyse")
        return self.site.analysis(func, **kwargs)

    @property
    def position(self) -> dict[str, str]:
        """The overall position a response would take, derived from the issues.

        ``{"position": "objection" | "subject to conditions" | "no objection", "reason": ...}``
        by the documented rule of :func:`safespace.issues.overall_position`; an officer's
        own judgement overrides it in the writers (``position=``).
        """
        from safespace.issues import overall_position

        return overall_position(self.issues)

    @property
    def key_concerns(self) -> list[Issue]:
        """The issues the report and response lead with, in priority order."""
        return [i for i in self.issues if i.key_concern]

    @property
    def crs(self):
        """The metric CRS finding geometries are in."""
        return self.layout.crs if self.layout is not None else None

    def counts(self) -> dict[str, int]:
        """Number of findings per severity."""
        c = Counter(f.severity for f in self.findings)
        return {s: c.get(s, 0) for s in ("high", "medium", "low", "info")}

    def worst_severity(self) -> str | None:
        """The highest severity among the findings, or None."""
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=severity_rank)

    def summary_line(self) -> str:
        """One line: finding counts by severity, scores, failures."""
        c = self.counts()
        scores = ", ".join(f"{a} {s.label()}" for a, s in self.scores.items())
        line = (
            f"{len(self.findings)} findings ({c['high']} high, {c['medium']} medium, "
            f"{c['low']} low, {c['info']} info)"
        )
        if scores:
            line += f"; scores: {scores}"
        if self.failures:
            line += f"; {len(self.failures)} rule(s) failed: " + ", ".join(
                f.rule_id for f in self.failures
            )
        return line

    # -- output --------------------------------------------------------------------------
    def to_geodataframe(self, crs: Any = None) -> gpd.GeoDataFrame:
        """Findings as a GeoDataFrame (layout CRS, or ``crs`` if given), one row each."""
        from safespace.io.writers import findings_frame

        return findings_frame(self, crs=crs)

    def to_geojson(self, path: str | Path) -> Path:
        """Write findings as RFC 7946 GeoJSON in WGS84; byte-identical for the same input."""
        from safespace.io.writers import write_geojson

        return write_geojson(self, path)

    def to_csv(self, path: str | Path) -> Path:
        """Write findings as CSV (geometry as WKT in WGS84)."""
        from safespace.io.writers import write_csv

        return write_csv(self, path)

    def to_json(self, path: str | Path) -> Path:
        """Write the whole assessment (findings, scores, metrics, notes, provenance) as JSON."""
        from safespace.io.writers import write_json

        return write_json(self, path)

    def to_gpkg(self, path: str | Path) -> Path:
        """Write findings to a GeoPackage (layer per geometry type) in the layout's CRS."""
        from safespace.io.writers import write_gpkg

        return write_gpkg(self, path)

    def to_postgis(
        self,
        url: str,
        *,
        schema: str | None = None,
        prefix: str | None = None,
        site_id: str | None = None,
    ) -> str:
        """Write findings, issues and scores into PostGIS tables; returns the run id.

        Needs the ``postgis`` extra. Geometry is in the source SRID; many runs share the
        tables; ``site_id`` replaces that site's earlier rows. See ``docs/gis.md``.
        """
        from safespace.io.postgis import write_postgis

        return write_postgis(self, url, schema=schema, prefix=prefix, site_id=site_id)

    def to_html(self, path: str | Path, *, position: str | None = None) -> Path:
        """Write the consultation report as one self-contained HTML file.

        ``position`` overrides the derived overall position with the officer's own.
        """
        from safespace.report import write_html

        return write_html(self, path, position=position)

    def to_docx(self, path: str | Path, *, position: str | None = None) -> Path:
        """Write the consultation response draft as DOCX (python-docx)."""
        from safespace.response import write_docx

        return write_docx(self, path, position=position)

    def to_markdown(self, path: str | Path, *, position: str | None = None) -> Path:
        """Write the consultation response draft as Markdown."""
        from safespace.response import write_markdown

        return write_markdown(self, path, position=position)

    def write(
        self, path: str | Path, format: str | None = None, *, position: str | None = None
    ) -> Path:
        """Write in the format the extension (or ``format``) names."""
        from safespace.io.writers import write_any

        return write_any(self, path, format, position=position)


def _sort_key(f: Finding) -> tuple:
    geom_key = f.geometry.wkb if f.geometry is not None else b""
    return (f.area, -severity_rank(f.severity), f.rule_id, geom_key, f.message)


def _is_plugin(rule_: Rule) -> bool:
    """A rule from an installed rule pack rather than safespace's own."""
    module = getattr(rule_.check, "__module__", "") or ""
    return not (module == "safespace" or module.startswith("safespace."))


def assess(
    source_or_layout: Any,
    *,
    profile: str | Path | Profile = "default",
    rules: Iterable[str] | None = None,
    context: Any = None,
    incidents: Any = None,
    registry: Mapping[str, Rule] | None = None,
    progress: Callable[[str], None] | None = None,
    limits: Limits | Mapping[str, Any] | None = None,
) -> Assessment:
    """Assess a layout against a profile's rules.

    Parameters
    ----------
    source_or_layout
        A :class:`Layout`, or anything :func:`safespace.load` reads.
    profile
        A built-in profile name, a TOML path, or a loaded :class:`Profile`.
    rules
        Restrict to these rule ids or prefixes (``["SL", "LT001"]``), within the profile.
    context
        The existing area around a proposal (see :func:`safespace.load`).
    incidents
        Recorded crime for a source that is not yet loaded (see :func:`safespace.load`).
    registry
        The rules to draw from (default: every rule registered under ``safespace.rules``).
    progress
        Called with a short message before each rule, and before the findings are
        grouped into issues (the CLI prints it on stderr).
    limits
        Resource limits for loading and for every analysis grid
        (:class:`safespace.limits.Limits` or a mapping of some of its fields).

    Returns
    -------
    Assessment
        A rule that raises is recorded in ``failures``; the others still run.

    Raises
    ------
    safespace.errors.ResourceLimitError
        The input, or an analysis grid a rule needs, is beyond ``limits``: the assessment
        stops, since every rule would meet the same wall.
    """
    lim = Limits.of(limits)
    layout = layout_from(source_or_layout, context=context, incidents=incidents, limits=lim)
    with using(lim):  # a drawing in the wrong unit or a region, refused before any analysis
        check_area(data_area(layout), layout.inputs[0]["label"] if layout.inputs else "layout")
    broken: list[Exception] = []
    registry = discover_rules(errors=broken) if registry is None else registry
    prof = profile if isinstance(profile, Profile) else load_profile(profile, registry)
    rule_ids = [r for r in prof.rule_ids if r in registry]
    if rules is not None:
        wanted = set(select_rules(registry, rules))
        rule_ids = [r for r in rule_ids if r in wanted]

    site = Site(layout, assessment=prof.assessment)
    findings: list[Finding] = []
    metrics: dict[str, dict[str, Any]] = {}
    given_scores: list[Score] = []
    # a rule pack that could not be loaded is reported like a rule that raised
    failures: list[RuleFailure] = [
        RuleFailure("plugin", type(e).__name__, str(e), "") for e in broken
    ]
    areas_run: set[str] = set()
    for rid in rule_ids:
        rule_ = registry[rid]
        if progress:
            progress(f"{rid} {rule_.title}")
        rule_site = site.with_params(prof.params.get(rid, rule_.defaults()))
        limit = float(prof.assessment.get("plugin_time_limit_s", 0.0)) if _is_plugin(rule_) else 0
        try:
            with using(lim), time_limit(limit, f"rule {rid}"):
                produced = list(run_rule(rule_, rule_site))
        except ResourceLimitError:
            raise
        except Exception as exc:  # isolate a failing rule; the assessment goes on
            failures.append(RuleFailure(rid, type(exc).__name__, str(exc), traceback.format_exc()))
            continue
        finally:
            release_free_memory()  # the freed heap of this rule's analyses goes back to the OS
        areas_run.add(rule_.area)
        for item in produced:
            if isinstance(item, Finding):
                findings.append(item)
            elif isinstance(item, Metric):
                metrics.setdefault(item.area or rule_.area, {})[item.key] = item.value
            else:
                given_scores.append(item)
    if progress:
        progress("issues: grouping the findings by place")
    moderate(findings, layout, registry, prof, site)
    findings.sort(key=_sort_key)
    for n, f in enumerate(findings, start=1):
        f.id = f"{f.rule_id}-{n:04d}"
    coverage = area_coverage(findings, metrics, areas_run)
    from safespace._crime import crime_exposure  # recorded crime near an issue raises it

    issues = group_issues(findings, layout, prof, exposure=crime_exposure(findings, layout, prof))
    provenance = {
        "safespace_version": __version__,
        "profile": prof.name,
        "profile_sha256": prof.sha256,
        "rules": rule_ids,
        "inputs": list(layout.inputs),
        "crs": layout.crs.to_string(),
    }
    return Assessment(
        findings=findings,
        scores=area_scores(findings, given_scores, metrics, coverage, areas_run, view=prof.view),
        metrics=metrics,
        notes=list(layout.notes),
        failures=failures,
        provenance=provenance,
        layout=layout,
        profile=prof,
        site=site,
        issues=issues,
        coverage=coverage,
    )
