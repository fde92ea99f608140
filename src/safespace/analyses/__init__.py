"""Shared analyses: the expensive computations rules ask for through ``site.analysis``.

Kernels are imported lazily so that ``import safespace`` stays light.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "walk_network": "safespace.analyses.network",
    "drive_network": "safespace.analyses.network",
    "network_metrics": "safespace.analyses.network_metrics",
    "network_blocks": "safespace.analyses.network_metrics",
    "angular_segment_analysis": "safespace.analyses.space_syntax",
    "isovist": "safespace.analyses.isovist",
    "isovists": "safespace.analyses.isovist",
    "isovist_measures": "safespace.analyses.isovist",
    "ObstacleIndex": "safespace.analyses.isovist",
    "surveillance_field": "safespace.analyses.surveillance",
    "forward_visibility": "safespace.analyses.forward_visibility",
    "illuminance_grid": "safespace.analyses.lighting_grid",
    "layout_lamps": "safespace.analyses.lighting_grid",
    "police_travel_times": "safespace.analyses.travel_time",
    "access_field": "safespace.analyses.travel_time",
    "siting": "safespace.analyses.siting",
    "rear_access": "safespace.analyses.rear_access",
    "route_flanks": "safespace.analyses.rear_access",
    "building_fronts": "safespace.analyses.rear_access",
    "building_recesses": "safespace.analyses.recesses",
    "police_isochrones": "safespace.analyses.travel_time",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'safespace.analyses' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
