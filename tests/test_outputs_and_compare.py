"""Writers, determinism, compare and the command line."""

from __future__ import annotations

import csv
import json

import geopandas as gpd
import pytest

import safespace
from safespace.cli import main
from safespace.rules.engine import discover_rules, rule
from tests.conftest import collection, feature, square

BNG = {"type": "name", "properties": {"name": "EPSG:27700"}}


@rule("XX100", "Sheds are flagged", "sightlines", references=["Test guide"])
def sheds(site):
    for row in site.layout.buildings.itertuples():
        if row.building == "shed":
            yield safespace.Finding(
                severity="high",
                title="Shed",
                message=f"shed {row.fid}",
                geometry=row.geometry,
                evidence={"area_m2": row.geometry.area},
                features=[row.fid],
            )


REGISTRY = {**discover_rules(), "XX100": sheds}


def layout_doc(sheds_at):
    feats = [
        feature(square(545000 + 20 * i, 258000, 10), id=f"s{i}", building="shed") for i in sheds_at
    ]
    feats.append(feature(square(545000, 258100, 10), id="house", building="house"))
    return collection(*feats, crs=BNG)


def run(doc):
    return safespace.assess(doc, registry=REGISTRY, rules=["XX"])


def test_geojson_is_byte_identical_across_runs(tmp_path):
    a = run(layout_doc([0, 1, 2])).to_geojson(tmp_path / "a.geojson").read_bytes()
    b = run(layout_doc([0, 1, 2])).to_geojson(tmp_path / "b.geojson").read_bytes()
    assert a == b
    doc = json.loads(a)
    assert [f["properties"]["rule_id"] for f in doc["features"]] == ["XX100"] * 3
    assert doc["features"][0]["properties"]["evidence"]["area_m2"] == 100.0
    assert doc["safespace"]["provenance"]["inputs"][0]["sha256"]
    lon, lat = doc["features"][0]["geometry"]["coordinates"][0][0]
    assert 0.0 < lon < 0.3 and 52.0 < lat < 52.5  # WGS84 on output


def test_csv_json_gpkg_and_geodataframe(tmp_path):
    result = run(layout_doc([0, 1]))
    rows = list(csv.DictReader(result.to_csv(tmp_path / "f.csv").open()))
    assert [r["rule_id"] for r in rows] == ["XX100", "XX100"]
    assert rows[0]["geometry_wkt"].startswith("POLYGON")
    whole = json.loads(result.to_json(tmp_path / "f.json").read_text())
    assert whole["counts"]["high"] == 2 and whole["scores"]["sightlines"]["value"] is None
    gpkg = gpd.read_file(result.to_gpkg(tmp_path / "f.gpkg"), layer="findings_polygons")
    assert len(gpkg) == 2 and gpkg.crs.to_epsg() == 27700
    frame = result.to_geodataframe()
    assert list(frame["severity"]) == ["high", "high"] and frame.crs.to_epsg() == 27700
    assert result.to_geodataframe(crs=4326).crs.to_epsg() == 4326


def test_compare_new_resolved_unchanged():
    before = run(layout_doc([0, 1]))
    after = run(layout_doc([1, 5]))
    cmp = safespace.compare(before, after)
    assert [f.features for f in cmp.resolved] == [["s0"]]
    assert [f.features for f in cmp.new] == [["s5"]]
    assert [(b.features, a.features) for b, a in cmp.unchanged] == [(["s1"], ["s1"])]
    assert cmp.summary_line() == "1 new, 1 resolved, 1 unchanged findings"
    assert set(cmp.to_geodataframe()["status"]) == {"new", "resolved", "unchanged"}


def write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def test_cli_assess_exit_codes_and_outputs(tmp_path, capsys):
    path = write(
        tmp_path,
        "site.geojson",
        collection(
            feature(
                {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [545000, 258000],
                            [545010, 258010],
                            [545010, 258000],
                            [545000, 258010],
                            [545000, 258000],
                        ]
                    ],
                },
                id="bow",
                building="house",
            ),
            crs=BNG,
        ),
    )
    out = tmp_path / "out.geojson"
    assert main(["assess", str(path), "-o", str(out), "-q"]) == 0
    # the repair (IN001) is the one finding above advisory; the rest are notes of what a
    # lone building cannot show (no police premises, no routes to light)
    assert "(0 high, 0 medium, 1 low," in capsys.readouterr().out
    props = [f["properties"] for f in json.loads(out.read_text())["features"]]
    assert [p["rule_id"] for p in props if p["severity"] != "info"] == ["IN001"]
    assert main(["assess", str(path), "--fail-on", "low", "-q"]) == 1
    assert main(["assess", str(path), "--fail-on", "medium", "-q"]) == 0
    assert main(["assess", str(path), "-o", str(tmp_path / "x.csv"), "-q"]) == 0
    assert main(["assess", str(tmp_path / "missing.geojson"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "missing.geojson" in err and "file not found" in err
    assert main(["assess", str(path), "--profile", "nonesuch", "-q"]) == 2
    assert main(["assess", str(path), "-o", str(tmp_path / "x.xyz"), "-q"]) == 2


def test_cli_validate_rules_compare(tmp_path, capsys):
    good = write(tmp_path, "good.geojson", layout_doc([0]))
    bad = write(
        tmp_path,
        "bad.geojson",
        collection(
            feature(square(545000, 258000, 10), id="a", building="yes"),
            feature(square(545000, 258000, 10), id="b", building="yes"),
            crs=BNG,
        ),
    )
    assert main(["validate", str(good)]) == 0
    assert main(["validate", str(bad)]) == 1
    assert "merged-duplicate" in capsys.readouterr().out
    assert main(["rules"]) == 0
    listing = capsys.readouterr().out
    assert "IN001" in listing and "include_info" in listing
    assert main(["compare", str(good), str(bad), "-q", "-o", str(tmp_path / "c.geojson")]) == 0
    assert "new" in capsys.readouterr().out


def test_cli_help_everywhere(capsys):
    for cmd in (
        ["--help"],
        ["assess", "--help"],
        ["compare", "--help"],
        ["rules", "--help"],
        ["validate", "--help"],
    ):
        with pytest.raises(SystemExit) as info:
            main(cmd)
        assert info.value.code == 0
    assert main([]) == 2


def test_cli_stdout_is_one_summary_line_on_the_demo(capfd):
    from tests.conftest import FIXTURES

    assert main(["assess", str(FIXTURES / "demo_estate.geojson"), "-q"]) == 0
    out, err = capfd.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(tuple("0123456789")), out
    assert "findings" in lines[0] and "scores:" in lines[0]
    assert err == ""  # -q: no progress
