"""Rule engine: selection, isolation of failing rules, lazy shared analyses; profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

import safespace
from safespace.errors import ProfileError, RuleError
from safespace.report.figures import shared_analysis
from safespace.rules.engine import (
    Feed,
    Param,
    SettingsGroup,
    Site,
    discover_rules,
    rule,
    select_rules,
)
from tests.conftest import FIXTURES, collection, feature, square

BNG = {"type": "name", "properties": {"name": "EPSG:27700"}}
CALLS: list[str] = []


def building_count(layout):
    CALLS.append("count")
    return len(layout.buildings)


@rule(
    "XX001",
    "Every building",
    "sightlines",
    principles=["natural_surveillance"],
    params={"limit_m": Param(5.0, "m", "a length", "test source [checked]")},
    references=["Test guide 1"],
)
def every_building(site):
    n = site.analysis(building_count)
    for geom in site.layout.buildings.geometry:
        yield safespace.Finding(
            severity="medium",
            title="bldg",
            geometry=geom,
            evidence={"n": n, "limit_m": site.params["limit_m"]},
        )
    yield safespace.Metric("buildings", n)


@rule("XX002", "Also counts", "lighting")
def also_counts(site):
    site.analysis(building_count)
    yield safespace.Score("lighting", 42.0, "because")


@rule("XX003", "Always fails", "permeability")
def always_fails(site):
    raise ZeroDivisionError("boom")
    yield  # pragma: no cover


REGISTRY = {r.id: r for r in (every_building, also_counts, always_fails)}


@pytest.fixture
def layout():
    return safespace.load(
        collection(
            feature(square(545000, 258000, 10), id="a", building="house"),
            feature(square(545020, 258000, 10), id="b", building="house"),
            crs=BNG,
        )
    )


def profile_file(tmp_path, text, name="p.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_failing_rule_is_isolated_and_analysis_computed_once(layout, tmp_path):
    CALLS.clear()
    prof = safespace.load_profile(profile_file(tmp_path, "[profile]\nname='t'\n"), REGISTRY)
    result = safespace.assess(layout, profile=prof, registry=REGISTRY)
    assert CALLS == ["count"]  # two rules asked, computed once
    assert [f.rule_id for f in result.findings] == ["XX001", "XX001"]
    f = result.findings[0]
    assert f.area == "sightlines" and f.references == ["Test guide 1"]
    assert f.evidence == {"n": 2, "limit_m": 5.0}
    assert [x.rule_id for x in result.failures] == ["XX003"]
    assert "ZeroDivisionError" in result.failures[0].traceback
    assert result.metrics["sightlines"]["buildings"] == 2
    assert result.scores["lighting"].value == 42.0
    # findings alone measure nothing intensive: the area is not assessable, never 0 or 100
    assert result.scores["sightlines"].value is None
    assert "permeability" not in result.scores  # its only rule failed


def test_profile_params_sources_and_disable(layout, tmp_path):
    path = profile_file(
        tmp_path,
        """
[profile]
name = "strict"
rules = ["XX"]
[rules.XX001]
limit_m = { value = 2, unit = "m", source = "Somewhere 2024 [quoted]" }
[rules.XX003]
enabled = false
""",
    )
    prof = safespace.load_profile(path, REGISTRY)
    assert prof.rule_ids == ["XX001", "XX002"]
    assert prof.params["XX001"]["limit_m"] == 2.0
    assert prof.sources["XX001"]["limit_m"] == "Somewhere 2024 [quoted]"
    result = safespace.assess(layout, profile=prof, registry=REGISTRY)
    assert result.findings[0].evidence["limit_m"] == 2.0 and not result.failures
    assert (
        result.provenance["profile"] == "strict" and len(result.provenance["profile_sha256"]) == 64
    )


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[rules.ZZ999]\nx = 1\n", "rules.ZZ999", "unknown rule id"),
        ("[rules.XX001]\nspeed = 1\n", "rules.XX001.speed", "no parameter 'speed'"),
        ("[rules.XX001]\nlimit_m = 'far'\n", "rules.XX001.limit_m", "expected float"),
        ("[rules.XX001]\nlimit_m = true\n", "rules.XX001.limit_m", "expected float"),
        (
            "[rules.XX001]\nlimit_m = { value = 3, unit = 'ft' }\n",
            "rules.XX001.limit_m",
            "unit 'ft'",
        ),
        ("[rules.XX001]\nenabled = 'yes'\n", "rules.XX001.enabled", "true or false"),
        ("[profile]\nrules = ['QQ']\n", "profile.rules", "no rule matches"),
        ("[colours]\nx = 1\n", "colours", "unknown table"),
        ("[rules.XX001\n", None, "not valid TOML"),
    ],
)
def test_profile_errors_name_file_and_key(tmp_path, text, key, problem):
    path = profile_file(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        safespace.load_profile(path, REGISTRY)
    assert info.value.file == str(path) and info.value.key == key
    assert problem in str(info.value)


def test_profile_extends_another(tmp_path):
    profile_file(tmp_path, "[profile]\nname='base'\n[rules.XX001]\nlimit_m = 9\n", "base.toml")
    path = profile_file(
        tmp_path, "[profile]\nname='child'\nextends='base.toml'\n[rules.XX003]\nenabled=false\n"
    )
    prof = safespace.load_profile(path, REGISTRY)
    assert prof.params["XX001"]["limit_m"] == 9.0 and "XX003" not in prof.rule_ids


def test_unknown_builtin_profile_lists_available():
    with pytest.raises(ProfileError, match="available: .*default"):
        safespace.load_profile("nonesuch")


def test_select_rules_by_id_and_prefix():
    assert select_rules(REGISTRY, ["XX001"]) == ["XX001"]
    assert select_rules(REGISTRY, ["xx"]) == ["XX001", "XX002", "XX003"]
    with pytest.raises(RuleError):
        select_rules(REGISTRY, ["LT"])


def test_rule_metadata_is_checked():
    with pytest.raises(RuleError, match="two capital letters"):
        rule("X1", "bad", "lighting")(lambda site: ())
    with pytest.raises(RuleError, match="area"):
        rule("XX010", "bad", "astrology")(lambda site: ())
    with pytest.raises(RuleError, match="principle"):
        rule("XX010", "bad", "lighting", principles=["vibes"])(lambda site: ())


def test_builtin_rules_are_discovered_through_entry_points():
    registry = discover_rules()
    assert {"IN001", "IN002"} <= set(registry)
    assert safespace.load_profile("default").name == "default"


def test_finding_rejects_unknown_severity():
    with pytest.raises(ValueError):
        safespace.Finding(severity="catastrophic", geometry=shapely.Point(0, 0))


SHARED = {"grid": {"spacing_m": Param(3.0, "m", "grid spacing", "test [unverified]")}}


@rule("XX020", "Reads the grid", "lighting", settings=SHARED)
def reads_grid(site):
    yield safespace.Metric("spacing", site.params["spacing_m"])


@rule(
    "XX021",
    "Reads the grid too",
    "lighting",
    settings=SHARED,
    params={"own": Param(1, "", "own", "")},
)
def reads_grid_too(site):
    yield safespace.Metric("spacing2", site.params["spacing_m"])


SHARED_REGISTRY = {r.id: r for r in (reads_grid, reads_grid_too)}


def test_shared_settings_are_set_once_for_every_rule(tmp_path):
    path = profile_file(
        tmp_path, "[settings.grid]\nspacing_m = { value = 2, unit = 'm', source = 'ours' }\n"
    )
    prof = safespace.load_profile(path, SHARED_REGISTRY)
    assert prof.params["XX020"]["spacing_m"] == prof.params["XX021"]["spacing_m"] == 2.0
    assert prof.sources["XX021"]["spacing_m"] == "ours"
    assert reads_grid_too.defaults() == {"spacing_m": 3.0, "own": 1}


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[rules.XX020]\nspacing_m = 2\n", "rules.XX020.spacing_m", "set it there"),
        ("[settings.nope]\nx = 1\n", "settings.nope", "unknown settings group"),
        ("[settings.grid]\nwidth = 1\n", "settings.grid.width", "no parameter 'width'"),
        ("[settings.grid]\nspacing_m = 'wide'\n", "settings.grid.spacing_m", "expected float"),
    ],
)
def test_shared_settings_errors(tmp_path, text, key, problem):
    path = profile_file(tmp_path, text)
    with pytest.raises(ProfileError) as info:
        safespace.load_profile(path, SHARED_REGISTRY)
    assert info.value.key == key and problem in str(info.value)


def test_a_prefix_of_safespace_is_bound_to_its_area():
    # issue 17, item 6: an SL rule cannot declare another area (the prefix names the area)
    with pytest.raises(RuleError, match="prefix SL is safespace's 'sightlines' area"):

        @rule("SL901", "Misfiled", "lighting")
        def misfiled(site):
            yield from ()

    @rule("SL902", "Filed right", "sightlines")
    def filed(site):
        yield from ()

    assert filed.area == "sightlines"


# --- one analysis cache, settings groups that name their analysis (issue 17, items 2-3) ----


def frame_of(layout, *, n=2):
    CALLS.append(f"frame{n}")
    return pd.DataFrame({"x": range(n)})


def rows_of(layout, *, frame):
    CALLS.append("rows")
    return len(frame)


def test_cached_results_as_arguments_are_keyed_by_identity(layout):
    CALLS.clear()
    site = Site(layout)
    a = site.analysis(frame_of)
    assert site.analysis(rows_of, frame=a) == 2
    assert site.analysis(rows_of, frame=a) == 2
    assert CALLS == ["frame2", "rows"]  # the second call is the cached one
    # an equal frame cached under another key is another argument (never a collision)
    b = site.analysis(frame_of, n=2)  # another key: defaults are not in the key
    assert b is not a and b.equals(a)
    site.analysis(rows_of, frame=b)
    assert CALLS == ["frame2", "rows", "frame2", "rows"]
    key = next(k for k in site._cache if k[1] == "rows_of")
    assert "<result of " in repr(key) and "frame_of()>" in repr(key)


@pytest.mark.parametrize(
    "value", [pd.DataFrame({"x": [1]}), [1, 2], {"a": 1}, np.arange(3)], ids=type
)
def test_unhashable_arguments_that_are_not_cached_results_are_refused(layout, value):
    site = Site(layout)
    with pytest.raises(RuleError, match=r"argument frame= .*unhashable.*not the result"):
        site.analysis(rows_of, frame=value)
    assert site.analyses_computed == 0


def test_two_long_frames_differing_past_their_repr_never_share_an_entry(layout):
    # the old fallback keyed unhashable arguments by repr(), which pandas truncates
    site = Site(layout)
    long_a = site.analysis(frame_of, n=500)
    long_b = site.analysis(frame_of, n=501).iloc[:500].copy()
    long_b.iloc[250, 0] = -1
    assert repr(long_a) == repr(long_b)
    with pytest.raises(RuleError):
        site.analysis(rows_of, frame=long_b)  # not a cached result: refused, not confused


def grid_of(layout, *, spacing, occlude):
    CALLS.append(f"grid{spacing}")
    return {"spacing": spacing, "occlude": occlude}


def table_of(layout, *, grid, step):
    CALLS.append("table")
    return (grid["spacing"], step)


GRID_GROUP = SettingsGroup(
    "test_grid",
    {
        "spacing_m": Param(3.0, "m", "grid spacing", "test [unverified]"),
        "occlusion": Param(True, "", "shadows", "test"),
        "step_m": Param(50.0, "m", "table step", "test"),
    },
    {
        "grid": Feed(grid_of, {"spacing_m": "spacing", "occlusion": "occlude"}),
        "table": Feed(table_of, {"step_m": "step"}, {"grid": "grid"}),
    },
)


@rule("XX030", "Reads the test grid", "lighting", settings=[GRID_GROUP])
def reads_test_grid(site):
    grid = site.shared("test_grid")
    table = site.shared("test_grid", "table")
    yield safespace.Metric("cells", grid["spacing"] + table[1])


@rule("XX031", "Reads the test grid too", "lighting", settings=[GRID_GROUP])
def reads_test_grid_too(site):
    yield safespace.Metric(
        "same",
        site.shared("test_grid")
        is site.analysis(
            grid_of, spacing=float(site.params["spacing_m"]), occlude=site.params["occlusion"]
        ),
    )


GROUP_REGISTRY = {r.id: r for r in (reads_test_grid, reads_test_grid_too)}


def test_a_settings_group_names_its_analysis_and_the_keyword_arguments(layout, tmp_path):
    CALLS.clear()
    path = profile_file(tmp_path, "[settings.test_grid]\nspacing_m = 2\nstep_m = 10\n")
    prof = safespace.load_profile(path, GROUP_REGISTRY)
    result = safespace.assess(layout, profile=prof, registry=GROUP_REGISTRY)
    assert not result.failures
    assert result.metrics["lighting"] == {"cells": 12.0, "same": True}
    assert CALLS == ["grid2.0", "table"]  # one grid for both rules, the table from it
    # the assessment's own site (the report's figures) reaches the very same objects
    assert result.site.settings("test_grid") == {
        "spacing_m": 2.0,
        "occlusion": True,
        "step_m": 10.0,
    }
    assert shared_analysis(result, "test_grid") is result.site.shared("test_grid")
    assert shared_analysis(result, "test_grid", "table") == (2.0, 10.0)
    assert CALLS == ["grid2.0", "table"]
    assert shared_analysis(result, "lighting") is None  # no rule reading it ran


def test_shared_refuses_what_the_group_does_not_give(layout):
    site = Site(layout)._for_rule(reads_test_grid).with_params(reads_test_grid.defaults())
    with pytest.raises(RuleError, match="already sets.*spacing"):
        site.shared("test_grid", spacing=9.0)
    with pytest.raises(RuleError, match="no analysis 'nope'"):
        site.shared("test_grid", "nope")
    with pytest.raises(RuleError, match="does not read the settings group 'lighting'"):
        site.shared("lighting")
    plain = Site(layout)._for_rule(reads_grid).with_params(reads_grid.defaults())
    with pytest.raises(RuleError, match="feeds no analysis"):
        plain.shared("grid")  # the older plain-mapping form still shares values only


def test_settings_group_checks_its_feeds():
    with pytest.raises(RuleError, match="not parameters of the group"):
        SettingsGroup("g", {"a": Param(1.0)}, {"f": Feed(grid_of, {"b": "spacing"})})
    with pytest.raises(RuleError, match="not feeds of the group"):
        SettingsGroup("g", {"a": Param(1.0)}, {"f": Feed(table_of, {}, {"grid": "grid"})})


def test_builtin_groups_are_the_ones_rules_share():
    from safespace.rules import lighting, permeability, police_access, sightlines

    reg = discover_rules()
    readers = {}
    for rid, r in reg.items():
        for name, group in r.settings.items():
            readers.setdefault(name, set()).add(rid)
            assert group.analyses, f"{rid} reads [settings.{name}], which feeds no analysis"
    assert readers == {
        "lighting": {"LT001", "LT002", "LT003", "LT004", "LT006"},
        "surveillance": {"SL001", "SL004", "SL006", "PM007"},
        "rear_access": {"PM005", "PM007"},
        "police_access": {"PA001", "PA002", "PA004", "PA005"},
    }
    assert reg["PM007"].settings["surveillance"] is sightlines.SURVEILLANCE
    assert reg["LT003"].settings["lighting"] is lighting.LIGHTING
    assert reg["PM005"].settings["rear_access"] is permeability.REAR_ACCESS
    assert reg["PA005"].settings["police_access"] is police_access.POLICE_ACCESS
    # no rule module keeps a cache of its own any more
    assert not hasattr(lighting, "_STRETCH_CACHE")


def test_site_computed_lists_what_rules_computed_and_computes_nothing():
    from safespace.rules.engine import Site

    layout = safespace.load(FIXTURES / "demo_estate.geojson")
    site = Site(layout)
    assert site.computed("walk_network") == []  # nothing yet, and asking computes nothing
    assert site.analyses_computed == 0
    from safespace.analyses.network import walk_network

    g1 = site.analysis(walk_network)
    g2 = site.analysis(walk_network, snap_tolerance=2.0)
    got = site.computed("walk_network")
    assert [kw for kw, _ in got] == [{}, {"snap_tolerance": 2.0}]
    assert got[0][1] is g1 and got[1][1] is g2
