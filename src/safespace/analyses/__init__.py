"""Shared analyses: the expensive computations rules ask for through ``site.analysis``.

Kernels are imported lazily so that ``import safespace`` stays light.

Five exported functions share their name with the submodule that defines them
(``isovist``, ``network_metrics``, ``forward_visibility``, ``rear_access``, ``siting``).
Python's import system binds a submodule to its parent package's attribute once it has
been imported, which would make ``from safespace.analyses import isovist`` return the
*module* after any rule had used it. The package's module class below binds the function
instead, so the documented API does not depend on import order. (A consequence:
``import safespace.analyses.isovist as m`` gives the function too; reach such a module by
``importlib.import_module("safespace.analyses.isovist")`` or ``sys.modules``.)
"""

from __future__ import annotations

import importlib
import sys
import types

_EXPORTS = {
    # every public analysis (a function of the layout, ``func(layout, **kw)``, as
    # ``site.analysis`` calls it) is here, and a few tools on their results;
    # tests/test_architecture.py fails when a public analysis is missing
    "walk_network": "safespace.analyses.network",
    "drive_network": "safespace.analyses.network",
    "network_metrics": "safespace.analyses.network_metrics",
    "network_blocks": "safespace.analyses.network_metrics",
    "foot_only_edges": "safespace.analyses.network_edges",
    "graph_table": "safespace.analyses.network_edges",
    "served_points": "safespace.analyses.network_edges",
    "leaky_culdesacs": "safespace.analyses.culdesacs",
    "named_ways": "safespace.analyses.named_routes",
    "named_route_index": "safespace.analyses.named_routes",
    "angular_segment_analysis": "safespace.analyses.space_syntax",
    "walk_angular": "safespace.analyses.angular",
    "integration_segments": "safespace.analyses.angular",
    "isovist": "safespace.analyses.isovist",
    "isovists": "safespace.analyses.isovist",
    "isovist_measures": "safespace.analyses.isovist",
    "ObstacleIndex": "safespace.analyses.isovist",
    "enclosing_obstacles": "safespace.analyses.enclosure",
    "surveillance_field": "safespace.analyses.surveillance",
    "observers": "safespace.analyses.surveillance",
    "tagged_indoor": "safespace.analyses.surveillance",
    "overlooking_doors": "safespace.analyses.overlooking",
    "forward_visibility": "safespace.analyses.forward_visibility",
    "illuminance_grid": "safespace.analyses.lighting_grid",
    "layout_lamps": "safespace.analyses.lamp_inputs",
    "stretch_table": "safespace.analyses.lighting_stretches",
    "entrance_illuminance": "safespace.analyses.lighting_grid",
    "lamp_shading": "safespace.analyses.lighting_grid",
    "lighting_obstacles": "safespace.analyses.lighting_grid",
    "police_travel_times": "safespace.analyses.travel_time",
    "police_isochrones": "safespace.analyses.travel_time",
    "access_field": "safespace.analyses.travel_time",
    "building_targets": "safespace.analyses.travel_time",
    "homes": "safespace.analyses.travel_time",
    "premises_points": "safespace.analyses.travel_time",
    "siting": "safespace.analyses.siting",
    "candidate_sites": "safespace.analyses.siting",
    "rear_access": "safespace.analyses.rear_access",
    "route_flanks": "safespace.analyses.rear_access",
    "building_fronts": "safespace.analyses.rear_access",
    "overlooked_by_entrances": "safespace.analyses.rear_access",
    "building_recesses": "safespace.analyses.recesses",
    "snap_incidents": "safespace.analyses.crime",
    "segment_crime": "safespace.analyses.crime",
    "map_point_counts": "safespace.analyses.crime",
    "crime_by_area": "safespace.analyses.crime",
    "concentration": "safespace.analyses.crime",
    "lorenz_curve": "safespace.analyses.crime",
    "gi_star": "safespace.analyses.crime",
    "incident_hot_spots": "safespace.analyses.crime",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'safespace.analyses' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


class _Analyses(types.ModuleType):
    """The package's module type: an exported function wins over its same-named submodule."""

    def __setattr__(self, name: str, value) -> None:
        if (
            isinstance(value, types.ModuleType)
            and _EXPORTS.get(name) == value.__name__ == f"{__name__}.{name}"
        ):
            # the import system binding the submodule: bind the documented function instead
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Analyses
