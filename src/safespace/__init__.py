"""safespace: assess public-space designs for safety.

Read a layout (GeoJSON, OpenStreetMap, GeoPackage or a GeoDataFrame), run rule modules for
sightlines and natural surveillance, lighting, permeability and access to police premises,
and get located, evidenced findings that cite the guidance they rest on.

>>> import safespace
>>> layout = safespace.load("fixtures/demo_estate.geojson")      # doctest: +SKIP
>>> result = safespace.assess(layout)                             # doctest: +SKIP
>>> result.to_geodataframe()                                      # doctest: +SKIP
"""

from safespace._version import __version__
from safespace.assessment import Assessment, RuleFailure, assess
from safespace.compare import Comparison, compare
from safespace.errors import InputError, ProfileError, RuleError, SafespaceError
from safespace.evaluation import MatchedSegments, evaluate
from safespace.findings import Finding, InputNote, Issue, Metric, Score
from safespace.io.incidents import read_incidents
from safespace.layout import Layout, load
from safespace.rules.engine import Param, Rule, Site, rule
from safespace.rules.profiles import Profile, load_profile

__all__ = [
    "__version__",
    "Assessment",
    "Comparison",
    "Finding",
    "InputError",
    "InputNote",
    "Issue",
    "Layout",
    "MatchedSegments",
    "Metric",
    "Param",
    "Profile",
    "ProfileError",
    "Rule",
    "RuleError",
    "RuleFailure",
    "SafespaceError",
    "Score",
    "Site",
    "assess",
    "compare",
    "evaluate",
    "load",
    "load_profile",
    "read_incidents",
    "rule",
]
