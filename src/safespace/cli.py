"""The ``safespace`` command.

Exit codes: 0 ok; 1 findings at or above ``--fail-on`` (or, with ``--strict``, a rule
failed); 2 usage or input error.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from safespace._version import __version__
from safespace.errors import SafespaceError
from safespace.findings import SEVERITIES, severity_rank

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Progress:
    """Progress messages on stderr (never on stdout, which carries the summary)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(
                f"[{time.perf_counter() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True
            )


def _limit_options(p: argparse.ArgumentParser) -> None:
    """The resource limits of :mod:`safespace.limits` (defaults in docs/reliability.md)."""
    p.add_argument("--max-features", type=int, metavar="N", help="most features in one input")
    p.add_argument(
        "--max-area-km2", type=float, metavar="KM2", help="largest area the data may cover"
    )
    p.add_argument(
        "--max-analysis-points", type=int, metavar="N", help="most points in one analysis grid"
    )


def _limits(args) -> dict:
    given = {
        "max_features": args.max_features,
        "max_area_km2": args.max_area_km2,
        "max_analysis_points": args.max_analysis_points,
    }
    return {k: v for k, v in given.items() if v is not None}


def _executor_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers", type=int, help="worker processes (default: all cores; 1 runs in-process)"
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on Dask: a scheduler address tcp://host:port, or 'local' for a LocalCluster",
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="safespace",
        description="Assess public-space designs for safety: sightlines, lighting, "
        "permeability and access to police premises.",
        epilog="Exit codes: 0 ok; 1 findings at or above --fail-on, or a rule failed with "
        "--strict; 2 usage or input error.",
    )
    p.add_argument("--version", action="version", version=f"safespace {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    a = sub.add_parser(
        "assess",
        help="assess a layout and write findings",
        description="Assess a layout (GeoJSON, .osm/.osm.pbf/.osm.bz2/.osm.gz, "
        ".gpkg) and write its findings.",
    )
    a.add_argument("path", help="the layout to assess")
    a.add_argument("--context", help="the existing area the proposal sits in")
    a.add_argument("--boundary", help="the site boundary (a polygon file)")
    a.add_argument("--police", help="police premises outside the layout (points or polygons)")
    a.add_argument(
        "--incidents",
        nargs="+",
        metavar="PATH",
        help="recorded crime: data.police.uk street CSVs, incident tables or folders of them "
        "(see docs/crime.md)",
    )
    a.add_argument(
        "--complete",
        metavar="LAYERS",
        help="layers of the input that are complete, e.g. lamps,emergency_phones,police,"
        "entrances ('all' or 'none'); default: an OSM extract is partial, a drawing complete "
        "(see docs/data.md)",
    )
    a.add_argument(
        "--profile",
        default="default",
        help="a built-in profile name or a TOML file (default: %(default)s)",
    )
    a.add_argument("--rules", help="comma-separated rule ids or prefixes, e.g. SL,LT001")
    a.add_argument(
        "-o",
        "--output",
        action="append",
        help="output file (format from the extension), or a PostGIS address postgresql://...; "
        "repeat for several outputs of one run",
    )
    a.add_argument(
        "--format",
        choices=["geojson", "gpkg", "csv", "json", "html", "docx", "md"],
        help="output format, when the extension does not say",
    )
    a.add_argument(
        "--position",
        choices=["objection", "subject to conditions", "no objection"],
        help="the officer's overall position, overriding the derived one (.html/.docx/.md)",
    )
    a.add_argument("--crs", help="metric CRS to work in (default: UTM of the data)")
    a.add_argument(
        "--fail-on", choices=SEVERITIES, help="exit 1 when a finding is at or above this severity"
    )
    a.add_argument("--strict", action="store_true", help="exit 1 when any rule failed")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    a.add_argument(
        "--tile",
        type=float,
        metavar="SIZE_M",
        help="assess a large area in square tiles of this side (metres), in parallel",
    )
    a.add_argument(
        "--tile-margin",
        type=float,
        metavar="M",
        help="overlap around each tile (default: the profile's longest reach, at least 200 m)",
    )
    _limit_options(a)
    _executor_options(a)

    b = sub.add_parser(
        "batch",
        help="assess many sites listed in a manifest",
        description="Assess every site of a manifest (CSV or TOML: id, input, context, "
        "profile, incidents) into OUTDIR/<id>/, with a summary.csv and index.html. Exit 0 when every "
        "site succeeded, 1 when any failed, 2 on a usage or manifest error.",
    )
    b.add_argument("manifest", help="the manifest (.csv or .toml)")
    b.add_argument(
        "-o",
        "--outdir",
        required=True,
        help="output directory, or a PostGIS address postgresql://... (see docs/gis.md)",
    )
    b.add_argument("--resume", action="store_true", help="skip sites already completed")
    b.add_argument(
        "--format",
        action="append",
        help="output formats, comma-separated or repeated: geojson, json, html "
        "(default: all; html once the report module is installed)",
    )
    b.add_argument(
        "--profile", default="default", help="profile of sites that name none (default: default)"
    )
    b.add_argument(
        "--incidents",
        nargs="+",
        metavar="PATH",
        help="recorded crime for every site that names none in the manifest: data.police.uk "
        "street CSVs, incident tables or folders of them (see docs/crime.md)",
    )
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar on stderr")
    _executor_options(b)

    c = sub.add_parser(
        "compare",
        help="compare a proposal with the existing situation",
        description="Findings new in AFTER, resolved from BEFORE, and unchanged.",
    )
    c.add_argument("before")
    c.add_argument("after")
    c.add_argument("--profile", default="default")
    c.add_argument("--context", help="context for both layouts")
    c.add_argument(
        "-o", "--output", action="append", help="output file (.geojson or .html); repeatable"
    )
    c.add_argument("-q", "--quiet", action="store_true")

    r = sub.add_parser(
        "rules",
        help="list the rules a profile runs",
        description="List rules: id, title, area, parameters, references.",
    )
    r.add_argument("--profile", default="default")

    e = sub.add_parser(
        "evaluate",
        help="evaluate a test area against a control: WDQ and WDD per crime category",
        description="Count incidents in a treated area, its buffer, a control area and the "
        "control's buffer before and after, and print per crime category the weighted "
        "displacement quotient, success measure and total net effect (Bowers & Johnson 2003) "
        "and the weighted displacement difference with its standard error, z and 95% CI "
        "(Wheeler & Ratcliffe 2018). See docs/evaluation.md.",
    )
    e.add_argument("--treated", required=True, help="the treated area (a polygon file)")
    e.add_argument(
        "--control",
        required=True,
        help="the control area (a polygon file), or 'matched': street segments of --network "
        "matched 1:1 to the treated area's on their before-period incidents",
    )
    e.add_argument(
        "--network",
        help="with --control matched: the streets to match (a layout file, e.g. an OSM extract)",
    )
    e.add_argument(
        "--snap-m",
        type=float,
        default=50.0,
        help="with --control matched: an incident's segment is its nearest within this "
        "distance (default: %(default)s m)",
    )
    e.add_argument(
        "--buffer", help="the treated area's buffer: a ring width in metres (200) or a polygon file"
    )
    e.add_argument(
        "--control-buffer",
        help="the control's buffer for the WDD: metres or a polygon file (default: as --buffer "
        "when that is a width)",
    )
    e.add_argument("--before", required=True, help="month 2016-07, range 2016-01..2016-06, or a,b")
    e.add_argument("--after", required=True, help="as --before")
    e.add_argument("--incidents", required=True, nargs="+", metavar="PATH", help="incident files")
    e.add_argument("--categories", help="comma-separated categories to report (default: all)")
    e.add_argument("--crs", help="CRS of inputs that declare none")
    e.add_argument("-o", "--output", help="write the table (.csv) or the report (.html)")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    e.set_defaults(handler=_cmd_evaluate)

    from safespace._cli_siting import add_parser as _add_siting

    _add_siting(sub)  # safespace site-police (used by the QGIS plugin)

    v = sub.add_parser(
        "validate",
        help="read and repair a layout; list input problems",
        description="Read a layout, repair what can be repaired, and list every "
        "input note. Exit 1 when there are warnings.",
    )
    v.add_argument("path")
    v.add_argument("--context")
    return p


def _cmd_assess(args) -> int:
    import safespace

    progress = _Progress(args.quiet)
    from safespace.io._pgurl import redact

    progress(f"reading {redact(args.path)}")  # a database address without its credentials
    layout = safespace.load(
        args.path,
        context=args.context,
        crs=args.crs,
        boundary=args.boundary,
        police=args.police,
        complete=args.complete,
        incidents=args.incidents,
        limits=_limits(args),
    )
    progress(f"read {layout!r}")
    rules = [r for r in args.rules.split(",") if r] if args.rules else None
    if args.tile is not None:
        from safespace.batch import assess_tiled

        progress(f"assessing in {args.tile:g} m tiles")
        result = assess_tiled(
            layout,
            tile_m=args.tile,
            margin_m=args.tile_margin,
            profile=args.profile,
            rules=rules,
            executor=_executor_name(args),
            workers=args.workers,
            scheduler=args.scheduler,
        )
        tiling = result.provenance["tiling"]
        progress(f"{tiling['tiles_assessed']} tiles, margin {tiling['margin_m']:g} m")
    else:
        result = safespace.assess(
            layout, profile=args.profile, rules=rules, progress=progress, limits=_limits(args)
        )
    if args.output:
        for output in args.output:
            out = result.write(output, args.format, position=args.position)
            progress(f"wrote {out}")
    elif args.format:
        raise SafespaceError("--format needs -o/--output")
    for failure in result.failures:
        print(f"rule {failure.rule_id} failed: {failure.error}: {failure.message}", file=sys.stderr)
    print(result.summary_line())
    if args.strict and result.failures:
        return EXIT_FINDINGS
    if args.fail_on:
        worst = result.worst_severity()
        if worst is not None and severity_rank(worst) >= severity_rank(args.fail_on):
            return EXIT_FINDINGS
    return EXIT_OK


def _executor_name(args) -> str:
    if args.scheduler:
        return "dask"
    return "inline" if args.workers == 1 else "process"


def _cmd_batch(args) -> int:
    from safespace.batch import DEFAULT_FORMATS, run

    if args.workers is not None and args.workers < 1:
        raise SafespaceError("--workers must be at least 1")
    formats = ",".join(args.format) if args.format else DEFAULT_FORMATS
    summary = run(
        args.manifest,
        outdir=args.outdir,
        executor=_executor_name(args),
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        formats=formats,
        profile=args.profile,
        progress=not args.quiet,
        incidents=args.incidents,
    )
    failed = summary[summary["status"] != "ok"]
    for row in failed.itertuples():
        print(f"site {row.site_id} failed: {row.error}", file=sys.stderr)
    resumed = int(summary["resumed"].sum())
    from safespace.io._pgurl import is_postgis_url, redact

    where = (
        f"runs in {redact(args.outdir)}"  # a PostGIS batch: its runs table is the summary
        if is_postgis_url(args.outdir)
        else f"summary in {Path(args.outdir) / 'summary.csv'}"
    )
    print(
        f"{len(summary)} sites: {len(summary) - len(failed)} ok ({resumed} already done), "
        f"{len(failed)} failed; {where}"
    )
    return EXIT_FINDINGS if len(failed) else EXIT_OK


def _cmd_compare(args) -> int:
    import safespace

    progress = _Progress(args.quiet)
    from safespace.io._pgurl import redact

    progress(f"assessing {redact(args.before)}")  # database addresses without credentials
    before = safespace.assess(args.before, profile=args.profile, context=args.context)
    progress(f"assessing {redact(args.after)}")
    after = safespace.assess(args.after, profile=args.profile, context=args.context)
    comparison = safespace.compare(before, after)
    for output in args.output or ():
        suffix = Path(output).suffix.lower()
        if suffix in (".html", ".htm"):
            comparison.to_html(output)
        elif suffix in (".geojson", ".json"):
            comparison.to_geojson(output)
        else:
            raise SafespaceError(f"compare writes .geojson or .html, not {suffix!r}")
        progress(f"wrote {output}")
    print(comparison.summary_line())
    return EXIT_OK


def _cmd_rules(args) -> int:
    from safespace.rules.engine import discover_rules
    from safespace.rules.profiles import load_profile

    registry = discover_rules()
    profile = load_profile(args.profile, registry)
    for rid in profile.rule_ids:
        r = registry[rid]
        print(f"{r.id}  {r.title}  [{r.area}]" + (f"  view: {r.view}" if r.view else ""))
        for name, param in r.all_params.items():
            value = profile.params[rid][name]
            unit = f" {param.unit}" if param.unit else ""
            print(
                f"    {name} = {value!r}{unit}  — {profile.sources[rid].get(name) or 'no source'}"
            )
        for ref in r.references:
            print(f"    ref: {ref}")
    print(f"{len(profile.rule_ids)} rules in profile {profile.name}")
    return EXIT_OK


def _cmd_evaluate(args) -> int:
    from safespace.evaluation import evaluate, format_table

    progress = _Progress(args.quiet)

    def months(text: str) -> list[str]:
        return [m.strip() for m in text.split(",") if m.strip()]

    control = args.control
    if control == "matched":
        from safespace.evaluation import MatchedSegments

        if not args.network:
            raise SafespaceError("--control matched needs --network (the streets to match)")
        control = MatchedSegments(args.network, snap_m=args.snap_m)
    elif args.network:
        raise SafespaceError("--network is used with --control matched only")
    progress(f"counting {', '.join(args.incidents)}")
    table = evaluate(
        args.treated,
        control,
        buffer=args.buffer,
        control_buffer=args.control_buffer,
        before=months(args.before),
        after=months(args.after),
        incidents=args.incidents,
        categories=months(args.categories) if args.categories else None,
        crs=args.crs,
    )
    if args.output:
        suffix = Path(args.output).suffix.lower()
        if suffix in (".html", ".htm"):
            from safespace.report import write_evaluation_html

            write_evaluation_html(table, args.output)
        elif suffix == ".csv":
            from safespace.io.writers import _atomic_write

            _atomic_write(Path(args.output), table.to_csv(index=False, lineterminator="\n"))
        else:
            raise SafespaceError(f"evaluate writes .csv or .html, not {suffix!r}")
        progress(f"wrote {args.output}")
    a = table.attrs
    print(
        f"before {', '.join(a['before'])} · after {', '.join(a['after'])} · working CRS "
        f"{a['crs']} · T treated, B buffer, C control, CB control buffer (before→after)"
    )
    print(format_table(table))
    for note in a["notes"]:
        print(f"note: {note}")
    return EXIT_OK


def _cmd_validate(args) -> int:
    import safespace

    layout = safespace.load(args.path, context=args.context)
    for note in layout.notes:
        print(note)
    counts = ", ".join(f"{k} {v}" for k, v in layout.summary().items() if v)
    warnings = sum(n.level != "info" for n in layout.notes)
    print(
        f"{_redact(args.path)}: {counts}; {len(layout.notes)} note(s), {warnings} warning(s); "
        f"working CRS {layout.crs.to_string()}"
    )
    return EXIT_FINDINGS if warnings else EXIT_OK


def _redact(source: str) -> str:
    """A source as it may be printed: a database address loses its credentials."""
    from safespace.io._pgurl import redact

    return redact(source)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    handlers = {
        "assess": _cmd_assess,
        "batch": _cmd_batch,
        "compare": _cmd_compare,
        "rules": _cmd_rules,
        "validate": _cmd_validate,
    }
    extra = getattr(args, "handler", None)
    try:
        return (extra or handlers[args.command])(args)
    except SafespaceError as exc:
        print(f"safespace: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
