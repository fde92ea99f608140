"""Recorded crime in batch and tiled runs: a manifest's ``incidents``, ``batch --incidents``,
resume that sees a change of crime data, and tiles that weigh issues as an untiled run does."""

from __future__ import annotations

import json
import shutil

import pytest

import safespace
from safespace.batch import assess_tiled, read_manifest, run
from safespace.batch.manifest import ManifestError
from safespace.cli import main
from tests.conftest import FIXTURES

ESTATE = FIXTURES / "demo_estate.geojson"
INCIDENTS = FIXTURES / "demo_incidents.csv"
RULES = ["CR", "PM"]  # the crime context and the rear-route rule, quick enough for a batch


def _profile():
    # a batch runs a whole profile: keep it to the rules these tests read
    prof = safespace.load_profile("default")
    ids = [r for r in prof.rule_ids if r.startswith(tuple(RULES))]
    return type(prof)(**{**prof.__dict__, "rule_ids": ids})


def _site_findings(outdir, site):
    doc = json.loads((outdir / site / "assessment.json").read_text())
    return doc


def test_manifest_incidents_column_resolves_and_checks_paths(tmp_path):
    shutil.copy(ESTATE, tmp_path / "estate.geojson")
    shutil.copy(INCIDENTS, tmp_path / "crime.csv")
    (tmp_path / "m.csv").write_text(
        "id,input,incidents\nwith,estate.geojson,crime.csv\nwithout,estate.geojson,\n"
    )
    specs = read_manifest(tmp_path / "m.csv")
    assert specs[0].incidents == (str((tmp_path / "crime.csv").absolute()),)
    assert specs[1].incidents is None
    (tmp_path / "bad.toml").write_text(
        '[[site]]\nid = "a"\ninput = "estate.geojson"\nincidents = ["crime.csv", "gone.csv"]\n'
    )
    with pytest.raises(ManifestError, match=r"site #1.*incidents file or folder not found.*gone"):
        read_manifest(tmp_path / "bad.toml")


def test_batch_with_incidents_per_site_and_by_default(tmp_path):
    shutil.copy(ESTATE, tmp_path / "estate.geojson")
    shutil.copy(INCIDENTS, tmp_path / "crime.csv")
    sites = [
        {"id": "own", "input": str(tmp_path / "estate.geojson"), "incidents": "crime.csv"},
        {"id": "default", "input": str(tmp_path / "estate.geojson")},
    ]
    # the site list's relative paths are against the working folder
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        out = tmp_path / "out"
        frame = run(sites, outdir=out, executor="inline", formats="json", profile=_profile())
        assert list(frame["status"]) == ["ok", "ok"]
        own = _site_findings(out, "own")
        plain = _site_findings(out, "default")
        cr_own = [f for f in own["findings"] if f["rule_id"].startswith("CR")]
        assert cr_own and not [f for f in plain["findings"] if f["rule_id"].startswith("CR")]
        roles = [i["role"] for i in own["provenance"]["inputs"]]
        assert roles.count("incidents") == 1
        # the batch-wide default reaches the site that names none
        out2 = tmp_path / "out2"
        run(sites, outdir=out2, executor="inline", formats="json", profile=_profile(),
            incidents=[str(INCIDENTS)])  # fmt: skip
        got = _site_findings(out2, "default")
        assert [f["message"] for f in got["findings"] if f["rule_id"].startswith("CR")] == [
            f["message"] for f in cr_own
        ]


def test_resume_reruns_a_site_whose_crime_data_changed(tmp_path):
    shutil.copy(ESTATE, tmp_path / "estate.geojson")
    crime = tmp_path / "crime.csv"
    shutil.copy(INCIDENTS, crime)
    sites = [{"id": "s", "input": str(tmp_path / "estate.geojson"), "incidents": str(crime)}]
    out = tmp_path / "out"
    kw = dict(outdir=out, executor="inline", formats="json", profile=_profile())
    run(sites, **kw)
    again = run(sites, resume=True, **kw)
    assert bool(again["resumed"].iloc[0])  # same files: skipped
    lines = crime.read_text().splitlines()
    crime.write_text("\n".join(lines[:-20]) + "\n")  # 20 fewer records
    changed = run(sites, resume=True, **kw)
    assert not bool(changed["resumed"].iloc[0]) and changed["status"].iloc[0] == "ok"


def test_cli_batch_incidents(tmp_path, capsys):
    shutil.copy(ESTATE, tmp_path / "estate.geojson")
    (tmp_path / "m.csv").write_text("id,input\na,estate.geojson\n")
    prof = tmp_path / "p.toml"
    off = [r for r in safespace.load_profile("default").rule_ids if not r.startswith("CR")]
    prof.write_text(
        '[profile]\nname = "crime only"\nextends = "default"\n'
        + "".join(f"[rules.{r}]\nenabled = false\n" for r in off)
    )
    rc = main(["batch", str(tmp_path / "m.csv"), "-o", str(tmp_path / "out"), "--format", "json",
               "--workers", "1", "-q", "--incidents", str(INCIDENTS), "--profile", str(prof)])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    doc = _site_findings(tmp_path / "out", "a")
    assert {f["rule_id"] for f in doc["findings"]} >= {"CR002", "CR003"}


def test_tiled_run_keeps_crime_context_and_weighs_issues_as_untiled():
    layout = safespace.load(ESTATE, incidents=INCIDENTS)
    untiled = safespace.assess(layout, rules=RULES)
    # 60 m tiles over a 200 m estate: several tiles, each seeing the whole estate (margin)
    tiled = assess_tiled(layout, tile_m=60, rules=RULES, executor="inline")
    assert tiled.provenance["tiling"]["tiles_assessed"] > 1
    cr = lambda a: sorted((f.rule_id, f.message) for f in a.findings if f.area == "crime")  # noqa: E731
    assert cr(tiled) and cr(tiled) == cr(untiled)  # once each, not once per tile
    # the design issues carry the same crime weight and evidence as untiled
    pri = lambda a: sorted((i.title, round(i.priority, 3)) for i in a.issues)  # noqa: E731
    assert pri(tiled) == pri(untiled)
    fp01 = next(i for i in tiled.issues if "fp01" in i.place)
    assert fp01.priority_terms["exposure"] > 1
    assert any("burglary 12" in e for e in fp01.evidence)
