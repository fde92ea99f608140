"""``safespace site-police``: choose where new neighbourhood police offices would serve most.

A thin command over :func:`safespace.analyses.siting.siting` (the exact MILP), so that
tools outside Python (the QGIS plugin in ``qgis/``) can run it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from safespace.errors import SafespaceError

OBJECTIVES = ("coverage", "median", "center")


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``site-police`` subcommand to the ``safespace`` command's subparsers."""
    s = sub.add_parser(
        "site-police",
        help="choose sites for new neighbourhood police offices",
        description="Choose K new police premises (existing ones kept open) that best serve "
        "the layout's homes: maximal coverage within --threshold-s, least total time "
        "(median) or least worst time (center), solved exactly (docs/police-access.md). "
        "Writes the chosen sites (and, to a .gpkg, the candidates considered).",
    )
    s.add_argument("path", help="the layout")
    s.add_argument("--context", help="the existing area the proposal sits in")
    s.add_argument("--police", help="police premises outside the layout")
    s.add_argument("-k", type=int, default=1, help="number of new premises (default: 1)")
    s.add_argument("--objective", choices=OBJECTIVES, default="coverage")
    s.add_argument("--mode", choices=("walk", "drive"), default="walk")
    s.add_argument(
        "--threshold-s", type=float, default=600.0, help="coverage threshold in seconds (600)"
    )
    s.add_argument(
        "--candidates", choices=("nodes", "frontages", "both"), default="nodes",
        help="where candidates are generated (default: network nodes)",
    )  # fmt: skip
    s.add_argument("--crs", help="metric CRS to work in (default: UTM of the data)")
    s.add_argument("-o", "--output", help="the chosen sites (.gpkg or .geojson)")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    s.set_defaults(handler=run)
    return s


def run(args) -> int:
    """Run ``site-police``; returns the exit code."""
    import safespace
    from safespace.analyses.siting import siting
    from safespace.cli import _Progress
    from safespace.io._pgurl import redact

    if args.k < 1:
        raise SafespaceError("-k must be at least 1")
    progress = _Progress(args.quiet)
    progress(f"reading {redact(args.path)}")
    layout = safespace.load(args.path, context=args.context, police=args.police, crs=args.crs)
    progress(f"siting {args.k} premises ({args.objective}, {args.mode})")
    result = siting(
        layout,
        args.k,
        args.objective,
        mode=args.mode,
        threshold_s=args.threshold_s,
        candidates=args.candidates,
    )
    chosen = result.chosen.assign(
        objective=result.objective,
        value=result.value,
        before=result.before,
        covered_before=result.covered_before,
        covered_after=result.covered_after,
        demands=result.demands,
    )
    if args.output:
        out = Path(args.output)
        suffix = out.suffix.lower()
        if suffix == ".gpkg":
            out.unlink(missing_ok=True)
            chosen.to_file(out, layer="chosen", driver="GPKG", engine="pyogrio")
            result.candidates.to_file(out, layer="candidates", driver="GPKG", engine="pyogrio")
        elif suffix in (".geojson", ".json"):
            chosen.to_crs(4326).to_file(out, driver="GeoJSON", engine="pyogrio")
        else:
            raise SafespaceError(f"site-police writes .gpkg or .geojson, not {suffix!r}")
        progress(f"wrote {out}")
    print(
        f"{len(result.chosen)} site(s) chosen ({result.objective}): homes within "
        f"{result.threshold_s:g} s {result.covered_before} -> {result.covered_after} of "
        f"{result.demands}",
        file=sys.stdout,
    )
    return 0
