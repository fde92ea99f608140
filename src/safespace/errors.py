"""Exception types raised by safespace.

Every input problem names the file, the feature (index or id) and what is wrong, so a
planner can fix the drawing without reading a traceback.
"""

from __future__ import annotations


class SafespaceError(Exception):
    """Base class of every error safespace raises on purpose."""


class InputError(SafespaceError, ValueError):
    """A problem with an input file, mapping or frame.

    Parameters
    ----------
    message
        What is wrong, in words a planner understands.
    file
        The file (or ``"<mapping>"``/``"<GeoDataFrame>"``) the problem was found in.
    feature
        The feature's id or index, when the problem belongs to one feature.
    """

    def __init__(self, message: str, *, file: str | None = None, feature: str | None = None):
        self.problem = message
        self.file = None if file is None else str(file)
        self.feature = None if feature is None else str(feature)
        where = []
        if self.file:
            where.append(self.file)
        if self.feature:
            where.append(f"feature {self.feature}")
        prefix = ": ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ProfileError(SafespaceError, ValueError):
    """A profile that cannot be used: unknown rule or parameter, wrong type or unit."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None):
        self.problem = message
        self.file = None if file is None else str(file)
        self.key = key
        where = ": ".join(p for p in (self.file, key) if p)
        super().__init__(f"{where}: {message}" if where else message)


class RuleError(SafespaceError):
    """A rule that could not be loaded or registered (bad id, duplicate id, bad parameters)."""


class ResourceLimitError(InputError):
    """An input beyond a resource limit (:mod:`safespace.limits`): too many features, too
    large an area, or an analysis grid too big to allocate.

    Parameters
    ----------
    message
        What is over which limit, and how to proceed.
    file
        The input concerned, when one is.
    limit
        The name of the limit (``max_features``, ``max_area_km2``, ``max_analysis_points``).
    value
        The measured value that exceeded it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        limit: str | None = None,
        value: float | None = None,
    ):
        super().__init__(message, file=file)
        self.limit = limit
        self.value = value
