"""Speeds and the highway vocabulary of the walk and drive networks.

See the package docstring for their sources."""

from __future__ import annotations

#: OSRM car profile speeds by highway type (km/h), used where ``maxspeed`` is not tagged.
DRIVE_SPEED_KMH: dict[str, float] = {
    "motorway": 90.0,
    "motorway_link": 45.0,
    "trunk": 85.0,
    "trunk_link": 40.0,
    "primary": 65.0,
    "primary_link": 30.0,
    "secondary": 55.0,
    "secondary_link": 25.0,
    "tertiary": 40.0,
    "tertiary_link": 20.0,
    "unclassified": 25.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
    "track": 5.0,
}


#: Fallback for drivable ways of a type missing from :data:`DRIVE_SPEED_KMH` (OSRM "default").
DEFAULT_DRIVE_SPEED_KMH = 10.0


#: Walking speed (m/s), the one default for every walking time in safespace: the US
#: MUTCD's "normal walking speed" of 4.0 ft/s (2003 ed., s. 4E.10) [quoted]. The 2009
#: MUTCD uses 3.5 ft/s (1.07 m/s) for crossing design; Manual for Streets' "10 min /
#: 800 m" implies 1.33 m/s [quoted]. 1.2 m/s sits between them.
WALK_SPEED_MPS = 1.2


#: Highway values a (police) car can drive on.
DRIVABLE_HIGHWAYS = frozenset(DRIVE_SPEED_KMH)


_NO = frozenset({"no", "private_no", "false", "0"})


#: Ways a car may not use but an emergency vehicle may (``drive_network(emergency=True)``):
#: pedestrian streets. Emergency services drive into pedestrian zones, whose traffic orders
#: exempt them (e.g. Germany's StVO § 35 special rights [unverified]); ``living_street`` is in
#: :data:`DRIVABLE_HIGHWAYS` already.
EMERGENCY_EXTRA_HIGHWAYS = frozenset({"pedestrian"})


#: Speed (km/h) assumed on a pedestrian way in the emergency network: the OSRM car profile's
#: ``living_street`` speed (10 km/h), the nearest case it has of a shared surface where people
#: on foot have priority. No published speed for emergency driving in pedestrian zones was
#: found; vehicles admitted there by sign must keep to walking pace in Germany (StVO,
#: Zeichen 242.1) [unverified]. A profile may change it (PA001 ``pedestrian_speed_kmh``).
EMERGENCY_PEDESTRIAN_SPEED_KMH = 10.0


_EMERGENCY_YES = frozenset({"yes", "designated", "permissive", "destination", "official"})


_NEVER_DRIVEN = frozenset({"steps", "corridor", "elevator", "escalator"})
