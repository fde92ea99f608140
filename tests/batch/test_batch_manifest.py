"""Manifests: CSV and TOML reading, and clear errors before any site runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safespace.batch import ManifestError, read_manifest, run, site_dir
from safespace.batch.manifest import check_site_id
from safespace.cli import main
from tests.batch.conftest import write_site


def _csv(path: Path, *rows: str, header: str = "id,input,context,profile") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_csv_and_toml_resolve_paths_against_the_manifest_folder(tmp_path, monkeypatch):
    sub = tmp_path / "data"
    sub.mkdir()
    write_site(sub / "a.geojson", 2)
    write_site(sub / "ctx.geojson", 1)
    (sub / "p.toml").write_text('[profile]\nname = "mine"\n')
    m = _csv(
        tmp_path / "m.csv", "a,data/a.geojson,data/ctx.geojson,data/p.toml", "b,data/a.geojson,,"
    )
    monkeypatch.chdir(sub)  # the working folder must not matter
    specs = read_manifest(m)
    assert [s.id for s in specs] == ["a", "b"]
    assert specs[0].input == str(sub / "a.geojson")
    assert specs[0].context == str(sub / "ctx.geojson")
    assert specs[0].profile == str(sub / "p.toml")
    assert specs[1].context is None and specs[1].profile is None

    t = tmp_path / "m.toml"
    t.write_text('[[site]]\nid = "a"\ninput = "data/a.geojson"\nprofile = "default"\n')
    (spec,) = read_manifest(t)
    assert (spec.id, spec.input, spec.profile) == ("a", str(sub / "a.geojson"), "default")


@pytest.mark.parametrize(
    "site_id",
    ["../../etc", "/etc/passwd", "a/b", "a\\b", "", ".hidden", "..", ".", "sp ace", "summary.csv"],
)
def test_unsafe_site_ids_are_refused_naming_file_and_row(tmp_path, site_id):
    write_site(tmp_path / "a.geojson", 1)
    m = _csv(tmp_path / "m.csv", "ok,a.geojson,,", f'"{site_id}",a.geojson,,')
    with pytest.raises(ManifestError) as err:
        read_manifest(m)
    text = str(err.value)
    assert str(m) in text and "row 3" in text
    assert err.value.row == "row 3"


def test_missing_input_unknown_profile_duplicate_id(tmp_path):
    write_site(tmp_path / "a.geojson", 1)
    m = _csv(tmp_path / "m.csv", "a,a.geojson,,", "b,nothere.geojson,,")
    with pytest.raises(ManifestError, match=r"row 3, site 'b': input file not found"):
        read_manifest(m)

    m = _csv(tmp_path / "m.csv", "a,a.geojson,,", "B,a.geojson,,", "a,a.geojson,,")
    with pytest.raises(
        ManifestError, match=r"row 4, site 'a': duplicate site id \(first used at row 2\)"
    ):
        read_manifest(m)
    m = _csv(tmp_path / "m.csv", "a,a.geojson,,", "A,a.geojson,,")
    with pytest.raises(ManifestError, match="duplicate"):  # folders may be case-insensitive
        read_manifest(m)

    m = _csv(tmp_path / "m.csv", "a,a.geojson,,", "b,a.geojson,,no_such_profile")
    with pytest.raises(
        ManifestError, match=r"site 'b'.*no built-in profile named 'no_such_profile'"
    ):
        run(m, outdir=tmp_path / "out", executor="inline")
    assert not (tmp_path / "out" / "a").exists()  # checked before any site ran


def test_unknown_column_and_bad_toml(tmp_path):
    write_site(tmp_path / "a.geojson", 1)
    m = _csv(tmp_path / "m.csv", "a,a.geojson", header="id,path")
    with pytest.raises(ManifestError, match="header must name id and input"):
        read_manifest(m)
    t = tmp_path / "m.toml"
    t.write_text('[[site]]\nid = "a"\ninput = "a.geojson"\nbogus = 1\n')
    with pytest.raises(ManifestError, match=r"site #1.*unknown key\(s\) \['bogus'\]"):
        read_manifest(t)
    with pytest.raises(ManifestError, match="manifest not found"):
        read_manifest(tmp_path / "nope.csv")


def test_cli_manifest_error_exits_2_with_a_clear_message(tmp_path, capsys):
    write_site(tmp_path / "a.geojson", 1)
    m = _csv(tmp_path / "m.csv", "../../etc,a.geojson,,")
    assert main(["batch", str(m), "-o", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "unsafe site id '../../etc'" in err and str(m) in err and "Traceback" not in err


def test_site_dir_refuses_a_symlink_out_of_outdir(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    os.symlink(elsewhere, out / "site1")
    with pytest.raises(ManifestError, match="outside the output directory"):
        site_dir(out, "site1")
    assert site_dir(out, "site2") == out.resolve() / "site2"


@given(st.text(max_size=20))
def test_any_accepted_id_is_a_direct_child_of_outdir(site_id):
    outdir = Path("/tmp/safespace-outdir-property")
    if check_site_id(site_id) is not None:
        with pytest.raises(ManifestError):
            site_dir(outdir, site_id)
        return
    path = site_dir(outdir, site_id)
    assert path.parent == outdir.resolve()
    assert os.path.normpath(path) == str(path) and path.name == site_id
