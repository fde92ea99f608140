"""PostGIS in and out against a real server (the ``pg_server`` fixture in conftest.py)."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely

import safespace
from safespace.errors import InputError
from safespace.io.sources import read_source
from tests.conftest import FIXTURES

DEMO = FIXTURES / "demo_estate.geojson"

sa = pytest.importorskip("sqlalchemy", reason="the postgis extra is not installed")


def _put_features(engine, table: str, crs=None, *, schema: str = "public", split=False) -> None:
    """The demo estate's raw features as a table: ``id``, ``tags`` (jsonb), ``geometry``.

    With ``split``, ``building`` and ``highway`` are ordinary columns and the other tags an
    hstore column: the two other ways a GIS team keeps OSM tags.
    """
    raw = read_source(DEMO).features
    if crs is not None:
        raw = raw.to_crs(crs)
    srid = raw.crs.to_epsg()
    rows = []
    for fid, tags, geom in zip(raw["fid"], raw["tags"], raw.geometry.values, strict=True):
        row = {"id": fid, "wkb": shapely.to_wkb(geom)}
        if split:
            rest = {k: v for k, v in tags.items() if k not in ("building", "highway")}
            row.update(building=tags.get("building"), highway=tags.get("highway"),
                       keys=list(rest), vals=list(rest.values()))  # fmt: skip
        else:
            row["tags"] = json.dumps(tags)
        rows.append(row)
    name = f'"{schema}"."{table}"'
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
        if split:
            conn.execute(sa.text(f"CREATE TABLE {name} (id text, building text, highway text, "
                                 f"tags hstore, geometry geometry(Geometry, {srid}))"))  # fmt: skip
            conn.execute(
                sa.text(f"INSERT INTO {name} VALUES (:id, :building, :highway, "
                        f"hstore(CAST(:keys AS text[]), CAST(:vals AS text[])), "
                        f"ST_GeomFromWKB(:wkb, {srid}))"),
                rows,
            )  # fmt: skip
        else:
            conn.execute(sa.text(f"CREATE TABLE {name} (id text, tags jsonb, "
                                 f"geometry geometry(Geometry, {srid}))"))  # fmt: skip
            conn.execute(
                sa.text(f"INSERT INTO {name} VALUES (:id, CAST(:tags AS jsonb), "
                        f"ST_GeomFromWKB(:wkb, {srid}))"),
                rows,
            )  # fmt: skip


def _comparable(assessment) -> list[tuple]:
    """Each finding's content; the source's name in input-check messages made neutral."""
    label = next(i["label"] for i in assessment.provenance["inputs"] if i["role"] == "proposal")
    return [
        (
            f.rule_id,
            f.severity,
            f.title,
            f.message.replace(label, "<source>"),
            f.issue_id,
            f.geometry.wkt if f.geometry else "",
        )  # fmt: skip
        for f in assessment.findings
    ]


@pytest.fixture(scope="module")
def from_file():
    return safespace.assess(DEMO)


def test_demo_estate_through_postgis_gives_the_same_findings(pg_server, pg_engine, from_file):
    _put_features(pg_engine, "demo_estate")
    url = pg_server.url(table="public.demo_estate")
    result = safespace.assess(url)
    assert len(result.findings) == len(from_file.findings) > 10
    assert _comparable(result) == _comparable(from_file)
    assert [s.value for s in result.scores.values()] == [s.value for s in from_file.scores.values()]
    # provenance: database, schema and table, a hash of the rows; no credentials
    (proposal,) = [i for i in result.provenance["inputs"] if i["role"] == "proposal"]
    assert proposal["label"] == (
        f"postgresql://127.0.0.1:{pg_server.port}/gis?table=public.demo_estate"
    )
    assert len(proposal["sha256"]) == 64
    text = json.dumps(result.provenance) + "".join(str(n) for n in result.notes)
    assert pg_server.password not in text and "postgres@" not in text

    # ... and out again: one run, the findings in the source SRID (4326), same geometry
    run_id = result.to_postgis(pg_server.url(), schema="reviews", prefix="demo_")
    with pg_engine.connect() as conn:
        n = conn.execute(
            sa.text("SELECT count(*) FROM reviews.demo_findings WHERE run_id = :r"), {"r": run_id}
        ).scalar()
        srid = conn.execute(sa.text("SELECT Find_SRID('reviews', 'demo_findings', 'geom')"))
        back = gpd.read_postgis(
            sa.text("SELECT rule_id, severity, geom FROM reviews.demo_findings WHERE run_id = :r "
                    "ORDER BY finding_id"),
            conn, geom_col="geom", params={"r": run_id},
        )  # fmt: skip
        indexes = {
            row[0]
            for row in conn.execute(
                sa.text("SELECT indexdef FROM pg_indexes WHERE schemaname = 'reviews' "
                        "AND tablename = 'demo_findings'")
            )
        }  # fmt: skip
        issues = conn.execute(
            sa.text("SELECT count(*) FROM reviews.demo_issues WHERE run_id = :r"), {"r": run_id}
        ).scalar()
        scores = conn.execute(
            sa.text("SELECT area, value FROM reviews.demo_scores WHERE run_id = :r"),
            {"r": run_id},
        ).all()
    assert n == len(from_file.findings)
    assert srid.scalar() == 4326
    assert any("USING gist (geom)" in d for d in indexes)
    assert issues == len(from_file.issues) > 0
    assert dict(scores) == {a: s.value for a, s in from_file.scores.items()}
    expected = from_file.to_geodataframe(crs=4326).sort_values("finding_id")
    located = expected.geometry.notna().to_numpy()
    assert shapely.equals_exact(
        back.geometry.values[located], expected.geometry.values[located], tolerance=1e-9
    ).all()

    # a second run shares the tables
    again = result.to_postgis(pg_server.url(schema="reviews", prefix="demo_"))
    assert again != run_id
    with pg_engine.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM reviews.demo_findings")).scalar()
    assert total == 2 * len(from_file.findings)


def test_ordinary_columns_and_hstore_tags_read_the_same(pg_server, pg_engine, from_file):
    _put_features(pg_engine, "demo_split", split=True)
    result = safespace.assess(pg_server.url(table="demo_split"))
    assert _comparable(result) == _comparable(from_file)


def test_a_query_and_a_table_per_layer(pg_server, pg_engine):
    from safespace.io.postgis import PostGISSource

    _put_features(pg_engine, "demo_estate")
    query = "SELECT id, tags, geometry FROM public.demo_estate WHERE tags ? 'building'"
    raw = read_source(PostGISSource(pg_server.url(), query=query))
    n_buildings = sum("building" in t for t in read_source(DEMO).features["tags"])
    assert len(raw.features) == n_buildings > 5
    assert "?query=sha256:" in raw.label

    # one table per layer: features without the layer's tag are read as members of it
    with pg_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS plan_lamps"))
        conn.execute(
            sa.text("CREATE TABLE plan_lamps AS SELECT id, geometry FROM demo_estate "
                    "WHERE tags->>'highway' = 'street_lamp'")
        )  # fmt: skip
    layout = safespace.load(
        PostGISSource(pg_server.url(), layers={"lamps": "plan_lamps", "buildings": query})
    )
    assert len(layout.lamps) > 0
    # the file's layout after merging its planted duplicate building
    assert len(layout.buildings) == len(safespace.load(DEMO).buildings) == n_buildings - 1
    assert all(f.startswith("plan_lamps/") for f in layout.lamps["fid"])


def test_british_national_grid_keeps_srid_27700(pg_server, pg_engine):
    _put_features(pg_engine, "demo_bng", crs=27700)
    result = safespace.assess(pg_server.url(table="demo_bng"))
    assert result.layout.source_crs.to_epsg() == 27700
    run_id = result.to_postgis(pg_server.url(), prefix="bng_")
    with pg_engine.connect() as conn:
        for table in ("bng_findings", "bng_issues", "bng_scores"):
            srid = conn.execute(sa.text(f"SELECT Find_SRID('public', '{table}', 'geom')"))
            assert srid.scalar() == 27700
        rows = conn.execute(
            sa.text("SELECT DISTINCT ST_SRID(geom) FROM bng_findings WHERE run_id = :r "
                    "AND geom IS NOT NULL"), {"r": run_id},
        ).all()  # fmt: skip
        x, y = conn.execute(
            sa.text("SELECT ST_X(ST_Centroid(ST_Collect(geom))), "
                    "ST_Y(ST_Centroid(ST_Collect(geom))) FROM bng_findings WHERE run_id = :r"),
            {"r": run_id},
        ).one()  # fmt: skip
    assert rows == [(27700,)]
    # Orchard Fields lies near Cambridge: about E 545,000 N 258,000 on the National Grid
    assert 530_000 < x < 560_000 and 245_000 < y < 270_000
    # a table that holds 27700 refuses a 4326 run rather than mixing SRIDs
    other = safespace.assess(DEMO)
    with pytest.raises(InputError, match="holds SRID 27700"):
        other.to_postgis(pg_server.url(), prefix="bng_")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"schema": 'public"; DROP TABLE demo_estate; --'},
        {"prefix": "x; DROP TABLE demo_estate; --"},
        {"schema": "public.other"},
        {"prefix": "1abc"},
    ],
)
def test_injection_in_schema_or_prefix_is_refused(pg_server, pg_engine, from_file, kwargs):
    _put_features(pg_engine, "demo_estate")
    with pytest.raises(InputError, match="refused"):
        from_file.to_postgis(pg_server.url(), **kwargs)
    with pg_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT to_regclass('public.demo_estate')")).scalar()


@pytest.mark.parametrize(
    "table",
    ['demo_estate"; DROP TABLE demo_estate; --', "public.demo_estate;DELETE", "a.b.c", "x y"],
)
def test_injection_in_a_table_name_is_refused(pg_server, pg_engine, table):
    _put_features(pg_engine, "demo_estate")
    with pytest.raises(InputError, match="refused table name"):
        safespace.load(pg_server.url(table=table))
    with pg_engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM public.demo_estate")).scalar() > 0


def test_wrong_password_is_a_clear_error_without_the_password(pg_server, capsys):
    wrong = "Wr0ng-pa55word-xyz"
    with pytest.raises(InputError) as info:
        safespace.load(pg_server.url(password=wrong, table="demo_estate"))
    text = str(info.value)
    assert "password authentication failed" in text
    assert f"127.0.0.1:{pg_server.port}/gis" in text
    assert wrong not in text and pg_server.password not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__

    # the command line says the same, exit 2, and never echoes it on stderr
    from safespace.cli import main

    assert main(["assess", pg_server.url(password=wrong, table="demo_estate")]) == 2
    err = capsys.readouterr().err
    assert "password authentication failed" in err and wrong not in err


def test_credentials_from_pgpassword_and_pgpass(pg_server, pg_engine, tmp_path, monkeypatch):
    _put_features(pg_engine, "demo_estate")
    bare = f"postgresql://{pg_server.user}@127.0.0.1:{pg_server.port}/gis?table=demo_estate"
    monkeypatch.setenv("PGPASSWORD", pg_server.password)
    assert len(read_source(bare).features) > 0
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"127.0.0.1:{pg_server.port}:gis:{pg_server.user}:{pg_server.password}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    assert len(read_source(bare).features) > 0
    # host, port and database from PG* variables too
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(pg_server.port))
    monkeypatch.setenv("PGDATABASE", "gis")
    monkeypatch.setenv("PGUSER", pg_server.user)
    raw = read_source("postgresql://?table=demo_estate")
    assert raw.label == f"postgresql://127.0.0.1:{pg_server.port}/gis?table=public.demo_estate"


def test_context_and_boundary_from_postgis_keep_credentials_out(pg_server, pg_engine):
    _put_features(pg_engine, "demo_estate")
    site = "SELECT id, geometry FROM demo_estate WHERE tags->>'safespace:role' = 'site'"
    others = "SELECT * FROM demo_estate WHERE tags ? 'highway'"
    layout = safespace.load(
        DEMO, boundary=pg_server.url(query=site), context=pg_server.url(query=others)
    )
    roles = {i["role"]: i["label"] for i in layout.inputs}
    assert roles["boundary"].startswith(f"postgresql://127.0.0.1:{pg_server.port}/gis?query=")
    assert roles["context"].startswith(f"postgresql://127.0.0.1:{pg_server.port}/gis?query=")
    assert len(layout.boundary) == 1
    assert pg_server.password not in json.dumps(layout.inputs) + str(layout.notes)


def test_missing_table_and_no_geometry_name_the_table(pg_server, pg_engine):
    with pytest.raises(InputError, match=r"table=public\.nothing_here: no such table"):
        safespace.load(pg_server.url(table="nothing_here"))
    with pg_engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS plain; CREATE TABLE plain (id int)"))
    with pytest.raises(InputError, match=r"table=public\.plain: no geometry column"):
        safespace.load(pg_server.url(table="plain"))


def test_cli_assess_writes_to_postgis(pg_server, pg_engine, capsys, from_file):
    from safespace.cli import main

    url = pg_server.url(schema="cli", prefix="cli_")
    assert main(["assess", str(DEMO), "-q", "-o", url]) == 0
    captured = capsys.readouterr()
    assert pg_server.password not in captured.out + captured.err
    with pg_engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM cli.cli_findings")).scalar()
        runs = conn.execute(sa.text("SELECT count(*) FROM cli.cli_runs")).scalar()
    assert n == len(from_file.findings) and runs == 1


def test_cli_validate_and_compare_never_print_the_password(pg_server, pg_engine, capsys):
    from safespace.cli import main

    _put_features(pg_engine, "demo_estate")
    url = pg_server.url(table="demo_estate")
    main(["validate", url])
    main(["compare", str(FIXTURES / "demo_existing.geojson"), url])
    captured = capsys.readouterr()
    assert f"postgresql://127.0.0.1:{pg_server.port}/gis: buildings 47" in captured.out
    assert "findings" in captured.out.splitlines()[-1]
    assert pg_server.password not in captured.out + captured.err
    assert "postgres@" not in captured.out + captured.err
