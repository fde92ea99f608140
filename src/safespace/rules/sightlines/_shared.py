"""What the sightlines rules share: their sources, the surveillance field's settings group,
route samples in the site and the assumptions behind overlooking."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from safespace._classify import LIT_ON, dwelling_mask
from safespace._geom import flag_runs
from safespace._place import plural
from safespace.analyses.surveillance import GEHL_DISTANCE_SOURCE, surveillance_field
from safespace.rules._common import in_site
from safespace.rules.engine import Feed, Param, SettingsGroup, Site

if TYPE_CHECKING:
    from safespace.layout import Layout

ISO = "ISO 22341:2021, 5.2: natural surveillance [checked]"
SBD_PLANTING = (
    "Secured by Design interactive guide, residential scenario 8 and education scenario 2: "
    "shrubs ≤ 1 m mature height, tree crowns from 2 m, hedges by parking ≤ 0.5 m [checked]"
)
SBD_FRONT = (
    "Secured by Design interactive guide, residential scenario 3: front boundaries below 1 m "
    "so doors and windows stay visible [checked]"
)
SBD_REAR = (
    "Secured by Design interactive guide, residential scenario 5: footpaths behind dwellings "
    "are not overlooked; avoid them [checked]"
)
SBD_RECESS = (
    "Secured by Design: recesses no deeper than about 600 mm, as quoted by The Crime "
    "Prevention Website, 'Recessed doors in houses and blocks of flats' [quoted]"
)
SBD_PARKING = (
    "Secured by Design Homes 2024: communal parking in small groups, adjacent to homes, in "
    "view of active rooms [quoted]; no distance is given"
)
ADM_CORNERS = (
    "Auckland Design Manual, Design for safety — safe connections: walking routes straight, "
    "visibility increased round corners and set-backs [checked]"
)
AKL_ANNEX6 = (
    "Auckland City District Plan, Central Area, Annex 6 'Visibility' (2004): clear lines of "
    "sight from the beginning of a route to its end, or to a safe junction or change of "
    "direction [quoted]"
)
FIXATION_15M = (
    "Lighting Res. Technol. doi:10.1177/1477153516666132 (abstract): pedestrians tend to "
    "fixate other pedestrians at about 15 m [checked]; its use as a forward-visibility "
    "threshold is safespace's choice [unverified]"
)
UNDERPASS = (
    "Queensland TMR 2020: clear sightlines entrance–middle–exit in underpasses [quoted]; "
    "Dutch veilig-ontwerp-beheer guidance: see the way out [checked]"
)
UNVERIFIED = "safespace default; no public source gives a number [unverified]"
#: ``lit=*`` values that say a way is lit (OSM wiki Key:lit): the one vocabulary.
LIT_VALUES = LIT_ON

PLANTING_SHRUBS = frozenset({"shrub", "scrub", "shrubbery", "hedge"})
TREES = frozenset({"tree", "tree_row"})
BOUNDARY_BARRIERS = frozenset({"wall", "fence", "hedge", "retaining_wall"})

#: Parameters of the surveillance field, shared by SL001, SL004 and SL006.
FIELD_PARAMS: dict[str, Param] = {
    "spacing_m": Param(5.0, "m", "sample spacing along routes and over areas", "safespace convention"),
    "max_distance_m": Param(25.0, "m", "an observer counts within this distance", GEHL_DISTANCE_SOURCE),
    "max_floor": Param(2, "", "highest floor given an observer (0 = ground)", UNVERIFIED),
}  # fmt: skip
#: The field's parameters are one settings group: a profile sets them once, under
#: ``[settings.surveillance]``, so SL001, SL004, SL006 and PM007 always read the same field
#: (``site.shared("surveillance")``).
SURVEILLANCE = SettingsGroup(
    "surveillance",
    FIELD_PARAMS,
    {
        "field": Feed(
            surveillance_field,
            {"spacing_m": "spacing", "max_distance_m": "max_distance", "max_floor": "max_floor"},
        )
    },
    description="the natural-surveillance field (who overlooks each sample of the public realm)",
)
#: The groups the field rules declare (``settings=``).
SETTINGS = {"surveillance": SURVEILLANCE}


def _route_frame(site: Site, frame, chains) -> pd.DataFrame:
    """Route samples, sorted, with the chain length and whether they lie in the site."""
    r = frame[frame["kind"] == "route"].sort_values(["chain", "position_m"]).copy()
    r["chain_length"] = chains["length_m"].to_numpy()[r["chain"].to_numpy()]
    r["in_site"] = in_site(site, r.geometry.values)
    return r


def route_runs(
    samples: pd.DataFrame, flag: np.ndarray
) -> list[tuple[int, float, float, np.ndarray]]:
    """Contiguous runs of flagged route samples on each chain (:func:`safespace._geom.
    flag_runs`): ``(chain, start_m, end_m, rows)``.

    ``samples`` must be sorted by chain then position (:func:`_route_frame`); a run reaches
    half-way to the neighbouring samples (to the chain's ends when the run starts or ends
    there), and ``rows`` are positions in ``samples``.
    """
    return flag_runs(
        samples["chain"].to_numpy(),
        samples["position_m"].to_numpy(float),
        samples["chain_length"].to_numpy(float),
        flag,
    )


def dwelling_fids(layout: Layout) -> set:
    """The fids of the buildings that are homes (:func:`safespace._classify.dwelling_mask`)."""
    b = layout.buildings
    return set(b["fid"].to_numpy(dtype=object)[dwelling_mask(layout)]) if len(b) else set()


def building_heights_known(layout: Layout) -> tuple[shapely.STRtree | None, np.ndarray, np.ndarray]:
    """The buildings' STRtree and, per building, its ``height_m`` and ``levels`` as floats
    (NaN: not given), for :func:`overlook_assumptions`. An analysis: O(n log n) for n
    buildings, once per assessment."""
    b = layout.buildings
    if b.empty:
        return None, np.empty(0), np.empty(0)
    return (
        shapely.STRtree(b.geometry.values),
        b["height_m"].to_numpy(float),
        b["levels"].to_numpy(float),
    )


def overlook_assumptions(site: Site, geom, distance: float, origin: str = "proposal") -> list[str]:
    """The defaults that stood in when judging who overlooks ``geom`` (empty: none)."""
    lay = site.layout
    out = []
    tree, heights, levels = site.analysis(building_heights_known)
    if tree is not None:
        near = tree.query(geom, predicate="dwithin", distance=distance)
        if len(near):
            h = heights[near]
            lv = levels[near]
            from_levels = int(np.count_nonzero(np.isnan(h) & ~np.isnan(lv)))
            unknown = int(np.count_nonzero(np.isnan(h) & np.isnan(lv)))
            if from_levels:
                out.append(
                    f"The height of {plural(from_levels, 'nearby building')} is taken as "
                    "3 m per tagged storey."
                )
            if unknown:
                out.append(
                    f"{plural(unknown, 'nearby building')} of unknown height "
                    f"{'is' if unknown == 1 else 'are'} taken to block every sight line, with "
                    "observers on the ground floor only."
                )
    if not lay.is_complete("entrances", origin):
        out.append(
            "Entrances are partly mapped: a building with no mapped entrance is taken to "
            "overlook from every wall."
        )
    return out
